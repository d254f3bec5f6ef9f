// Manifest: the joint description of one backup set (<repository>/<ID>/manifest.toml).
//
// It is written last and atomically; its presence makes a set complete. It checks itself:
// its final [checksum] table holds the SHA-256 of every byte before that table, so a
// hand-edited or truncated manifest is recognised on every read.
//
// Written through toml++ (keys in toml++'s order); manifests of 0.1.0, laid out by hand in
// another order, are read as they are: the checksum covers the bytes, not the layout.
// Plain values: no locking; a Manifest is safe to share once built.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "coordinator/time_format.h"
#include "io/signing.h"
#include "io/status.h"

namespace gb {

// Format 2 (0.2.0): a seekable data-dir half may be recorded ([datadir] seekable), the set
// may carry a per-file index ([index]), and a set may be incremental (type, parent). Format 1
// (0.1.0 sets) has none of these (every format-1 set is full); both are read.
inline constexpr int kManifestFormat = 2;
inline constexpr int kOldestManifestFormat = 1;

// How the two halves were made consistent with each other.
enum class Consistency {
  kOffline,   // DSS stopped while the data dir was read
  kSnapshot,  // DSS stopped while a volume snapshot was taken; the snapshot was read
  kOnline,    // DSS kept running: the data dir may hold changes made during the read
};
const char* ToString(Consistency consistency);  // "offline" | "snapshot" | "online"
std::optional<Consistency> ParseConsistency(std::string_view text);
std::ostream& operator<<(std::ostream& out, Consistency consistency);

// Whether a set's data-dir half holds every file (full) or only what changed since its
// parent (incremental; its index still lists every file, pointing into the sets that hold
// them).
enum class SetType { kFull, kIncremental };
const char* ToString(SetType type);  // "full" | "incremental"
std::optional<SetType> ParseSetType(std::string_view text);

// Whether `name` may be a set id or a half's file name: a plain file name (not empty, no
// '/', no NUL, not "." or ".."). Anything else could make a command read or remove a file
// outside the set.
bool IsPlainFileName(std::string_view name);

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
  // Incremental sets: entries of the parent's index that this set no longer has (listed,
  // NUL-separated, in the half's kVanishedMemberName member too).
  uint64_t vanished = 0;
  bool seekable = false;  // independent frames + seek table (format 2); else one zstd stream
  bool encrypted = false;  // an age file (to [encryption] recipients) around the zstd stream
};

// The set's per-file index object (datadir/file_index.h), format 2 only.
struct ManifestIndex {
  std::string file;
  std::string sha256;
  uint64_t bytes = 0;
  uint64_t entries = 0;  // == datadir.files: the pair member is not listed
  bool encrypted = false;
  // Encrypted only: SHA-256 of the zstd stream inside the age file, so that the plaintext
  // copy a backup host keeps (coordinator/index_cache.h) is checked without the identity.
  std::string plain_sha256;
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
  // "schema.table" -> a hash of the table's content at the snapshot, independent of row
  // order (format 2; absent in older sets): what `diff` compares.
  std::map<std::string, std::string> table_hashes;
  bool encrypted = false;
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
  Consistency consistency = Consistency::kOffline;
  SetType type = SetType::kFull;
  std::string parent;  // the set this one builds on; "" for a full set
  std::string tool_version;
  std::string note;
  ManifestNode node;
  ManifestDatadir datadir;
  std::optional<ManifestDatabase> database;
  std::optional<ManifestIndex> index;
  ManifestWindow window;
  // [encryption] recipients: the age recipients the set's objects are encrypted to (public
  // keys); empty for a set stored in clear. sha256/bytes of each part stay those of the
  // stored (encrypted) object, so that verify checks them without any key.
  std::vector<std::string> recipients;

  bool encrypted() const { return !recipients.empty(); }
  // The last table when signed (manifest_signature.h): ToText() ends with it.
  std::optional<Signature> signature;
  // Set by Parse: the exact bytes read, which a signature is checked over.
  std::string text;

  // The TOML text, [checksum] last (then [signature], when signed).
  std::string ToText() const;
  // The same content as one JSON document (the TOML's tables and keys; times as RFC 3339
  // strings).
  nlohmann::json ToJson() const;

  // Parses and checks a manifest. A checksum mismatch, a missing [checksum], a missing key,
  // a wrong format, an unknown consistency, or an id or half name that is not a plain file
  // name (IsPlainFileName) are errors naming `where` and what is wrong.
  static Result<Manifest> Parse(const std::string& text, const std::string& where);
  static Result<Manifest> Load(const std::string& path);
};

}  // namespace gb
