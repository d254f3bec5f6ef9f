#include "io/zstd_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "io/atomic_file.h"
#include "io/sha256.h"
#include "io/subprocess.h"
#include "io_test_util.h"

namespace gb {
namespace {

using testing::Command;
using testing::MakeTestData;
using testing::ScratchDir;

Status WriteZstd(const std::string& path, const std::string& data, ZstdWriterOptions options,
                 size_t piece = 1 << 20, std::string* sha = nullptr) {
  GB_ASSIGN_OR_RETURN(auto writer, ZstdFileWriter::Create(path, options));
  for (size_t offset = 0; offset < data.size(); offset += piece) {
    GB_RETURN_IF_ERROR(writer->Write(data.data() + offset, std::min(piece, data.size() - offset)));
  }
  GB_RETURN_IF_ERROR(writer->Finish());
  EXPECT_EQ(writer->input_bytes(), data.size());
  struct stat info;
  EXPECT_EQ(stat(path.c_str(), &info), 0);
  EXPECT_EQ(writer->file_bytes(), static_cast<uint64_t>(info.st_size));
  if (sha) *sha = writer->sha256_hex();
  return Status::Ok();
}

Result<std::string> ReadZstd(const std::string& path, size_t capacity = 1 << 20,
                             std::string* sha = nullptr) {
  GB_ASSIGN_OR_RETURN(auto reader, ZstdFileReader::Open(path));
  std::string out;
  std::string buffer(capacity, '\0');
  while (true) {
    GB_ASSIGN_OR_RETURN(size_t n, reader->Read(buffer.data(), buffer.size()));
    if (n == 0) break;
    out.append(buffer.data(), n);
  }
  if (sha) *sha = reader->sha256_hex();
  return out;
}

void TruncateTo(const std::string& path, off_t size) { ASSERT_EQ(truncate(path.c_str(), size), 0); }

TEST(ZstdFile, RoundTripWithHeaderFrameAndStandardTools) {
  ScratchDir dir;
  const std::string path = dir / "half.tar.zst";
  const std::string data = MakeTestData(20 << 20);
  ZstdWriterOptions options;
  options.header_frame = "pair_token = \"abc\"\n";
  std::string writer_sha;
  ASSERT_TRUE(WriteZstd(path, data, options, 300000, &writer_sha).ok());

  struct stat info;
  ASSERT_EQ(stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0600u);
  EXPECT_LT(info.st_size, static_cast<off_t>(data.size()));

  auto file_sha = Sha256::OfFile(path);
  ASSERT_TRUE(file_sha.ok());
  EXPECT_EQ(writer_sha, *file_sha);

  std::string reader_sha;
  auto read_back = ReadZstd(path, 1 << 20, &reader_sha);
  ASSERT_TRUE(read_back.ok()) << read_back.status().ToString();
  EXPECT_TRUE(*read_back == data);
  EXPECT_EQ(reader_sha, *file_sha);

  auto header = ReadHeaderFrame(path);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(*header, options.header_frame);
  auto reader = ZstdFileReader::Open(path);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->header_frame(), options.header_frame);

  auto test = RunSubprocess(Command({"zstd", "-q", "-t", path}));
  ASSERT_TRUE(test.ok());
  EXPECT_TRUE(test->success()) << test->Describe();

  auto decompressed = RunSubprocess(Command({"zstd", "-q", "-dc", path}));
  ASSERT_TRUE(decompressed.ok());
  EXPECT_TRUE(decompressed->success()) << decompressed->Describe();
  EXPECT_TRUE(decompressed->stdout_text == data);
}

TEST(ZstdFile, WithoutHeaderFrameSingleThreadAndTinyReads) {
  ScratchDir dir;
  const std::string path = dir / "plain.zst";
  const std::string data = MakeTestData(3 << 20, 7);
  ZstdWriterOptions options;
  options.threads = 1;
  options.level = 1;
  ASSERT_TRUE(WriteZstd(path, data, options, 4096).ok());
  auto header = ReadHeaderFrame(path);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(*header, "");
  // Odd small reads make zstd hold decompressed bytes between calls.
  auto read_back = ReadZstd(path, 777);
  ASSERT_TRUE(read_back.ok()) << read_back.status().ToString();
  EXPECT_TRUE(*read_back == data);
}

TEST(ZstdFile, EmptyInputIsAValidFile) {
  ScratchDir dir;
  const std::string path = dir / "empty.zst";
  ZstdWriterOptions options;
  options.header_frame = "x";
  ASSERT_TRUE(WriteZstd(path, "", options).ok());
  auto read_back = ReadZstd(path);
  ASSERT_TRUE(read_back.ok()) << read_back.status().ToString();
  EXPECT_EQ(*read_back, "");
  auto test = RunSubprocess(Command({"zstd", "-q", "-t", path}));
  ASSERT_TRUE(test.ok());
  EXPECT_TRUE(test->success()) << test->Describe();
}

TEST(ZstdFile, ReadsFilesMadeByTheZstdTool) {
  ScratchDir dir;
  const std::string data = MakeTestData(5 << 20, 3);
  ASSERT_TRUE(WriteFileAtomically(dir / "input", data).ok());
  auto made = RunSubprocess(Command({"zstd", "-q", "-19", "--long", dir / "input", "-o", dir / "input.zst"}));
  ASSERT_TRUE(made.ok());
  ASSERT_TRUE(made->success()) << made->Describe();
  auto read_back = ReadZstd(dir / "input.zst");
  ASSERT_TRUE(read_back.ok()) << read_back.status().ToString();
  EXPECT_TRUE(*read_back == data);
}

TEST(ZstdFile, RefusesToOverwrite) {
  ScratchDir dir;
  const std::string path = dir / "exists";
  ASSERT_TRUE(WriteFileAtomically(path, "keep me").ok());
  auto writer = ZstdFileWriter::Create(path, {});
  ASSERT_FALSE(writer.ok());
  EXPECT_NE(writer.status().message().find(path), std::string::npos);
  EXPECT_EQ(*ReadWholeFile(path), "keep me");
}

TEST(ZstdFile, UnfinishedWriterLeavesAnIncompleteFile) {
  ScratchDir dir;
  const std::string path = dir / "unfinished.zst";
  {
    auto writer = ZstdFileWriter::Create(path, {});
    ASSERT_TRUE(writer.ok());
    std::string data = MakeTestData(1 << 20);
    ASSERT_TRUE((*writer)->Write(data.data(), data.size()).ok());
  }
  auto read_back = ReadZstd(path);
  ASSERT_FALSE(read_back.ok());
  EXPECT_NE(read_back.status().message().find(path), std::string::npos);
}

TEST(ZstdFile, TruncatedFileIsAnErrorNamingTheFile) {
  ScratchDir dir;
  const std::string path = dir / "cut.zst";
  const std::string data = MakeTestData(4 << 20);
  ZstdWriterOptions options;
  options.header_frame = "identity";
  ASSERT_TRUE(WriteZstd(path, data, options).ok());
  struct stat info;
  ASSERT_EQ(stat(path.c_str(), &info), 0);

  for (off_t size : {info.st_size - 1, info.st_size / 2, off_t{8 + 8 + 3}, off_t{8 + 8}}) {
    SCOPED_TRACE(size);
    TruncateTo(path, size);
    auto read_back = ReadZstd(path);
    ASSERT_FALSE(read_back.ok());
    EXPECT_NE(read_back.status().message().find(path + " is truncated"), std::string::npos)
        << read_back.status().message();
  }
  TruncateTo(path, 5);  // inside the header frame
  EXPECT_FALSE(ReadHeaderFrame(path).ok() && ReadZstd(path).ok());
  TruncateTo(path, 0);
  auto empty = ReadZstd(path);
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find(path), std::string::npos);
}

TEST(ZstdFile, CorruptFileIsAnError) {
  ScratchDir dir;
  const std::string path = dir / "corrupt.zst";
  const std::string data = MakeTestData(2 << 20);
  ASSERT_TRUE(WriteZstd(path, data, {}).ok());
  auto bytes = ReadWholeFile(path);
  ASSERT_TRUE(bytes.ok());
  std::string damaged = *bytes;
  damaged[damaged.size() / 2] ^= 0x55;
  ASSERT_EQ(unlink(path.c_str()), 0);
  ASSERT_TRUE(WriteFileAtomically(path, damaged).ok());
  auto read_back = ReadZstd(path);
  ASSERT_FALSE(read_back.ok());
  EXPECT_NE(read_back.status().message().find(path), std::string::npos);

  ASSERT_TRUE(WriteFileAtomically(path, *bytes + "trailing garbage").ok());
  EXPECT_FALSE(ReadZstd(path).ok());
  ASSERT_TRUE(WriteFileAtomically(path, "not zstd at all, just text").ok());
  EXPECT_FALSE(ReadZstd(path).ok());
}

// Peak resident memory of this process in KiB (VmHWM), or -1.
long PeakRssKiB() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

TEST(ZstdFile, WriterAndReaderMemoryStaysSmall) {
  // The whole tool must fit in 100 MB while compressing a 1 GB data directory.
  {
    std::ofstream reset("/proc/self/clear_refs");
    reset << "5";  // resets VmHWM to the current RSS
  }
  ScratchDir dir;
  const std::string path = dir / "big.zst";
  const std::string data = MakeTestData(8 << 20, 21);
  long before = PeakRssKiB();
  if (before < 0) GTEST_SKIP() << "no /proc/self/status";
  {
    ZstdWriterOptions options;
    options.threads = 2;
    auto writer = ZstdFileWriter::Create(path, options);
    ASSERT_TRUE(writer.ok());
    for (int i = 0; i < 24; ++i) ASSERT_TRUE((*writer)->Write(data.data(), data.size()).ok());
    ASSERT_TRUE((*writer)->Finish().ok());
    auto reader = ZstdFileReader::Open(path);
    ASSERT_TRUE(reader.ok());
    std::vector<char> buffer(1 << 20);
    uint64_t total = 0;
    while (true) {
      auto n = (*reader)->Read(buffer.data(), buffer.size());
      ASSERT_TRUE(n.ok()) << n.status().ToString();
      if (*n == 0) break;
      total += *n;
    }
    EXPECT_EQ(total, 24u * data.size());
  }
  long growth_mib = (PeakRssKiB() - before) / 1024;
  EXPECT_LT(growth_mib, 40) << "zstd buffers grew the peak RSS by " << growth_mib << " MiB";
}

// The stream classes on their own: into memory, out of memory in small pieces (as a pipe or
// an object read would hand them out), errors naming the stream's name.
struct CompressedInMemory {
  std::string bytes;
  std::string sha256;
};

CompressedInMemory CompressToMemory(const std::string& data, const std::string& header_frame) {
  StringSink sink;
  ZstdWriterOptions options;
  options.threads = 2;
  options.header_frame = header_frame;
  auto writer = ZstdWriter::Create(sink, "mem://half", options);
  EXPECT_TRUE(writer.ok()) << writer.status().ToString();
  if (!writer.ok()) return {};
  for (size_t offset = 0; offset < data.size(); offset += 100000) {
    EXPECT_TRUE((*writer)->Write(data.data() + offset, std::min<size_t>(100000, data.size() - offset)).ok());
  }
  EXPECT_TRUE((*writer)->Finish().ok());
  EXPECT_EQ((*writer)->input_bytes(), data.size());
  EXPECT_EQ((*writer)->output_bytes(), sink.bytes().size());
  return {sink.bytes(), (*writer)->sha256_hex()};
}

Result<std::string> DecompressFromMemory(std::string bytes, size_t piece,
                                         std::string* header_frame = nullptr,
                                         std::string* sha = nullptr) {
  const size_t size = bytes.size();
  GB_ASSIGN_OR_RETURN(auto reader,
                      ZstdReader::Open(std::make_unique<StringSource>(std::move(bytes), piece),
                                       "mem://half"));
  if (header_frame) *header_frame = reader->header_frame();
  std::string out;
  std::string buffer(65536, '\0');
  while (true) {
    GB_ASSIGN_OR_RETURN(size_t n, reader->Read(buffer.data(), buffer.size()));
    if (n == 0) break;
    out.append(buffer.data(), n);
  }
  EXPECT_EQ(reader->compressed_bytes(), size);
  if (sha) *sha = reader->sha256_hex();
  return out;
}

TEST(ZstdStream, RoundTripThroughMemoryInSmallPieces) {
  const std::string data = MakeTestData(5 << 20, 17);
  const std::string header = "pair_token = \"0123\"\n";
  CompressedInMemory compressed = CompressToMemory(data, header);
  EXPECT_EQ(compressed.sha256, Sha256::OfString(compressed.bytes));
  for (size_t piece : {size_t{3}, size_t{4097}, size_t{1} << 20}) {
    SCOPED_TRACE(piece);
    std::string frame, sha;
    auto read_back = DecompressFromMemory(compressed.bytes, piece, &frame, &sha);
    ASSERT_TRUE(read_back.ok()) << read_back.status().ToString();
    EXPECT_TRUE(*read_back == data);
    EXPECT_EQ(frame, header);
    EXPECT_EQ(sha, compressed.sha256);
  }
}

TEST(ZstdStream, AHeaderFrameLargerThanAReadAheadChunk) {
  const std::string data = MakeTestData(1 << 20, 5);
  const std::string header = MakeTestData(3 << 20, 6);  // read ahead works in 1 MiB chunks
  CompressedInMemory compressed = CompressToMemory(data, header);
  std::string frame, sha;
  auto read_back = DecompressFromMemory(compressed.bytes, 1 << 16, &frame, &sha);
  ASSERT_TRUE(read_back.ok()) << read_back.status().ToString();
  EXPECT_TRUE(*read_back == data);
  EXPECT_TRUE(frame == header);
  EXPECT_EQ(sha, compressed.sha256);
}

TEST(ZstdStream, TruncatedOrCorruptStreamsAreErrorsNamingTheStream) {
  const std::string data = MakeTestData(2 << 20, 8);
  CompressedInMemory compressed = CompressToMemory(data, "identity");
  const size_t size = compressed.bytes.size();
  for (size_t cut : {size - 1, size / 2, size_t{8 + 8 + 3}, size_t{8 + 8}}) {
    SCOPED_TRACE(cut);
    auto read_back = DecompressFromMemory(compressed.bytes.substr(0, cut), 1000);
    ASSERT_FALSE(read_back.ok());
    EXPECT_NE(read_back.status().message().find("mem://half is truncated"), std::string::npos)
        << read_back.status().message();
  }
  auto in_header = ZstdReader::Open(std::make_unique<StringSource>(compressed.bytes.substr(0, 12)),
                                    "mem://half");
  ASSERT_FALSE(in_header.ok());
  EXPECT_NE(in_header.status().message().find("mem://half is truncated inside its header frame"),
            std::string::npos) << in_header.status().message();
  auto empty = DecompressFromMemory("", 1000);
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("mem://half"), std::string::npos);

  std::string damaged = compressed.bytes;
  damaged[damaged.size() / 2] ^= 0x55;
  auto corrupt = DecompressFromMemory(damaged, 1 << 20);
  ASSERT_FALSE(corrupt.ok());
  EXPECT_NE(corrupt.status().message().find("mem://half is corrupt"), std::string::npos)
      << corrupt.status().message();
}

// Hands out `bytes`, then fails as a broken download would, instead of ending.
class BrokenSource : public ByteSource {
 public:
  explicit BrokenSource(std::string bytes) : inner_(std::move(bytes), 65536) {}
  Result<size_t> Read(void* buffer, size_t capacity) override {
    GB_ASSIGN_OR_RETURN(const size_t n, inner_.Read(buffer, capacity));
    if (n == 0) return Status::Failed("the connection was reset");
    return n;
  }

 private:
  StringSource inner_;
};

TEST(ZstdStream, ASourceErrorIsAReadErrorAfterTheBytesBeforeIt) {
  // Large enough that the bytes before the break fill several read-ahead chunks.
  const std::string data = MakeTestData(16 << 20, 9);
  CompressedInMemory compressed = CompressToMemory(data, "identity");
  auto reader = ZstdReader::Open(
      std::make_unique<BrokenSource>(compressed.bytes.substr(0, compressed.bytes.size() / 2)),
      "mem://half");
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  std::string out;
  std::string buffer(65536, '\0');
  Status failure;
  while (failure.ok()) {
    Result<size_t> n = (*reader)->Read(buffer.data(), buffer.size());
    if (!n.ok()) failure = n.status();
    else if (*n == 0) break;
    else out.append(buffer.data(), *n);
  }
  ASSERT_FALSE(failure.ok()) << "a broken source read as a complete stream";
  EXPECT_EQ(failure.message(), "the connection was reset");
  EXPECT_GT(out.size(), 0u);
  EXPECT_TRUE(data.compare(0, out.size(), out) == 0);
  EXPECT_EQ((*reader)->sha256_hex(), "");
  // The error stays.
  EXPECT_FALSE((*reader)->Read(buffer.data(), buffer.size()).ok());
}

// Accepts `budget` bytes, then fails as a full disk or a broken upload would.
class FailingSink : public ByteSink {
 public:
  explicit FailingSink(size_t budget) : budget_(budget) {}
  Status Write(const void*, size_t size) override {
    if (size > budget_) return Status::Failed("the sink is full");
    budget_ -= size;
    return Status::Ok();
  }

 private:
  size_t budget_;
};

TEST(ZstdStream, ASinkErrorStopsTheWriter) {
  FailingSink sink(1 << 20);
  ZstdWriterOptions options;
  options.threads = 1;
  auto writer = ZstdWriter::Create(sink, "mem://half", options);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  const std::string data = MakeTestData(1 << 20, 2);
  // Incompressible enough that the sink fills within 16 MiB of input.
  Status status = Status::Ok();
  for (int i = 0; i < 16 && status.ok(); ++i) {
    const std::string noise = MakeTestData(1 << 20, 100 + i);
    status = (*writer)->Write(noise.data(), noise.size());
  }
  if (status.ok()) status = (*writer)->Finish();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message(), "the sink is full");
  // Every later call returns the same error rather than writing on.
  EXPECT_EQ((*writer)->Write(data.data(), data.size()).message(), "the sink is full");
  EXPECT_EQ((*writer)->Finish().message(), "the sink is full");
  EXPECT_EQ((*writer)->sha256_hex(), "");
}

TEST(ZstdStream, ReadHeaderFrameOfARangeSourceReadsOnlyTheFrame) {
  ScratchDir dir;
  const std::string path = dir / "half.zst";
  ZstdWriterOptions options;
  options.header_frame = "set = \"x\"\n";
  ASSERT_TRUE(WriteZstd(path, MakeTestData(3 << 20, 4), options).ok());
  auto file = FileRangeSource::Open(path);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  // Counts what is read through it: the frame and its 8-byte prefix, nothing more.
  class Counting : public RangeSource {
   public:
    explicit Counting(RangeSource& inner) : inner_(inner) {}
    const std::string& name() const override { return inner_.name(); }
    uint64_t size() const override { return inner_.size(); }
    Result<std::string> ReadRange(uint64_t offset, size_t length) override {
      ++reads;
      bytes += length;
      return inner_.ReadRange(offset, length);
    }
    int reads = 0;
    uint64_t bytes = 0;

   private:
    RangeSource& inner_;
  } counting(**file);
  auto header = ReadHeaderFrame(counting);
  ASSERT_TRUE(header.ok()) << header.status().ToString();
  EXPECT_EQ(*header, options.header_frame);
  EXPECT_EQ(*header, *ReadHeaderFrame(path));
  EXPECT_EQ(counting.reads, 2);
  EXPECT_EQ(counting.bytes, 8 + options.header_frame.size());
}

TEST(ZstdFile, MissingFileIsAnError) {
  ScratchDir dir;
  EXPECT_FALSE(ZstdFileReader::Open(dir / "absent").ok());
  EXPECT_FALSE(ReadHeaderFrame(dir / "absent").ok());
}

}  // namespace
}  // namespace gb
