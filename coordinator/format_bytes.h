// FormatBytes: byte counts for people ("1.2 GiB"), in log lines, progress and reports.
// Stateless; safe from any thread.
#pragma once

#include <cstdint>
#include <string>

namespace gb {

std::string FormatBytes(uint64_t bytes);  // "512 B", "1.2 GiB"

}  // namespace gb
