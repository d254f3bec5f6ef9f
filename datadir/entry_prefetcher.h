// EntryPrefetcher: reads a stream of index entries (a parent set's index) on a thread of its
// own, a few batches ahead of the one who takes them. An incremental first pass walks the
// data dir and reads its parent's index side by side; on one core, decompressing and parsing
// that index was a third of the pass, which now runs beside the walk's system calls.
//
// Entries come out in the stream's order; an error of the stream comes out where it happened,
// after every entry read before it, and ends the stream.
//
// Thread-safety: Next is called from one thread at a time. `next` runs on the prefetcher's
// thread only, from construction until the stream ends or the prefetcher is destroyed (which
// waits for a call under way to return), so what it reads must outlive the prefetcher.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "datadir/file_index.h"
#include "io/status.h"

namespace gb {

class EntryPrefetcher {
 public:
  using NextFn = std::function<Result<bool>(FileIndexEntry&)>;

  // At most `batches` batches of `batch_entries` entries wait to be taken.
  explicit EntryPrefetcher(NextFn next, size_t batch_entries = 512, size_t batches = 4);
  ~EntryPrefetcher();
  EntryPrefetcher(const EntryPrefetcher&) = delete;
  EntryPrefetcher& operator=(const EntryPrefetcher&) = delete;

  // The next entry into `entry` (true), the end of the stream (false), or its error.
  Result<bool> Next(FileIndexEntry& entry);

 private:
  void Run();

  const NextFn next_;
  const size_t batch_entries_;
  const size_t max_batches_;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::vector<FileIndexEntry>> ready_;  // guarded by mutex_
  bool ended_ = false;                              // guarded by mutex_: no batch will follow
  Status failure_;                                  // guarded by mutex_: why it ended, if not ok
  std::atomic<bool> stopping_{false};  // read between two calls of next_, too

  std::vector<FileIndexEntry> taking_;  // the consumer's batch
  size_t taken_ = 0;                    // entries of taking_ handed out

  std::thread thread_;  // last: started when everything above is ready
};

}  // namespace gb
