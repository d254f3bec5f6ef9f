// What govern-backup needs to know of, and do to, the PostgreSQL server (libpqxx).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "io/status.h"
#include "pg/connection.h"

namespace gb {

struct ServerIdentity {
  std::string server_version;     // "15.18"
  int server_version_num = 0;     // 150018
  int server_major = 0;           // 15
  std::string system_identifier;  // pg_control_system(); "" if not readable by this role
  uint64_t database_bytes = 0;    // pg_database_size
  std::string current_user;
  bool is_superuser = false;
  bool can_create_db = false;     // rolcreatedb or superuser
  bool owns_database = false;
};

// Connects and reads the identity. Connection failures are classified in the message:
// "password authentication failed for user ...", "server not reachable at ...", "database
// ... does not exist"; the message never includes a password.
Result<ServerIdentity> ReadServerIdentity(const ConnectionParams& params);

// Row count of every table of every non-system schema, keyed "schema.table".
Result<std::map<std::string, uint64_t>> CountTableRows(const ConnectionParams& params);

// Maintenance operations, run on the "postgres" database of the same server.
Result<bool> DatabaseExists(const ConnectionParams& params, const std::string& dbname);
Status CreateDatabase(const ConnectionParams& params, const std::string& dbname,
                      const std::string& owner);
Status DropDatabase(const ConnectionParams& params, const std::string& dbname);
Status RenameDatabase(const ConnectionParams& params, const std::string& from,
                      const std::string& to);
// Databases whose name starts with `prefix`, with their sizes, sorted by name.
struct DatabaseSize {
  std::string name;
  uint64_t bytes = 0;
};
Result<std::vector<DatabaseSize>> DatabasesWithPrefix(const ConnectionParams& params,
                                                      const std::string& prefix);

// Other sessions connected to `dbname` (pid, user, application), ours excluded.
Result<std::vector<std::string>> OtherSessions(const ConnectionParams& params,
                                               const std::string& dbname);

}  // namespace gb
