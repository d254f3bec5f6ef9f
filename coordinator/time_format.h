// UTC timestamps as the manifest, set ids and aside-names write them. Stateless; safe from
// any thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>

// Not a time format: included so that the files that took FormatBytes from here still
// compile; new code includes coordinator/format_bytes.h itself.
#include "coordinator/format_bytes.h"

namespace gb {

using TimePoint = std::chrono::system_clock::time_point;

std::string FormatUtc(TimePoint time, const char* strftime_format);
std::string FormatRfc3339(TimePoint time);          // 2026-11-24T08:15:00Z
std::optional<TimePoint> ParseRfc3339(const std::string& text);
std::string FormatCompact(TimePoint time);          // 20261124T081500Z
std::string FormatAge(std::chrono::seconds age);    // "3d 4h", "12m", "40s"

}  // namespace gb
