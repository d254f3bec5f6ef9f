#include "coordinator/manifest_signature.h"

#include <nlohmann/json.hpp>

namespace gb {
namespace {

constexpr std::string_view kTableStart = "\n[signature]\npublic_key = \"";
constexpr std::string_view kValueStart = "\"\nvalue = \"";
constexpr std::string_view kTableEnd = "\"\n";

// Takes `expected` off the front of `text`.
bool Consume(std::string_view& text, std::string_view expected) {
  if (text.substr(0, expected.size()) != expected) return false;
  text.remove_prefix(expected.size());
  return true;
}

// Takes a quoted value's characters off the front of `text`, up to the closing quote. Keys
// and signatures are base64 with a prefix: no quote, backslash or line break.
std::optional<std::string> ConsumeValue(std::string_view& text) {
  size_t end = text.find_first_of("\"\\\n");
  if (end == std::string_view::npos || text[end] != '"') return std::nullopt;
  std::string value(text.substr(0, end));
  text.remove_prefix(end);
  return value;
}

std::string HintFor(SignatureCheck check) {
  switch (check) {
    case SignatureCheck::kUnsigned:
      return "signing is configured ([encryption] signing_key_file / trusted_keys), so every set "
             "must be signed by a trusted key: this one was not made by a trusted node, or was "
             "stripped of its signature; do not restore it (`govern-backup list` shows who "
             "signed each set)";
    case SignatureCheck::kUnknownKey:
      return "if that key is one of yours, add it to [encryption] trusted_keys; otherwise the "
             "set was planted: do not restore it, remove it";
    case SignatureCheck::kInvalid:
      return "the manifest was altered after it was signed: do not restore this set; restore "
             "another one, or put back an intact copy (`govern-backup copy` from another "
             "repository)";
    case SignatureCheck::kValid:
      break;
  }
  return {};
}

}  // namespace

const char* ToString(SignatureCheck check) {
  switch (check) {
    case SignatureCheck::kValid: return "valid";
    case SignatureCheck::kUnsigned: return "unsigned";
    case SignatureCheck::kUnknownKey: return "unknown_key";
    case SignatureCheck::kInvalid: return "invalid";
  }
  return "invalid";
}

std::string SignatureTable(const Signature& signature) {
  return std::string(kTableStart) + signature.public_key + std::string(kValueStart) +
         signature.value + std::string(kTableEnd);
}

SignedText SplitSignedText(std::string_view text) {
  SignedText split;
  const size_t at = text.rfind(kTableStart.substr(0, kTableStart.find("public_key")));
  if (at == std::string_view::npos) {
    split.covered = text;
    return split;
  }
  split.covered = text.substr(0, at);
  std::string_view rest = text.substr(at);
  Signature signature;
  std::optional<std::string> public_key, value;
  split.well_formed = Consume(rest, kTableStart) && (public_key = ConsumeValue(rest)) &&
                      Consume(rest, kValueStart) && (value = ConsumeValue(rest)) &&
                      Consume(rest, kTableEnd) && rest.empty();
  if (public_key) signature.public_key = *public_key;
  if (value) signature.value = *value;
  split.signature = std::move(signature);
  return split;
}

Result<ManifestSigner> ManifestSigner::FromConfig(const EncryptionConfig& encryption) {
  ManifestSigner signer;
  if (!encryption.signs()) return signer;
  Result<SigningKey> key = SigningKey::ReadFile(encryption.signing_key_file);
  if (!key.ok())
    return key.status().WithContext("[encryption] signing_key_file: manifests cannot be signed");
  signer.key_.emplace(std::move(key).value());
  return signer;
}

Status ManifestSigner::Sign(Manifest& manifest) const {
  if (!key_) return Status::Ok();
  Manifest unsigned_manifest = manifest;
  unsigned_manifest.signature.reset();
  Result<Signature> signature = key_->Sign(unsigned_manifest.ToText());
  if (!signature.ok())
    return signature.status().WithContext("cannot sign the manifest of set " + manifest.id);
  manifest.signature = std::move(signature).value();
  return Status::Ok();
}

Result<ManifestTrust> ManifestTrust::FromConfig(const EncryptionConfig& encryption) {
  ManifestTrust trust;
  trust.required_ = encryption.requires_signature();
  trust.keys_ = encryption.trusted_keys;
  if (encryption.signs()) {
    Result<SigningKey> own = SigningKey::ReadFile(encryption.signing_key_file);
    if (!own.ok())
      return own.status().WithContext(
          "[encryption] signing_key_file: this node's own key cannot be trusted");
    trust.keys_.push_back(own->PublicKey());
  }
  return trust;
}

SignatureVerdict ManifestTrust::Check(const Manifest& manifest) const {
  const std::string built = manifest.text.empty() ? manifest.ToText() : std::string();
  const SignedText split = SplitSignedText(manifest.text.empty() ? built : manifest.text);
  SignatureVerdict verdict = VerifySignature(split.covered, split.signature, keys_);
  // Bytes after the table, or a table in another form, are not covered by the signature:
  // a manifest that carries them was altered, whoever signed the rest.
  if (!split.well_formed && verdict.check != SignatureCheck::kUnknownKey)
    verdict.check = SignatureCheck::kInvalid;
  return verdict;
}

Status ManifestTrust::Accept(const Manifest& manifest) const {
  if (!required_) return Status::Ok();
  const SignatureVerdict verdict = Check(manifest);
  if (verdict.check == SignatureCheck::kValid) return Status::Ok();
  return Status::Failed("the manifest of set " + manifest.id + " is refused: " + verdict.Describe(),
                        HintFor(verdict.check));
}

Status AcceptAll(const EncryptionConfig& encryption, const std::vector<Manifest>& manifests) {
  GB_ASSIGN_OR_RETURN(ManifestTrust trust, ManifestTrust::FromConfig(encryption));
  for (const Manifest& manifest : manifests) GB_RETURN_IF_ERROR(trust.Accept(manifest));
  return Status::Ok();
}

nlohmann::json SignatureJson(const Manifest& manifest) {
  return {{"signed", manifest.signature.has_value()},
          {"signed_by", manifest.signature ? manifest.signature->public_key : std::string()}};
}

}  // namespace gb
