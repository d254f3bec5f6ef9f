#include "datadir/tree_stats.h"

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "datadir/data_dir_walk.h"

namespace gb {
namespace {

// Walkers over subtrees, taken by several threads. A thread walks its subtree depth-first
// and hands a subdirectory to the queue only while another thread waits for work, which
// keeps the open fds bounded (a queued subtree holds one) whatever the tree's shape.
class ParallelMeasure {
 public:
  ParallelMeasure(std::unique_ptr<TreeWalker> root, int threads) : threads_(threads) {
    pending_.push_back(std::move(root));
  }

  Result<TreeStats> Run() {
    std::vector<std::thread> workers;
    for (int i = 0; i < threads_; ++i) workers.emplace_back([this] { Work(); });
    for (auto& worker : workers) worker.join();
    if (!error_.ok()) return error_;
    return std::move(stats_);
  }

 private:
  struct Found {
    TreeStats stats;
    std::vector<std::pair<std::pair<dev_t, ino_t>, uint64_t>> linked;  // nlink > 1
  };

  void Work() {
    for (;;) {
      std::unique_ptr<TreeWalker> walker;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ++waiting_;
        changed_.wait(lock, [this] { return !pending_.empty() || active_ == 0 || failed_; });
        --waiting_;
        if (pending_.empty() || failed_) {
          changed_.notify_all();
          return;
        }
        walker = std::move(pending_.front());
        pending_.pop_front();
        --queued_;
        ++active_;
      }
      Found found;
      Status walked = Walk(*walker, found);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        --active_;
        if (!walked.ok() && error_.ok()) {
          error_ = walked;
          failed_ = true;
        }
        stats_.entries += found.stats.entries;
        stats_.bytes += found.stats.bytes;
        for (auto& [inode, size] : found.linked)
          if (linked_.insert(inode).second) stats_.bytes += size;
        for (auto& path : walker->vanished()) stats_.vanished.push_back(path);
      }
      changed_.notify_all();
    }
  }

  Status Walk(TreeWalker& walker, Found& found) {
    for (;;) {
      if (failed_) return Status::Ok();  // another thread's error is the one reported
      GB_ASSIGN_OR_RETURN(const WalkEntry* entry, walker.Next());
      if (entry == nullptr) return Status::Ok();
      const struct stat& st = entry->st;
      if (S_ISSOCK(st.st_mode)) continue;
      ++found.stats.entries;
      if (S_ISREG(st.st_mode)) {
        const uint64_t size = static_cast<uint64_t>(st.st_size);
        if (st.st_nlink > 1) found.linked.push_back({{st.st_dev, st.st_ino}, size});
        else found.stats.bytes += size;
      } else if (S_ISDIR(st.st_mode) && queued_ < waiting_) {
        HandOff(walker, *entry);
      }
    }
  }

  void HandOff(TreeWalker& walker, const WalkEntry& entry) {
    std::unique_ptr<TreeWalker> subtree = TreeWalker::Adopt(
        walker.TakeDirectory(), walker.display_root(), std::string(entry.relative));
    {
      std::lock_guard<std::mutex> lock(mutex_);
      pending_.push_back(std::move(subtree));
      ++queued_;
    }
    changed_.notify_one();
  }

  const int threads_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::unique_ptr<TreeWalker>> pending_;
  std::atomic<int> waiting_{0};  // threads without a subtree
  std::atomic<int> queued_{0};   // subtrees in pending_
  std::atomic<bool> failed_{false};
  int active_ = 0;
  TreeStats stats_;
  std::set<std::pair<dev_t, ino_t>> linked_;
  Status error_;
};

}  // namespace

Result<TreeStats> MeasureTree(const std::string& root, const SkipTopFn& skip_top, int threads) {
  GB_ASSIGN_OR_RETURN(std::unique_ptr<TreeWalker> walker, TreeWalker::Open(root, skip_top));
  ParallelMeasure measure(std::move(walker), threads < 1 ? 1 : threads);
  return measure.Run();
}

Result<TreeStats> MeasureDataDir(const std::string& root, const std::vector<std::string>& exclude) {
  return MeasureTree(root, DataDirSkipTop(exclude));
}

}  // namespace gb
