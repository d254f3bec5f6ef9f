// ManifestSignature: manifests signed with the node's Ed25519 key ([encryption]
// signing_key_file) and checked, before anything else reads a set, against the keys the node
// trusts ([encryption] trusted_keys, plus the public key of its own signing key: a node
// trusts itself). Whoever can write to the bucket, and knows the (public) age recipient, can
// build a whole set; only the holder of a trusted signing key can make restore accept it.
//
// A signed manifest is the unsigned text (ending with its [checksum] table) followed by one
// last table, in exactly this form:
//
//   <unsigned manifest>
//   [signature]                  (preceded by an empty line)
//   public_key = "ed25519:..."
//   value = "..."
//
// The signature covers every byte before "\n[signature]\n" (so the checksum too: an edited
// sha256 with a recomputed checksum still breaks it), and any byte after the table, or a
// table in any other form, makes the signature invalid. The manifest stays one object,
// written last and atomically; `copy` moves its bytes unchanged.
//
// Functions are stateless; a ManifestSigner / ManifestTrust is immutable once built and may
// be shared between threads.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "config/config.h"
#include "coordinator/manifest.h"
#include "io/signing.h"
#include "io/status.h"

namespace gb {

// The subject part of a finding about a set's signature: "set <id> signature" (set_checks.h).
constexpr char kSignaturePart[] = "signature";

// "valid" | "unsigned" | "unknown_key" | "invalid": a verdict in --json output.
const char* ToString(SignatureCheck check);

// The last table of a signed manifest's text, its leading empty line included.
std::string SignatureTable(const Signature& signature);

// A manifest text cut where its signature begins.
struct SignedText {
  std::string_view covered;            // the bytes the signature is over (all when unsigned)
  std::optional<Signature> signature;  // the [signature] table, when present
  bool well_formed = true;  // false: a [signature] table not in SignatureTable's form
};
// `text` must outlive the result.
SignedText SplitSignedText(std::string_view text);

// Signs the manifests a backup writes, with the key of [encryption] signing_key_file.
class ManifestSigner {
 public:
  // Reads the key now, before DSS is touched: a missing, unreadable, group- or
  // world-readable or malformed key file is an error naming the file (never the key).
  // Without signing_key_file, a signer that signs nothing.
  static Result<ManifestSigner> FromConfig(const EncryptionConfig& encryption);

  bool signs() const { return key_.has_value(); }
  // Sets manifest.signature over manifest.ToText() without a signature; nothing when
  // !signs().
  Status Sign(Manifest& manifest) const;

 private:
  std::optional<SigningKey> key_;
};

// What a node accepts: the keys it trusts, and whether a signature is required at all
// (EncryptionConfig::requires_signature()).
class ManifestTrust {
 public:
  // trusted_keys plus the public key of signing_key_file, when configured (read from the
  // key file: an unreadable one is an error naming it).
  static Result<ManifestTrust> FromConfig(const EncryptionConfig& encryption);

  bool required() const { return required_; }
  const std::vector<std::string>& keys() const { return keys_; }

  // The manifest's signature, as read (Manifest::text; a manifest not read from a store is
  // checked over its ToText()), against the trusted keys.
  SignatureVerdict Check(const Manifest& manifest) const;
  // Ok when no signature is required or the verdict is kValid; else an error naming the set
  // and the verdict, with what to do.
  Status Accept(const Manifest& manifest) const;

 private:
  bool required_ = false;
  std::vector<std::string> keys_;
};

// Restore's trust, for the commands that read what sets hold (extract, ls, diff): every
// manifest accepted by ManifestTrust::FromConfig(encryption), or the first refusal. A planted
// set is not listed, compared or extracted either.
Status AcceptAll(const EncryptionConfig& encryption, const std::vector<Manifest>& manifests);

// For list/show: {"signed": bool, "signed_by": "ed25519:..." or ""} as the manifest states
// it (not checked: verify checks).
nlohmann::json SignatureJson(const Manifest& manifest);

}  // namespace gb
