// The files a DSS data dir describes itself with, each read into what discovery needs:
// install.ini (INI), dss-version.json (JSON), bin/env-default.sh (shell exports),
// config/dip.properties (java.util.Properties) and install-support/expected-dip-home.txt.
//
// Every error names the file, and the line or key where the file says where. A file a data
// dir may lack is reported as absent (an empty optional), not as an error.
// Stateless functions; safe from any thread.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "io/status.h"

namespace gb {

// install.ini's [general] section, and the DSS port of [server].
struct InstallIni {
  std::string node_type;   // nodetype; never empty (its absence is an error)
  std::string node_id;     // nodeid
  std::string install_id;  // installid
  int server_port = 0;     // [server] port; 0 when absent
};
Result<InstallIni> ReadInstallIni(const std::string& path);

// dss-version.json, of the data dir or of an installation.
struct DssVersionFile {
  std::string product_version;  // never empty (its absence is an error)
  std::string conf_version;     // "" when absent
};
Result<DssVersionFile> ReadDssVersionFile(const std::string& path);

// DKUINSTALLDIR of bin/env-default.sh (the last assignment wins); "" when the file or the
// variable is absent.
Result<std::string> ReadInstallDir(const std::string& env_script_path);

// The trimmed content of install-support/expected-dip-home.txt; "" when absent.
Result<std::string> ReadExpectedDipHome(const std::string& path);

// A java.util.Properties file (comments, continuation lines, escapes, the last key wins);
// absent when the file does not exist.
using JavaProperties = std::map<std::string, std::string>;
Result<std::optional<JavaProperties>> ReadJavaProperties(const std::string& path);

}  // namespace gb
