// JDBC URLs of config/dip.properties: the PostgreSQL connection settings a Govern node names,
// and the URL as it may be shown (a password= parameter masked).
// Stateless functions; safe from any thread.
#pragma once

#include <string>

#include "io/status.h"

namespace gb {

// The Govern database settings of config/dip.properties.
struct JdbcSettings {
  std::string host;
  int port = 5432;
  std::string dbname;
  std::string schema;            // ?currentSchema=, "" when absent
  std::string user;              // psql.jdbc.user, "" when absent
  bool password_encrypted = false;  // psql.jdbc.password is e:AES:... (never used, never printed)
  bool password_present = false;
};

// Parses "jdbc:postgresql://host[:port]/db[?currentSchema=s&...]" (also [ipv6]:port, the
// host-less "jdbc:postgresql:db", and junixsocket's socketFactoryArg=<dir>/.s.PGSQL.<port>,
// which gives host = <dir>). Error messages show the URL with any password= masked.
Result<JdbcSettings> ParseJdbcUrl(const std::string& url);

// `url` with the value of any password= parameter replaced by ***.
std::string RedactJdbcUrl(const std::string& url);

}  // namespace gb
