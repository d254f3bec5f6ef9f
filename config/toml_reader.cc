#include "config/toml_reader.h"

#include <algorithm>
#include <climits>
#include <iterator>
#include <utility>

#include "config/config.h"
#include "io/text.h"

namespace gb {
namespace {

// A size in the largest binary unit that divides it: 5242880 -> "5MiB".
std::string BytesText(std::uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  std::size_t unit = 0;
  while (unit + 1 < std::size(units) && bytes != 0 && bytes % 1024 == 0) {
    bytes /= 1024;
    ++unit;
  }
  return std::to_string(bytes) + units[unit];
}

}  // namespace

std::string TomlTypeName(toml::node_type type) {
  switch (type) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a floating-point number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

TomlReader::TomlReader(const toml::table& root, std::string source)
    : root_(root), source_(std::move(source)) {}

const toml::table* TomlReader::Table(const std::string& section) const {
  const toml::table* table = &root_;
  std::size_t start = 0;
  while (table != nullptr && start <= section.size()) {
    const std::size_t dot = std::min(section.find('.', start), section.size());
    const auto it = table->find(std::string_view(section).substr(start, dot - start));
    table = it == table->end() ? nullptr : it->second.as_table();
    start = dot + 1;
  }
  return table;
}

void TomlReader::Report(std::uint32_t line, const std::string& message, std::string hint,
                        bool secret) {
  const std::string where = line > 0 ? source_ + ":" + std::to_string(line) + ": " : source_ + ": ";
  problems_.push_back({secret, line, Status::Usage(where + message, std::move(hint))});
}

Status TomlReader::EarliestProblem() const {
  // A secret first; problems without a line (missing keys) after those a line points at.
  const auto rank = [](const Problem& p) {
    return std::make_pair(!p.secret, p.line == 0 ? UINT32_MAX : p.line);
  };
  const auto earliest =
      std::min_element(problems_.begin(), problems_.end(),
                       [&](const Problem& a, const Problem& b) { return rank(a) < rank(b); });
  return earliest->status;
}

std::uint32_t TomlReader::LineOf(const toml::key& key, const toml::node& node) {
  return key.source().begin.line > 0 ? key.source().begin.line : node.source().begin.line;
}

std::uint32_t TomlReader::LineOf(const std::string& section, const std::string& name) const {
  const auto entry = Find(section, name);
  return entry ? entry->line : 0;
}

std::optional<TomlReader::Entry> TomlReader::Find(const std::string& section,
                                                  const std::string& name) const {
  const toml::table* table = Table(section);
  if (table == nullptr) return std::nullopt;
  const auto it = table->find(name);
  if (it == table->end()) return std::nullopt;
  return Entry{&it->second, LineOf(it->first, it->second), section + "." + name};
}

void TomlReader::WrongType(const Entry& entry, const std::string& expected) {
  Report(entry.line,
         entry.dotted + ": expected " + expected + ", got " + TomlTypeName(entry.node->type()));
}

std::optional<std::string> TomlReader::String(const std::string& section, const std::string& name) {
  const auto entry = Find(section, name);
  if (!entry) return std::nullopt;
  const auto* value = entry->node->as_string();
  if (value == nullptr) {
    WrongType(*entry, "a string");
    return std::nullopt;
  }
  return value->get();
}

std::optional<std::string> TomlReader::AbsolutePath(const std::string& section,
                                                    const std::string& name) {
  auto value = String(section, name);
  if (value && !value->empty() && value->front() != '/') {
    Report(LineOf(section, name),
           section + "." + name + ": '" + *value + "' is not an absolute path",
           "write the full path from /; relative paths and ~ are not expanded");
    return std::nullopt;
  }
  return value;
}

std::optional<std::int64_t> TomlReader::Integer(const std::string& section, const std::string& name,
                                                std::int64_t min, std::int64_t max,
                                                const std::string& hint) {
  const auto entry = Find(section, name);
  if (!entry) return std::nullopt;
  const auto* value = entry->node->as_integer();
  if (value == nullptr) {
    WrongType(*entry, "an integer");
    return std::nullopt;
  }
  if (value->get() < min || value->get() > max) {
    const std::string range = max == INT_MAX ? ">= " + std::to_string(min)
                                             : std::to_string(min) + ".." + std::to_string(max);
    const std::string number = std::to_string(value->get());
    Report(entry->line, entry->dotted + ": " + number + " is out of range (" + range + ")", hint);
    return std::nullopt;
  }
  return value->get();
}

std::optional<bool> TomlReader::Boolean(const std::string& section, const std::string& name) {
  const auto entry = Find(section, name);
  if (!entry) return std::nullopt;
  const auto* value = entry->node->as_boolean();
  if (value == nullptr) {
    WrongType(*entry, "true or false");
    return std::nullopt;
  }
  return value->get();
}

const toml::array* TomlReader::Array(const std::string& section, const std::string& name,
                                     const std::string& expected) {
  const auto entry = Find(section, name);
  if (!entry) return nullptr;
  const toml::array* array = entry->node->as_array();
  if (array == nullptr) WrongType(*entry, expected);
  return array;
}

std::optional<std::vector<TomlReader::ArrayString>> TomlReader::StringArray(
    const std::string& section, const std::string& name) {
  const toml::array* array = Array(section, name, "an array of strings");
  if (array == nullptr) return std::nullopt;
  const std::uint32_t array_line = LineOf(section, name);
  std::vector<ArrayString> strings;
  bool valid = true;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    const std::string dotted = section + "." + name + "[" + std::to_string(i) + "]";
    const std::uint32_t line =
        element.source().begin.line > 0 ? element.source().begin.line : array_line;
    const auto* text = element.as_string();
    if (text == nullptr) {
      Report(line, dotted + ": expected a string, got " + TomlTypeName(element.type()));
      valid = false;
      continue;
    }
    strings.push_back({text->get(), line, dotted});
  }
  if (!valid) return std::nullopt;
  return strings;
}

std::optional<std::string> TomlReader::OneOf(const std::string& section, const std::string& name,
                                             const std::vector<std::string>& choices,
                                             const std::string& hint) {
  auto value = String(section, name);
  if (!value) return std::nullopt;
  if (std::find(choices.begin(), choices.end(), *value) != choices.end()) return value;
  std::vector<std::string> shown;
  for (const std::string& choice : choices) shown.push_back(choice.empty() ? "\"\"" : choice);
  const std::string which = shown.size() == 2 ? "neither " + shown[0] + " nor " + shown[1]
                                              : "none of " + Join(shown, ", ");
  Report(LineOf(section, name), section + "." + name + ": '" + *value + "' is " + which, hint);
  return std::nullopt;
}

std::optional<TomlReader::Duration> TomlReader::DurationAtLeast(const std::string& section,
                                                                const std::string& name,
                                                                std::chrono::seconds min,
                                                                const std::string& hint) {
  auto text = String(section, name);
  if (!text) return std::nullopt;
  const std::string dotted = section + "." + name;
  auto duration = ParseDuration(*text);
  if (!duration.ok()) {
    Report(LineOf(section, name), dotted + ": " + duration.status().message(), hint);
    return std::nullopt;
  }
  if (*duration < min) {
    Report(LineOf(section, name),
           dotted + ": '" + *text + "' is shorter than " + std::to_string(min.count()) + "s", hint);
    return std::nullopt;
  }
  return Duration{*duration, *text};
}

std::optional<std::uint64_t> TomlReader::ByteSize(const std::string& section,
                                                  const std::string& name, std::uint64_t min,
                                                  std::uint64_t max, const std::string& hint) {
  const auto entry = Find(section, name);
  if (!entry) return std::nullopt;
  const auto* text = entry->node->as_string();
  if (text == nullptr) {
    WrongType(*entry, "a string such as \"16MiB\"");
    return std::nullopt;
  }
  auto size = ParseByteSize(text->get());
  if (!size.ok()) {
    Report(entry->line, entry->dotted + ": " + size.status().message());
    return std::nullopt;
  }
  if (*size < min || *size > max) {
    Report(entry->line,
           entry->dotted + ": '" + text->get() + "' is out of range (" + BytesText(min) + ".." +
               BytesText(max) + ")",
           hint);
    return std::nullopt;
  }
  return *size;
}

void TomlReader::RequiredPath(const std::string& section, const std::string& name,
                              std::string* out) {
  const bool present = Has(section, name);
  auto value = AbsolutePath(section, name);
  if (value && !value->empty()) {
    *out = *value;
  } else if (!present || value) {  // absent, or present but ""
    Report(LineOf(section, name), "missing key " + section + "." + name + " (required)");
  }
}

void TomlReader::ReadInt(const std::string& section, const std::string& name, std::int64_t min,
                         std::int64_t max, int* out, const std::string& hint) {
  if (auto value = Integer(section, name, min, max, hint)) *out = static_cast<int>(*value);
}

void TomlReader::NonEmptyString(const std::string& section, const std::string& name,
                                std::optional<std::string>* out) {
  auto value = String(section, name);
  if (!value) return;
  if (value->empty()) {
    Report(LineOf(section, name), section + "." + name + ": must not be empty",
           "remove the key to use the default");
    return;
  }
  *out = std::move(value);
}

}  // namespace gb
