#include "io/ordered_workers.h"

#include <utility>

namespace gb {

OrderedWorkers::OrderedWorkers(int worker_threads, size_t max_in_flight, Transform transform)
    : max_in_flight_(max_in_flight), transform_(std::move(transform)) {
  threads_.reserve(worker_threads);
  for (int i = 0; i < worker_threads; ++i) threads_.emplace_back([this, i] { WorkerLoop(i); });
}

OrderedWorkers::~OrderedWorkers() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    queue_.clear();
  }
  work_ready_.notify_all();
  for (std::thread& thread : threads_) thread.join();
}

void OrderedWorkers::Submit(std::string input) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(Job{submitted_++, std::move(input), std::string()});
  }
  work_ready_.notify_one();
}

Result<std::string> OrderedWorkers::Next() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (done_.count(taken_) == 0) {
    // Run a queued job here rather than sleep (see the header), but never the only one queued
    // while a worker runs the job awaited: that worker would find nothing to do next.
    const bool awaited_is_queued = !queue_.empty() && queue_.front().sequence == taken_;
    if (queue_.empty() || (!threads_.empty() && !awaited_is_queued && queue_.size() < 2)) {
      result_ready_.wait(lock);
      continue;
    }
    Job job = TakeJobLocked();
    lock.unlock();
    RunJob(static_cast<int>(threads_.size()), std::move(job));
    lock.lock();
  }
  auto found = done_.find(taken_);
  Result<std::string> result = std::move(found->second);
  done_.erase(found);
  ++taken_;
  return result;
}

void OrderedWorkers::Recycle(std::string buffer) {
  std::lock_guard<std::mutex> lock(mutex_);
  // Spares and the jobs in flight together no more than one above the bound: the owner
  // recycles a result just before it takes the next and submits one more, which takes this
  // spare. More spares sat idle beside full jobs (a verify's peak held 3 idle 5.5 MiB frames).
  if (spare_outputs_.size() + in_flight() <= max_in_flight_)
    spare_outputs_.push_back(std::move(buffer));
}

std::string OrderedWorkers::SpareInput() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (spare_inputs_.empty()) return std::string();
  std::string spare = std::move(spare_inputs_.back());
  spare_inputs_.pop_back();
  return spare;
}

OrderedWorkers::Job OrderedWorkers::TakeJobLocked() {
  Job job = std::move(queue_.front());
  queue_.pop_front();
  if (!spare_outputs_.empty()) {
    job.output = std::move(spare_outputs_.back());
    spare_outputs_.pop_back();
  }
  return job;
}

void OrderedWorkers::RunJob(int worker, Job job) {
  Status status = transform_(worker, job.sequence, job.input, &job.output);
  job.input.clear();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // One kept for SpareInput: the owner takes it for the frame it fills next. More would
    // sit idle (the peak memory of a backup is these buffers); the rest are freed now,
    // before their results wait to be taken.
    if (spare_inputs_.empty())
      spare_inputs_.push_back(std::move(job.input));
    else
      job.input = std::string();
    if (status.ok()) {
      done_.emplace(job.sequence, Result<std::string>(std::move(job.output)));
    } else {
      done_.emplace(job.sequence, Result<std::string>(status));
    }
  }
  result_ready_.notify_all();
}

void OrderedWorkers::WorkerLoop(int worker) {
  while (true) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      job = TakeJobLocked();
    }
    RunJob(worker, std::move(job));
  }
}

}  // namespace gb
