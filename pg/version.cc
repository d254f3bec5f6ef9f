#include "pg/version.h"

#include <cctype>
#include <charconv>

namespace gb {
namespace {

bool IsDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

}  // namespace

std::string ShortVersion(std::string_view version) {
  const size_t start = version.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return "";
  version.remove_prefix(start);
  return std::string(version.substr(0, version.find_first_of(" \t\r\n")));
}

Result<int> MajorVersion(std::string_view version) {
  const std::string text = ShortVersion(version);
  int major = 0;
  // What follows the number ("." or "beta2") is the minor or a pre-release, not our business.
  const auto parsed = std::from_chars(text.data(), text.data() + text.size(), major);
  if (parsed.ec != std::errc() || major <= 0) {
    return Status::Failed("'" + std::string(version) + "' is not a PostgreSQL version",
                          "expected a version such as 15.18");
  }
  return major;
}

Result<PgVersion> ParseServerVersion(std::string_view version) {
  PgVersion parsed;
  parsed.text = ShortVersion(version);
  GB_ASSIGN_OR_RETURN(parsed.major, MajorVersion(parsed.text));
  return parsed;
}

Result<PgVersion> ParseToolVersion(std::string_view output) {
  size_t pos = 0;
  while (pos < output.size()) {
    const size_t start = output.find_first_not_of(" \t\r\n", pos);
    if (start == std::string_view::npos) break;
    size_t end = output.find_first_of(" \t\r\n", start);
    if (end == std::string_view::npos) end = output.size();
    if (IsDigit(output[start])) return ParseServerVersion(output.substr(start, end - start));
    pos = end;
  }
  const std::string_view first_line = output.substr(0, output.find('\n'));
  return Status::Failed("no version in \"" + std::string(first_line) + "\"");
}

}  // namespace gb
