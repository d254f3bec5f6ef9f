// The seekable zstd writer and reader: round trips, the zstd CLI as an independent reader,
// ranged reads touching only their frames, and refusal of damaged files.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <mutex>
#include <thread>
#include <utility>

#include "io/files.h"
#include "io/range_source.h"
#include "io/seekable_zstd_reader.h"
#include "io/seekable_zstd_writer.h"
#include "io/sha256.h"
#include "io/zstd_file.h"
#include "io_test_util.h"

namespace gb {
namespace {

using testing::Command;
using testing::MakeTestData;
using testing::ScratchDir;

constexpr size_t kFrame = 4096;
const char kIdentity[] = "set = \"2026-11-29T16-00-00Z\"\nhalf = \"datadir\"\n";

// Wraps a RangeSource and records which byte ranges the reader asked for.
class CountingRangeSource : public RangeSource {
 public:
  explicit CountingRangeSource(std::unique_ptr<RangeSource> inner) : inner_(std::move(inner)) {}
  const std::string& name() const override { return inner_->name(); }
  uint64_t size() const override { return inner_->size(); }
  Result<std::string> ReadRange(uint64_t offset, size_t length) override {
    std::lock_guard<std::mutex> lock(mutex_);
    ranges.emplace_back(offset, length);
    bytes += length;
    return inner_->ReadRange(offset, length);
  }
  std::vector<std::pair<uint64_t, size_t>> ranges;
  uint64_t bytes = 0;

 private:
  std::unique_ptr<RangeSource> inner_;
  std::mutex mutex_;
};

SeekableZstdOptions SmallFrames(int threads = 2) {
  SeekableZstdOptions options;
  options.threads = threads;
  options.frame_input_size = kFrame;
  options.identity_frame = kIdentity;
  return options;
}

// Writes `data` to `path` in pieces of `piece` bytes; returns the writer's frame list.
std::vector<SeekableFrame> WriteSeekable(const std::string& path, const std::string& data,
                                         const SeekableZstdOptions& options, size_t piece = 1000,
                                         std::string* sha256 = nullptr) {
  auto writer = SeekableZstdWriter::CreateFile(path, options);
  EXPECT_TRUE(writer.ok()) << writer.status().ToString();
  if (!writer.ok()) return {};
  for (size_t at = 0; at < data.size(); at += piece) {
    EXPECT_TRUE((*writer)->Write(data.data() + at, std::min(piece, data.size() - at)).ok());
  }
  Status finished = (*writer)->Finish();
  EXPECT_TRUE(finished.ok()) << finished.ToString();
  EXPECT_EQ((*writer)->input_bytes(), data.size());
  if (sha256 != nullptr) *sha256 = (*writer)->sha256_hex();
  return (*writer)->frames();
}

std::unique_ptr<SeekableZstdReader> OpenOrDie(const std::string& path) {
  auto reader = SeekableZstdReader::OpenFile(path);
  EXPECT_TRUE(reader.ok()) << reader.status().ToString();
  return reader.ok() ? std::move(reader).value() : nullptr;
}

std::string ZstdCli(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"zstd", "-q"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto run = RunSubprocess(Command(argv));
  EXPECT_TRUE(run.ok()) << run.status().ToString();
  if (!run.ok()) return "";
  EXPECT_TRUE(run->success()) << "zstd " << args[0] << ": " << run->Describe();
  return run->stdout_text;
}

void FlipByte(const std::string& path, uint64_t offset) {
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  char byte;
  ASSERT_EQ(pread(fd, &byte, 1, static_cast<off_t>(offset)), 1);
  byte = static_cast<char>(byte ^ 0x5A);
  ASSERT_EQ(pwrite(fd, &byte, 1, static_cast<off_t>(offset)), 1);
  close(fd);
}

TEST(SeekableZstd, RoundTripAroundFrameBoundaries) {
  ScratchDir dir;
  for (size_t size : {size_t{0}, size_t{1}, kFrame - 1, kFrame, kFrame + 1, 2 * kFrame,
                      7 * kFrame + 5}) {
    SCOPED_TRACE("size " + std::to_string(size));
    const std::string path = dir / ("half-" + std::to_string(size) + ".zst");
    const std::string data = MakeTestData(size, static_cast<unsigned>(size));
    std::string written_sha;
    std::vector<SeekableFrame> written = WriteSeekable(path, data, SmallFrames(), 1000, &written_sha);

    const size_t data_frames = (size + kFrame - 1) / kFrame;
    ASSERT_EQ(written.size(), 1 + data_frames);  // the identity frame, then the data
    auto reader = OpenOrDie(path);
    ASSERT_NE(reader, nullptr);
    ASSERT_EQ(reader->frames().size(), written.size());
    for (size_t i = 0; i < written.size(); ++i) {
      EXPECT_EQ(reader->frames()[i].compressed_offset, written[i].compressed_offset);
      EXPECT_EQ(reader->frames()[i].decompressed_offset, written[i].decompressed_offset);
      EXPECT_EQ(reader->frames()[i].compressed_size, written[i].compressed_size);
      EXPECT_EQ(reader->frames()[i].decompressed_size, written[i].decompressed_size);
    }
    EXPECT_EQ(reader->decompressed_size(), size);

    StringSink out;
    auto whole = reader->DecompressAll(out, 2);
    ASSERT_TRUE(whole.ok()) << whole.status().ToString();
    EXPECT_EQ(out.bytes(), data);
    EXPECT_EQ(whole->decompressed_bytes, size);
    auto file_sha = Sha256::OfFile(path);
    ASSERT_TRUE(file_sha.ok());
    EXPECT_EQ(whole->file_sha256_hex, *file_sha);
    EXPECT_EQ(written_sha, *file_sha);

    // The zstd CLI, an independent decoder, skips the identity frame and the seek table.
    EXPECT_EQ(ZstdCli({"-dc", path}), data);
    ZstdCli({"-t", path});
  }
}

TEST(SeekableZstd, CutFrameEndsTheFrameWhereAsked) {
  ScratchDir dir;
  const std::string data = MakeTestData(3 * kFrame);
  auto writer = SeekableZstdWriter::CreateFile(dir / "half.zst", SmallFrames());
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  ASSERT_TRUE((*writer)->Write(data.data(), 100).ok());
  ASSERT_TRUE((*writer)->CutFrame().ok());
  ASSERT_TRUE((*writer)->CutFrame().ok());  // nothing since the last cut: no empty frame
  ASSERT_TRUE((*writer)->Write(data.data() + 100, data.size() - 100).ok());
  ASSERT_TRUE((*writer)->Finish().ok());

  std::vector<uint32_t> sizes;
  for (const SeekableFrame& frame : (*writer)->frames()) sizes.push_back(frame.decompressed_size);
  EXPECT_EQ(sizes, (std::vector<uint32_t>{0, 100, kFrame, kFrame, kFrame - 100}));
  auto reader = OpenOrDie(dir / "half.zst");
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->FrameIndexAt(99), 1u);
  EXPECT_EQ(reader->FrameIndexAt(100), 2u);
  auto second = reader->DecompressFrame(2);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(*second, data.substr(100, kFrame));
}

TEST(SeekableZstd, RangeReadTouchesOnlyTheCoveringFrames) {
  ScratchDir dir;
  const std::string path = dir / "half.zst";
  const std::string data = MakeTestData(20 * kFrame + 17);
  WriteSeekable(path, data, SmallFrames());
  auto file = FileRangeSource::Open(path);
  ASSERT_TRUE(file.ok());
  auto counting = std::make_unique<CountingRangeSource>(std::move(file).value());
  CountingRangeSource* counter = counting.get();
  auto opened = SeekableZstdReader::Open(std::move(counting));
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  const SeekableZstdReader& reader = **opened;

  struct Case { uint64_t begin, end; };
  for (Case range : {Case{0, 10}, Case{5 * kFrame + 3, 5 * kFrame + 4},
                     Case{3 * kFrame - 1, 6 * kFrame + 1}, Case{20 * kFrame, 20 * kFrame + 17},
                     Case{7 * kFrame, 7 * kFrame}}) {
    SCOPED_TRACE(std::to_string(range.begin) + ".." + std::to_string(range.end));
    counter->bytes = 0;
    StringSink out;
    Status status = reader.DecompressRange(range.begin, range.end, out);
    ASSERT_TRUE(status.ok()) << status.ToString();
    EXPECT_EQ(out.bytes(), data.substr(range.begin, range.end - range.begin));
    uint64_t expected = 0;
    if (range.end > range.begin) {
      // Frame i + 1 holds [i * kFrame, (i + 1) * kFrame): frame 0 is the identity frame.
      for (uint64_t i = range.begin / kFrame; i <= (range.end - 1) / kFrame; ++i) {
        expected += reader.frames()[i + 1].compressed_size;
      }
    }
    EXPECT_EQ(counter->bytes, expected);
  }
  StringSink out;
  EXPECT_FALSE(reader.DecompressRange(0, data.size() + 1, out).ok());
}

TEST(SeekableZstd, ParallelAndSerialDecompressionAgree) {
  ScratchDir dir;
  const std::string path = dir / "half.zst";
  const std::string data = MakeTestData(3 << 20, 7);
  SeekableZstdOptions options = SmallFrames(3);
  options.frame_input_size = 64 << 10;
  WriteSeekable(path, data, options, 100000);
  auto reader = OpenOrDie(path);
  ASSERT_NE(reader, nullptr);
  StringSink serial;
  ASSERT_TRUE(reader->DecompressRange(0, data.size(), serial).ok());
  for (int threads : {1, 2, 4}) {
    StringSink parallel;
    auto whole = reader->DecompressAll(parallel, threads);
    ASSERT_TRUE(whole.ok()) << whole.status().ToString();
    EXPECT_EQ(parallel.bytes(), serial.bytes()) << threads << " threads";
  }
  EXPECT_EQ(serial.bytes(), data);
}

TEST(SeekableZstd, ReadersOnSeveralThreadsShareOneReader) {
  ScratchDir dir;
  const std::string path = dir / "half.zst";
  const std::string data = MakeTestData(40 * kFrame + 9, 3);
  WriteSeekable(path, data, SmallFrames());
  auto reader = OpenOrDie(path);
  ASSERT_NE(reader, nullptr);
  std::vector<std::string> outputs(4);
  std::vector<Status> statuses(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < outputs.size(); ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t begin = t * 997; begin < data.size() && statuses[t].ok(); begin += 4 * 997) {
        StringSink sink;
        uint64_t end = std::min<uint64_t>(begin + 5000, data.size());
        statuses[t] = reader->DecompressRange(begin, end, sink);
        outputs[t] += sink.bytes();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (size_t t = 0; t < outputs.size(); ++t) {
    ASSERT_TRUE(statuses[t].ok()) << statuses[t].ToString();
    std::string expected;
    for (uint64_t begin = t * 997; begin < data.size(); begin += 4 * 997) {
      expected += data.substr(begin, 5000);
    }
    EXPECT_EQ(outputs[t], expected) << "thread " << t;
  }
}

TEST(SeekableZstd, SinkAndFileOutputsAreTheSameBytes) {
  ScratchDir dir;
  const std::string data = MakeTestData(5 * kFrame + 3);
  WriteSeekable(dir / "half.zst", data, SmallFrames());
  StringSink sink;
  auto writer = SeekableZstdWriter::Create(sink, "memory", SmallFrames(1));
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Write(data.data(), data.size()).ok());
  ASSERT_TRUE((*writer)->Finish().ok());
  auto file = ReadWholeFile(dir / "half.zst");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(sink.bytes(), *file);
  EXPECT_EQ((*writer)->file_bytes(), file->size());
  EXPECT_EQ((*writer)->sha256_hex(), Sha256::OfString(*file));
}

TEST(SeekableZstd, IdentityFrameStaysFirst) {
  ScratchDir dir;
  const std::string path = dir / "half.zst";
  const std::string data = MakeTestData(3 * kFrame);
  WriteSeekable(path, data, SmallFrames());
  auto reader = OpenOrDie(path);
  ASSERT_NE(reader, nullptr);
  auto identity = reader->ReadIdentityFrame();
  ASSERT_TRUE(identity.ok()) << identity.status().ToString();
  EXPECT_EQ(*identity, kIdentity);
  EXPECT_EQ(reader->frames()[0].compressed_offset, 0u);
  EXPECT_EQ(reader->frames()[0].compressed_size, 8 + sizeof(kIdentity) - 1);

  // Today's reader (io/zstd_file.h) reads the identity and the whole stream alike.
  auto header = ReadHeaderFrame(path);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(*header, kIdentity);
  auto plain = ZstdFileReader::Open(path);
  ASSERT_TRUE(plain.ok());
  StringSink out;
  auto copied = CopyStream(**plain, out);
  ASSERT_TRUE(copied.ok()) << copied.status().ToString();
  EXPECT_EQ(out.bytes(), data);
}

TEST(SeekableZstd, RefusesAFlippedByteInAFrame) {
  ScratchDir dir;
  const std::string path = dir / "half.zst";
  const std::string data = MakeTestData(4 * kFrame);
  std::vector<SeekableFrame> frames = WriteSeekable(path, data, SmallFrames());
  ASSERT_EQ(frames.size(), 5u);
  FlipByte(path, frames[2].compressed_offset + frames[2].compressed_size / 2);

  auto reader = OpenOrDie(path);  // the table is intact
  ASSERT_NE(reader, nullptr);
  StringSink out;
  auto whole = reader->DecompressAll(out, 2);
  ASSERT_FALSE(whole.ok());
  EXPECT_NE(whole.status().message().find("frame 2 of " + path), std::string::npos)
      << whole.status().ToString();
  auto damaged = reader->DecompressFrame(2);
  EXPECT_FALSE(damaged.ok());
  auto intact = reader->DecompressFrame(3);  // the other frames still read
  ASSERT_TRUE(intact.ok()) << intact.status().ToString();
  EXPECT_EQ(*intact, data.substr(2 * kFrame, kFrame));
}

TEST(SeekableZstd, RefusesADamagedSeekTable) {
  ScratchDir dir;
  const std::string path = dir / "half.zst";
  WriteSeekable(path, MakeTestData(4 * kFrame), SmallFrames());
  auto good = ReadWholeFile(path);
  ASSERT_TRUE(good.ok());
  const size_t table_size = 8 + 5 * 8 + 9;

  struct Case { const char* what; std::string bytes; };
  std::string wrong_entry = *good;
  wrong_entry[good->size() - table_size + 8 + 2 * 8] ^= 1;  // frame 2's compressed size
  std::string reserved_bit = *good;
  reserved_bit[good->size() - 5] = 0x04;
  for (const Case& damaged : {Case{"truncated by one byte", good->substr(0, good->size() - 1)},
                              Case{"table cut off", good->substr(0, good->size() - table_size + 3)},
                              Case{"entry changed", wrong_entry},
                              Case{"reserved bit set", reserved_bit},
                              Case{"too short", good->substr(0, 5)}}) {
    SCOPED_TRACE(damaged.what);
    const std::string damaged_path = dir / "damaged.zst";
    ASSERT_TRUE(WriteFile(damaged_path, damaged.bytes).ok());
    auto reader = SeekableZstdReader::OpenFile(damaged_path);
    ASSERT_FALSE(reader.ok());
    EXPECT_NE(reader.status().message().find(damaged_path), std::string::npos)
        << reader.status().ToString();
    EXPECT_NE(reader.status().message().find("seek table"), std::string::npos)
        << reader.status().ToString();
  }
}

TEST(SeekableZstd, RefusesAFileWithoutSeekTable) {
  ScratchDir dir;
  const std::string path = dir / "single.zst";
  ZstdWriterOptions options;
  options.header_frame = kIdentity;
  auto writer = ZstdFileWriter::Create(path, options);
  ASSERT_TRUE(writer.ok());
  const std::string data = MakeTestData(kFrame);
  ASSERT_TRUE((*writer)->Write(data.data(), data.size()).ok());
  ASSERT_TRUE((*writer)->Finish().ok());
  auto reader = SeekableZstdReader::OpenFile(path);
  ASSERT_FALSE(reader.ok());
  EXPECT_NE(reader.status().message().find("0x8F92EAB1"), std::string::npos)
      << reader.status().ToString();
}

TEST(SeekableZstd, RefusesInvalidOptions) {
  ScratchDir dir;
  SeekableZstdOptions options = SmallFrames();
  options.frame_input_size = 0;
  EXPECT_FALSE(SeekableZstdWriter::CreateFile(dir / "a.zst", options).ok());
  options = SmallFrames();
  options.level = 1000;
  EXPECT_FALSE(SeekableZstdWriter::CreateFile(dir / "b.zst", options).ok());
  EXPECT_NE(access((dir / "a.zst").c_str(), F_OK), 0);  // refused before creating anything
}

// A sink that fails after `limit` bytes, like a full disk.
class FailingSink : public ByteSink {
 public:
  explicit FailingSink(size_t limit) : limit_(limit) {}
  Status Write(const void*, size_t size) override {
    if (written_ + size > limit_) return Status::Failed("cannot write fake: No space left on device");
    written_ += size;
    return Status::Ok();
  }

 private:
  size_t limit_;
  size_t written_ = 0;
};

TEST(SeekableZstd, AWriteFailureIsReportedAndSticks) {
  FailingSink sink(200);
  auto writer = SeekableZstdWriter::Create(sink, "fake", SmallFrames());
  ASSERT_TRUE(writer.ok());
  const std::string data = MakeTestData(10 * kFrame);
  Status status = (*writer)->Write(data.data(), data.size());
  if (status.ok()) status = (*writer)->Finish();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("No space left"), std::string::npos);
  EXPECT_FALSE((*writer)->Finish().ok());
}

}  // namespace
}  // namespace gb
