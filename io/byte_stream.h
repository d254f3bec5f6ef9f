// ByteSink and ByteSource: the one-pass byte streams that both halves of a set flow through.
#pragma once

#include <cstddef>
#include <cstdint>

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

// Copies `source` into `sink` until end of stream; returns the number of bytes copied.
Result<uint64_t> CopyStream(ByteSource& source, ByteSink& sink);

}  // namespace gb
