// ThrowawayCluster: a private PostgreSQL server in a temporary directory (initdb, own port,
// own socket directory), for the demo, the tests and the benchmark. As root, the server
// runs as the `postgres` system user (created if missing), and the ancestors of its directory
// get o+x when they lack it; both are announced on stderr first (sandbox/system_changes.h).
// Password authentication for a non-superuser role. Not thread-safe: one owner per cluster.
#pragma once

#include <memory>
#include <string>

#include "io/status.h"
#include "pg/connection.h"

namespace gb {

struct ThrowawayClusterOptions {
  std::string directory;          // parent of the cluster's own directory; created if missing
  int port = 0;                   // 0 = pick a free one
  std::string bin_dir;            // "" = newest /usr/lib/postgresql/<N>/bin
  std::string govern_user = "govern";
  std::string govern_password = "govern-secret";
  std::string govern_db = "govern";
  bool govern_can_create_db = true;
  // false: no autovacuum, so no transaction runs that nobody asked for (an autoanalyze takes
  // one): the tests' shared cluster, where a test may assert that none committed.
  bool autovacuum = true;
  bool keep = false;              // the destructor leaves the server running and its files
                                  // in place (demo --keep, the benchmark); Discard() still
                                  // removes them
};

class ThrowawayCluster {
 public:
  static Result<std::unique_ptr<ThrowawayCluster>> Start(const ThrowawayClusterOptions& options);
  ~ThrowawayCluster();  // Discard(), unless options.keep

  // The Govern role, connecting over TCP to 127.0.0.1 with its password file.
  ConnectionParams GovernParams() const;
  // The superuser, over the socket directory (trust).
  ConnectionParams SuperuserParams() const;
  int port() const;
  const std::string& socket_dir() const;
  const std::string& password_file() const;  // a libpq password file for the Govern role
  const std::string& bin_dir() const;
  const std::string& directory() const;  // the cluster's own temporary directory
  bool running() const;                  // the server is up (not stopped by StopServer)

  Status StopServer();   // pg_ctl stop (data kept): "database down"
  Status StartServer();  // pg_ctl start again
  // Stops the server and removes every file of the cluster, whatever options.keep says.
  // Afterwards the object only answers accessors; a second call does nothing.
  Status Discard();

 private:
  ThrowawayCluster();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gb
