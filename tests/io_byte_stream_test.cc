#include "io/byte_stream.h"

#include <fcntl.h>
#include <unistd.h>

#include <thread>

#include <gtest/gtest.h>

#include "io/atomic_file.h"
#include "io/sha256.h"
#include "io_test_util.h"

namespace gb {
namespace {

using testing::MakeTestData;
using testing::ScratchDir;


TEST(ByteStream, CopiesAPipeIntoAFile) {
  ScratchDir dir;
  const std::string data = MakeTestData(6 << 20, 9);
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  std::thread writer([&] {
    FdSink sink(pipe_fds[1]);  // blocks on the full pipe: exercises partial writes
    EXPECT_TRUE(sink.Write(data.data(), data.size()).ok());
    close(pipe_fds[1]);
  });
  int out = open((dir / "copy").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  ASSERT_GE(out, 0);
  FdSource source(pipe_fds[0]);
  FdSink file(out);
  auto copied = CopyStream(source, file);
  writer.join();
  close(pipe_fds[0]);
  close(out);
  ASSERT_TRUE(copied.ok());
  EXPECT_EQ(*copied, data.size());
  EXPECT_EQ(*Sha256::OfFile(dir / "copy"), Sha256::OfString(data));
}

TEST(ByteStream, EmptySourceCopiesNothing) {
  ScratchDir dir;
  ASSERT_TRUE(WriteFileAtomically(dir / "empty", "").ok());
  int fd = open((dir / "empty").c_str(), O_RDONLY | O_CLOEXEC);
  FdSource source(fd);
  StringSink sink;
  auto copied = CopyStream(source, sink);
  close(fd);
  ASSERT_TRUE(copied.ok());
  EXPECT_EQ(*copied, 0u);
}

TEST(ByteStream, ErrorsAreReported) {
  ScratchDir dir;
  ASSERT_TRUE(WriteFileAtomically(dir / "file", "x").ok());
  int read_only = open((dir / "file").c_str(), O_RDONLY | O_CLOEXEC);
  FdSink sink(read_only);
  EXPECT_FALSE(sink.Write("y", 1).ok());
  int directory = open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  FdSource source(directory);
  char buffer[16];
  EXPECT_FALSE(source.Read(buffer, sizeof buffer).ok());
  close(read_only);
  close(directory);
}

}  // namespace
}  // namespace gb
