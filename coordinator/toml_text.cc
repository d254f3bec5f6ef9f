#include "coordinator/toml_text.h"

#include <ctime>
#include <sstream>

namespace gb {

std::string FormatToml(const toml::table& table, const std::string& comment) {
  // allow_unicode_strings keeps non-ASCII text readable; everything else in the default
  // flags (multi-line and literal strings, indentation) is left out on purpose.
  constexpr auto kFlags = toml::format_flags::allow_unicode_strings;
  std::ostringstream out;
  if (!comment.empty()) out << comment << "\n";
  out << toml::toml_formatter{table, kFlags} << "\n";
  return out.str();
}

toml::date_time ToTomlTime(TimePoint time) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return toml::date_time{toml::date{utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday},
                         toml::time{utc.tm_hour, utc.tm_min, utc.tm_sec},
                         toml::time_offset{0, 0}};
}

std::optional<TimePoint> FromTomlTime(const toml::date_time& value) {
  if (!value.offset) return std::nullopt;
  std::tm utc{};
  utc.tm_year = value.date.year - 1900;
  utc.tm_mon = value.date.month - 1;
  utc.tm_mday = value.date.day;
  utc.tm_hour = value.time.hour;
  utc.tm_min = value.time.minute;
  utc.tm_sec = value.time.second;
  // Sub-second digits are dropped: every time we write is whole seconds.
  return std::chrono::system_clock::from_time_t(timegm(&utc)) -
         std::chrono::minutes(value.offset->minutes);
}

nlohmann::json TomlToJson(const toml::node& node) {
  if (const toml::table* table = node.as_table()) {
    nlohmann::json object = nlohmann::json::object();
    for (const auto& [key, value] : *table) object[std::string(key.str())] = TomlToJson(value);
    return object;
  }
  if (const toml::array* array = node.as_array()) {
    nlohmann::json list = nlohmann::json::array();
    for (const toml::node& item : *array) list.push_back(TomlToJson(item));
    return list;
  }
  if (auto text = node.value_exact<std::string>()) return *text;
  if (auto integer = node.value_exact<int64_t>()) return *integer;
  if (auto real = node.value_exact<double>()) return *real;
  if (auto flag = node.value_exact<bool>()) return *flag;
  if (auto when = node.value_exact<toml::date_time>()) {
    if (auto point = FromTomlTime(*when)) return FormatRfc3339(*point);
  }
  // A local date or time: never written by us, and with no instant to give.
  return nullptr;
}

}  // namespace gb
