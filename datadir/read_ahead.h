// ReadAhead: warms the page cache for the files the archive writer is about to read, walking
// the same tree in the same order on its own threads, at most `window_bytes` ahead of what
// the writer has consumed. A cold data dir of many small files is then read at the disk's
// parallel speed rather than one file at a time, which is what DSS's downtime waits for.
// It only advises the kernel: a failure here is never an error, the writer reads for itself.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace gb {

class ReadAhead {
 public:
  ReadAhead(std::string root, std::vector<std::string> exclude, int threads, uint64_t window_bytes);
  ~ReadAhead();  // stops and joins its threads
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  // The writer has read this many bytes of file content so far.
  void Consumed(uint64_t bytes) { consumed_.store(bytes, std::memory_order_relaxed); }

 private:
  struct File {
    std::string path;
    uint64_t size;
  };

  void Walk();
  void Warm();
  bool WaitForRoom(uint64_t ahead_of_writer);

  std::string root_;
  std::vector<std::string> exclude_;
  uint64_t window_bytes_;
  std::atomic<uint64_t> consumed_{0};

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<File> queue_;
  bool walk_done_ = false;
  bool stopping_ = false;

  std::thread walker_;
  std::vector<std::thread> warmers_;
};

}  // namespace gb
