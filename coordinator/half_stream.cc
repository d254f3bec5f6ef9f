#include "coordinator/half_stream.h"

#include <algorithm>
#include <thread>

#include "io/frame_stream.h"
#include "io/seekable_zstd_reader.h"

namespace gb {

Result<std::unique_ptr<HalfUpload>> HalfUpload::Start(const Repository& repository,
                                                      const std::string& id,
                                                      const std::string& file,
                                                      const HalfOptions& options) {
  std::unique_ptr<HalfUpload> upload(new HalfUpload());
  const std::string key = repository.ObjectKey(id, file);
  upload->where_ = repository.Locate(key);
  GB_ASSIGN_OR_RETURN(upload->object_, ObjectWriter::Start(repository.store(), key));
  if (options.seekable) {
    SeekableZstdOptions seekable;
    seekable.level = options.level;
    const int cores = static_cast<int>(std::thread::hardware_concurrency());
    seekable.threads = std::min(options.threads > 0 ? options.threads : std::max(cores, 1),
                                kMaxSeekableThreads);
    seekable.frame_input_size = options.frame_input_size;
    seekable.identity_frame = options.identity;
    upload->frame_input_size_ = options.frame_input_size;
    GB_ASSIGN_OR_RETURN(upload->seekable_,
                        SeekableZstdWriter::Create(*upload->object_, upload->where_, seekable));
    upload->writer_ = upload->seekable_.get();
  } else {
    ZstdWriterOptions plain;
    plain.level = options.level;
    plain.threads = options.threads;
    plain.header_frame = options.identity;
    GB_ASSIGN_OR_RETURN(upload->zstd_, ZstdWriter::Create(*upload->object_, upload->where_, plain));
    upload->writer_ = upload->zstd_.get();
  }
  return upload;
}

Status HalfUpload::MaybeCutFrame() {
  if (!seekable_) return Status::Ok();
  // The writer cuts by itself every frame_input_size bytes after the last cut.
  const uint64_t filled = (seekable_->input_bytes() - frame_start_) % frame_input_size_;
  if (filled < frame_input_size_ / 2) return Status::Ok();
  GB_RETURN_IF_ERROR(seekable_->CutFrame());
  frame_start_ = seekable_->input_bytes();
  return Status::Ok();
}

uint64_t HalfUpload::input_bytes() const {
  return seekable_ ? seekable_->input_bytes() : zstd_->input_bytes();
}
uint64_t HalfUpload::stored_bytes() const {
  return seekable_ ? seekable_->file_bytes() : zstd_->output_bytes();
}
std::string HalfUpload::sha256_hex() const {
  return seekable_ ? seekable_->sha256_hex() : zstd_->sha256_hex();
}

Result<ObjectInfo> HalfUpload::Finish() {
  Status finished = seekable_ ? seekable_->Finish() : zstd_->Finish();
  if (!finished.ok()) {
    object_->Abort(finished);
    return finished;
  }
  GB_ASSIGN_OR_RETURN(ObjectInfo stored, object_->Commit());
  if (stored.size != stored_bytes())
    return Status::Failed(where_ + " holds " + std::to_string(stored.size) + " bytes, not the " +
                              std::to_string(stored_bytes()) + " written",
                          "the store lost part of the half: run the backup again");
  return stored;
}

void HalfUpload::Abort(const Status& why) { object_->Abort(why); }

namespace {

// A seekable half read front to back: its frames fetched and decompressed ahead on a few
// threads (io/frame_stream.h) instead of one zstd stream on one core; the same bytes, the
// same hash of the whole object.
class SeekableHalfReader : public ZstdReader {
 public:
  SeekableHalfReader(std::unique_ptr<SeekableZstdReader> half, std::string identity)
      : half_(std::move(half)),
        identity_(std::move(identity)),
        stream_(FrameStream::Whole(*half_, 0)) {}

  Result<size_t> Read(void* buffer, size_t capacity) override {
    return stream_->Read(buffer, capacity);
  }
  const std::string& header_frame() const override { return identity_; }
  std::string sha256_hex() const override { return stream_->sha256_hex(); }
  uint64_t compressed_bytes() const override { return stream_->compressed_bytes(); }

 private:
  std::unique_ptr<SeekableZstdReader> half_;
  std::string identity_;
  std::unique_ptr<FrameStream> stream_;  // last: stopped before the half goes
};

}  // namespace

Result<std::unique_ptr<ZstdReader>> OpenHalf(const Repository& repository, const std::string& id,
                                             const std::string& file) {
  const std::string key = repository.ObjectKey(id, file);
  // A half with a seek table is read frame by frame, in parallel. One whose table cannot be
  // read (a plain half, or a damaged table) is read as the one zstd stream it also is: its
  // hash then tells whether it is damaged.
  GB_ASSIGN_OR_RETURN(std::unique_ptr<StoreRangeSource> ranges,
                      StoreRangeSource::Open(repository.store(), key));
  Result<std::unique_ptr<SeekableZstdReader>> seekable = SeekableZstdReader::Open(std::move(ranges));
  if (seekable.ok()) {
    Result<std::string> identity = (*seekable)->ReadIdentityFrame();
    if (identity.ok())
      return std::unique_ptr<ZstdReader>(
          new SeekableHalfReader(std::move(seekable).value(), std::move(identity).value()));
  }
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
