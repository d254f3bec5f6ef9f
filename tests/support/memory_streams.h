// In-memory ByteSink and ByteSource for tests that stream a half without files.
#pragma once

#include <algorithm>
#include <cstring>
#include <string>

#include "io/byte_stream.h"

namespace gb {
namespace testing {

class StringSink : public ByteSink {
 public:
  Status Write(const void* data, size_t size) override {
    bytes_.append(static_cast<const char*>(data), size);
    ++writes_;
    return Status::Ok();
  }
  const std::string& bytes() const { return bytes_; }
  int writes() const { return writes_; }

 private:
  std::string bytes_;
  int writes_ = 0;
};

// Hands out `bytes` in pieces of at most `piece` bytes; counts what was read.
class StringSource : public ByteSource {
 public:
  explicit StringSource(std::string bytes, size_t piece = 100000)
      : bytes_(std::move(bytes)), piece_(piece) {}
  Result<size_t> Read(void* buffer, size_t capacity) override {
    const size_t n = std::min({capacity, piece_, bytes_.size() - offset_});
    std::memcpy(buffer, bytes_.data() + offset_, n);
    offset_ += n;
    return n;
  }
  size_t consumed() const { return offset_; }
  bool at_end() const { return offset_ == bytes_.size(); }

 private:
  std::string bytes_;
  size_t piece_;
  size_t offset_ = 0;
};

}  // namespace testing
}  // namespace gb
