// TomlText: the one way our small TOML files (manifest, pair identity, restored-from marker,
// lock holder) are written and their times converted, all through toml++ so that every
// string is escaped by the library; and the one TOML -> JSON conversion for --json output.
// Stateless functions; safe from any thread.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "coordinator/time_format.h"

namespace gb {

// `table` as TOML text ending in a newline, after `comment` (a "# ..." line, or "").
// Strings are basic strings with escapes, never multi-line: a value cannot contain a line
// that looks like a table header.
std::string FormatToml(const toml::table& table, const std::string& comment = {});

// A UTC offset date-time, whole seconds.
toml::date_time ToTomlTime(TimePoint time);
// An offset date-time (any offset) as a time point; nullopt for a local date or time.
std::optional<TimePoint> FromTomlTime(const toml::date_time& value);

// The same tree as JSON: tables become objects, arrays arrays, date-times RFC 3339 strings.
nlohmann::json TomlToJson(const toml::node& node);

}  // namespace gb
