#include "coordinator/time_format.h"

#include <cstdio>
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
std::string FormatCompact(TimePoint time) { return FormatUtc(time, "%Y%m%dT%H%M%SZ"); }

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

std::string FormatAge(std::chrono::seconds age) {
  long long total = age.count();
  if (total < 0) total = 0;
  long long days = total / 86400, hours = total % 86400 / 3600, minutes = total % 3600 / 60;
  char buffer[64];
  if (days > 0) std::snprintf(buffer, sizeof buffer, "%lldd %lldh", days, hours);
  else if (hours > 0) std::snprintf(buffer, sizeof buffer, "%lldh %lldm", hours, minutes);
  else if (minutes > 0) std::snprintf(buffer, sizeof buffer, "%lldm", minutes);
  else std::snprintf(buffer, sizeof buffer, "%llds", total);
  return buffer;
}

}  // namespace gb
