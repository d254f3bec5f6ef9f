// ConnectionParams: how to reach the Govern database, for libpqxx and for pg_dump and
// pg_restore alike. The password comes only from a libpq password file.
#pragma once

#include <map>
#include <string>

namespace gb {

struct ConnectionParams {
  std::string host;           // host name, address or socket directory
  int port = 5432;
  std::string dbname;
  std::string user;
  std::string password_file;  // "" = libpq's default (PGPASSFILE, ~/.pgpass)

  // A libpq keyword/value string (values quoted); never contains a password.
  std::string ConnectionString() const;
  // The same settings as PG* variables for child processes (PGHOST, PGPORT, PGUSER,
  // PGDATABASE, PGPASSFILE), plus PGCONNECT_TIMEOUT.
  std::map<std::string, std::string> ChildEnvironment() const;
  // "user@host:port/dbname" for messages.
  std::string Describe() const;
  // The same server and user, another database.
  ConnectionParams WithDatabase(const std::string& other_dbname) const;
};

}  // namespace gb
