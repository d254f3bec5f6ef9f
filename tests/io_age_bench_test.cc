// Throughput of our age stream vs the age CLI on the same data, file to file (printed, not
// asserted; correctness is). GB_AGE_BENCH_MB sets the size (default 16; the figures in the
// report used 1024).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "io/age_crypto.h"
#include "io/age_identity_file.h"
#include "io/age_stream.h"
#include "io/files.h"
#include "io_test_util.h"

namespace gb {
namespace {

using testing::Command;
using testing::CountingSink;
using testing::ScratchDir;

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

void Report(const char* what, uint64_t bytes, double seconds) {
  std::printf("%-34s %8.1f MB/s  (%.2f s)\n", what, bytes / 1e6 / seconds, seconds);
}

Status WritePlaintext(const std::string& path, uint64_t bytes) {
  const std::string block = age::RandomBytes(1 << 20);
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno("cannot create " + path, errno);
  Status status;
  for (uint64_t done = 0; done < bytes && status.ok(); done += block.size()) {
    status = WriteAll(fd, block.data(), std::min<uint64_t>(block.size(), bytes - done), path);
  }
  close(fd);
  return status;
}

// `out` may be /dev/null, to time the cryptography without the disk.
Result<double> TimeOurEncryption(const std::string& in, const std::string& out,
                                 const AgeEncryptOptions& options) {
  int in_fd = open(in.c_str(), O_RDONLY | O_CLOEXEC);
  int out_fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  FdSource source(in_fd);
  FdSink sink(out_fd);
  const auto start = std::chrono::steady_clock::now();
  GB_ASSIGN_OR_RETURN(auto encryptor, AgeEncryptingSink::Create(&sink, options));
  GB_RETURN_IF_ERROR(CopyStream(source, *encryptor).status());
  GB_RETURN_IF_ERROR(encryptor->Finish());
  const double seconds = Seconds(start);
  close(in_fd);
  close(out_fd);
  return seconds;
}

Result<double> TimeOurDecryption(const std::string& in, const std::vector<AgeIdentity>& identities,
                                 uint64_t expected_bytes) {
  int fd = open(in.c_str(), O_RDONLY | O_CLOEXEC);
  FdSource file(fd);
  CountingSink sink;
  const auto start = std::chrono::steady_clock::now();
  GB_ASSIGN_OR_RETURN(auto decryptor, AgeDecryptingSource::Open(&file, identities, in));
  GB_RETURN_IF_ERROR(CopyStream(*decryptor, sink).status());
  const double seconds = Seconds(start);
  close(fd);
  EXPECT_EQ(sink.bytes, expected_bytes);
  return seconds;
}

double TimeCommand(const std::vector<std::string>& argv) {
  const auto start = std::chrono::steady_clock::now();
  auto run = RunSubprocess(Command(argv));
  EXPECT_TRUE(run.ok() && run->success()) << (run.ok() ? run->Describe() : run.status().ToString());
  return Seconds(start);
}

TEST(AgeBench, StreamThroughputVsAgeCli) {
  const char* mb = getenv("GB_AGE_BENCH_MB");
  const uint64_t bytes = uint64_t{mb ? std::strtoull(mb, nullptr, 10) : 16} << 20;
  ScratchDir dir;
  ASSERT_TRUE(WritePlaintext(dir / "plain", bytes).ok());
  auto identity = GenerateIdentityFile(dir / "key.txt");
  ASSERT_TRUE(identity.ok());
  AgeEncryptOptions options;
  options.recipients = {identity->Recipient()};

  auto encrypt = TimeOurEncryption(dir / "plain", "/dev/null", options);
  ASSERT_TRUE(encrypt.ok()) << encrypt.status().ToString();
  Report("govern-backup encrypt (file->null)", bytes, *encrypt);
  encrypt = TimeOurEncryption(dir / "plain", dir / "ours.age", options);
  ASSERT_TRUE(encrypt.ok()) << encrypt.status().ToString();
  Report("govern-backup encrypt (file->file)", bytes, *encrypt);
  auto decrypt = TimeOurDecryption(dir / "ours.age", {*identity}, bytes);
  ASSERT_TRUE(decrypt.ok()) << decrypt.status().ToString();
  Report("govern-backup decrypt (file->null)", bytes, *decrypt);

  if (access("/usr/bin/age", X_OK) != 0) GTEST_SKIP() << "age CLI not installed: no comparison";
  Report("age 1.1.1 encrypt (file->null)", bytes,
         TimeCommand(
             {"age", "-r", identity->Recipient().ToString(), "-o", "/dev/null", dir / "plain"}));
  Report("age 1.1.1 encrypt (file->file)", bytes,
         TimeCommand({"age", "-r", identity->Recipient().ToString(), "-o", dir / "cli.age",
                      dir / "plain"}));
  Report("age 1.1.1 decrypt (file->null)", bytes,
         TimeCommand({"age", "-d", "-i", dir / "key.txt", "-o", "/dev/null", dir / "ours.age"}));
  auto cross = TimeOurDecryption(dir / "cli.age", {*identity}, bytes);
  ASSERT_TRUE(cross.ok()) << cross.status().ToString();
}

}  // namespace
}  // namespace gb
