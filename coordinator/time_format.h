// UTC timestamps as the manifest, set ids and aside-names write them. Stateless; safe from
// any thread.
#pragma once

#include <chrono>
#include <string>

// TimePoint, FormatUtc, FormatRfc3339, ParseRfc3339: in io/ since the S3 store needs them too.
#include "io/time_text.h"
// Not a time format: included so that the files that took FormatBytes from here still
// compile; new code includes coordinator/format_bytes.h itself.
#include "coordinator/format_bytes.h"

namespace gb {

std::string FormatCompact(TimePoint time);          // 20261124T081500Z
std::string FormatAge(std::chrono::seconds age);    // "3d 4h", "12m", "40s"

}  // namespace gb
