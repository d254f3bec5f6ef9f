#include "coordinator/half_stream.h"

#include <algorithm>
#include <thread>

#include "coordinator/set_keys.h"
#include "io/age_range_source.h"
#include "io/frame_stream.h"
#include "io/seekable_zstd_reader.h"

namespace gb {
namespace {

// Copies what passes into `copy` on its way to `target`.
class TeeSink : public ByteSink {
 public:
  TeeSink(ByteSink& target, std::string& copy) : target_(target), copy_(copy) {}
  Status Write(const void* data, size_t size) override {
    copy_.append(static_cast<const char*>(data), size);
    return target_.Write(data, size);
  }

 private:
  ByteSink& target_;
  std::string& copy_;
};

}  // namespace

Result<std::unique_ptr<HalfUpload>> HalfUpload::Start(const Repository& repository,
                                                      const std::string& id,
                                                      const std::string& file,
                                                      const HalfOptions& options) {
  std::unique_ptr<HalfUpload> upload(new HalfUpload());
  const std::string key = repository.ObjectKey(id, file);
  upload->where_ = repository.Locate(key);
  GB_ASSIGN_OR_RETURN(upload->object_, ObjectWriter::Start(repository.store(), key));
  // Compress, then encrypt: ciphertext does not compress.
  ByteSink* zstd_output = upload->object_.get();
  const SetKeys* keys = repository.keys();
  if (keys != nullptr && keys->encrypts()) {
    upload->stored_ = std::make_unique<HashingSink>(*upload->object_);
    AgeEncryptOptions encrypt;
    encrypt.recipients = keys->recipients();
    encrypt.pair_token = options.identity;
    GB_ASSIGN_OR_RETURN(upload->age_, AgeEncryptingSink::Create(upload->stored_.get(), encrypt));
    zstd_output = upload->age_.get();
  }
  if (options.plain_copy != nullptr) {
    upload->plain_copy_ = std::make_unique<TeeSink>(*zstd_output, *options.plain_copy);
    zstd_output = upload->plain_copy_.get();
  }
  // Encrypted, what is stored is hashed after encryption (stored_); the compressed plaintext
  // is hashed too only for the index's local copy (plain_sha256).
  const bool hash_plaintext = upload->age_ == nullptr || options.plain_copy != nullptr;
  if (options.seekable) {
    SeekableZstdOptions seekable;
    seekable.hash_output = hash_plaintext;
    seekable.level = options.level;
    const int cores = static_cast<int>(std::thread::hardware_concurrency());
    seekable.threads = std::min(options.threads > 0 ? options.threads : std::max(cores, 1),
                                kMaxSeekableThreads);
    seekable.frame_input_size = options.frame_input_size;
    seekable.identity_frame = options.identity;
    upload->frame_input_size_ = options.frame_input_size;
    GB_ASSIGN_OR_RETURN(upload->seekable_,
                        SeekableZstdWriter::Create(*zstd_output, upload->where_, seekable));
    upload->writer_ = upload->seekable_.get();
  } else {
    ZstdWriterOptions plain;
    plain.level = options.level;
    plain.threads = options.threads;
    plain.header_frame = options.identity;
    plain.hash_output = hash_plaintext;
    GB_ASSIGN_OR_RETURN(upload->zstd_, ZstdWriter::Create(*zstd_output, upload->where_, plain));
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
  if (age_) return age_->ciphertext_bytes();
  return seekable_ ? seekable_->file_bytes() : zstd_->output_bytes();
}
std::string HalfUpload::plain_sha256_hex() const {
  return seekable_ ? seekable_->sha256_hex() : zstd_->sha256_hex();
}
std::string HalfUpload::sha256_hex() const { return age_ ? sha256_hex_ : plain_sha256_hex(); }

Result<ObjectInfo> HalfUpload::Finish() {
  Status finished = seekable_ ? seekable_->Finish() : zstd_->Finish();
  if (finished.ok() && age_) finished = age_->Finish();
  if (!finished.ok()) {
    object_->Abort(finished);
    return finished;
  }
  if (stored_) sha256_hex_ = stored_->HexDigest();
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

// An age file read front to back: the stored bytes hashed on their way into the decryptor,
// the plaintext (a zstd stream) out.
class DecryptedObject : public ByteSource {
 public:
  static Result<std::unique_ptr<DecryptedObject>> Open(std::unique_ptr<ObjectReader> object,
                                                       const std::vector<AgeIdentity>& identities,
                                                       AgeFailure* failure) {
    std::unique_ptr<DecryptedObject> decrypted(new DecryptedObject(std::move(object)));
    GB_ASSIGN_OR_RETURN(decrypted->age_,
                        AgeDecryptingSource::Open(&decrypted->hashing_, identities,
                                                  decrypted->object_->name(), failure));
    return decrypted;
  }
  Result<size_t> Read(void* buffer, size_t capacity) override {
    GB_ASSIGN_OR_RETURN(size_t got, age_->Read(buffer, capacity));
    // The decryptor returns 0 only once its source ended: every stored byte was hashed.
    if (got == 0 && sha256_hex_.empty()) sha256_hex_ = hashing_.HexDigest();
    return got;
  }
  // Of the stored file; "" until the end was read.
  const std::string& sha256_hex() const { return sha256_hex_; }

 private:
  // The object's bytes, hashed as the decryptor pulls them.
  class Hashing : public ByteSource {
   public:
    explicit Hashing(ByteSource& source) : source_(source) {}
    Result<size_t> Read(void* buffer, size_t capacity) override {
      GB_ASSIGN_OR_RETURN(size_t got, source_.Read(buffer, capacity));
      hash_.Update(buffer, got);
      return got;
    }
    std::string HexDigest() { return hash_.HexDigest(); }

   private:
    ByteSource& source_;
    Sha256 hash_;
  };

  explicit DecryptedObject(std::unique_ptr<ObjectReader> object)
      : object_(std::move(object)), hashing_(*object_) {}
  std::unique_ptr<ObjectReader> object_;
  Hashing hashing_;
  std::unique_ptr<AgeDecryptingSource> age_;
  std::string sha256_hex_;
};

// An encrypted half read front to back: decrypted, then decompressed, on the read-ahead
// thread and the caller's; its hash is the stored file's, as the manifest records it.
class DecryptedHalfReader : public ZstdReader {
 public:
  static Result<std::unique_ptr<ZstdReader>> Open(std::unique_ptr<DecryptedObject> source,
                                                  std::string name) {
    std::unique_ptr<DecryptedHalfReader> reader(new DecryptedHalfReader());
    reader->decrypted_ = source.get();
    GB_RETURN_IF_ERROR(reader->Init(std::move(source), std::move(name)));
    return std::unique_ptr<ZstdReader>(std::move(reader));
  }
  std::string sha256_hex() const override {
    return ZstdReader::sha256_hex().empty() ? std::string() : decrypted_->sha256_hex();
  }

 private:
  DecryptedHalfReader() = default;
  const DecryptedObject* decrypted_ = nullptr;  // owned by the base class
};

// The first bytes of the stored half: whether it is an age file.
Result<bool> StartsLikeAge(RangeSource& object) {
  const uint64_t probe = std::min<uint64_t>(object.size(), 32);
  GB_ASSIGN_OR_RETURN(std::string head, object.ReadRange(0, static_cast<size_t>(probe)));
  return LooksLikeAge(head);
}

Result<std::vector<AgeIdentity>> IdentitiesFor(const Repository& repository,
                                               const std::string& id) {
  if (repository.keys() == nullptr) return NoIdentityError(id);
  return repository.keys()->IdentitiesFor(id);
}

Status DecryptionError(const Repository& repository, const Status& status, AgeFailure failure,
                       const std::string& id) {
  return repository.keys() ? repository.keys()->DecryptionError(status, failure, id) : status;
}

// The plaintext of an encrypted half as ranges.
Result<std::unique_ptr<RangeSource>> Decrypting(const Repository& repository,
                                                const std::string& id,
                                                std::unique_ptr<RangeSource> cipher) {
  GB_ASSIGN_OR_RETURN(std::vector<AgeIdentity> identities, IdentitiesFor(repository, id));
  AgeFailure failure = AgeFailure::kNone;
  Result<std::unique_ptr<AgeRangeSource>> plain =
      AgeRangeSource::Open(std::move(cipher), identities, &failure);
  if (!plain.ok()) return DecryptionError(repository, plain.status(), failure, id);
  return std::unique_ptr<RangeSource>(std::move(plain).value());
}

Result<std::unique_ptr<ZstdReader>> OpenEncryptedHalf(const Repository& repository,
                                                      const std::string& id,
                                                      const std::string& key) {
  GB_ASSIGN_OR_RETURN(std::vector<AgeIdentity> identities, IdentitiesFor(repository, id));
  GB_ASSIGN_OR_RETURN(std::unique_ptr<ObjectReader> object,
                      ObjectReader::Open(repository.store(), key));
  AgeFailure failure = AgeFailure::kNone;
  Result<std::unique_ptr<DecryptedObject>> decrypted =
      DecryptedObject::Open(std::move(object), identities, &failure);
  if (!decrypted.ok()) return DecryptionError(repository, decrypted.status(), failure, id);
  return DecryptedHalfReader::Open(std::move(decrypted).value(), repository.Locate(key));
}

}  // namespace

Result<std::unique_ptr<ZstdReader>> OpenHalf(const Repository& repository, const std::string& id,
                                             const std::string& file) {
  const std::string key = repository.ObjectKey(id, file);
  GB_ASSIGN_OR_RETURN(std::unique_ptr<StoreRangeSource> ranges,
                      StoreRangeSource::Open(repository.store(), key));
  // An encrypted half is read as one stream (decrypting and hashing the stored bytes ahead
  // of zstd): its frames are not decompressed in parallel.
  GB_ASSIGN_OR_RETURN(bool encrypted, StartsLikeAge(*ranges));
  if (encrypted) return OpenEncryptedHalf(repository, id, key);
  // A half with a seek table is read frame by frame, in parallel. One whose table cannot be
  // read (a plain half, or a damaged table) is read as the one zstd stream it also is: its
  // hash then tells whether it is damaged.
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
  return ReadObjectHeader(repository, repository.ObjectKey(id, file), id);
}

Result<std::string> ReadObjectHeader(const Repository& repository, const std::string& key,
                                     const std::string& id) {
  GB_ASSIGN_OR_RETURN(std::unique_ptr<StoreRangeSource> object,
                      StoreRangeSource::Open(repository.store(), key));
  GB_ASSIGN_OR_RETURN(bool encrypted, StartsLikeAge(*object));
  if (!encrypted) return ReadHeaderFrame(*object);
  GB_ASSIGN_OR_RETURN(AgeHeader header, ReadAgeHeaderAt(*object));
  if (std::optional<std::string> pair = AgePairToken(header)) return *pair;
  GB_ASSIGN_OR_RETURN(std::unique_ptr<RangeSource> plain,
                      Decrypting(repository, id, std::move(object)));
  return ReadHeaderFrame(*plain);
}

Result<std::unique_ptr<RangeSource>> OpenHalfRanges(const Repository& repository,
                                                    const std::string& id,
                                                    const std::string& file,
                                                    uint64_t* stored_bytes) {
  GB_ASSIGN_OR_RETURN(std::unique_ptr<StoreRangeSource> object,
                      StoreRangeSource::Open(repository.store(), repository.ObjectKey(id, file)));
  if (stored_bytes != nullptr) *stored_bytes = object->size();
  GB_ASSIGN_OR_RETURN(bool encrypted, StartsLikeAge(*object));
  if (!encrypted) return std::unique_ptr<RangeSource>(std::move(object));
  return Decrypting(repository, id, std::move(object));
}

}  // namespace gb
