// RangeSource: random access to the bytes of a stored object, one byte range at a time.
//
// The seekable zstd reader and ReadHeaderFrame need only the object's size and ranged reads,
// so a local file (FileRangeSource) and any stored object (store/object_stream.h
// StoreRangeSource: ranged Gets, HTTP Range requests on S3) can both serve them.
// Implementations must allow ReadRange from several threads at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "io/status.h"

namespace gb {

class RangeSource {
 public:
  virtual ~RangeSource() = default;
  // Names the object in errors (a path, an s3:// URL).
  virtual const std::string& name() const = 0;
  virtual uint64_t size() const = 0;
  // Exactly `length` bytes at `offset`; a range past the end is an error naming the object.
  virtual Result<std::string> ReadRange(uint64_t offset, size_t length) = 0;
  // The same into `into`, whose memory is reused: a reader of many frames keeps one buffer
  // per thread, where a fresh one per frame cost a restore a page fault per 4 KiB read.
  virtual Status ReadRangeInto(uint64_t offset, size_t length, std::string* into) {
    GB_ASSIGN_OR_RETURN(*into, ReadRange(offset, length));
    return Status::Ok();
  }
};

// A RangeSource over a local file, read with pread(2). Thread-safe.
class FileRangeSource : public RangeSource {
 public:
  static Result<std::unique_ptr<FileRangeSource>> Open(const std::string& path);
  ~FileRangeSource() override;
  FileRangeSource(const FileRangeSource&) = delete;
  FileRangeSource& operator=(const FileRangeSource&) = delete;

  const std::string& name() const override { return path_; }
  uint64_t size() const override { return size_; }
  Result<std::string> ReadRange(uint64_t offset, size_t length) override;
  Status ReadRangeInto(uint64_t offset, size_t length, std::string* into) override;

 private:
  FileRangeSource(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}

  std::string path_;
  int fd_;
  uint64_t size_;
};

}  // namespace gb
