#include "datadir/read_ahead.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <chrono>

#include "datadir/data_dir_walk.h"

namespace gb {
namespace {

constexpr size_t kMaxQueuedFiles = 4096;

int OpenToAdvise(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOATIME | O_NONBLOCK);
  if (fd < 0 && errno == EPERM) fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  return fd;
}

void AdviseWillNeed(const std::string& path) {
  int fd = OpenToAdvise(path);
  if (fd < 0) return;
  // Starts reading the whole file in the background; several warmers keep the disk busy.
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED);
  ::close(fd);
}

// Whether the last byte of `path` (`size` bytes) is in the page cache; false when it cannot
// be told (the file cannot be opened, the file system has no reads that may not wait).
bool LastByteCached(const std::string& path, uint64_t size) {
  int fd = OpenToAdvise(path);
  if (fd < 0) return false;
  char byte;
  struct iovec one{&byte, 1};
  const bool cached = ::preadv2(fd, &one, 1, static_cast<off_t>(size - 1), RWF_NOWAIT) == 1;
  ::close(fd);
  return cached;
}

}  // namespace

ReadAhead::ReadAhead(std::string root, std::vector<std::string> exclude, int threads,
                     uint64_t window_bytes)
    : root_(std::move(root)), exclude_(std::move(exclude)), window_bytes_(window_bytes) {
  walker_ = std::thread([this] { Walk(); });
  for (int i = 0; i < threads; ++i) warmers_.emplace_back([this] { Warm(); });
}

ReadAhead::~ReadAhead() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  walker_.join();
  for (auto& warmer : warmers_) warmer.join();
}

// Waits until the files queued so far are within the window ahead of the writer. The writer
// does not signal each read, so this polls gently.
bool ReadAhead::WaitForRoom(uint64_t ahead_of_writer) {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_ && (queue_.size() >= kMaxQueuedFiles ||
                        ahead_of_writer > consumed_.load(std::memory_order_relaxed) + window_bytes_))
    changed_.wait_for(lock, std::chrono::milliseconds(5));
  return !stopping_;
}

void ReadAhead::Walk() {
  Result<std::unique_ptr<TreeWalker>> walk = OpenDataDirWalk(root_, exclude_);
  uint64_t queued_bytes = 0;
  int until_probe = 0;  // files of a warm stretch to pass over before the next probe
  int cold_left = 0;    // files of a cold stretch still to advise without probing
  int misses = 0;       // probes in a row that found a file not cached
  while (walk.ok()) {
    Result<const WalkEntry*> entry = (*walk)->Next();
    if (!entry.ok() || *entry == nullptr) break;
    const struct stat& st = (*entry)->st;
    if (!S_ISREG(st.st_mode) || st.st_size == 0) continue;
    // Warmers open by path; deeper than PATH_MAX the writer reads without advice.
    std::string path = (*walk)->display_root() + "/" + std::string((*entry)->relative);
    if (path.size() >= PATH_MAX) continue;
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    if (!WaitForRoom(queued_bytes)) return;
    queued_bytes += size;
    if (cold_left > 0) {
      --cold_left;
    } else if (until_probe > 0) {
      --until_probe;
      continue;
    } else if (LastByteCached(path, size)) {
      ++files_found_cached_;
      misses = 0;
      until_probe = kProbeEvery - 1;
      continue;
    } else if (++misses == 2) {  // one miss alone may be a false one (see the header)
      misses = 0;
      cold_left = kColdStretch - 2;
    }
    ++files_advised_;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back({std::move(path), size});
    }
    changed_.notify_one();
  }
  std::lock_guard<std::mutex> lock(mutex_);
  walk_done_ = true;
  changed_.notify_all();
}

void ReadAhead::WaitForWalk() {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return walk_done_ || stopping_; });
}

void ReadAhead::Warm() {
  for (;;) {
    File file;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [this] { return stopping_ || walk_done_ || !queue_.empty(); });
      if (stopping_ || queue_.empty()) return;
      file = std::move(queue_.front());
      queue_.pop_front();
    }
    changed_.notify_all();
    AdviseWillNeed(file.path);
  }
}

}  // namespace gb
