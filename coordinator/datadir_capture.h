// DatadirCapture: the data-dir half of a new set and its index, stored as they are written.
// A full set archives every entry; an incremental one reads its parent's index alongside the
// walk and archives what changed (datadir/archive_writer.h). Taken in one pass, or in two when
// DSS runs in offline mode: FirstPass with DSS running, SecondPass once it is stopped, then
// CloseArchive, after which DSS may start again; Finish stores the half and then the index.
// A parent whose index cannot be read is not a failure: the set is taken full instead, with a
// warning.
//
// Thread-safety: one thread drives a capture.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "config/config.h"
#include "coordinator/capture.h"
#include "coordinator/half_stream.h"
#include "coordinator/manifest.h"
#include "coordinator/pair_identity.h"
#include "io/status.h"

namespace gb {

// The compression of a half of a set for `config`, its first frame `identity`.
HalfOptions HalfOptionsFor(const Config& config, const PairIdentity& identity);

class DatadirCapture {
 public:
  DatadirCapture();
  ~DatadirCapture();
  // Archives `source` for `request`, incremental when request.parent is set.
  Status Start(const CaptureRequest& request, const std::string& source, bool two_passes);
  Status FirstPass();
  Status SecondPass();
  // The vanished member, last, and the end of the archive: the data dir is captured.
  Status CloseArchive();
  // Stores the half and the index (written here with two passes).
  Result<ManifestDatadir> Finish(std::optional<ManifestIndex>& index);
  // What the set turned out to be: the parent may have been given up for a full set.
  const Manifest* parent() const { return parent_; }

 private:
  struct Halves;
  Status Begin();
  void Abort(const Status& why);

  const CaptureRequest* request_ = nullptr;
  std::string source_;
  bool two_passes_ = false;
  const Manifest* parent_ = nullptr;
  std::unique_ptr<Halves> halves_;
};

}  // namespace gb
