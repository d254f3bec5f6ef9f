// Progress: one line on stderr, rewritten in place, when stderr is a terminal: bytes done
// of the estimated total and the rate. Silent otherwise. Safe to update from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace gb {

class Progress {
 public:
  Progress(std::string label, uint64_t estimated_total);
  ~Progress();  // ends the line

  // Counters of independent streams (e.g. data dir and database) add up.
  void Set(int stream, uint64_t bytes_done);
  void Finish();

 private:
  void Draw(bool force);

  std::string label_;
  uint64_t total_;
  bool enabled_;
  std::atomic<uint64_t> done_[2] = {0, 0};
  std::mutex draw_mutex_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  bool drawn_ = false;
};

}  // namespace gb
