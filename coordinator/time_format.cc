#include "coordinator/time_format.h"

#include <cstdio>

namespace gb {
std::string FormatCompact(TimePoint time) { return FormatUtc(time, "%Y%m%dT%H%M%SZ"); }

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
