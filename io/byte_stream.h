// ByteSink and ByteSource: the one-pass byte streams that both halves of a set flow through.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include "io/status.h"

namespace gb {

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual Status Write(const void* data, size_t size) = 0;
};

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to `capacity` bytes into `buffer`; 0 means end of stream.
  virtual Result<size_t> Read(void* buffer, size_t capacity) = 0;
};

// A ByteSource over a file descriptor it does not own (a pipe or a file).
class FdSource : public ByteSource {
 public:
  explicit FdSource(int fd) : fd_(fd) {}
  Result<size_t> Read(void* buffer, size_t capacity) override;

 private:
  int fd_;
};

// A ByteSink over a file descriptor it does not own; retries short writes and EINTR.
class FdSink : public ByteSink {
 public:
  explicit FdSink(int fd) : fd_(fd) {}
  Status Write(const void* data, size_t size) override;

 private:
  int fd_;
};

// A ByteSink that keeps everything written, in memory (keys, headers, small payloads, tests).
class StringSink : public ByteSink {
 public:
  Status Write(const void* data, size_t size) override;
  const std::string& bytes() const { return bytes_; }
  std::string& mutable_bytes() { return bytes_; }
  int writes() const { return writes_; }

 private:
  std::string bytes_;
  int writes_ = 0;
};

// A ByteSource over bytes it owns. It hands out at most `piece` bytes per Read, as a pipe
// would, so that readers are exercised with short reads.
class StringSource : public ByteSource {
 public:
  explicit StringSource(std::string bytes, size_t piece = std::numeric_limits<size_t>::max())
      : bytes_(std::move(bytes)), piece_(piece) {}
  Result<size_t> Read(void* buffer, size_t capacity) override;
  size_t consumed() const { return offset_; }
  bool at_end() const { return offset_ == bytes_.size(); }

 private:
  std::string bytes_;
  size_t piece_;
  size_t offset_ = 0;
};

// Copies `source` into `sink` until end of stream; returns the number of bytes copied.
Result<uint64_t> CopyStream(ByteSource& source, ByteSink& sink);

}  // namespace gb
