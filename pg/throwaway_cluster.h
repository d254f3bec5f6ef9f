// ThrowawayCluster: a private PostgreSQL server in a temporary directory (initdb, own port,
// own socket directory), for the demo, the tests and the benchmark. As root, the server
// runs as the `postgres` system user. Password authentication for a non-superuser role.
#pragma once

#include <memory>
#include <string>

#include "io/status.h"
#include "pg/connection.h"

namespace gb {

struct ThrowawayClusterOptions {
  std::string directory;          // created if missing; removed by Stop() unless keep
  int port = 0;                   // 0 = pick a free one
  std::string bin_dir;            // "" = newest /usr/lib/postgresql/<N>/bin
  std::string govern_user = "govern";
  std::string govern_password = "govern-secret";
  std::string govern_db = "govern";
  bool govern_can_create_db = true;
  bool keep = false;              // Stop() leaves the server running and its files in place
};

class ThrowawayCluster {
 public:
  static Result<std::unique_ptr<ThrowawayCluster>> Start(const ThrowawayClusterOptions& options);
  ~ThrowawayCluster();  // Stop()

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
  Status Stop();         // stop and remove everything; with keep, leave it all running

 private:
  ThrowawayCluster();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Creates a Govern-like schema in `params.dbname` (blueprints, artifacts, relationships,
// permissions, user profiles, custom pages...) in `schema` ("" = public) and fills it with
// about `approx_bytes` of data: the database grows by about that much, its uncompressed
// custom-format dump is ~80% of it and compresses ~3x with zstd. 300 MB take ~20 s.
Status LoadSampleGovernSchema(const ConnectionParams& params, const std::string& schema,
                              uint64_t approx_bytes);

}  // namespace gb
