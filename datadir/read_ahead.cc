#include "datadir/read_ahead.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>

#include "datadir/data_dir_walk.h"

namespace gb {
namespace {

constexpr size_t kMaxQueuedFiles = 4096;

void AdviseWillNeed(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOATIME | O_NONBLOCK);
  if (fd < 0 && errno == EPERM) fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return;
  // Starts reading the whole file in the background; several warmers keep the disk busy.
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED);
  ::close(fd);
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
