#include "io/age_range_source.h"

#include <algorithm>

namespace gb {
namespace {

constexpr std::string_view kAgeIntro = "age-encryption.org/v1\n";

Result<std::string> ReadHead(RangeSource& file) {
  return file.ReadRange(0, static_cast<size_t>(std::min<uint64_t>(file.size(), kAgeHeadBytes)));
}

Result<AgeHeader> ParseHead(std::string_view head, const std::string& name) {
  Result<std::optional<AgeHeader>> parsed = ParseAgeHeader(head);
  if (!parsed.ok()) return parsed.status().WithContext(name);
  if (!*parsed)
    return Status::Failed(name + ": no complete age header in its first " +
                              std::to_string(head.size()) + " bytes",
                          "the file is truncated or is not an age file");
  return std::move(**parsed);
}

}  // namespace

bool LooksLikeAge(std::string_view head) { return head.substr(0, kAgeIntro.size()) == kAgeIntro; }

Result<std::unique_ptr<AgeRangeSource>> AgeRangeSource::Open(
    std::unique_ptr<RangeSource> cipher, const std::vector<AgeIdentity>& identities,
    AgeFailure* failure) {
  if (failure) *failure = AgeFailure::kRead;
  GB_ASSIGN_OR_RETURN(std::string head, ReadHead(*cipher));
  if (failure) *failure = AgeFailure::kHeader;
  GB_ASSIGN_OR_RETURN(AgeHeader header, ParseHead(head, cipher->name()));
  GB_ASSIGN_OR_RETURN(AgeRangeDecryptor decryptor,
                      AgeRangeDecryptor::Open(head, cipher->size(), identities, cipher->name(),
                                              failure));
  return std::unique_ptr<AgeRangeSource>(
      new AgeRangeSource(std::move(cipher), std::move(header), std::move(decryptor)));
}

Result<std::string> AgeRangeSource::ReadRange(uint64_t offset, size_t length) {
  if (offset > size() || length > size() - offset)
    return Status::Failed(name() + ": range " + std::to_string(offset) + "+" +
                              std::to_string(length) + " is past the end of the " +
                              std::to_string(size()) + " plaintext bytes",
                          "the file is truncated or damaged");
  if (length == 0) return std::string();
  const AgeRangeDecryptor::Span span = decryptor_.CipherSpan(offset, offset + length);
  GB_ASSIGN_OR_RETURN(std::string cipher, cipher_->ReadRange(span.offset, span.size));
  std::lock_guard<std::mutex> lock(decrypting_);
  return decryptor_.Decrypt(offset, offset + length, cipher);
}

Result<AgeHeader> ReadAgeHeaderAt(RangeSource& file) {
  GB_ASSIGN_OR_RETURN(std::string head, ReadHead(file));
  return ParseHead(head, file.name());
}

}  // namespace gb
