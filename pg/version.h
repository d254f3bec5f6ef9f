// PostgreSQL version strings, the one parser for all of them: what the server reports
// (SHOW server_version: "15.18 (Debian 15.18-0+deb12u1)"), what a dump's TOC and our
// manifests record ("15.18"), and what pg_dump/pg_restore --version print
// ("pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)").
//
// The major is the first number: 15 of "15.18", 16 of "16beta2", and 9 of "9.6.24" (before
// PostgreSQL 10 the major had two parts; we never need to tell 9.5 from 9.6).
// Stateless functions; safe from any thread.
#pragma once

#include <string>
#include <string_view>

#include "io/status.h"

namespace gb {

struct PgVersion {
  std::string text;  // "15.18"
  int major = 0;     // 15
};

// "15.18 (Debian 15.18-0+deb12u1)" -> "15.18": the version without the packager's comment.
std::string ShortVersion(std::string_view version);

// The major of a version ("15.18" -> 15). An error when the text does not start with a
// positive number (an empty or garbled version in a manifest, say).
Result<int> MajorVersion(std::string_view version);

// A version as the server, a TOC or a manifest gives it: ShortVersion and MajorVersion.
Result<PgVersion> ParseServerVersion(std::string_view version);

// The version in a tool's --version output: its first word that starts with a digit.
Result<PgVersion> ParseToolVersion(std::string_view output);

}  // namespace gb
