#include "io/age_stream.h"

#include <algorithm>
#include <cstring>

#include "io/age_crypto.h"

namespace gb {
namespace {

constexpr size_t kStreamNonceSize = 16;
constexpr size_t kSealedChunkSize = kAgeChunkSize + age::kTagSize;

// The payload cipher: one key, chunk nonces from the chunk index and the last-chunk flag.
class StreamCipher {
 public:
  explicit StreamCipher(std::string_view payload_key) : cipher_(payload_key) {}

  Status Seal(uint64_t index, bool last, const void* in, size_t size, void* out) {
    uint8_t nonce[age::kNonceSize];
    MakeNonce(index, last, nonce);
    return cipher_.Seal(nonce, in, size, out);
  }
  bool Open(uint64_t index, bool last, const void* in, size_t size, void* out) {
    uint8_t nonce[age::kNonceSize];
    MakeNonce(index, last, nonce);
    return cipher_.Open(nonce, in, size, out);
  }

 private:
  static void MakeNonce(uint64_t index, bool last, uint8_t nonce[age::kNonceSize]) {
    std::memset(nonce, 0, age::kNonceSize);
    for (int i = 0; i < 8; ++i) nonce[10 - i] = static_cast<uint8_t>(index >> (8 * i));
    nonce[11] = last ? 1 : 0;
  }
  age::ChaChaPoly cipher_;
};

Result<std::string> PayloadKey(std::string_view file_key, std::string_view nonce) {
  return age::Hkdf(file_key, nonce, "payload");
}

}  // namespace

// ---- Encryption ----

struct AgeEncryptingSink::Impl {
  ByteSink* downstream = nullptr;
  std::unique_ptr<StreamCipher> cipher;
  std::string pending;  // plaintext of the chunk being filled; held back until more arrives
  std::string sealed = std::string(kSealedChunkSize, '\0');
  uint64_t next_chunk = 0;
  uint64_t plaintext_bytes = 0;
  uint64_t ciphertext_bytes = 0;
  bool finished = false;

  Status Emit(const void* data, size_t size) {
    ciphertext_bytes += size;
    return downstream->Write(data, size);
  }
  Status Seal(const char* data, size_t size, bool last) {
    GB_RETURN_IF_ERROR(cipher->Seal(next_chunk++, last, data, size, sealed.data()));
    return Emit(sealed.data(), size + age::kTagSize);
  }
  Status SealPending(bool last) {
    GB_RETURN_IF_ERROR(Seal(pending.data(), pending.size(), last));
    pending.clear();
    return Status::Ok();
  }
};

AgeEncryptingSink::AgeEncryptingSink() : impl_(new Impl) {}
AgeEncryptingSink::~AgeEncryptingSink() { age::Wipe(impl_->pending); }

Result<std::unique_ptr<AgeEncryptingSink>> AgeEncryptingSink::Create(
    ByteSink* downstream, const AgeEncryptOptions& options) {
  std::string file_key = age::RandomBytes(age::kFileKeySize);
  GB_ASSIGN_OR_RETURN(std::string header,
                      BuildAgeHeader(options.recipients, options.pair_token, file_key));
  const std::string nonce = age::RandomBytes(kStreamNonceSize);
  auto payload_key = PayloadKey(file_key, nonce);
  age::Wipe(file_key);
  if (!payload_key.ok()) return payload_key.status();
  std::unique_ptr<AgeEncryptingSink> sink(new AgeEncryptingSink);
  sink->impl_->downstream = downstream;
  sink->impl_->cipher = std::make_unique<StreamCipher>(*payload_key);
  age::Wipe(*payload_key);
  sink->impl_->pending.reserve(kAgeChunkSize);
  GB_RETURN_IF_ERROR(sink->impl_->Emit(header.data(), header.size()));
  GB_RETURN_IF_ERROR(sink->impl_->Emit(nonce.data(), nonce.size()));
  return sink;
}

Status AgeEncryptingSink::Write(const void* data, size_t size) {
  if (impl_->finished) return Status::Failed("internal error: age stream written after Finish()");
  const char* next = static_cast<const char*>(data);
  impl_->plaintext_bytes += size;
  while (size > 0) {
    // A full chunk is sealed as non-final only once more input proves it is not the last:
    // input of exactly N x 64 KiB must end with a full final chunk, as age writes it.
    if (impl_->pending.size() == kAgeChunkSize) GB_RETURN_IF_ERROR(impl_->SealPending(false));
    if (impl_->pending.empty() && size > kAgeChunkSize) {  // no copy through `pending`
      GB_RETURN_IF_ERROR(impl_->Seal(next, kAgeChunkSize, false));
      next += kAgeChunkSize;
      size -= kAgeChunkSize;
      continue;
    }
    const size_t take = std::min(size, kAgeChunkSize - impl_->pending.size());
    impl_->pending.append(next, take);
    next += take;
    size -= take;
  }
  return Status::Ok();
}

Status AgeEncryptingSink::Finish() {
  if (impl_->finished) return Status::Ok();
  impl_->finished = true;
  return impl_->SealPending(true);
}

uint64_t AgeEncryptingSink::plaintext_bytes() const { return impl_->plaintext_bytes; }
uint64_t AgeEncryptingSink::ciphertext_bytes() const { return impl_->ciphertext_bytes; }

// ---- Streaming decryption ----

struct AgeDecryptingSource::Impl {
  ByteSource* upstream = nullptr;
  std::string origin;
  AgeHeader header;
  std::unique_ptr<StreamCipher> cipher;
  std::string carry;  // bytes read past the header, consumed before the upstream
  std::string sealed = std::string(kSealedChunkSize, '\0');
  std::string plain = std::string(kAgeChunkSize, '\0');
  size_t plain_begin = 0, plain_end = 0;  // unread plaintext of the current chunk
  uint64_t next_chunk = 0;
  bool saw_last = false;
  Status deferred;  // an error to report once the released plaintext has been read
  AgeFailure failure = AgeFailure::kNone;

  Result<size_t> ReadFull(char* out, size_t size);
  Status Fail(AgeFailure kind, const std::string& what) {
    failure = kind;
    deferred = Status::Failed(origin + ": " + what,
                              "the file is truncated or corrupt, or was altered after encryption");
    return deferred;
  }
  Status DecryptNextChunk();
  Status CheckEnd();
};

Result<size_t> AgeDecryptingSource::Impl::ReadFull(char* out, size_t size) {
  size_t done = std::min(size, carry.size());
  std::memcpy(out, carry.data(), done);
  carry.erase(0, done);
  while (done < size) {
    auto n = upstream->Read(out + done, size - done);
    if (!n.ok()) {
      failure = AgeFailure::kRead;
      return n.status().WithContext(origin);
    }
    if (*n == 0) break;
    done += *n;
  }
  return done;
}

// Follows age v1.1.1's reader: a full-size chunk is tried as non-final, then as final; a
// short chunk must be final; an empty final chunk is valid only as the whole payload.
Status AgeDecryptingSource::Impl::DecryptNextChunk() {
  GB_ASSIGN_OR_RETURN(size_t n, ReadFull(sealed.data(), kSealedChunkSize));
  if (n == 0) return Fail(AgeFailure::kPayload, "the age payload ends without a final chunk");
  bool last = n < kSealedChunkSize;
  if (last && next_chunk > 0 && n == age::kTagSize) {
    return Fail(AgeFailure::kPayload, "the final age chunk is empty");
  }
  bool opened = cipher->Open(next_chunk, last, sealed.data(), n, plain.data());
  if (!opened && !last) {
    last = true;
    opened = cipher->Open(next_chunk, last, sealed.data(), n, plain.data());
  }
  if (!opened) {
    return Fail(AgeFailure::kPayload,
                "age payload chunk " + std::to_string(next_chunk) + " does not authenticate");
  }
  ++next_chunk;
  plain_begin = 0;
  plain_end = n - age::kTagSize;
  saw_last = last;
  return last ? CheckEnd() : Status::Ok();
}

// Nothing may follow the final chunk. The chunk itself is authentic, so it is still
// released (as age does); the error comes after it.
Status AgeDecryptingSource::Impl::CheckEnd() {
  char extra;
  GB_ASSIGN_OR_RETURN(size_t n, ReadFull(&extra, 1));
  if (n != 0) (void)Fail(AgeFailure::kPayload, "data follows the final age chunk");
  return Status::Ok();
}

AgeDecryptingSource::AgeDecryptingSource() : impl_(new Impl) {}
AgeDecryptingSource::~AgeDecryptingSource() { age::Wipe(impl_->plain); }

Result<std::unique_ptr<AgeDecryptingSource>> AgeDecryptingSource::Open(
    ByteSource* upstream, const std::vector<AgeIdentity>& identities, const std::string& origin,
    AgeFailure* failure) {
  std::unique_ptr<AgeDecryptingSource> source(new AgeDecryptingSource);
  Impl& impl = *source->impl_;
  impl.upstream = upstream;
  impl.origin = origin;
  AgeFailure ignored;
  AgeFailure* kind = failure ? failure : &ignored;
  GB_ASSIGN_OR_RETURN(impl.header, ReadAgeHeader(*upstream, origin, &impl.carry, kind));
  GB_ASSIGN_OR_RETURN(std::string file_key,
                      UnwrapAgeFileKey(impl.header, identities, origin, kind));
  std::string nonce(kStreamNonceSize, '\0');
  auto n = impl.ReadFull(nonce.data(), nonce.size());
  if (!n.ok() || *n != kStreamNonceSize) {
    *kind = n.ok() ? AgeFailure::kHeader : AgeFailure::kRead;
    return n.ok() ? Status::Failed(origin + ": the age payload nonce is missing or short")
                  : n.status();
  }
  auto payload_key = PayloadKey(file_key, nonce);
  age::Wipe(file_key);
  if (!payload_key.ok()) return payload_key.status();
  impl.cipher = std::make_unique<StreamCipher>(*payload_key);
  age::Wipe(*payload_key);
  *kind = AgeFailure::kNone;
  return source;
}

Result<size_t> AgeDecryptingSource::Read(void* buffer, size_t capacity) {
  Impl& impl = *impl_;
  if (impl.plain_begin == impl.plain_end) {
    if (!impl.deferred.ok()) return impl.deferred;
    if (impl.saw_last) return size_t{0};
    GB_RETURN_IF_ERROR(impl.DecryptNextChunk());
    // An empty final chunk (the whole payload empty) or an error found after the chunk.
    if (impl.plain_begin == impl.plain_end) {
      if (!impl.deferred.ok()) return impl.deferred;
      return size_t{0};
    }
  }
  const size_t n = std::min(capacity, impl.plain_end - impl.plain_begin);
  std::memcpy(buffer, impl.plain.data() + impl.plain_begin, n);
  impl.plain_begin += n;
  return n;
}

const AgeHeader& AgeDecryptingSource::header() const { return impl_->header; }
AgeFailure AgeDecryptingSource::failure() const { return impl_->failure; }

// ---- Ranged decryption ----

struct AgeRangeDecryptor::Impl {
  std::string origin;
  std::unique_ptr<StreamCipher> cipher;
  uint64_t payload_offset = 0;  // first byte of chunk 0
  uint64_t file_size = 0;
  uint64_t chunks = 0;
  uint64_t plaintext_size = 0;
};

AgeRangeDecryptor::AgeRangeDecryptor() : impl_(new Impl) {}
AgeRangeDecryptor::AgeRangeDecryptor(AgeRangeDecryptor&&) = default;
AgeRangeDecryptor::~AgeRangeDecryptor() = default;

Result<AgeRangeDecryptor> AgeRangeDecryptor::Open(std::string_view head, uint64_t file_size,
                                                  const std::vector<AgeIdentity>& identities,
                                                  const std::string& origin, AgeFailure* failure) {
  AgeFailure ignored;
  AgeFailure* kind = failure ? failure : &ignored;
  *kind = AgeFailure::kHeader;
  GB_ASSIGN_OR_RETURN(std::optional<AgeHeader> header, ParseAgeHeader(head));
  if (!header || head.size() < header->size + kStreamNonceSize) {
    return Status::Failed(origin + ": the first bytes given do not hold the age header and nonce",
                          "fetch more of the start of the file");
  }
  GB_ASSIGN_OR_RETURN(std::string file_key, UnwrapAgeFileKey(*header, identities, origin, kind));
  auto payload_key = PayloadKey(file_key, head.substr(header->size, kStreamNonceSize));
  age::Wipe(file_key);
  if (!payload_key.ok()) return payload_key.status();
  AgeRangeDecryptor range;
  Impl& impl = *range.impl_;
  impl.origin = origin;
  impl.cipher = std::make_unique<StreamCipher>(*payload_key);
  age::Wipe(*payload_key);
  impl.payload_offset = header->size + kStreamNonceSize;
  impl.file_size = file_size;
  const uint64_t sealed = file_size >= impl.payload_offset ? file_size - impl.payload_offset : 0;
  impl.chunks = (sealed + kSealedChunkSize - 1) / kSealedChunkSize;
  const uint64_t last_size = sealed - (impl.chunks ? impl.chunks - 1 : 0) * kSealedChunkSize;
  if (impl.chunks == 0 || last_size < age::kTagSize ||
      (impl.chunks > 1 && last_size == age::kTagSize)) {
    *kind = AgeFailure::kPayload;
    return Status::Failed(origin + ": an age file of " + std::to_string(file_size) +
                              " bytes cannot end with a valid final chunk",
                          "the file is truncated");
  }
  impl.plaintext_size = sealed - impl.chunks * age::kTagSize;
  *kind = AgeFailure::kNone;
  return range;
}

uint64_t AgeRangeDecryptor::plaintext_size() const { return impl_->plaintext_size; }

AgeRangeDecryptor::Span AgeRangeDecryptor::CipherSpan(uint64_t begin, uint64_t end) const {
  if (begin >= end) return {impl_->payload_offset + begin / kAgeChunkSize * kSealedChunkSize, 0};
  const uint64_t first = begin / kAgeChunkSize, last = (end - 1) / kAgeChunkSize;
  const uint64_t offset = impl_->payload_offset + first * kSealedChunkSize;
  const uint64_t stop =
      std::min(impl_->file_size, impl_->payload_offset + (last + 1) * kSealedChunkSize);
  return {offset, stop - offset};
}

Result<std::string> AgeRangeDecryptor::Decrypt(uint64_t begin, uint64_t end,
                                               std::string_view cipher) const {
  const Impl& impl = *impl_;
  if (begin > end || end > impl.plaintext_size || cipher.size() != CipherSpan(begin, end).size) {
    return Status::Failed("internal error: bad age range [" + std::to_string(begin) + ", " +
                          std::to_string(end) + ") of " + impl.origin);
  }
  std::string plain;
  const uint64_t first = begin / kAgeChunkSize;
  for (size_t offset = 0; offset < cipher.size(); offset += kSealedChunkSize) {
    const uint64_t index = first + offset / kSealedChunkSize;
    const size_t size = std::min(kSealedChunkSize, cipher.size() - offset);
    const size_t at = plain.size();
    plain.resize(at + size - age::kTagSize);
    if (!impl.cipher->Open(index, index + 1 == impl.chunks, cipher.data() + offset, size,
                           plain.data() + at)) {
      return Status::Failed(
          impl.origin + ": age payload chunk " + std::to_string(index) + " does not authenticate",
          "the file is corrupt or was altered after encryption");
    }
  }
  return plain.substr(begin - first * kAgeChunkSize, end - begin);
}

// ---- Whole buffers ----

Result<std::string> AgeEncryptString(std::string_view plaintext, const AgeEncryptOptions& options) {
  StringSink sink;
  GB_ASSIGN_OR_RETURN(auto encryptor, AgeEncryptingSink::Create(&sink, options));
  GB_RETURN_IF_ERROR(encryptor->Write(plaintext.data(), plaintext.size()));
  GB_RETURN_IF_ERROR(encryptor->Finish());
  return std::move(sink.mutable_bytes());
}

Result<std::string> AgeDecryptString(std::string_view ciphertext,
                                     const std::vector<AgeIdentity>& identities,
                                     const std::string& origin, AgeFailure* failure) {
  StringSource input{std::string(ciphertext)};
  GB_ASSIGN_OR_RETURN(auto decryptor,
                      AgeDecryptingSource::Open(&input, identities, origin, failure));
  StringSink output;
  auto copied = CopyStream(*decryptor, output);
  if (failure) *failure = decryptor->failure();
  if (!copied.ok()) {
    age::Wipe(output.mutable_bytes());
    return copied.status();
  }
  return std::move(output.mutable_bytes());
}

}  // namespace gb
