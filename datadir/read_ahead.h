// ReadAhead: warms the page cache for the files the archive writer is about to read, walking
// the same tree in the same order on its own threads, at most `window_bytes` ahead of what
// the writer has consumed. A cold data dir of many small files is then read at the disk's
// parallel speed rather than one file at a time, which is what DSS's downtime waits for.
// It only advises the kernel: a failure here is never an error, the writer reads for itself.
//
// A warm data dir (a node backed up every night, most of it in the page cache) needs none
// of it, and advising each file, handed from thread to thread, cost a full backup of 112k
// warm files 0.3 s of its 4 s first pass on 2 cores. So the walker samples: in a warm
// stretch it looks at one file in kProbeEvery, whether its last byte is cached (a read that
// may not wait: RWF_NOWAIT). A file found not cached is advised and the next one probed;
// two in a row start a cold stretch of kColdStretch files advised one by one, as before (a
// few small files of a warm ext4 data dir, about 1 in 1000, say EAGAIN to such a read all
// the same). Where such reads are not supported, every file is advised.
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

  static constexpr int kProbeEvery = 16;
  static constexpr int kColdStretch = 256;

  // The writer has read this many bytes of file content so far.
  void Consumed(uint64_t bytes) { consumed_.store(bytes, std::memory_order_relaxed); }

  // Blocks until the walk is over (every file looked at; the last advised ones may still be
  // on their way to the kernel). For tests: the writer never waits for the read-ahead.
  void WaitForWalk();
  // Files handed to the warmers to advise, and files found cached by a probe (walk's
  // figures, final after WaitForWalk).
  uint64_t files_advised() const { return files_advised_.load(); }
  uint64_t files_found_cached() const { return files_found_cached_.load(); }

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
  std::atomic<uint64_t> files_advised_{0};
  std::atomic<uint64_t> files_found_cached_{0};

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<File> queue_;
  bool walk_done_ = false;
  bool stopping_ = false;

  std::thread walker_;
  std::vector<std::thread> warmers_;
};

}  // namespace gb
