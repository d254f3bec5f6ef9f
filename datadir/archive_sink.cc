#include "datadir/archive_sink.h"

namespace gb {

la_ssize_t SinkAdapter::Write(struct archive*, void* self, const void* data, size_t size) {
  auto* adapter = static_cast<SinkAdapter*>(self);
  return adapter->Append(data, size) ? static_cast<la_ssize_t>(size) : -1;
}

int SinkAdapter::Close(struct archive*, void* self) {
  auto* adapter = static_cast<SinkAdapter*>(self);
  return adapter->Flush() ? ARCHIVE_OK : ARCHIVE_FATAL;
}

bool SinkAdapter::Append(const void* data, size_t size) {
  if (abandoned_ || !status_.ok()) return false;
  if (pending_.size() + size > kBatch && !Flush()) return false;
  if (size >= kBatch) {
    status_ = sink_.Write(data, size);
    return status_.ok();
  }
  const char* bytes = static_cast<const char*>(data);
  pending_.insert(pending_.end(), bytes, bytes + size);
  return true;
}

bool SinkAdapter::Flush() {
  if (abandoned_ || !status_.ok()) return false;
  if (pending_.empty()) return true;
  status_ = sink_.Write(pending_.data(), pending_.size());
  pending_.clear();
  return status_.ok();
}

}  // namespace gb
