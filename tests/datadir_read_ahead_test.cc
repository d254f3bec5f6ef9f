// ReadAhead's sampling: a warm tree is probed, one file in kProbeEvery, and nothing advised; a
// cold one (its pages dropped) is advised file by file.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <optional>
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
    // Written back now: a page locked to start its writeback says EAGAIN to a read that may
    // not wait, which a warm file must not.
    int dir = ::open(scratch_.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ::syncfs(dir);
    ::close(dir);
  }
  // Reads paths_[begin..end) whole: in the page cache again.
  void Warm(size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) (void)ReadWholeFile(paths_[i]);
  }
  struct Walked {
    uint64_t advised;
    uint64_t found_cached;
    bool operator==(const Walked& other) const {
      return advised == other.advised && found_cached == other.found_cached;
    }
  };
  // The read-ahead's figures for one walk of the tree, `prepare`d first (it returns false
  // when the state cannot be had here). A busy machine now and then reclaims a warm page or
  // says EAGAIN to a read of a cached one (about 1 in 1000 small ext4 files): up to 3 walks,
  // the first that gives `expected`, else the last.
  template <typename Prepare>
  std::optional<Walked> WalkUntil(Walked expected, Prepare prepare) {
    Walked walked{};
    for (int attempt = 0; attempt < 3; ++attempt) {
      if (!prepare()) return std::nullopt;
      ReadAhead read_ahead(scratch_.path(), {}, 2, kNoWindow);
      read_ahead.WaitForWalk();
      walked = {read_ahead.files_advised(), read_ahead.files_found_cached()};
      if (walked == expected) break;
    }
    return walked;
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
  const Walked expected{0, kFiles / ReadAhead::kProbeEvery};
  const std::optional<Walked> walked = WalkUntil(expected, [&] {
    Warm(0, kFiles);
    return true;
  });
  ASSERT_TRUE(walked.has_value());
  EXPECT_EQ(walked->advised, expected.advised);
  EXPECT_EQ(walked->found_cached, expected.found_cached);
}

TEST_F(ReadAheadTest, AColdTreeIsAdvisedFileByFile) {
  const Walked expected{kFiles, 0};
  const std::optional<Walked> walked = WalkUntil(expected, [&] { return DropPages(); });
  if (!walked) GTEST_SKIP() << "pages cannot be dropped here (tmpfs?)";
  EXPECT_EQ(walked->advised, expected.advised);
  EXPECT_EQ(walked->found_cached, expected.found_cached);
}

// A cold stretch is advised whole, then a warm one is sampled again. The walk takes d0..d7 in
// order, each file in name order: the first kColdStretch files are paths_[0..255].
TEST_F(ReadAheadTest, AWarmStretchAfterAColdOneIsSampledAgain) {
  // The first kColdStretch files cold, the rest in the cache.
  const Walked expected{ReadAhead::kColdStretch,
                        (kFiles - ReadAhead::kColdStretch) / ReadAhead::kProbeEvery};
  const std::optional<Walked> walked = WalkUntil(expected, [&] {
    Warm(ReadAhead::kColdStretch, kFiles);
    return DropPages(0, ReadAhead::kColdStretch);
  });
  if (!walked) GTEST_SKIP() << "pages cannot be dropped here";
  EXPECT_EQ(walked->advised, expected.advised);
  EXPECT_EQ(walked->found_cached, expected.found_cached);
}

}  // namespace
}  // namespace gb
