// Config: the TOML configuration of CONTRACT.md, parsed and validated (toml++).
//
// Every key has its contract default. Unknown keys, wrong types and impossible values are
// Code::kUsage errors naming the key and the line. [database] keys left unset stay unset
// here: on a Govern node they default from dip.properties (see coordinator).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/status.h"

namespace gb {

struct NodeConfig {
  std::string data_dir;     // required, absolute
  std::string dss_command;  // "" = <data_dir>/bin/dss
  std::string dss_user;     // "" = owner of data_dir
};

struct DatabaseConfig {
  std::optional<std::string> host;
  std::optional<int> port;
  std::optional<std::string> dbname;
  std::optional<std::string> user;
  std::string password_file;  // "" = PGPASSFILE / ~/.pgpass
  std::string pg_bin_dir;     // "" = PATH
};

struct RepositoryConfig {
  std::string path;  // required, absolute
};

struct BackupConfig {
  std::string mode = "offline";  // offline | online
  std::vector<std::string> exclude = DefaultExcludes();
  int compression_level = 3;     // 1..19
  int threads = 0;               // 0 = all cores

  static std::vector<std::string> DefaultExcludes();
};

struct SnapshotConfig {
  std::string create;
  std::string path;  // absolute when set
  std::string destroy;
  bool enabled() const { return !create.empty(); }
};

struct RetentionConfig {
  int keep_last = 7;
  int keep_daily = 7;
  int keep_weekly = 4;
  int keep_monthly = 6;
  std::chrono::seconds keep_within = std::chrono::hours(24 * 4);
  std::string keep_within_text = "4d";
};

struct Config {
  std::string source;  // the file it came from
  NodeConfig node;
  DatabaseConfig database;
  RepositoryConfig repository;
  BackupConfig backup;
  SnapshotConfig snapshot;
  RetentionConfig retention;
};

// Which file to read: `flag` if given, else $GOVERN_BACKUP_CONFIG, else the system default.
std::string ResolveConfigPath(const std::string& flag);

Result<Config> LoadConfigFile(const std::string& path);
Result<Config> ParseConfig(std::string_view text, const std::string& source_name);

// "4d", "12h", "90m", "30s", "2w", "1d12h"; a bare number is an error.
Result<std::chrono::seconds> ParseDuration(std::string_view text);

// A commented example configuration (the file shipped as config/example.toml).
std::string ExampleConfigText();

}  // namespace gb
