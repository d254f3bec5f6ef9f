#include "io/age_header.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <unistd.h>

#include <cerrno>

#include "io/age_crypto.h"

namespace gb {
namespace {

constexpr std::string_view kIntro = "age-encryption.org/v1\n";
constexpr char kX25519Info[] = "age-encryption.org/v1/X25519";
constexpr char kScryptLabel[] = "age-encryption.org/v1/scrypt";
constexpr size_t kMaxHeaderSize = 1 << 20;  // bounds what a hostile file makes us buffer
constexpr size_t kBodyLineBytes = 48;       // 64 base64 characters

Status Malformed(const std::string& what) {
  return Status::Failed("malformed age header: " + what);
}

std::vector<std::string_view> SplitSpaces(std::string_view line) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t space = line.find(' ', start);
    parts.push_back(line.substr(start, space == std::string_view::npos ? space : space - start));
    if (space == std::string_view::npos) return parts;
    start = space + 1;
  }
}

// An argument is one or more visible ASCII characters (age.md ABNF: 1*VCHAR).
bool IsArgument(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < 33 || c > 126) return false;
  }
  return true;
}

// Reads the stanza body lines starting at `*pos`; false when `data` ends first.
Result<bool> ParseBody(std::string_view data, size_t* pos, std::string* body) {
  while (true) {
    const size_t end = data.find('\n', *pos);
    if (end == std::string_view::npos) return false;
    std::string decoded;
    if (!age::Base64Decode(data.substr(*pos, end - *pos), &decoded)) {
      return Malformed("a stanza body line is not canonical unpadded base64");
    }
    if (decoded.size() > kBodyLineBytes) return Malformed("a stanza body line is too long");
    *pos = end + 1;
    body->append(decoded);
    if (decoded.size() < kBodyLineBytes) return true;
  }
}

Status ParseStanzaLine(std::string_view line, AgeStanza* stanza) {
  std::vector<std::string_view> parts = SplitSpaces(line);
  if (parts[0] != "->" || parts.size() < 2) return Malformed("a stanza line has no type");
  for (size_t i = 1; i < parts.size(); ++i) {
    if (!IsArgument(parts[i])) return Malformed("a stanza has an empty or invalid argument");
  }
  stanza->type = std::string(parts[1]);
  stanza->args.assign(parts.begin() + 2, parts.end());
  return Status::Ok();
}

Status ParseMacLine(std::string_view line, AgeHeader* header) {
  std::vector<std::string_view> parts = SplitSpaces(line);
  if (parts[0] != "---" || parts.size() != 2 || !age::Base64Decode(parts[1], &header->mac) ||
      header->mac.size() != 32) {
    return Malformed("the MAC line is not \"--- <base64 of 32 bytes>\"");
  }
  return Status::Ok();
}

Result<std::string> HeaderMac(std::string_view file_key, std::string_view mac_input) {
  GB_ASSIGN_OR_RETURN(std::string key, age::Hkdf(file_key, "", "header"));
  return age::HmacSha256(key, mac_input);
}

}  // namespace

std::string EncodeAgeStanza(const AgeStanza& stanza) {
  std::string out = "-> " + stanza.type;
  for (const std::string& arg : stanza.args) out += " " + arg;
  out += "\n";
  const std::string body = age::Base64Encode(stanza.body);
  // Full 64-column lines, then a shorter (possibly empty) final line.
  size_t offset = 0;
  for (; body.size() - offset >= 64; offset += 64) out += body.substr(offset, 64) + "\n";
  return out + body.substr(offset) + "\n";
}

Result<std::optional<AgeHeader>> ParseAgeHeader(std::string_view data) {
  if (data.size() < kIntro.size()) {
    if (kIntro.substr(0, data.size()) == data) return std::optional<AgeHeader>();
    return Malformed("not an age v1 file (no \"age-encryption.org/v1\" line)");
  }
  if (data.substr(0, kIntro.size()) != kIntro) {
    return Malformed("not an age v1 file (no \"age-encryption.org/v1\" line)");
  }
  AgeHeader header;
  size_t pos = kIntro.size();
  while (true) {
    const size_t end = data.find('\n', pos);
    if (end == std::string_view::npos) return std::optional<AgeHeader>();
    const std::string_view line = data.substr(pos, end - pos);
    if (line.substr(0, 3) == "---") {
      GB_RETURN_IF_ERROR(ParseMacLine(line, &header));
      if (header.stanzas.empty()) return Malformed("no recipient stanza");
      header.mac_input = std::string(data.substr(0, pos + 3));
      header.size = end + 1;
      return std::optional<AgeHeader>(std::move(header));
    }
    if (line.substr(0, 2) != "->") return Malformed("unexpected line");
    AgeStanza stanza;
    GB_RETURN_IF_ERROR(ParseStanzaLine(line, &stanza));
    pos = end + 1;
    GB_ASSIGN_OR_RETURN(bool complete, ParseBody(data, &pos, &stanza.body));
    if (!complete) return std::optional<AgeHeader>();
    header.stanzas.push_back(std::move(stanza));
  }
}

Result<AgeHeader> ReadAgeHeader(ByteSource& source, const std::string& origin, std::string* rest,
                                AgeFailure* failure) {
  std::string data;
  char buffer[4096];
  while (true) {
    auto parsed = ParseAgeHeader(data);
    if (!parsed.ok()) {
      *failure = AgeFailure::kHeader;
      return parsed.status().WithContext(origin);
    }
    if (parsed->has_value()) {
      AgeHeader header = std::move(**parsed);
      *rest = data.substr(header.size);
      return header;
    }
    auto n = source.Read(buffer, sizeof(buffer));
    if (!n.ok()) {
      *failure = AgeFailure::kRead;
      return n.status().WithContext(origin);
    }
    if (*n == 0 || data.size() > kMaxHeaderSize) {
      *failure = AgeFailure::kHeader;
      return Malformed(*n == 0 ? "the file ends inside the header" : "the header is too large")
          .WithContext(origin);
    }
    data.append(buffer, *n);
  }
}

Result<AgeHeader> ReadAgeFileHeader(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno("cannot open " + path, errno);
  FdSource file(fd);
  std::string rest;
  AgeFailure failure;
  Result<AgeHeader> header = ReadAgeHeader(file, path, &rest, &failure);
  close(fd);
  return header;
}

namespace {

Result<AgeStanza> WrapFileKey(const AgeRecipient& recipient, std::string_view file_key) {
  AgeStanza stanza;
  std::string wrap_key;
  if (recipient.is_passphrase()) {
    const std::string salt = age::RandomBytes(16);
    stanza.type = "scrypt";
    stanza.args = {age::Base64Encode(salt), std::to_string(recipient.work_factor())};
    GB_ASSIGN_OR_RETURN(wrap_key, age::Scrypt(recipient.passphrase(), kScryptLabel + salt,
                                              recipient.work_factor()));
  } else {
    std::string ephemeral = age::RandomBytes(age::kKeySize);
    GB_ASSIGN_OR_RETURN(std::string share, age::X25519Public(ephemeral));
    GB_ASSIGN_OR_RETURN(std::string shared, age::X25519Shared(ephemeral, recipient.public_key()));
    age::Wipe(ephemeral);
    stanza.type = "X25519";
    stanza.args = {age::Base64Encode(share)};
    GB_ASSIGN_OR_RETURN(wrap_key, age::Hkdf(shared, share + recipient.public_key(), kX25519Info));
    age::Wipe(shared);
  }
  GB_ASSIGN_OR_RETURN(stanza.body, age::SealZeroNonce(wrap_key, file_key));
  age::Wipe(wrap_key);
  return stanza;
}

}  // namespace

Result<std::string> BuildAgeHeader(const std::vector<AgeRecipient>& recipients,
                                   const std::optional<std::string>& pair_token,
                                   std::string_view file_key) {
  if (recipients.empty()) return Status::Usage("no age recipient to encrypt to");
  for (const AgeRecipient& recipient : recipients) {
    if (recipient.is_passphrase() && (recipients.size() > 1 || pair_token)) {
      return Status::Usage(
          "a passphrase (scrypt) recipient must be the only stanza of an age "
          "header",
          "use X25519 recipients (age1...) to add others or a pair token");
    }
  }
  std::string header(kIntro);
  for (const AgeRecipient& recipient : recipients) {
    GB_ASSIGN_OR_RETURN(AgeStanza stanza, WrapFileKey(recipient, file_key));
    header += EncodeAgeStanza(stanza);
  }
  if (pair_token) header += EncodeAgeStanza({kAgePairStanzaType, {}, *pair_token});
  header += "---";
  GB_ASSIGN_OR_RETURN(std::string mac, HeaderMac(file_key, header));
  return header + " " + age::Base64Encode(mac) + "\n";
}

namespace {

enum class Unwrap { kMatch, kNotMine, kInvalid };

// age.md: the body must be exactly the wrapped 16-byte file key, checked before decrypting.
Unwrap OpenBody(std::string& wrap_key, const AgeStanza& stanza, std::string* file_key) {
  if (stanza.body.size() != age::kFileKeySize + age::kTagSize) return Unwrap::kInvalid;
  const bool opened = age::OpenZeroNonce(wrap_key, stanza.body, file_key);
  age::Wipe(wrap_key);
  return opened ? Unwrap::kMatch : Unwrap::kNotMine;
}

Unwrap UnwrapX25519(const AgeStanza& stanza, const AgeIdentity& identity, std::string* file_key) {
  if (stanza.type != "X25519") return Unwrap::kNotMine;
  std::string share;
  if (stanza.args.size() != 1 || !age::Base64Decode(stanza.args[0], &share) ||
      share.size() != age::kKeySize) {
    return Unwrap::kInvalid;
  }
  auto shared = age::X25519Shared(identity.secret_key(), share);
  if (!shared.ok()) return Unwrap::kInvalid;  // low-order share: all-zero secret
  auto wrap_key = age::Hkdf(*shared, share + identity.Recipient().public_key(), kX25519Info);
  age::Wipe(*shared);
  if (!wrap_key.ok()) return Unwrap::kInvalid;
  return OpenBody(*wrap_key, stanza, file_key);
}

// age.md: the work factor is a decimal without leading zeros; too large is refused, not tried.
int ParseWorkFactor(const std::string& text) {
  if (text.empty() || text.size() > 2 || text[0] < '1' || text[0] > '9') return -1;
  for (char c : text) {
    if (c < '0' || c > '9') return -1;
  }
  return std::stoi(text);
}

Unwrap UnwrapScrypt(const AgeStanza& stanza, const AgeIdentity& identity, std::string* file_key) {
  if (stanza.type != "scrypt") return Unwrap::kNotMine;
  std::string salt;
  if (stanza.args.size() != 2 || !age::Base64Decode(stanza.args[0], &salt) || salt.size() != 16) {
    return Unwrap::kInvalid;
  }
  const int work_factor = ParseWorkFactor(stanza.args[1]);
  if (work_factor < 1 || work_factor > identity.max_work_factor()) return Unwrap::kInvalid;
  if (stanza.body.size() != age::kFileKeySize + age::kTagSize) return Unwrap::kInvalid;
  auto wrap_key = age::Scrypt(identity.passphrase(), kScryptLabel + salt, work_factor);
  if (!wrap_key.ok()) return Unwrap::kInvalid;
  return OpenBody(*wrap_key, stanza, file_key);
}

Status CheckScryptAlone(const AgeHeader& header) {
  for (const AgeStanza& stanza : header.stanzas) {
    if (stanza.type == "scrypt" && header.stanzas.size() != 1) {
      return Malformed("an scrypt stanza is not the only stanza");
    }
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> UnwrapAgeFileKey(const AgeHeader& header,
                                     const std::vector<AgeIdentity>& identities,
                                     const std::string& origin, AgeFailure* failure) {
  *failure = AgeFailure::kHeader;
  GB_RETURN_IF_ERROR(CheckScryptAlone(header).WithContext(origin));
  std::string file_key;
  // Like age: identities in order, each tried on every stanza; an invalid stanza of a type
  // the identity handles fails the whole header rather than being skipped.
  for (const AgeIdentity& identity : identities) {
    for (const AgeStanza& stanza : header.stanzas) {
      Unwrap outcome = identity.is_passphrase() ? UnwrapScrypt(stanza, identity, &file_key)
                                                : UnwrapX25519(stanza, identity, &file_key);
      if (outcome == Unwrap::kNotMine) continue;
      if (outcome == Unwrap::kInvalid) {
        return Malformed("invalid " + stanza.type + " stanza").WithContext(origin);
      }
      GB_ASSIGN_OR_RETURN(std::string mac, HeaderMac(file_key, header.mac_input));
      if (CRYPTO_memcmp(mac.data(), header.mac.data(), mac.size()) != 0) {
        *failure = AgeFailure::kHmac;
        age::Wipe(file_key);
        return Status::Failed(origin + ": the age header MAC does not match",
                              "the header was altered after encryption");
      }
      *failure = AgeFailure::kNone;
      return file_key;
    }
  }
  *failure = AgeFailure::kNoMatch;
  return Status::Failed(origin + ": no identity matches any recipient of this age file",
                        "decrypt with the key file of one of the recipients it was encrypted to");
}

std::optional<std::string> AgePairToken(const AgeHeader& header) {
  for (const AgeStanza& stanza : header.stanzas) {
    if (stanza.type == kAgePairStanzaType) return stanza.body;
  }
  return std::nullopt;
}

}  // namespace gb
