// ReadAhead's sampling: a warm tree is probed, one file in kProbeEvery, and nothing advised; a
// cold one (its pages dropped) is advised file by file.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "datadir/read_ahead.h"
#include "io/files.h"
#include "tests/support/scratch_dir.h"

namespace gb {
namespace {

constexpr int kFiles = 320;
constexpr uint64_t kNoWindow = uint64_t{1} << 40;  // the walker never waits for the writer

class ReadAheadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < kFiles; ++i) {
      const std::string path = scratch_.path() + "/d" + std::to_string(i / 40) + "/f" +
                               std::to_string(i) + ".bin";
      std::filesystem::create_directories(std::filesystem::path(path).parent_path());
      ASSERT_TRUE(WriteFile(path, std::string(8192 + i, static_cast<char>('a' + i % 26))).ok());
      paths_.push_back(path);
    }
  }
  // Drops the pages of paths_[begin..end) from the page cache (synced first: dirty pages
  // stay, and a page still under writeback may too: a few rounds). False when some stay
  // (tmpfs keeps them all).
  bool DropPages(size_t begin = 0, size_t end = kFiles) {
    for (int round = 0; round < 5; ++round) {
      bool all_dropped = true;
      for (size_t i = begin; i < end; ++i) {
        if (!LastByteCached(paths_[i])) continue;
        all_dropped = false;
        int fd = ::open(paths_[i].c_str(), O_RDONLY | O_CLOEXEC);
        ::fdatasync(fd);
        ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        ::close(fd);
      }
      if (all_dropped) return true;
    }
    return false;
  }
  // Whether the page of the file's last byte is in the page cache (mincore: looking does
  // not read it in, as a read that may not wait would start to).
  static bool LastByteCached(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    const off_t size = ::lseek(fd, 0, SEEK_END);
    void* map = ::mmap(nullptr, static_cast<size_t>(size), PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    if (map == MAP_FAILED) return false;
    const long page = ::sysconf(_SC_PAGESIZE);
    std::vector<unsigned char> resident(static_cast<size_t>((size + page - 1) / page));
    const bool cached = ::mincore(map, static_cast<size_t>(size), resident.data()) == 0 &&
                        (resident.back() & 1) != 0;
    ::munmap(map, static_cast<size_t>(size));
    return cached;
  }

  testing::ScratchDir scratch_;
  std::vector<std::string> paths_;
};

TEST_F(ReadAheadTest, AWarmTreeIsOnlySampled) {
  // The walker tells a cached file by a read that may not wait; some file systems have none.
  int fd = ::open(paths_.front().c_str(), O_RDONLY | O_CLOEXEC);
  char byte;
  struct iovec one{&byte, 1};
  const bool no_wait_reads = ::preadv2(fd, &one, 1, 0, RWF_NOWAIT) == 1;
  ::close(fd);
  if (!no_wait_reads) GTEST_SKIP() << "no RWF_NOWAIT reads on this file system";
  ReadAhead read_ahead(scratch_.path(), {}, 2, kNoWindow);
  read_ahead.WaitForWalk();
  EXPECT_EQ(read_ahead.files_advised(), 0u);
  EXPECT_EQ(read_ahead.files_found_cached(), static_cast<uint64_t>(kFiles / ReadAhead::kProbeEvery));
}

TEST_F(ReadAheadTest, AColdTreeIsAdvisedFileByFile) {
  if (!DropPages()) GTEST_SKIP() << "pages cannot be dropped here (tmpfs?)";
  ReadAhead read_ahead(scratch_.path(), {}, 2, kNoWindow);
  read_ahead.WaitForWalk();
  EXPECT_EQ(read_ahead.files_advised(), static_cast<uint64_t>(kFiles));
  EXPECT_EQ(read_ahead.files_found_cached(), 0u);
}

// A cold stretch is advised whole, then a warm one is sampled again. The walk takes d0..d7 in
// order, each file in name order: the first kColdStretch files are paths_[0..255].
TEST_F(ReadAheadTest, AWarmStretchAfterAColdOneIsSampledAgain) {
  // The first kColdStretch files cold, the rest in the cache.
  if (!DropPages(0, ReadAhead::kColdStretch)) GTEST_SKIP() << "pages cannot be dropped here";
  ReadAhead read_ahead(scratch_.path(), {}, 2, kNoWindow);
  read_ahead.WaitForWalk();
  EXPECT_EQ(read_ahead.files_advised(), static_cast<uint64_t>(ReadAhead::kColdStretch));
  EXPECT_EQ(read_ahead.files_found_cached(),
            static_cast<uint64_t>((kFiles - ReadAhead::kColdStretch) / ReadAhead::kProbeEvery));
}

}  // namespace
}  // namespace gb
