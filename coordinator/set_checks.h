// SetChecks: the structural checks of one backup set, shared by verify, audit and restore's
// pre-flight: complete manifest that matches its own checksum; both halves present with the
// sizes and SHA-256 of the manifest; the pair identity of EACH half (its zstd skippable frame
// or age stanza) matching the manifest; at CheckDepth::kReadThrough also the archive's
// .govern-backup/pair.toml, the archive read through, and the dump's table of contents read
// and agreeing with the manifest; a format-2 set's per-file index is checked like a half
// (present, size, SHA-256, the data-dir
// identity in its first frame) and, read through, lists every entry of the data dir once, in
// the walk's order (ComparePaths), each in a set of the set's chain (chain.h), as many as the
// manifest says, and no more of this set than its half holds members; an incremental set's
// chain loads (every set it builds on is complete and has an index).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "coordinator/findings.h"
#include "coordinator/manifest.h"
#include "coordinator/repository.h"
#include "datadir/archive_reader.h"
#include "io/status.h"
#include "pg/dump.h"
#include "pg/dump_tools.h"

namespace gb {

// The subject of a finding about one part of a set: "set <id> manifest",
// "set <id> data-dir half", "set <id> database half".
std::string SetSubject(const std::string& id, const std::string& part);
constexpr char kManifestPart[] = "manifest";
constexpr char kDatadirPart[] = "data-dir half";
constexpr char kDatabasePart[] = "database half";
constexpr char kIndexPart[] = "index";
constexpr char kChainPart[] = "chain";

// How much of each half a check reads.
enum class CheckDepth {
  // Sizes and embedded identities only: seconds, for audit --quick of large repositories.
  kHeaders,
  // Also the SHA-256 of every stored byte against the manifest (which its checksum and
  // signature vouch for), and the index read through: a half that hashes right is, bit for bit,
  // what the backup wrote, so verify and audit need not decompress it (verify --deep
  // test-restores it). At the speed of SHA-256, not of zstd.
  kStoredBytes,
  // Also every half decompressed and read through: archive members, the dump's table of
  // contents. Restore's pre-flight: a frame that does not decompress is a refusal before
  // anything live is touched, not a failure half-way through staging.
  kReadThrough,
};

struct SetCheckOptions {
  CheckDepth depth = CheckDepth::kReadThrough;
  const DumpTools* tools = nullptr;  // kReadThrough: needed to read the dump's TOC
  // false: the database half is not looked at (a parent of the set a restore takes: only its
  // data-dir half and index are read).
  bool database_half = true;
  // true: the index's stored bytes are hashed against the manifest, not read through (a
  // parent of the set a restore takes: that set's own index names every file, so a parent's
  // is only checked for damage; reading 7 indexes of 112k entries each doubled the pre-flight
  // of a chain's restore).
  bool index_hash_only = false;
  // The repository's complete sets, when the caller has read them all (audit): an incremental
  // set's chain is found among them (ChainOf) instead of read again from the store.
  const std::vector<Manifest>* complete_sets = nullptr;
  // An encrypted set and no identity configured: what would be decrypted is hashed only
  // (verify and audit on a backup host, which holds public keys only). false: it is a finding
  // naming the missing key (restore must decrypt).
  bool hash_only_without_identity = false;
};

// What a read-through index lists.
struct IndexSummary {
  uint64_t entries = 0;      // every entry of the data dir
  uint64_t own_entries = 0;  // those whose bytes lie in this set's half
  uint64_t file_bytes = 0;   // content of the regular files (hard links not counted again)
};

struct SetCheckReport {
  std::string id;
  std::optional<Manifest> manifest;  // when it loaded
  std::vector<Manifest> chain;       // when it loaded: LoadChain's, oldest first
  std::optional<IndexSummary> index;   // when read through
  std::vector<Finding> findings;       // the problems only; subjects from SetSubject
  std::optional<ArchiveScan> archive;  // when read through
  std::optional<DumpToc> toc;          // when read through
  bool ok() const { return findings.empty(); }
};

SetCheckReport CheckSet(const Repository& repository, const std::string& id,
                        const SetCheckOptions& options);

// The major of a server version as the manifest records it ("15.18" -> 15, "9.6.24" -> 9);
// 0 when unreadable.
int ServerMajor(const std::string& server_version);

// pg_restore for reading the dumps of sets, found once per server major
// (FindDumpToolsFor(pg_bin_dir, major)): a repository may hold dumps of several servers.
class DumpToolsCache {
 public:
  explicit DumpToolsCache(std::string pg_bin_dir) : pg_bin_dir_(std::move(pg_bin_dir)) {}
  // The tools for the set's dump; an error when none is new enough or the manifest
  // records no server version.
  Result<DumpTools> For(const Manifest& manifest);

 private:
  std::string pg_bin_dir_;
  std::map<int, Result<DumpTools>> found_;
};

}  // namespace gb
