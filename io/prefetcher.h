// Prefetcher: reads a ByteSource front to back on its own thread, in fixed-size chunks, ahead
// of the consumer, so that the source's latency (a disk, an S3 GET) overlaps the consumer's
// work (zstd, tar, pg_restore). A fixed pool of chunks circulates between the two threads:
// memory stays at chunk_size * chunks whatever the length of the stream. Optionally hashes
// the bytes on the reading thread, so that hashing overlaps the consumer's work too.
//
// Thread-safety: one consumer thread calls Next/Recycle; the reading thread is internal.
// The source is used only by the reading thread until the Prefetcher is destroyed.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "io/byte_stream.h"
#include "io/sha256.h"
#include "io/status.h"

namespace gb {

// An allocator that leaves chars uninitialised: a chunk is always read into before it is
// used, and zero-filling (thus faulting in) megabytes of chunks per reader, most of which a
// small object never reaches, was a sixth of a one-file extract's time.
template <typename T>
struct UninitialisedAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = UninitialisedAllocator<U>;
  };
  UninitialisedAllocator() = default;
  template <typename U>
  UninitialisedAllocator(const UninitialisedAllocator<U>&) noexcept {}
  template <typename U>
  void construct(U* at) noexcept {
    ::new (static_cast<void*>(at)) U;
  }
};

struct PrefetchedChunk {
  std::vector<char, UninitialisedAllocator<char>> bytes;  // chunk_size bytes of storage
  size_t size = 0;          // bytes filled; 0: the end of the stream
};

class Prefetcher {
 public:
  struct Options {
    size_t chunk_size = 1 << 20;
    size_t chunks = 4;   // in circulation, the one the consumer holds included; at least 2
    bool hash = false;   // SHA-256 of the bytes read (sha256_hex)
  };

  // `already_read`: bytes the caller took from `source` before (a header it had to parse
  // first); they are hashed and counted as if read here. `source` must outlive this object.
  Prefetcher(ByteSource& source, const Options& options, std::string_view already_read = {});
  ~Prefetcher();  // stops the reading thread (after the Read in progress) and joins it
  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;

  // The next chunk in stream order, waiting for it; a chunk of size 0 is the end of the
  // stream. A failed Read of the source is returned once the chunks before it were taken.
  Result<std::unique_ptr<PrefetchedChunk>> Next();
  // Gives a chunk taken by Next back to be filled again.
  void Recycle(std::unique_ptr<PrefetchedChunk> chunk);

  uint64_t bytes_read() const { return bytes_read_; }  // already_read included
  // Valid once the end-of-stream chunk was handed out, with Options::hash.
  const std::string& sha256_hex() const { return sha256_hex_; }

 private:
  void Run();
  Status Fill(PrefetchedChunk& chunk);

  ByteSource& source_;
  const bool hashing_;
  Sha256 hash_;
  std::atomic<uint64_t> bytes_read_{0};
  std::string sha256_hex_;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::unique_ptr<PrefetchedChunk>> free_;
  std::deque<std::unique_ptr<PrefetchedChunk>> full_;
  Status failure_;
  bool stopping_ = false;
  std::thread thread_;  // last: started once everything above is ready
};

}  // namespace gb
