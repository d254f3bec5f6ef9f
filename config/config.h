// Config: the TOML configuration of CONTRACT.md, parsed and validated (toml++).
//
// Every key has its contract default. Unknown keys, wrong types and impossible values are
// Code::kUsage errors naming the key and the line. [database] keys left unset stay unset
// here: on a Govern node they default from dip.properties (see coordinator). The S3 keys of a
// repository are mapped to store/'s S3Config by the coordinator (config/ does not see store/).
//
// Thread-safety: plain values; share a parsed Config read-only.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
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
  // The DSS public API, asked for running long tasks before DSS is stopped. No key file: the
  // step is skipped (check says so).
  std::string api_key_file;  // absolute; "" = not configured
  std::string api_url;       // "" = http://127.0.0.1:<install.ini [server] port>
  std::chrono::seconds wait_for_tasks = std::chrono::minutes(10);
  std::string wait_for_tasks_text = "10m";
};

struct DatabaseConfig {
  std::optional<std::string> host;
  std::optional<int> port;
  std::optional<std::string> dbname;
  std::optional<std::string> user;
  std::string password_file;  // "" = PGPASSFILE / ~/.pgpass
  std::string pg_bin_dir;     // "" = PATH
};

struct BackupConfig {
  std::string mode = "offline";  // offline | online
  std::vector<std::string> exclude = DefaultExcludes();
  int compression_level = 3;     // 1..19
  int threads = 0;               // 0 = all cores
  // Incremental sets: each set archives what changed since the newest usable set, until the
  // chain's full set is `full_every` old; then a full set starts a new chain.
  bool incremental = true;
  std::chrono::seconds full_every = std::chrono::hours(24 * 7);
  std::string full_every_text = "7d";
  // Where the backup host keeps a plaintext copy of each set's index, so that an encrypted
  // repository's next set can build on it without the identity (coordinator/index_cache.h).
  std::string cache_dir = "/var/cache/govern-backup";
  // Offline: the first pass keeps a change journal (inotify), so that the second one, DSS
  // stopped, reads only the directories where something happened (datadir/change_journal.h).
  bool change_journal = true;
  // Offline with DSS running: pg_dump starts beside the first pass, on a snapshot of the
  // running database, and its dump is kept if the database did not move before DSS stopped
  // (pg/database_mark.h); else it is given up and the database dumped again, DSS down.
  bool dump_while_running = true;

  static std::vector<std::string> DefaultExcludes();
};

struct SnapshotConfig {
  std::string create;
  std::string path;  // absolute when set
  std::string destroy;
  bool enabled() const { return !create.empty(); }
};

// [encryption]: sets encrypted to age recipients, manifests signed with an Ed25519 key.
// Values are as written; recipients and trusted keys are checked to parse (io/age_keys.h,
// io/signing.h). The key files are only named here: reading them is the commands' business.
struct EncryptionConfig {
  std::vector<std::string> recipients;  // "age1..."; none = sets are not encrypted
  std::string identity_file;            // absolute; "" = none on this host
  std::string passphrase_file;          // absolute; for a passphrase-protected identity_file
  std::string signing_key_file;         // absolute; "" = manifests are not signed
  std::vector<std::string> trusted_keys;  // "ed25519:..."
  bool encrypts() const { return !recipients.empty(); }
  bool signs() const { return !signing_key_file.empty(); }
  // A manifest must carry a trusted signature once anything about signing is configured.
  bool requires_signature() const { return signs() || !trusted_keys.empty(); }
};

// [hooks]: shell commands run around commands (/bin/sh -c), each at most `timeout`.
struct HooksConfig {
  std::string pre_backup;
  std::string post_backup;
  std::string on_failure;
  std::chrono::seconds timeout = std::chrono::minutes(5);
  std::string timeout_text = "5m";
};

// [metrics]: a Prometheus node_exporter textfile rewritten after each command.
struct MetricsConfig {
  std::string textfile;  // absolute; "" = no metrics
};

struct RetentionConfig {
  int keep_last = 7;
  int keep_daily = 7;
  int keep_weekly = 4;
  int keep_monthly = 6;
  std::chrono::seconds keep_within = std::chrono::hours(24 * 4);
  std::string keep_within_text = "4d";
};

// A repository: [repository] (named "main", where backup writes) or [repositories.NAME]. One
// shape for both tables: the same keys are accepted in each. Exactly one of path and url is set.
struct RepositoryConfig {
  static constexpr const char* kMainName = "main";

  std::string name;  // "main" for [repository], else the NAME of [repositories.NAME]
  std::string path;  // a local repository: absolute
  std::string url;   // an S3 repository: "s3://bucket/prefix" as written (prefix may be empty)
  bool is_s3() const { return !url.empty(); }

  // The S3 keys below are set only with url (given with path they are errors).
  std::string bucket;    // parsed from url: S3's rules for new buckets
  std::string prefix;    // parsed from url: "" or ending with "/" (e.g. "node-a/")
  std::string endpoint;  // required with url: http(s)://HOST[:PORT], no trailing "/"
  std::string region = "us-east-1";
  std::string uri_style = "path";    // path | host
  std::string credentials = "env";   // env | file | profile
  std::string access_key_file;       // credentials = "file": both required, absolute
  std::string secret_key_file;
  std::string profile;                  // credentials = "profile": "" = $AWS_PROFILE or default
  std::string shared_credentials_file;  // credentials = "profile": "" = AWS default; absolute
  std::string ca_file;                  // "" = the system CA store; absolute
  std::uint64_t part_size = 16u << 20;  // "16MiB": at least 5 MiB, at most 5 GiB (S3's limits)
  int upload_concurrency = 4;           // 1..64
  std::chrono::seconds retry_max_time = std::chrono::minutes(5);
  std::string object_lock;              // "" | governance | compliance
  std::chrono::seconds object_lock_retain = std::chrono::hours(24 * 35);  // at least 1s

  // [repositories.NAME.retention]: the keys it sets replace those of [retention], the others
  // are [retention]'s. nullopt: [retention] as a whole (always for "main").
  std::optional<RetentionConfig> retention;
};

struct Config {
  std::string source;  // the file it came from
  NodeConfig node;
  DatabaseConfig database;
  RepositoryConfig repository;                           // [repository], name "main"
  std::map<std::string, RepositoryConfig> repositories;  // [repositories.NAME], by NAME
  BackupConfig backup;
  SnapshotConfig snapshot;
  EncryptionConfig encryption;
  HooksConfig hooks;
  MetricsConfig metrics;
  RetentionConfig retention;

  // "" or "main": `repository`; else repositories[name]. An unknown name is a Code::kUsage
  // error listing the names that exist.
  Result<const RepositoryConfig*> FindRepository(const std::string& name) const;
  // The retention that applies to `repository`: its own, else [retention].
  const RetentionConfig& RetentionFor(const RepositoryConfig& repository) const;
};

// Which file to read: `flag` if given, else $GOVERN_BACKUP_CONFIG, else the system default.
std::string ResolveConfigPath(const std::string& flag);

Result<Config> LoadConfigFile(const std::string& path);
Result<Config> ParseConfig(std::string_view text, const std::string& source_name);

// "4d", "12h", "90m", "30s", "2w", "1d12h"; a bare number is an error.
Result<std::chrono::seconds> ParseDuration(std::string_view text);

// Bytes: "16MiB", "1GiB", "5MB", "512 KiB", "5242880B" (B, kB, MB, GB, TB and KiB, MiB, GiB,
// TiB, any case); a bare number is an error, as for durations.
Result<std::uint64_t> ParseByteSize(std::string_view text);

// A commented example configuration (the file shipped as config/example.toml).
std::string ExampleConfigText();

}  // namespace gb
