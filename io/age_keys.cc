#include "io/age_keys.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "io/age_crypto.h"
#include "io/files.h"

namespace gb {
namespace age {
namespace {

constexpr char kCharset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

uint32_t Polymod(const std::string& values) {
  static const uint32_t kGenerator[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd,
                                         0x2a1462b3};
  uint32_t check = 1;
  for (unsigned char value : values) {
    uint32_t top = check >> 25;
    check = ((check & 0x1ffffff) << 5) ^ value;
    for (int i = 0; i < 5; ++i) {
      if ((top >> i) & 1) check ^= kGenerator[i];
    }
  }
  return check;
}

std::string ExpandHrp(const std::string& hrp) {
  std::string out;
  for (char c : hrp) out.push_back(static_cast<char>(static_cast<unsigned char>(c) >> 5));
  out.push_back(0);
  for (char c : hrp) out.push_back(static_cast<char>(c & 31));
  return out;
}

// Regroups bits (8 -> 5 with padding when encoding, 5 -> 8 without when decoding).
bool ConvertBits(std::string_view in, int from, int to, bool pad, std::string* out) {
  uint32_t accumulator = 0;
  int bits = 0;
  const uint32_t mask = (1u << to) - 1;
  for (unsigned char value : in) {
    accumulator = (accumulator << from) | value;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out->push_back(static_cast<char>((accumulator >> bits) & mask));
    }
  }
  if (pad) {
    if (bits > 0) out->push_back(static_cast<char>((accumulator << (to - bits)) & mask));
    return true;
  }
  return bits < from && ((accumulator << (to - bits)) & mask) == 0;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::string Bech32Encode(const std::string& hrp, std::string_view data) {
  const std::string lower_hrp = Lower(hrp);
  std::string values;
  ConvertBits(data, 8, 5, true, &values);
  std::string checked = ExpandHrp(lower_hrp) + values + std::string(6, '\0');
  const uint32_t check = Polymod(checked) ^ 1;
  for (int i = 0; i < 6; ++i) values.push_back(static_cast<char>((check >> (5 * (5 - i))) & 31));
  std::string out = lower_hrp + "1";
  for (char v : values) out.push_back(kCharset[static_cast<int>(v)]);
  if (hrp != lower_hrp) {
    for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

bool Bech32Decode(std::string_view text, std::string* hrp, std::string* data) {
  bool has_upper = false, has_lower = false;
  for (char c : text) {
    has_upper |= std::isupper(static_cast<unsigned char>(c)) != 0;
    has_lower |= std::islower(static_cast<unsigned char>(c)) != 0;
  }
  if (has_upper && has_lower) return false;
  const std::string lower = Lower(text);
  const size_t separator = lower.rfind('1');
  if (separator == std::string::npos || separator < 1 || separator + 7 > lower.size()) return false;
  std::string values;
  for (size_t i = separator + 1; i < lower.size(); ++i) {
    const char* found = std::strchr(kCharset, lower[i]);
    if (lower[i] == '\0' || found == nullptr) return false;
    values.push_back(static_cast<char>(found - kCharset));
  }
  if (Polymod(ExpandHrp(lower.substr(0, separator)) + values) != 1) return false;
  *hrp = std::string(text.substr(0, separator));
  data->clear();
  return ConvertBits(std::string_view(values).substr(0, values.size() - 6), 5, 8, false, data);
}

}  // namespace age

namespace {
constexpr char kRecipientHrp[] = "age";
constexpr char kIdentityHrp[] = "AGE-SECRET-KEY-";
}  // namespace

Result<AgeRecipient> AgeRecipient::Parse(std::string_view text) {
  std::string hrp, key;
  if (!age::Bech32Decode(text, &hrp, &key) || hrp != kRecipientHrp || key.size() != age::kKeySize) {
    return Status::Usage("'" + std::string(text) + "' is not an age X25519 recipient",
                         "a recipient looks like age1... (see `age-keygen -y KEYFILE`)");
  }
  return AgeRecipient(false, std::move(key), 0);
}

AgeRecipient AgeRecipient::Passphrase(std::string passphrase, int work_factor) {
  return AgeRecipient(true, std::move(passphrase), work_factor);
}

std::string AgeRecipient::ToString() const { return age::Bech32Encode(kRecipientHrp, key_); }

AgeIdentity AgeIdentity::Generate() {
  return AgeIdentity(false, age::RandomBytes(age::kKeySize), 0);
}

Result<AgeIdentity> AgeIdentity::Parse(std::string_view text) {
  std::string hrp, key;
  if (!age::Bech32Decode(text, &hrp, &key) || hrp != kIdentityHrp ||
      key.size() != age::kKeySize) {
    return Status::Usage("not an age X25519 identity (AGE-SECRET-KEY-1...)");
  }
  return AgeIdentity(false, std::move(key), 0);
}

AgeIdentity AgeIdentity::Passphrase(std::string passphrase, int max_work_factor) {
  return AgeIdentity(true, std::move(passphrase), max_work_factor);
}

AgeIdentity::~AgeIdentity() { age::Wipe(secret_); }

std::string AgeIdentity::ToString() const { return age::Bech32Encode(kIdentityHrp, secret_); }

AgeRecipient AgeIdentity::Recipient() const {
  // A 32-byte secret is always a valid X25519 scalar (it is clamped), so this cannot fail.
  auto key = age::X25519Public(secret_);
  return AgeRecipient(false, key.ok() ? *key : std::string(), 0);
}

std::string FormatIdentityFile(const AgeIdentity& identity, std::time_t created) {
  char stamp[32];
  std::tm utc{};
  gmtime_r(&created, &utc);
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return std::string("# created: ") + stamp + "\n# public key: " + identity.Recipient().ToString() +
         "\n" + identity.ToString() + "\n";
}

Result<std::vector<AgeIdentity>> ParseIdentities(std::string_view text, const std::string& origin) {
  std::vector<AgeIdentity> identities;
  size_t line_number = 0;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    auto identity = AgeIdentity::Parse(line);
    if (!identity.ok()) {
      return Status::Usage("key file " + origin + ", line " + std::to_string(line_number) +
                               ": not an age X25519 identity",
                           "a key file is what `age-keygen` writes (AGE-SECRET-KEY-1... lines)");
    }
    identities.push_back(std::move(*identity));
  }
  if (identities.empty()) {
    return Status::Usage("key file " + origin + " holds no age identity",
                         "a key file is what `age-keygen` writes (AGE-SECRET-KEY-1... lines)");
  }
  return identities;
}

Result<AgeIdentity> GenerateIdentityFile(const std::string& path) {
  AgeIdentity identity = AgeIdentity::Generate();
  std::string text = FormatIdentityFile(identity, std::time(nullptr));
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno("cannot create key file " + path, errno);
  // The umask may only remove bits, but be explicit: the file holds a secret.
  Status status = fchmod(fd, 0600) == 0 ? WriteAll(fd, text.data(), text.size(), path)
                                        : Status::FromErrno("cannot chmod key file " + path, errno);
  if (status.ok() && fsync(fd) != 0)
    status = Status::FromErrno("cannot sync key file " + path, errno);
  age::Wipe(text);
  if (close(fd) != 0 && status.ok())
    status = Status::FromErrno("cannot close key file " + path, errno);
  if (!status.ok()) {
    unlink(path.c_str());
    return status;
  }
  return identity;
}

}  // namespace gb
