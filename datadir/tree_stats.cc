#include "datadir/tree_stats.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

namespace gb {
namespace {

class ParallelMeasure {
 public:
  ParallelMeasure(std::string root, const std::function<bool(std::string_view)>& skip_top)
      : root_(std::move(root)), skip_top_(skip_top) {
    pending_.push_back(root_);
  }

  Result<TreeStats> Run(int threads) {
    std::vector<std::thread> workers;
    for (int i = 0; i < threads; ++i) workers.emplace_back([this] { Work(); });
    for (auto& worker : workers) worker.join();
    if (!error_.ok()) return error_;
    return stats_;
  }

 private:
  struct Found {
    TreeStats stats;
    std::vector<std::string> directories;
    std::vector<std::pair<std::pair<dev_t, ino_t>, uint64_t>> linked;  // nlink > 1
  };

  void Work() {
    for (;;) {
      std::string directory;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [this] { return !pending_.empty() || active_ == 0 || !error_.ok(); });
        if (pending_.empty() || !error_.ok()) {
          changed_.notify_all();
          return;
        }
        directory = std::move(pending_.front());
        pending_.pop_front();
        ++active_;
      }
      Found found;
      Status read = ReadDirectory(directory, found);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        --active_;
        if (!read.ok() && error_.ok()) error_ = read;
        stats_.entries += found.stats.entries;
        stats_.bytes += found.stats.bytes;
        for (auto& [inode, size] : found.linked)
          if (linked_.insert(inode).second) stats_.bytes += size;
        for (auto& sub : found.directories) pending_.push_back(std::move(sub));
      }
      changed_.notify_all();
    }
  }

  Status ReadDirectory(const std::string& directory, Found& found) {
    int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno("cannot read " + directory, errno);
    DIR* dir = ::fdopendir(fd);
    if (dir == nullptr) {
      ::close(fd);
      return Status::FromErrno("cannot read " + directory, errno);
    }
    bool top = directory == root_;
    Status status;
    errno = 0;
    while (struct dirent* entry = ::readdir(dir)) {
      const char* name = entry->d_name;
      if (std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0) continue;
      if (top && skip_top_ && skip_top_(name)) continue;
      struct stat st;
      if (::fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        status = Status::FromErrno("cannot read " + directory + "/" + name, errno);
        break;
      }
      if (S_ISSOCK(st.st_mode)) continue;
      ++found.stats.entries;
      if (S_ISDIR(st.st_mode)) {
        found.directories.push_back(directory + "/" + name);
      } else if (S_ISREG(st.st_mode)) {
        if (st.st_nlink > 1) found.linked.push_back({{st.st_dev, st.st_ino}, static_cast<uint64_t>(st.st_size)});
        else found.stats.bytes += static_cast<uint64_t>(st.st_size);
      }
      errno = 0;
    }
    if (status.ok() && errno != 0) status = Status::FromErrno("cannot read " + directory, errno);
    ::closedir(dir);
    return status;
  }

  std::string root_;
  const std::function<bool(std::string_view)>& skip_top_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::string> pending_;
  int active_ = 0;
  TreeStats stats_;
  std::set<std::pair<dev_t, ino_t>> linked_;
  Status error_;
};

}  // namespace

Result<TreeStats> MeasureTree(const std::string& root,
                              const std::function<bool(std::string_view)>& skip_top,
                              int threads) {
  ParallelMeasure measure(root, skip_top);
  return measure.Run(threads < 1 ? 1 : threads);
}

}  // namespace gb
