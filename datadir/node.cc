#include "datadir/node.h"

#include <pwd.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include <spdlog/spdlog.h>

namespace gb {
namespace {

constexpr char kDataDirHint[] = "is [node].data_dir the DSS data directory?";

bool PathExists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// Reads a small text file; a missing file is reported through `missing` (when given)
// rather than as an error, for the files a data dir may lack.
Result<std::string> ReadTextFile(const std::string& path, bool* missing = nullptr) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    if (missing != nullptr && err == ENOENT) {
      *missing = true;
      return std::string();
    }
    return Status::FromErrno("cannot read " + path, err);
  }
  if (missing != nullptr) *missing = false;
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) return Status::Failed("cannot read " + path + ": I/O error");
  return content.str();
}

std::string Trim(const std::string& s) {
  size_t begin = 0;
  size_t end = s.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(s[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(s[end - 1]))) --end;
  return s.substr(begin, end - begin);
}

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::string line;
  std::istringstream in(text);
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  return lines;
}

void AppendUtf8(uint32_t code_point, std::string* out) {
  if (code_point < 0x80) {
    out->push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else if (code_point < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (code_point >> 12)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (code_point >> 18)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
}

bool ParseHex4(const std::string& s, size_t pos, uint32_t* value) {
  if (pos + 4 > s.size()) return false;
  uint32_t v = 0;
  for (size_t i = pos; i < pos + 4; ++i) {
    char c = s[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= c - '0';
    else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
    else return false;
  }
  *value = v;
  return true;
}

// ---- install.ini: [section] and key = value lines, ; and # comments.

using IniFile = std::map<std::string, std::map<std::string, std::string>>;

Result<IniFile> ParseIni(const std::string& text, const std::string& file_name) {
  IniFile ini;
  std::string section;
  int line_number = 0;
  for (const std::string& raw : SplitLines(text)) {
    ++line_number;
    std::string line = Trim(raw);
    if (line.empty() || line[0] == ';' || line[0] == '#') continue;
    if (line[0] == '[') {
      if (line.back() != ']') {
        return Status::Failed(file_name + " line " + std::to_string(line_number) +
                              ": section header '" + line + "' has no closing ']'");
      }
      section = Trim(line.substr(1, line.size() - 2));
      ini[section];
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string::npos || Trim(line.substr(0, eq)).empty()) {
      return Status::Failed(file_name + " line " + std::to_string(line_number) +
                            ": expected 'key = value' or '[section]', got '" + line + "'");
    }
    ini[section][Trim(line.substr(0, eq))] = Trim(line.substr(eq + 1));
  }
  return ini;
}

// ---- dss-version.json: a flat JSON object; string values are kept, others skipped.

class FlatJsonParser {
 public:
  FlatJsonParser(const std::string& text, const std::string& file_name)
      : text_(text), file_name_(file_name) {}

  Result<std::map<std::string, std::string>> Parse() {
    std::map<std::string, std::string> values;
    SkipSpace();
    if (!Consume('{')) return Error("not a JSON object (expected '{')");
    SkipSpace();
    if (Consume('}')) return Finish(values);
    while (true) {
      SkipSpace();
      std::string key;
      GB_RETURN_IF_ERROR(ParseString(&key));
      SkipSpace();
      if (!Consume(':')) return Error("expected ':' after \"" + key + "\"");
      SkipSpace();
      if (Peek() == '"') {
        std::string value;
        GB_RETURN_IF_ERROR(ParseString(&value));
        values[key] = value;
      } else {
        GB_RETURN_IF_ERROR(SkipValue());
      }
      SkipSpace();
      if (Consume(',')) continue;
      if (Consume('}')) return Finish(values);
      return Error("expected ',' or '}'");
    }
  }

 private:
  Result<std::map<std::string, std::string>> Finish(std::map<std::string, std::string> values) {
    SkipSpace();
    if (pos_ != text_.size()) return Error("unexpected text after the JSON object");
    return values;
  }

  Status Error(const std::string& what) const {
    return Status::Failed(file_name_ + ": " + what + " at byte " + std::to_string(pos_));
  }
  char Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  bool Consume(char c) {
    if (Peek() != c || pos_ >= text_.size()) return false;
    ++pos_;
    return true;
  }
  void SkipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }

  Status ParseString(std::string* out) {
    if (!Consume('"')) return Error("expected a string");
    while (pos_ < text_.size()) {
      char c = text_[pos_++];
      if (c == '"') return Status::Ok();
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) break;
      char e = text_[pos_++];
      switch (e) {
        case '"': case '\\': case '/': out->push_back(e); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
          uint32_t cp;
          if (!ParseHex4(text_, pos_, &cp)) return Error("bad \\u escape");
          pos_ += 4;
          uint32_t low;
          if (cp >= 0xD800 && cp < 0xDC00 && text_.compare(pos_, 2, "\\u") == 0 &&
              ParseHex4(text_, pos_ + 2, &low) && low >= 0xDC00 && low < 0xE000) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            pos_ += 6;
          }
          AppendUtf8(cp, out);
          break;
        }
        default: return Error(std::string("bad escape '\\") + e + "'");
      }
    }
    return Error("unterminated string");
  }

  // Numbers, literals, nested objects and arrays: skipped, strings inside respected.
  Status SkipValue() {
    char c = Peek();
    if (c == '{' || c == '[') {
      int depth = 0;
      while (pos_ < text_.size()) {
        char d = Peek();
        if (d == '"') {
          std::string ignored;
          GB_RETURN_IF_ERROR(ParseString(&ignored));
          continue;
        }
        ++pos_;
        if (d == '{' || d == '[') ++depth;
        if (d == '}' || d == ']') {
          if (--depth == 0) return Status::Ok();
        }
      }
      return Error("unterminated object or array");
    }
    size_t start = pos_;
    while (pos_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[pos_])) ||
                                   text_[pos_] == '-' || text_[pos_] == '+' ||
                                   text_[pos_] == '.')) {
      ++pos_;
    }
    if (pos_ == start) return Error("expected a value");
    return Status::Ok();
  }

  const std::string& text_;
  std::string file_name_;
  size_t pos_ = 0;
};

struct VersionFile {
  std::string product_version;
  std::string conf_version;
};

Result<VersionFile> ReadVersionFile(const std::string& path) {
  GB_ASSIGN_OR_RETURN(std::string text, ReadTextFile(path));
  GB_ASSIGN_OR_RETURN(auto values, FlatJsonParser(text, path).Parse());
  VersionFile version;
  auto product = values.find("product_version");
  if (product == values.end() || Trim(product->second).empty()) {
    return Status::Failed(path + ": no product_version");
  }
  version.product_version = Trim(product->second);
  auto conf = values.find("conf_version");
  if (conf != values.end()) version.conf_version = Trim(conf->second);
  return version;
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
  std::string install_dir;
  for (const std::string& raw : SplitLines(env_script_text)) {
    std::string line = Trim(raw);
    if (line.rfind("export ", 0) == 0) line = Trim(line.substr(7));
    const std::string key = "DKUINSTALLDIR=";
    if (line.rfind(key, 0) == 0) install_dir = ShellUnquote(line.substr(key.size()));
  }
  return install_dir;
}

// ---- config/dip.properties: java.util.Properties syntax.

using Properties = std::map<std::string, std::string>;

// Unescapes a properties key or value: \t \n \r \f \uXXXX, and \x as x.
Result<std::string> UnescapeProperty(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out.push_back(s[i]);
      continue;
    }
    char e = s[++i];
    switch (e) {
      case 't': out.push_back('\t'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 'f': out.push_back('\f'); break;
      case 'u': {
        uint32_t cp;
        if (!ParseHex4(s, i + 1, &cp)) return Status::Failed("malformed \\uXXXX escape");
        i += 4;
        AppendUtf8(cp, &out);
        break;
      }
      default: out.push_back(e);
    }
  }
  return out;
}

bool EndsWithContinuation(const std::string& line) {
  size_t backslashes = 0;
  for (size_t i = line.size(); i > 0 && line[i - 1] == '\\'; --i) ++backslashes;
  return backslashes % 2 == 1;
}

Result<Properties> ParseProperties(const std::string& text, const std::string& file_name) {
  Properties properties;
  std::vector<std::string> lines = SplitLines(text);
  for (size_t n = 0; n < lines.size(); ++n) {
    size_t first_line = n + 1;
    std::string line = lines[n];
    size_t start = line.find_first_not_of(" \t\f");
    if (start == std::string::npos) continue;
    if (line[start] == '#' || line[start] == '!') continue;
    line = line.substr(start);
    while (EndsWithContinuation(line) && n + 1 < lines.size()) {
      line.pop_back();
      std::string next = lines[++n];
      size_t next_start = next.find_first_not_of(" \t\f");
      line += next_start == std::string::npos ? "" : next.substr(next_start);
    }
    if (EndsWithContinuation(line)) line.pop_back();

    size_t key_end = 0;
    while (key_end < line.size()) {
      char c = line[key_end];
      if (c == '\\') {
        key_end += 2;
        continue;
      }
      if (c == '=' || c == ':' || c == ' ' || c == '\t' || c == '\f') break;
      ++key_end;
    }
    key_end = std::min(key_end, line.size());
    size_t value_start = key_end;
    while (value_start < line.size() &&
           (line[value_start] == ' ' || line[value_start] == '\t' || line[value_start] == '\f')) {
      ++value_start;
    }
    if (value_start < line.size() && (line[value_start] == '=' || line[value_start] == ':')) {
      ++value_start;
      while (value_start < line.size() &&
             (line[value_start] == ' ' || line[value_start] == '\t' ||
              line[value_start] == '\f')) {
        ++value_start;
      }
    }
    auto key = UnescapeProperty(line.substr(0, key_end));
    auto value = UnescapeProperty(line.substr(value_start));
    for (const auto* part : {&key, &value}) {
      if (!part->ok()) {
        return part->status().WithContext(file_name + " line " + std::to_string(first_line));
      }
    }
    properties[*key] = *value;
  }
  return properties;
}

// ---- JDBC URLs.

std::string PercentDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() &&
        std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// The URL as it may appear in a message: a password= parameter is masked.
std::string RedactJdbcUrl(const std::string& url) {
  std::string out = url;
  size_t query = out.find('?');
  if (query == std::string::npos) return out;
  size_t pos = query;
  while (pos < out.size()) {
    size_t param = pos + 1;
    size_t next = out.find('&', param);
    if (next == std::string::npos) next = out.size();
    if (out.compare(param, 9, "password=") == 0) {
      out.replace(param + 9, next - param - 9, "***");
      next = out.find('&', param);
      if (next == std::string::npos) next = out.size();
    }
    pos = next;
  }
  return out;
}

Result<int> ParsePort(const std::string& text, const std::string& shown_url) {
  if (text.empty() || text.size() > 5 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    return Status::Failed("'" + shown_url + "' has an invalid port '" + text + "'");
  }
  int port = std::stoi(text);
  if (port < 1 || port > 65535) {
    return Status::Failed("'" + shown_url + "' has an invalid port '" + text + "'");
  }
  return port;
}

}  // namespace

Result<JdbcSettings> ParseJdbcUrl(const std::string& url_text) {
  const std::string url = Trim(url_text);
  const std::string shown = RedactJdbcUrl(url);
  const std::string prefix = "jdbc:postgresql:";
  if (url.size() < prefix.size() || strncasecmp(url.c_str(), prefix.c_str(), prefix.size()) != 0) {
    return Status::Failed("'" + shown + "' is not a PostgreSQL JDBC URL",
                          "expected jdbc:postgresql://host:port/database");
  }
  JdbcSettings settings;
  settings.host = "localhost";
  std::string rest = url.substr(prefix.size());
  std::string query;
  if (size_t q = rest.find('?'); q != std::string::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::string path = rest;
  if (rest.rfind("//", 0) == 0) {
    std::string authority = rest.substr(2);
    size_t slash = authority.find('/');
    if (slash == std::string::npos) {
      return Status::Failed("'" + shown + "' has no database name",
                            "expected jdbc:postgresql://host:port/database");
    }
    path = authority.substr(slash + 1);
    authority = authority.substr(0, slash);
    if (size_t comma = authority.find(','); comma != std::string::npos) {
      spdlog::warn("JDBC URL '{}' lists several hosts; using the first one", shown);
      authority = authority.substr(0, comma);
    }
    std::string port_text;
    if (!authority.empty() && authority[0] == '[') {
      size_t close = authority.find(']');
      if (close == std::string::npos) {
        return Status::Failed("'" + shown + "' has an unterminated IPv6 address");
      }
      settings.host = authority.substr(1, close - 1);
      std::string after = authority.substr(close + 1);
      if (!after.empty()) {
        if (after[0] != ':') {
          return Status::Failed("'" + shown + "' has text after the IPv6 address");
        }
        port_text = after.substr(1);
        if (port_text.empty()) port_text = "5432";
      }
    } else if (size_t colon = authority.rfind(':'); colon != std::string::npos) {
      settings.host = authority.substr(0, colon);
      port_text = authority.substr(colon + 1);
    } else if (!authority.empty()) {
      settings.host = authority;
    }
    if (settings.host.empty()) settings.host = "localhost";
    if (!port_text.empty()) {
      GB_ASSIGN_OR_RETURN(settings.port, ParsePort(port_text, shown));
    }
  } else if (!rest.empty() && rest[0] == '/') {
    path = rest.substr(1);
  }
  settings.dbname = PercentDecode(path);
  if (settings.dbname.empty()) {
    return Status::Failed("'" + shown + "' has no database name",
                          "expected jdbc:postgresql://host:port/database");
  }
  std::istringstream params(query);
  std::string param;
  while (std::getline(params, param, '&')) {
    size_t eq = param.find('=');
    std::string name = param.substr(0, eq);
    std::string value = eq == std::string::npos ? "" : PercentDecode(param.substr(eq + 1));
    if (name == "currentSchema") settings.schema = value;
    if (name == "user") settings.user = value;
    if (name == "password") settings.password_present = !value.empty();
    if (name == "socketFactoryArg") {
      // junixsocket: ".../dir/.s.PGSQL.<port>" is a Unix socket, which libpq takes as a
      // host that is a directory.
      const std::string marker = "/.s.PGSQL.";
      size_t at = value.rfind(marker);
      if (!value.empty() && value[0] == '/' && at != std::string::npos) {
        settings.host = at == 0 ? "/" : value.substr(0, at);
        GB_ASSIGN_OR_RETURN(settings.port, ParsePort(value.substr(at + marker.size()), shown));
      }
    }
  }
  if (settings.password_present) {
    spdlog::warn("JDBC URL '{}' carries a password parameter", shown);
  }
  return settings;
}

bool LooksLikeDataDir(const std::string& dir) {
  return PathExists(dir + "/dss-version.json") && PathExists(dir + "/install.ini");
}

Result<DssNode> DiscoverNode(const std::string& data_dir_arg) {
  if (data_dir_arg.empty()) {
    return Status::Usage("no data dir given", "set [node].data_dir");
  }
  std::string data_dir = data_dir_arg;
  if (data_dir[0] != '/') {
    char cwd[4096];
    if (::getcwd(cwd, sizeof(cwd)) == nullptr) return Status::FromErrno("getcwd", errno);
    data_dir = std::string(cwd) + "/" + data_dir;
  }
  while (data_dir.size() > 1 && data_dir.back() == '/') data_dir.pop_back();

  struct stat st;
  if (::stat(data_dir.c_str(), &st) != 0) {
    int err = errno;
    if (err == ENOENT) {
      return Status::Failed("data dir " + data_dir + " does not exist", kDataDirHint);
    }
    return Status::FromErrno("data dir " + data_dir, err, kDataDirHint);
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status::Failed("data dir " + data_dir + " is not a directory", kDataDirHint);
  }
  std::vector<std::string> missing;
  for (const char* name : {"dss-version.json", "install.ini"}) {
    if (!PathExists(data_dir + "/" + name)) missing.push_back(name);
  }
  if (!missing.empty()) {
    std::string what = "no " + missing[0];
    if (missing.size() > 1) what += " and no " + missing[1];
    return Status::Failed(data_dir + " is not a DSS data directory: " + what, kDataDirHint);
  }

  DssNode node;
  node.data_dir = data_dir;
  node.owner_uid = st.st_uid;
  node.owner_gid = st.st_gid;
  if (struct passwd* pw = ::getpwuid(st.st_uid); pw != nullptr) {
    node.owner_name = pw->pw_name;
  } else {
    node.owner_name = std::to_string(st.st_uid);
  }

  const std::string ini_path = data_dir + "/install.ini";
  GB_ASSIGN_OR_RETURN(std::string ini_text, ReadTextFile(ini_path));
  GB_ASSIGN_OR_RETURN(IniFile ini, ParseIni(ini_text, ini_path));
  const auto& general = ini["general"];
  auto value_of = [&general](const char* key) {
    auto it = general.find(key);
    return it == general.end() ? std::string() : it->second;
  };
  node.node_type = value_of("nodetype");
  node.node_id = value_of("nodeid");
  node.install_id = value_of("installid");
  if (node.node_type.empty()) {
    return Status::Failed(ini_path + ": no nodetype in [general]",
                          "a DSS install.ini names its node type (design, automation, "
                          "deployer or govern)");
  }

  GB_ASSIGN_OR_RETURN(VersionFile version, ReadVersionFile(data_dir + "/dss-version.json"));
  node.dss_version = version.product_version;
  node.conf_version = version.conf_version;

  bool env_missing = false;
  GB_ASSIGN_OR_RETURN(std::string env_text,
                      ReadTextFile(data_dir + "/bin/env-default.sh", &env_missing));
  node.install_dir = FindInstallDir(env_text);
  if (!node.install_dir.empty()) {
    auto install_version = ReadVersionFile(node.install_dir + "/dss-version.json");
    if (install_version.ok()) {
      node.install_dss_version = install_version->product_version;
    } else {
      spdlog::debug("installation version unknown: {}", install_version.status().ToString());
    }
  }

  bool expected_missing = false;
  GB_ASSIGN_OR_RETURN(
      std::string expected,
      ReadTextFile(data_dir + "/install-support/expected-dip-home.txt", &expected_missing));
  node.expected_dip_home = Trim(expected);

  const std::string properties_path = data_dir + "/config/dip.properties";
  bool properties_missing = false;
  GB_ASSIGN_OR_RETURN(std::string properties_text,
                      ReadTextFile(properties_path, &properties_missing));
  if (!properties_missing) {
    GB_ASSIGN_OR_RETURN(Properties properties, ParseProperties(properties_text, properties_path));
    auto url = properties.find("psql.jdbc.url");
    if (url != properties.end()) {
      auto jdbc = ParseJdbcUrl(url->second);
      if (!jdbc.ok()) {
        return jdbc.status().WithContext(properties_path + ": psql.jdbc.url");
      }
      JdbcSettings settings = *jdbc;
      if (auto user = properties.find("psql.jdbc.user"); user != properties.end()) {
        settings.user = Trim(user->second);
      }
      if (auto password = properties.find("psql.jdbc.password"); password != properties.end()) {
        std::string value = Trim(password->second);
        settings.password_present = settings.password_present || !value.empty();
        settings.password_encrypted = value.rfind("e:AES:", 0) == 0;
      }
      node.database = settings;
    }
  }
  if (node.is_govern() && !node.database) {
    spdlog::warn("{}: no psql.jdbc.url: this Govern node names no database", properties_path);
  }

  node.install_in_progress = PathExists(data_dir + "/DSS-INITIAL-INSTALL-IN-PROGRESS.txt");
  node.migration_in_progress = PathExists(data_dir + "/DSS-MIGRATION-IN-PROGRESS.json");
  return node;
}

int CompareDssVersions(const std::string& a, const std::string& b) {
  // Numeric per dotted component; a non-numeric tail ("14.4.1-beta") compares as text.
  size_t i = 0;
  size_t j = 0;
  while (i < a.size() || j < b.size()) {
    auto component = [](const std::string& s, size_t* pos, std::string* tail) {
      uint64_t number = 0;
      while (*pos < s.size() && std::isdigit(static_cast<unsigned char>(s[*pos]))) {
        number = number * 10 + (s[*pos] - '0');
        ++*pos;
      }
      size_t tail_start = *pos;
      while (*pos < s.size() && s[*pos] != '.') ++*pos;
      *tail = s.substr(tail_start, *pos - tail_start);
      if (*pos < s.size()) ++*pos;  // the dot
      return number;
    };
    std::string tail_a;
    std::string tail_b;
    uint64_t na = component(a, &i, &tail_a);
    uint64_t nb = component(b, &j, &tail_b);
    if (na != nb) return na < nb ? -1 : 1;
    if (tail_a != tail_b) {
      // A release ("") sorts after its pre-releases ("-beta").
      if (tail_a.empty()) return 1;
      if (tail_b.empty()) return -1;
      return tail_a < tail_b ? -1 : 1;
    }
  }
  return 0;
}

}  // namespace gb
