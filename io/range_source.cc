#include "io/range_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace gb {

Result<std::unique_ptr<FileRangeSource>> FileRangeSource::Open(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno("cannot open " + path, errno);
  struct stat info;
  if (fstat(fd, &info) != 0) {
    Status status = Status::FromErrno("cannot stat " + path, errno);
    close(fd);
    return status;
  }
  return std::unique_ptr<FileRangeSource>(
      new FileRangeSource(path, fd, static_cast<uint64_t>(info.st_size)));
}

FileRangeSource::~FileRangeSource() { close(fd_); }

Result<std::string> FileRangeSource::ReadRange(uint64_t offset, size_t length) {
  std::string bytes;
  GB_RETURN_IF_ERROR(ReadRangeInto(offset, length, &bytes));
  return bytes;
}

Status FileRangeSource::ReadRangeInto(uint64_t offset, size_t length, std::string* into) {
  if (offset > size_ || length > size_ - offset) {
    return Status::Failed("cannot read bytes [" + std::to_string(offset) + ", " +
                          std::to_string(offset + length) + ") of " + path_ + ": it has only " +
                          std::to_string(size_) + " bytes",
                          "the file is truncated or was changed while it was read");
  }
  into->resize(length);  // fills only what it grows by
  size_t done = 0;
  while (done < length) {
    ssize_t n = pread(fd_, into->data() + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno("cannot read " + path_, errno);
    }
    if (n == 0) {
      return Status::Failed(path_ + " ended at byte " + std::to_string(offset + done) +
                            " while " + std::to_string(size_) + " were expected",
                            "the file was truncated while it was read");
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace gb
