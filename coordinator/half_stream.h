// HalfStream: a half of a set on its way into or out of the repository's store, as one zstd
// stream (its first frame the pair identity): the one writer and the one reader of halves that
// backup, verify, audit and restore share, whatever the store.
//
// Thread-safety: a HalfUpload is fed by one thread at a time; OpenHalf's reader likewise.
#pragma once

#include <memory>
#include <string>

#include "coordinator/repository.h"
#include "io/status.h"
#include "io/zstd_file.h"
#include "store/object_stream.h"

namespace gb {

class HalfUpload {
 public:
  // Starts writing object `file` of set `id`: nothing is listed under its key until Finish.
  static Result<std::unique_ptr<HalfUpload>> Start(const Repository& repository,
                                                   const std::string& id,
                                                   const std::string& file,
                                                   const ZstdWriterOptions& options);
  // Where the uncompressed half goes.
  ByteSink& sink() { return *zstd_; }
  // Ends the zstd stream and stores the object; checks that what the store holds is what was
  // written (size; on S3 also the multipart ETag, checked by the upload itself).
  Result<ObjectInfo> Finish();
  // Gives up: the store keeps nothing of it.
  void Abort(const Status& why);

  uint64_t input_bytes() const { return zstd_->input_bytes(); }
  uint64_t stored_bytes() const { return zstd_->output_bytes(); }
  std::string sha256_hex() const { return zstd_->sha256_hex(); }

 private:
  HalfUpload() = default;
  std::string where_;
  std::unique_ptr<ObjectWriter> object_;  // declared first: outlives the zstd writer into it
  std::unique_ptr<ZstdWriter> zstd_;
};

// The payload of half `file` of set `id`, streamed from the store (ranged reads with
// read-ahead: nothing is downloaded whole first). Errors name the object.
Result<std::unique_ptr<ZstdReader>> OpenHalf(const Repository& repository, const std::string& id,
                                             const std::string& file);
// Only the half's leading identity frame (two small ranged reads).
Result<std::string> ReadHalfHeader(const Repository& repository, const std::string& id,
                                   const std::string& file);

}  // namespace gb
