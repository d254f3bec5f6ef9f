#include "io/byte_stream.h"

#include <algorithm>
#include <cstring>

#include <unistd.h>

#include <cerrno>
#include <vector>

#include "io/files.h"

namespace gb {

Result<size_t> FdSource::Read(void* buffer, size_t capacity) {
  while (true) {
    ssize_t n = read(fd_, buffer, capacity);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) {
      return Status::FromErrno("cannot read file descriptor " + std::to_string(fd_), errno);
    }
  }
}

Status FdSink::Write(const void* data, size_t size) {
  return WriteAll(fd_, data, size, "file descriptor " + std::to_string(fd_));
}

Result<uint64_t> CopyStream(ByteSource& source, ByteSink& sink) {
  std::vector<char> buffer(1 << 20);
  uint64_t copied = 0;
  while (true) {
    GB_ASSIGN_OR_RETURN(size_t n, source.Read(buffer.data(), buffer.size()));
    if (n == 0) return copied;
    GB_RETURN_IF_ERROR(sink.Write(buffer.data(), n));
    copied += n;
  }
}

Status StringSink::Write(const void* data, size_t size) {
  bytes_.append(static_cast<const char*>(data), size);
  ++writes_;
  return Status::Ok();
}

Result<size_t> StringSource::Read(void* buffer, size_t capacity) {
  const size_t n = std::min({capacity, piece_, bytes_.size() - offset_});
  std::memcpy(buffer, bytes_.data() + offset_, n);
  offset_ += n;
  return n;
}

}  // namespace gb
