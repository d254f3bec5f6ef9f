#include "pg/connection.h"

#include <string>

namespace gb {
namespace {

constexpr int kConnectTimeoutSeconds = 10;
constexpr const char* kApplicationName = "govern-backup";

// libpq keyword/value syntax: single quotes, with ' and \ escaped by a backslash.
std::string QuoteConnValue(const std::string& value) {
  std::string quoted = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') quoted += '\\';
    quoted += c;
  }
  quoted += '\'';
  return quoted;
}

}  // namespace

std::string ConnectionParams::ConnectionString() const {
  std::string conninfo;
  auto add = [&conninfo](const char* keyword, const std::string& value) {
    if (!conninfo.empty()) conninfo += ' ';
    conninfo += keyword;
    conninfo += '=';
    conninfo += QuoteConnValue(value);
  };
  if (!host.empty()) add("host", host);
  add("port", std::to_string(port));
  if (!dbname.empty()) add("dbname", dbname);
  if (!user.empty()) add("user", user);
  if (!password_file.empty()) add("passfile", password_file);
  add("connect_timeout", std::to_string(kConnectTimeoutSeconds));
  add("application_name", kApplicationName);
  return conninfo;
}

std::map<std::string, std::string> ConnectionParams::ChildEnvironment() const {
  std::map<std::string, std::string> env;
  if (!host.empty()) env["PGHOST"] = host;
  env["PGPORT"] = std::to_string(port);
  if (!user.empty()) env["PGUSER"] = user;
  if (!dbname.empty()) env["PGDATABASE"] = dbname;
  if (!password_file.empty()) env["PGPASSFILE"] = password_file;
  env["PGCONNECT_TIMEOUT"] = std::to_string(kConnectTimeoutSeconds);
  env["PGAPPNAME"] = kApplicationName;
  return env;
}

std::string ConnectionParams::Describe() const {
  std::string where = host.empty() ? std::string("localhost") : host;
  return (user.empty() ? std::string("(default user)") : user) + "@" + where + ":" +
         std::to_string(port) + "/" + dbname;
}

ConnectionParams ConnectionParams::WithDatabase(const std::string& other_dbname) const {
  ConnectionParams other = *this;
  other.dbname = other_dbname;
  return other;
}

}  // namespace gb
