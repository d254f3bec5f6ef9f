#include "datadir/entry_prefetcher.h"

#include <utility>

namespace gb {

EntryPrefetcher::EntryPrefetcher(NextFn next, size_t batch_entries, size_t batches)
    : next_(std::move(next)),
      batch_entries_(batch_entries > 0 ? batch_entries : 1),
      max_batches_(batches > 0 ? batches : 1),
      thread_([this] { Run(); }) {}

EntryPrefetcher::~EntryPrefetcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);  // not between the thread's check and its wait
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void EntryPrefetcher::Run() {
  for (;;) {
    std::vector<FileIndexEntry> batch;
    batch.reserve(batch_entries_);
    Status failure;
    bool ended = false;
    while (batch.size() < batch_entries_ && !stopping_) {
      FileIndexEntry entry;
      Result<bool> more = next_(entry);
      if (!more.ok()) failure = more.status();
      if (!more.ok() || !*more) {
        ended = true;
        break;
      }
      batch.push_back(std::move(entry));
    }
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] { return stopping_ || ready_.size() < max_batches_; });
    if (stopping_) return;
    if (!batch.empty()) ready_.push_back(std::move(batch));
    ended_ = ended;
    failure_ = failure;
    lock.unlock();
    changed_.notify_all();
    if (ended) return;
  }
}

Result<bool> EntryPrefetcher::Next(FileIndexEntry& entry) {
  if (taken_ == taking_.size()) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] { return !ready_.empty() || ended_; });
    if (ready_.empty()) {
      if (!failure_.ok()) return failure_;
      return false;
    }
    taking_ = std::move(ready_.front());
    ready_.pop_front();
    taken_ = 0;
    lock.unlock();
    changed_.notify_all();
  }
  entry = std::move(taking_[taken_++]);
  return true;
}

}  // namespace gb
