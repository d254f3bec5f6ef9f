// OrderedWorkers: a fixed pool of threads that transforms byte buffers (compress a chunk,
// decompress a frame) and hands the results back in the order the buffers were submitted,
// so a stream can be processed in parallel and still written sequentially.
//
// The pool holds no more than `max_in_flight` jobs (queued, running or done but not yet
// taken): the caller bounds memory by taking a result (Next) before submitting more.
// Submit, Next, Recycle and in_flight must be called from one thread (the owner). The
// transform runs on `worker_threads` threads (indexes 0 .. worker_threads-1) and, while
// Next() waits, on the owner itself (index worker_threads): on a busy machine a woken thread
// can wait a whole scheduling period for a core, and the owner already has one. The owner
// takes the job it waits for when it is still queued, else another only when a second one
// is queued: a worker that finished would otherwise find nothing to do while the owner
// compresses (a full backup's worker sat idle 40% of its first pass on 2 cores). Each passes
// its own index so that it can use its own context, so a transform needs worker_threads + 1
// contexts. With 0 worker threads, jobs run in Next().
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "io/status.h"

namespace gb {

class OrderedWorkers {
 public:
  // Turns `input` (job number `sequence`, counted from 0) into `output` on worker `worker`.
  // `output` may hold a recycled buffer's old bytes: the transform sets its size and content.
  using Transform =
      std::function<Status(int worker, uint64_t sequence, std::string& input, std::string* output)>;

  // REQUIRES: worker_threads >= 0, max_in_flight >= 1.
  OrderedWorkers(int worker_threads, size_t max_in_flight, Transform transform);
  // Stops the workers; results not taken are dropped.
  ~OrderedWorkers();
  OrderedWorkers(const OrderedWorkers&) = delete;
  OrderedWorkers& operator=(const OrderedWorkers&) = delete;

  size_t in_flight() const { return submitted_ - taken_; }
  bool full() const { return in_flight() >= max_in_flight_; }

  // REQUIRES: !full().
  void Submit(std::string input);
  // The result of the oldest job not yet taken, waiting for it. REQUIRES: in_flight() > 0.
  Result<std::string> Next();
  // Gives back a result the owner is done with, so that a later job writes into it instead
  // of a fresh allocation (big frames: saves the page faults and the zero-filling).
  void Recycle(std::string buffer);
  // An empty buffer to fill with the next input: the storage of an input a job is done with
  // when there is one (a compressor filling 16 MiB frames otherwise faults in every page of
  // a fresh allocation: about a tenth of a backup's CPU), else a new string.
  std::string SpareInput();

 private:
  struct Job {
    uint64_t sequence = 0;
    std::string input;
    std::string output;  // a recycled buffer, or empty
  };
  Job TakeJobLocked();  // REQUIRES: mutex_ held, !queue_.empty()
  void RunJob(int worker, Job job);
  void WorkerLoop(int worker);

  const size_t max_in_flight_;
  const Transform transform_;
  uint64_t submitted_ = 0;  // owner thread only
  uint64_t taken_ = 0;      // owner thread only

  std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable result_ready_;
  std::deque<Job> queue_;                  // guarded by mutex_
  std::map<uint64_t, Result<std::string>> done_;  // guarded by mutex_
  std::vector<std::string> spare_outputs_;  // guarded by mutex_
  std::vector<std::string> spare_inputs_;   // guarded by mutex_; emptied, capacity kept
  bool stopping_ = false;                  // guarded by mutex_
  std::vector<std::thread> threads_;
};

}  // namespace gb
