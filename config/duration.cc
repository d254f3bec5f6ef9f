// ParseDuration: the "4d" / "1d12h" durations of the configuration and of --max-age.
#include <cctype>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "config/config.h"

namespace gb {
namespace {

// Seconds per unit letter, or 0 for a letter that is not a unit.
std::int64_t SecondsPerUnit(char unit) {
  switch (unit) {
    case 's': return 1;
    case 'm': return 60;
    case 'h': return 60 * 60;
    case 'd': return 24 * 60 * 60;
    case 'w': return 7 * 24 * 60 * 60;
    default: return 0;
  }
}

Status InvalidDuration(std::string_view text) {
  return Status::Usage("invalid duration '" + std::string(text) +
                       "': use a number followed by s, m, h, d or w");
}

}  // namespace

Result<std::chrono::seconds> ParseDuration(std::string_view text) {
  if (text.empty()) return InvalidDuration(text);
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return InvalidDuration(text);
    std::int64_t number = 0;
    for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
      const int digit = text[i] - '0';
      if (number > (kMax - digit) / 10) return InvalidDuration(text);
      number = number * 10 + digit;
    }
    // A bare number is refused: "4" could mean seconds as well as days.
    if (i == text.size()) return InvalidDuration(text);
    const std::int64_t unit = SecondsPerUnit(text[i++]);
    if (unit == 0) return InvalidDuration(text);
    if (number > (kMax - total) / unit) return InvalidDuration(text);
    total += number * unit;
  }
  return std::chrono::seconds(total);
}

}  // namespace gb
