// ParseByteSize: the "16MiB" / "5MB" sizes of the configuration (repository part_size).
#include <cctype>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "config/config.h"
#include "io/text.h"

namespace gb {
namespace {

// Bytes per unit (case-insensitive), or 0 for a word that is not a unit. Both families are
// accepted because S3 documents its limits in MiB/GiB while admins often write MB/GB; a bare
// "M" or "G" is not, since it would not say which family is meant.
std::uint64_t BytesPerUnit(std::string_view unit) {
  const std::string lower = AsciiLowercase(unit);
  constexpr std::uint64_t kKi = 1024;
  if (lower == "b") return 1;
  if (lower == "kb") return 1000;
  if (lower == "mb") return 1000 * 1000;
  if (lower == "gb") return 1000 * 1000 * 1000;
  if (lower == "tb") return 1000ull * 1000 * 1000 * 1000;
  if (lower == "kib") return kKi;
  if (lower == "mib") return kKi * kKi;
  if (lower == "gib") return kKi * kKi * kKi;
  if (lower == "tib") return kKi * kKi * kKi * kKi;
  return 0;
}

Status InvalidSize(std::string_view text) {
  return Status::Usage("invalid size '" + std::string(text) +
                       "': use a whole number followed by B, kB, MB, GB, KiB, MiB or GiB");
}

}  // namespace

Result<std::uint64_t> ParseByteSize(std::string_view text) {
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  std::size_t i = 0;
  std::uint64_t number = 0;
  for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
    const unsigned digit = static_cast<unsigned>(text[i] - '0');
    if (number > (kMax - digit) / 10) return InvalidSize(text);
    number = number * 10 + digit;
  }
  if (i == 0) return InvalidSize(text);
  while (i < text.size() && text[i] == ' ') ++i;  // "16 MiB" reads as well as "16MiB"
  // A bare number is refused, as for durations: "16" could be bytes as well as MiB.
  const std::uint64_t unit = BytesPerUnit(text.substr(i));
  if (unit == 0 || number > kMax / unit) return InvalidSize(text);
  return number * unit;
}

}  // namespace gb
