#include "io/time_text.h"

#include <ctime>

namespace gb {

std::string FormatUtc(TimePoint time, const char* format) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, format, &utc);
  return buffer;
}

std::string FormatRfc3339(TimePoint time) { return FormatUtc(time, "%Y-%m-%dT%H:%M:%SZ"); }

std::optional<TimePoint> ParseRfc3339(const std::string& text) {
  std::tm utc{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &utc);
  if (end == nullptr) return std::nullopt;
  if (*end == '.') {  // fractional seconds are dropped
    ++end;
    while (*end >= '0' && *end <= '9') ++end;
  }
  if (*end != 'Z' && std::string(end) != "+00:00") return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&utc));
}

}  // namespace gb
