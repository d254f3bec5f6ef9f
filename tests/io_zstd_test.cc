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

TEST(ZstdFile, MissingFileIsAnError) {
  ScratchDir dir;
  EXPECT_FALSE(ZstdFileReader::Open(dir / "absent").ok());
  EXPECT_FALSE(ReadHeaderFrame(dir / "absent").ok());
}

}  // namespace
}  // namespace gb
