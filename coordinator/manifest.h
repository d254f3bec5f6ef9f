// Manifest: the joint description of one backup set (<repository>/<ID>/manifest.toml).
//
// It is written last and atomically; its presence makes a set complete. It checks itself:
// its final [checksum] table holds the SHA-256 of every byte before that table, so a
// hand-edited or truncated manifest is recognised on every read.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "coordinator/time_format.h"
#include "io/status.h"

namespace gb {

inline constexpr int kManifestFormat = 1;
inline constexpr char kManifestName[] = "manifest.toml";

struct ManifestNode {
  std::string data_dir;
  std::string node_type;
  std::string dss_version;
  std::string conf_version;
  std::string install_dir;
  std::string node_id;
  std::string hostname;
};

struct ManifestDatadir {
  std::string file;
  std::string sha256;
  uint64_t bytes = 0;
  uint64_t files = 0;
  uint64_t source_bytes = 0;
  std::vector<std::string> excluded;
  std::vector<std::string> changed_while_read;   // online sets only
  std::vector<std::string> vanished_while_read;  // online sets only
};

struct ManifestDatabase {
  std::string file;
  std::string sha256;
  uint64_t bytes = 0;
  uint64_t dump_bytes = 0;  // uncompressed pg_dump output
  std::string dbname;
  std::string schema;
  std::string server_version;
  std::string system_identifier;
  std::string pg_dump_version;
  std::map<std::string, uint64_t> table_rows;  // "schema.table" -> rows at the snapshot
};

struct ManifestWindow {
  std::optional<TimePoint> dss_stopped_at;
  std::optional<TimePoint> dss_started_at;
  double downtime_seconds = 0;
  bool dss_was_running = false;
  double duration_seconds = 0;  // the whole backup
};

struct Manifest {
  int format = kManifestFormat;
  std::string id;
  std::string pair_token;
  TimePoint created_at;
  std::string consistency;  // offline | snapshot | online
  std::string tool_version;
  std::string note;
  ManifestNode node;
  ManifestDatadir datadir;
  std::optional<ManifestDatabase> database;
  ManifestWindow window;

  // The TOML text, [checksum] last.
  std::string ToText() const;
  // The same content as one JSON document.
  std::string ToJson() const;

  // Parses and checks a manifest. A checksum mismatch, a missing [checksum], a missing key
  // or a wrong format are errors naming `where` and what is wrong.
  static Result<Manifest> Parse(const std::string& text, const std::string& where);
  static Result<Manifest> Load(const std::string& path);
};

// Converts TOML text (a manifest, a list) to JSON; used for --json output.
std::string TomlTextToJson(const std::string& toml_text);

}  // namespace gb
