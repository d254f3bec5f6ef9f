// DssNode: what a DSS data directory says about itself (install.ini, dss-version.json,
// bin/env-default.sh, config/dip.properties, marker files). Read-only discovery; the files
// themselves are parsed by datadir/dss_files.h and datadir/jdbc_url.h.
// Stateless functions; safe from any thread.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "datadir/jdbc_url.h"
#include "io/status.h"

namespace gb {

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
