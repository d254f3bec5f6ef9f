#include "datadir/jdbc_url.h"

#include <strings.h>

#include <charconv>
#include <string_view>

#include <spdlog/spdlog.h>

#include "io/text.h"

namespace gb {
namespace {

constexpr char kPrefix[] = "jdbc:postgresql:";
constexpr char kUrlHint[] = "expected jdbc:postgresql://host:port/database";

// A number of exactly the text given (no sign, no trailing text), or nothing.
template <typename Int>
bool ParseWhole(std::string_view text, int base, Int* value) {
  if (text.empty()) return false;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *value, base);
  return error == std::errc() && end == text.data() + text.size();
}

std::string PercentDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char byte = 0;
    if (s[i] == '%' && i + 2 < s.size() &&
        ParseWhole(std::string_view(s).substr(i + 1, 2), 16, &byte)) {
      out.push_back(static_cast<char>(byte));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

Result<int> ParsePort(const std::string& text, const std::string& shown_url) {
  int port = 0;
  if (!ParseWhole(text, 10, &port) || port < 1 || port > 65535) {
    return Status::Failed("'" + shown_url + "' has an invalid port '" + text + "'");
  }
  return port;
}

// "host", "host:port", "[ipv6]", "[ipv6]:port" or "" into settings->host and ->port.
Status ParseAuthority(std::string authority, const std::string& shown, JdbcSettings* settings) {
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
    settings->host = authority.substr(1, close - 1);
    std::string after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return Status::Failed("'" + shown + "' has text after the IPv6 address");
      port_text = after.substr(1);
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string::npos) {
    settings->host = authority.substr(0, colon);
    port_text = authority.substr(colon + 1);
  } else {
    settings->host = authority;
  }
  if (settings->host.empty()) settings->host = "localhost";
  if (!port_text.empty()) {
    GB_ASSIGN_OR_RETURN(settings->port, ParsePort(port_text, shown));
  }
  return Status::Ok();
}

// The query parameters we use; the driver's many others do not concern a backup.
Status ApplyParameters(const std::string& query, const std::string& shown,
                       JdbcSettings* settings) {
  size_t start = 0;
  while (start < query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string::npos) end = query.size();
    const std::string param = query.substr(start, end - start);
    start = end + 1;
    size_t eq = param.find('=');
    const std::string name = param.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : PercentDecode(param.substr(eq + 1));
    if (name == "currentSchema") settings->schema = value;
    if (name == "user") settings->user = value;
    if (name == "password") settings->password_present = !value.empty();
    if (name == "socketFactoryArg") {
      // junixsocket: ".../dir/.s.PGSQL.<port>" is a Unix socket, which libpq takes as a
      // host that is a directory.
      const std::string marker = "/.s.PGSQL.";
      size_t at = value.rfind(marker);
      if (!value.empty() && value[0] == '/' && at != std::string::npos) {
        settings->host = at == 0 ? "/" : value.substr(0, at);
        GB_ASSIGN_OR_RETURN(settings->port, ParsePort(value.substr(at + marker.size()), shown));
      }
    }
  }
  return Status::Ok();
}

}  // namespace

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

Result<JdbcSettings> ParseJdbcUrl(const std::string& url_text) {
  const std::string url = Trim(url_text);
  const std::string shown = RedactJdbcUrl(url);
  const size_t prefix_size = sizeof(kPrefix) - 1;
  if (url.size() < prefix_size || strncasecmp(url.c_str(), kPrefix, prefix_size) != 0) {
    return Status::Failed("'" + shown + "' is not a PostgreSQL JDBC URL", kUrlHint);
  }
  JdbcSettings settings;
  settings.host = "localhost";
  std::string rest = url.substr(prefix_size);
  std::string query;
  if (size_t q = rest.find('?'); q != std::string::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::string path = rest;  // the host-less form: "jdbc:postgresql:db"
  if (rest.rfind("//", 0) == 0) {
    size_t slash = rest.find('/', 2);
    if (slash == std::string::npos) {
      return Status::Failed("'" + shown + "' has no database name", kUrlHint);
    }
    GB_RETURN_IF_ERROR(ParseAuthority(rest.substr(2, slash - 2), shown, &settings));
    path = rest.substr(slash + 1);
  } else if (!rest.empty() && rest[0] == '/') {
    path = rest.substr(1);
  }
  settings.dbname = PercentDecode(path);
  if (settings.dbname.empty()) {
    return Status::Failed("'" + shown + "' has no database name", kUrlHint);
  }
  GB_RETURN_IF_ERROR(ApplyParameters(query, shown, &settings));
  if (settings.password_present) {
    spdlog::warn("JDBC URL '{}' carries a password parameter", shown);
  }
  return settings;
}

}  // namespace gb
