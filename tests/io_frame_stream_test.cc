// FrameStream: ranges of a seekable file's content read through frames decompressed ahead
// on several threads: the right bytes in order, only the frames they need fetched, the
// whole file's hash, bounded frames in flight, refusal of bad ranges and damaged frames.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <set>

#include "io/frame_stream.h"
#include "io/range_source.h"
#include "io/seekable_zstd_reader.h"
#include "io/seekable_zstd_writer.h"
#include "io/sha256.h"
#include "io_test_util.h"

namespace gb {
namespace {

using testing::MakeTestData;
using testing::ScratchDir;

constexpr size_t kFrame = 4096;

// Records which frames (by their compressed offset) the stream asked for.
class RecordingRangeSource : public RangeSource {
 public:
  explicit RecordingRangeSource(std::unique_ptr<RangeSource> inner) : inner_(std::move(inner)) {}
  const std::string& name() const override { return inner_->name(); }
  uint64_t size() const override { return inner_->size(); }
  Result<std::string> ReadRange(uint64_t offset, size_t length) override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      offsets_.insert(offset);
      ++reads_;
    }
    return inner_->ReadRange(offset, length);
  }
  std::set<uint64_t> offsets() {
    std::lock_guard<std::mutex> lock(mutex_);
    return offsets_;
  }
  int reads() {
    std::lock_guard<std::mutex> lock(mutex_);
    return reads_;
  }

 private:
  std::unique_ptr<RangeSource> inner_;
  std::mutex mutex_;
  std::set<uint64_t> offsets_;
  int reads_ = 0;
};

struct Fixture {
  ScratchDir dir;
  std::string path;
  std::string data;
  RecordingRangeSource* recorder = nullptr;
  std::unique_ptr<SeekableZstdReader> reader;
};

// A seekable file of `size` bytes in frames of kFrame bytes, behind an identity frame.
void MakeFile(Fixture& f, size_t size) {
  f.path = f.dir / "half.zst";
  f.data = MakeTestData(size, 7);
  SeekableZstdOptions options;
  options.threads = 2;
  options.frame_input_size = kFrame;
  options.identity_frame = "id = \"x\"\n";
  auto writer = SeekableZstdWriter::CreateFile(f.path, options);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  ASSERT_TRUE((*writer)->Write(f.data.data(), f.data.size()).ok());
  ASSERT_TRUE((*writer)->Finish().ok());
  auto file = FileRangeSource::Open(f.path);
  ASSERT_TRUE(file.ok());
  auto recorder = std::make_unique<RecordingRangeSource>(std::move(file).value());
  f.recorder = recorder.get();
  auto reader = SeekableZstdReader::Open(std::move(recorder));
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  f.reader = std::move(reader).value();
}

Result<std::string> ReadAll(ByteSource& source, size_t piece = 1000) {
  std::string out;
  std::string buffer(piece, '\0');
  for (;;) {
    GB_ASSIGN_OR_RETURN(size_t n, source.Read(buffer.data(), buffer.size()));
    if (n == 0) return out;
    out.append(buffer.data(), n);
  }
}

TEST(FrameStream, RangesComeOutInOrderOnAnyNumberOfThreads) {
  Fixture f;
  MakeFile(f, 20 * kFrame + 123);
  // Within one frame, two ranges sharing a frame, one across several frames, the last byte.
  const std::vector<StreamRange> ranges = {{10, 20},
                                           {kFrame + 5, kFrame + 100},
                                           {kFrame + 100, kFrame + 200},
                                           {3 * kFrame - 1, 7 * kFrame + 1},
                                           {f.data.size() - 1, f.data.size()}};
  std::string expected;
  for (const StreamRange& r : ranges) expected += f.data.substr(r.begin, r.end - r.begin);
  for (int threads : {1, 2, 4}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    auto stream = FrameStream::Ranges(*f.reader, ranges, threads);
    ASSERT_TRUE(stream.ok()) << stream.status().ToString();
    auto read = ReadAll(**stream, 777);
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    EXPECT_EQ(*read, expected);
  }
}

TEST(FrameStream, FetchesOnlyTheFramesTheRangesNeedEachOnce) {
  Fixture f;
  MakeFile(f, 30 * kFrame);
  const int table_reads = f.recorder->reads();
  // Frames 2 and 3 (data frames are 1-based: frame 0 is the identity), and frame 12 twice.
  auto stream = FrameStream::Ranges(
      *f.reader, {{kFrame + 1, 2 * kFrame + 1}, {11 * kFrame, 11 * kFrame + 10},
                  {11 * kFrame + 20, 11 * kFrame + 30}},
      4);
  ASSERT_TRUE(stream.ok());
  ASSERT_TRUE(ReadAll(**stream).ok());
  EXPECT_EQ(f.recorder->reads() - table_reads, 3);
  const auto& frames = f.reader->frames();
  std::set<uint64_t> data_offsets = f.recorder->offsets();
  for (size_t index : {size_t{2}, size_t{3}, size_t{12}})
    EXPECT_TRUE(data_offsets.count(frames[index].compressed_offset)) << "frame " << index;
  EXPECT_FALSE(data_offsets.count(frames[4].compressed_offset));
}

TEST(FrameStream, WholeStreamHashesTheFile) {
  Fixture f;
  MakeFile(f, 9 * kFrame + 17);
  auto stream = FrameStream::Whole(*f.reader, 3);
  EXPECT_EQ(stream->sha256_hex(), "");
  auto read = ReadAll(*stream);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, f.data);
  auto file_sha = Sha256::OfFile(f.path);
  ASSERT_TRUE(file_sha.ok());
  EXPECT_EQ(stream->sha256_hex(), *file_sha);
  EXPECT_EQ(stream->compressed_bytes(), f.reader->file_size());
}

TEST(FrameStream, RefusesRangesOutOfOrderOrPastTheEnd) {
  Fixture f;
  MakeFile(f, 4 * kFrame);
  auto overlapping = FrameStream::Ranges(*f.reader, {{100, 200}, {150, 300}}, 2);
  ASSERT_FALSE(overlapping.ok());
  EXPECT_NE(overlapping.status().message().find(f.path), std::string::npos);
  auto past = FrameStream::Ranges(*f.reader, {{100, 4 * kFrame + 1}}, 2);
  ASSERT_FALSE(past.ok());
  EXPECT_NE(past.status().message().find("only " + std::to_string(4 * kFrame) + " bytes"),
            std::string::npos)
      << past.status().ToString();
  auto empty = FrameStream::Ranges(*f.reader, {}, 2);
  ASSERT_TRUE(empty.ok());
  auto read = ReadAll(**empty);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, "");
}

TEST(FrameStream, DamagedFrameFailsTheReadNamingTheFrame) {
  Fixture f;
  MakeFile(f, 12 * kFrame);
  const SeekableFrame& frame = f.reader->frames()[6];
  int fd = open(f.path.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  char byte = 0;
  const off_t at = static_cast<off_t>(frame.compressed_offset + frame.compressed_size / 2);
  ASSERT_EQ(pread(fd, &byte, 1, at), 1);
  byte = static_cast<char>(byte ^ 0x5A);
  ASSERT_EQ(pwrite(fd, &byte, 1, at), 1);
  close(fd);
  for (int threads : {1, 4}) {
    auto stream = FrameStream::Whole(*f.reader, threads);
    auto read = ReadAll(*stream);
    ASSERT_FALSE(read.ok());
    EXPECT_NE(read.status().message().find("frame 6"), std::string::npos)
        << read.status().ToString();
    // The failure sticks: a caller that reads again gets it again, not the next frame.
    char buffer[16];
    EXPECT_FALSE(stream->Read(buffer, sizeof buffer).ok());
  }
}

}  // namespace
}  // namespace gb
