// The age v1 header: stanzas, the header MAC, the X25519 and scrypt recipient stanzas that
// wrap the file key, and govern-backup's pair stanza (the pair token in clear, covered by the
// MAC, ignored by other age implementations). Functions only; safe from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/age_keys.h"
#include "io/byte_stream.h"
#include "io/status.h"

namespace gb {

// Why an age file did not decrypt, in the categories of the age test suite (C2SP CCTV).
enum class AgeFailure {
  kNone,
  kRead,     // the underlying file or stream failed
  kHeader,   // the header is malformed (or the nonce is missing)
  kNoMatch,  // no identity unwraps any stanza
  kHmac,     // a file key was unwrapped but the header MAC does not match
  kPayload,  // the payload does not authenticate all the way to its final chunk
};

struct AgeStanza {
  std::string type;               // first argument: "X25519", "scrypt", or a qualified name
  std::vector<std::string> args;  // the other arguments
  std::string body;               // decoded bytes
};

struct AgeHeader {
  std::vector<AgeStanza> stanzas;
  std::string mac;        // 32 bytes
  std::string mac_input;  // the header bytes up to and including "---": what the MAC covers
  size_t size = 0;        // bytes of the header, MAC line included (the payload follows)
};

// Stanza type of the pair token. Qualified as age.md recommends for non-native stanzas.
inline constexpr char kAgePairStanzaType[] = "govern-backup.dataiku.com/pair";

std::string EncodeAgeStanza(const AgeStanza& stanza);

// Parses the header at the start of `data`. Returns nullopt with an ok status when `data`
// ends before the header does (read more and call again), an error when it is malformed.
Result<std::optional<AgeHeader>> ParseAgeHeader(std::string_view data);

// Reads and parses the header from `source`. Bytes read past the header (the payload's
// start) are returned in `*rest`. `origin` names the file in errors.
Result<AgeHeader> ReadAgeHeader(ByteSource& source, const std::string& origin, std::string* rest,
                                AgeFailure* failure);

// Reads just the header of the age file at `path` (no identity needed), e.g. to match two
// halves by their pair tokens.
Result<AgeHeader> ReadAgeFileHeader(const std::string& path);

// The header for `file_key`: one stanza per recipient (fresh ephemeral keys), an optional
// pair stanza, and the MAC line. Refuses an scrypt recipient that is not alone.
Result<std::string> BuildAgeHeader(const std::vector<AgeRecipient>& recipients,
                                   const std::optional<std::string>& pair_token,
                                   std::string_view file_key);

// Unwraps the file key with the first identity that matches a stanza, then checks the MAC.
Result<std::string> UnwrapAgeFileKey(const AgeHeader& header,
                                     const std::vector<AgeIdentity>& identities,
                                     const std::string& origin, AgeFailure* failure);

// The pair token of the header's pair stanza, if any. Not authenticated by itself: trust it
// once UnwrapAgeFileKey succeeded on the same header (the MAC covers it), or compare it only
// for matching, never for security decisions.
std::optional<std::string> AgePairToken(const AgeHeader& header);

}  // namespace gb
