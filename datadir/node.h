// DssNode: what a DSS data directory says about itself (install.ini, dss-version.json,
// bin/env-default.sh, config/dip.properties, marker files). Read-only discovery.
#pragma once

#include <sys/types.h>

#include <optional>
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

struct DssNode {
  std::string data_dir;           // absolute, as given
  std::string node_type;          // install.ini [general] nodetype
  std::string node_id;            // install.ini [general] nodeid
  std::string install_id;         // install.ini [general] installid
  std::string dss_version;        // dss-version.json product_version
  std::string conf_version;       // dss-version.json conf_version
  std::string install_dir;        // DKUINSTALLDIR of bin/env-default.sh, "" if unknown
  std::string install_dss_version;  // INSTALL_DIR/dss-version.json product_version, "" if unreadable
  std::string expected_dip_home;  // install-support/expected-dip-home.txt, "" if absent
  std::optional<JdbcSettings> database;  // from dip.properties, when it has psql.jdbc.url
  bool install_in_progress = false;    // DSS-INITIAL-INSTALL-IN-PROGRESS.txt
  bool migration_in_progress = false;  // DSS-MIGRATION-IN-PROGRESS.json
  uid_t owner_uid = 0;
  gid_t owner_gid = 0;
  std::string owner_name;

  bool is_govern() const { return node_type == "govern"; }
  // The version a backup would be restored onto: the installation's, else the data dir's.
  const std::string& effective_dss_version() const {
    return install_dss_version.empty() ? dss_version : install_dss_version;
  }
};

// Reads the node at `data_dir`. A missing directory, a directory that is not a DSS data
// dir, or a malformed file is an error naming the file and what is wrong.
Result<DssNode> DiscoverNode(const std::string& data_dir);

// True when `dir` has the files that make it a DSS data dir (dss-version.json, install.ini).
bool LooksLikeDataDir(const std::string& dir);

// Compares dotted versions numerically ("14.4.1" < "14.10.0"): <0, 0, >0.
int CompareDssVersions(const std::string& a, const std::string& b);

}  // namespace gb
