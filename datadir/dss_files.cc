#include "datadir/dss_files.h"

#include <cerrno>
#include <cstdlib>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/files.h"
#include "io/text.h"

namespace gb {
namespace {

// "<path> line <n>": where a parse error is.
std::string LineOf(const std::string& path, size_t line_number) {
  return path + " line " + std::to_string(line_number);
}

std::string LineError(const std::string& path, size_t line_number, const std::string& what) {
  return LineOf(path, line_number) + ": " + what;
}

// The content of `path`, or nothing when it does not exist (the optional files of a data dir).
Result<std::optional<std::string>> ReadIfPresent(const std::string& path) {
  Result<std::string> text = ReadWholeFile(path);
  if (text.ok()) return std::optional<std::string>(std::move(*text));
  if (text.status().system_errno() == ENOENT) return std::optional<std::string>();
  return text.status();
}

// ---- install.ini: [section] and key = value lines, ; and # comments.

using IniSections = std::map<std::string, std::map<std::string, std::string>>;

Result<IniSections> ParseIni(const std::string& text, const std::string& path) {
  IniSections ini;
  std::string section;
  size_t line_number = 0;
  for (const std::string& raw : SplitLines(text)) {
    ++line_number;
    const std::string line = Trim(raw);
    if (line.empty() || line[0] == ';' || line[0] == '#') continue;
    if (line[0] == '[') {
      if (line.back() != ']') {
        return Status::Failed(LineError(path, line_number, "section header '" + line +
                                                               "' has no closing ']'"));
      }
      section = Trim(line.substr(1, line.size() - 2));
      ini[section];
      continue;
    }
    const size_t eq = line.find('=');
    if (eq == std::string::npos || Trim(line.substr(0, eq)).empty()) {
      return Status::Failed(LineError(
          path, line_number, "expected 'key = value' or '[section]', got '" + line + "'"));
    }
    ini[section][Trim(line.substr(0, eq))] = Trim(line.substr(eq + 1));
  }
  return ini;
}

// ---- bin/env-default.sh: export DKUINSTALLDIR="...".

std::string ShellUnquote(const std::string& word) {
  std::string value = Trim(word);
  if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
      value.back() == value.front()) {
    return value.substr(1, value.size() - 2);
  }
  return value;
}

std::string FindInstallDir(const std::string& env_script_text) {
  constexpr std::string_view kKey = "DKUINSTALLDIR=";
  std::string install_dir;
  for (const std::string& raw : SplitLines(env_script_text)) {
    std::string line = Trim(raw);
    if (line.rfind("export ", 0) == 0) line = Trim(line.substr(7));
    if (line.rfind(kKey, 0) == 0) install_dir = ShellUnquote(line.substr(kKey.size()));
  }
  return install_dir;
}

// ---- config/dip.properties: java.util.Properties syntax.

constexpr char kPropertiesBlanks[] = " \t\f";

// Java writes a character as \uXXXX UTF-16 escapes, one outside the BMP as two (a surrogate
// pair), exactly as JSON does: the JSON parser decodes a run of them into UTF-8.
Result<std::string> DecodeUtf16Escapes(const std::string& escapes) {
  const nlohmann::json decoded =
      nlohmann::json::parse("\"" + escapes + "\"", nullptr, /*allow_exceptions=*/false);
  if (decoded.is_discarded() || !decoded.is_string()) {
    return Status::Failed("malformed \\uXXXX escape in '" + escapes + "'");
  }
  return decoded.get<std::string>();
}

// Unescapes a properties key or value: \t \n \r \f \uXXXX, and \x as x.
Result<std::string> UnescapeProperty(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out.push_back(s[i]);
      continue;
    }
    if (s[i + 1] == 'u') {
      size_t run_end = i;
      while (run_end + 1 < s.size() && s[run_end] == '\\' && s[run_end + 1] == 'u') {
        run_end = std::min(run_end + 6, s.size());
      }
      GB_ASSIGN_OR_RETURN(std::string decoded, DecodeUtf16Escapes(s.substr(i, run_end - i)));
      out += decoded;
      i = run_end - 1;
      continue;
    }
    const char escaped = s[++i];
    switch (escaped) {
      case 't': out.push_back('\t'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 'f': out.push_back('\f'); break;
      default: out.push_back(escaped);
    }
  }
  return out;
}

bool EndsWithContinuation(const std::string& line) {
  size_t backslashes = 0;
  for (size_t i = line.size(); i > 0 && line[i - 1] == '\\'; --i) ++backslashes;
  return backslashes % 2 == 1;
}

// A key = value entry, its continuation lines joined, and the line it starts on.
struct LogicalLine {
  size_t first_line;
  std::string text;
};

std::vector<LogicalLine> LogicalLines(const std::string& text) {
  std::vector<LogicalLine> logical;
  const std::vector<std::string> lines = SplitLines(text);
  for (size_t n = 0; n < lines.size(); ++n) {
    const size_t first_line = n + 1;
    const size_t start = lines[n].find_first_not_of(kPropertiesBlanks);
    if (start == std::string::npos) continue;
    if (lines[n][start] == '#' || lines[n][start] == '!') continue;
    std::string line = lines[n].substr(start);
    while (EndsWithContinuation(line) && n + 1 < lines.size()) {
      line.pop_back();
      const std::string& next = lines[++n];
      const size_t next_start = next.find_first_not_of(kPropertiesBlanks);
      if (next_start != std::string::npos) line += next.substr(next_start);
    }
    if (EndsWithContinuation(line)) line.pop_back();
    logical.push_back({first_line, std::move(line)});
  }
  return logical;
}

// The key ends at the first unescaped '=', ':' or blank; the value starts after the blanks
// and the one '=' or ':' that follow it.
void SplitProperty(const std::string& line, std::string* key, std::string* value) {
  size_t key_end = 0;
  while (key_end < line.size()) {
    const char c = line[key_end];
    if (c == '\\') {
      key_end += 2;
      continue;
    }
    if (c == '=' || c == ':' || std::string_view(kPropertiesBlanks).find(c) != std::string::npos) {
      break;
    }
    ++key_end;
  }
  key_end = std::min(key_end, line.size());
  size_t value_start = line.find_first_not_of(kPropertiesBlanks, key_end);
  if (value_start != std::string::npos && (line[value_start] == '=' || line[value_start] == ':')) {
    value_start = line.find_first_not_of(kPropertiesBlanks, value_start + 1);
  }
  *key = line.substr(0, key_end);
  *value = value_start == std::string::npos ? std::string() : line.substr(value_start);
}

Result<JavaProperties> ParseJavaProperties(const std::string& text, const std::string& path) {
  JavaProperties properties;
  for (const LogicalLine& line : LogicalLines(text)) {
    std::string raw_key;
    std::string raw_value;
    SplitProperty(line.text, &raw_key, &raw_value);
    Result<std::string> key = UnescapeProperty(raw_key);
    Result<std::string> value = UnescapeProperty(raw_value);
    for (const Result<std::string>* part : {&key, &value}) {
      if (!part->ok()) return part->status().WithContext(LineOf(path, line.first_line));
    }
    properties[*key] = *value;
  }
  return properties;
}

// A string member of a JSON object, "" when absent or not a string.
std::string StringMember(const nlohmann::json& object, const char* name) {
  const auto member = object.find(name);
  if (member == object.end() || !member->is_string()) return "";
  return Trim(member->get<std::string>());
}

}  // namespace

Result<InstallIni> ReadInstallIni(const std::string& path) {
  GB_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
  GB_ASSIGN_OR_RETURN(IniSections ini, ParseIni(text, path));
  const auto& general = ini["general"];
  auto value_of = [&general](const char* key) {
    auto it = general.find(key);
    return it == general.end() ? std::string() : it->second;
  };
  InstallIni install;
  install.node_type = value_of("nodetype");
  install.node_id = value_of("nodeid");
  install.install_id = value_of("installid");
  const std::string port = ini["server"]["port"];
  if (!port.empty()) {
    char* end = nullptr;
    long value = std::strtol(port.c_str(), &end, 10);
    if (*end != '\0' || value < 1 || value > 65535)
      return Status::Failed(path + ": [server] port \"" + port + "\" is not a TCP port");
    install.server_port = static_cast<int>(value);
  }
  if (install.node_type.empty()) {
    return Status::Failed(path + ": no nodetype in [general]",
                          "a DSS install.ini names its node type (design, automation, "
                          "deployer or govern)");
  }
  return install;
}

Result<DssVersionFile> ReadDssVersionFile(const std::string& path) {
  GB_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& error) {
    // Only the exception says where the text goes wrong (line and column).
    std::string what = error.what();
    if (size_t tag_end = what.find("] "); tag_end != std::string::npos) what.erase(0, tag_end + 2);
    return Status::Failed(path + " is not valid JSON: " + what);
  }
  if (!document.is_object()) return Status::Failed(path + ": not a JSON object");
  DssVersionFile version;
  version.product_version = StringMember(document, "product_version");
  if (version.product_version.empty()) return Status::Failed(path + ": no product_version");
  version.conf_version = StringMember(document, "conf_version");
  return version;
}

Result<std::string> ReadInstallDir(const std::string& env_script_path) {
  GB_ASSIGN_OR_RETURN(std::optional<std::string> text, ReadIfPresent(env_script_path));
  return text ? FindInstallDir(*text) : std::string();
}

Result<std::string> ReadExpectedDipHome(const std::string& path) {
  GB_ASSIGN_OR_RETURN(std::optional<std::string> text, ReadIfPresent(path));
  return text ? Trim(*text) : std::string();
}

Result<std::optional<JavaProperties>> ReadJavaProperties(const std::string& path) {
  GB_ASSIGN_OR_RETURN(std::optional<std::string> text, ReadIfPresent(path));
  if (!text) return std::optional<JavaProperties>();
  GB_ASSIGN_OR_RETURN(JavaProperties properties, ParseJavaProperties(*text, path));
  return std::optional<JavaProperties>(std::move(properties));
}

}  // namespace gb
