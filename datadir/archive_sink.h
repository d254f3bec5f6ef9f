// SinkAdapter: libarchive's client writer over a ByteSink. Batches libarchive's 10 KiB
// blocks into large sink writes and keeps the sink's own Status, which says more than
// libarchive's "write callback failed".
//
// Thread-safety: used by the one thread that drives the archive.
#pragma once

#include <archive.h>

#include <vector>

#include "io/byte_stream.h"
#include "io/status.h"

namespace gb {

class SinkAdapter {
 public:
  static constexpr size_t kBatch = 1 << 20;

  explicit SinkAdapter(ByteSink& sink) : sink_(sink) { pending_.reserve(kBatch); }

  // For archive_write_open(a, adapter, nullptr, &SinkAdapter::Write, &SinkAdapter::Close).
  static la_ssize_t Write(struct archive*, void* self, const void* data, size_t size);
  static int Close(struct archive*, void* self);

  // After a failure nothing more reaches the sink: libarchive's closing end-of-archive
  // blocks would make a cut-off archive look complete.
  void Abandon() { abandoned_ = true; }
  const Status& status() const { return status_; }
  // Hands what is batched to the sink now (at a member's end); false on failure (status()).
  bool Flush();

 private:
  bool Append(const void* data, size_t size);

  ByteSink& sink_;
  std::vector<char> pending_;
  Status status_;
  bool abandoned_ = false;
};

}  // namespace gb
