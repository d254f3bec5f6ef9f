// UTC timestamps as text: RFC 3339 ("2026-11-24T08:15:00Z"), the form of manifests, of S3's
// x-amz-object-lock-retain-until-date and of messages, and strftime in UTC for the other forms.
// Here in io/ because both the coordinator and the S3 store read and write them.
//
// Thread-safety: stateless functions; safe from any thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace gb {

using TimePoint = std::chrono::system_clock::time_point;

std::string FormatUtc(TimePoint time, const char* strftime_format);
std::string FormatRfc3339(TimePoint time);  // 2026-11-24T08:15:00Z (whole seconds, truncated)
// Accepts fractional seconds (dropped: S3 servers write ".000Z" or nanoseconds) and a "Z" or
// "+00:00" zone; nullopt for anything else.
std::optional<TimePoint> ParseRfc3339(const std::string& text);

}  // namespace gb
