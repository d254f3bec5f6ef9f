#include "coordinator/half_stream.h"

namespace gb {

Result<std::unique_ptr<HalfUpload>> HalfUpload::Start(const Repository& repository,
                                                      const std::string& id,
                                                      const std::string& file,
                                                      const ZstdWriterOptions& options) {
  std::unique_ptr<HalfUpload> upload(new HalfUpload());
  const std::string key = repository.ObjectKey(id, file);
  upload->where_ = repository.Locate(key);
  GB_ASSIGN_OR_RETURN(upload->object_, ObjectWriter::Start(repository.store(), key));
  GB_ASSIGN_OR_RETURN(upload->zstd_, ZstdWriter::Create(*upload->object_, upload->where_, options));
  return upload;
}

Result<ObjectInfo> HalfUpload::Finish() {
  Status finished = zstd_->Finish();
  if (!finished.ok()) {
    object_->Abort(finished);
    return finished;
  }
  GB_ASSIGN_OR_RETURN(ObjectInfo stored, object_->Commit());
  if (stored.size != zstd_->output_bytes())
    return Status::Failed(where_ + " holds " + std::to_string(stored.size) + " bytes, not the " +
                              std::to_string(zstd_->output_bytes()) + " written",
                          "the store lost part of the half: run the backup again");
  return stored;
}

void HalfUpload::Abort(const Status& why) { object_->Abort(why); }

Result<std::unique_ptr<ZstdReader>> OpenHalf(const Repository& repository, const std::string& id,
                                             const std::string& file) {
  const std::string key = repository.ObjectKey(id, file);
  GB_ASSIGN_OR_RETURN(std::unique_ptr<ObjectReader> object,
                      ObjectReader::Open(repository.store(), key));
  return ZstdReader::Open(std::move(object), repository.Locate(key));
}

Result<std::string> ReadHalfHeader(const Repository& repository, const std::string& id,
                                   const std::string& file) {
  GB_ASSIGN_OR_RETURN(std::unique_ptr<StoreRangeSource> object,
                      StoreRangeSource::Open(repository.store(), repository.ObjectKey(id, file)));
  return ReadHeaderFrame(*object);
}

}  // namespace gb
