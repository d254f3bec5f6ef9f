#include "coordinator/set_checks.h"

#include <cstdlib>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "coordinator/chain.h"
#include "coordinator/half_stream.h"
#include "coordinator/pair_identity.h"
#include "coordinator/set_keys.h"
#include "datadir/file_index.h"
#include "io/sha256.h"
#include "io/text.h"
#include "store/object_stream.h"
#include "pg/version.h"

namespace gb {
namespace {

constexpr char kSwappedHint[] =
    "halves were swapped between sets; restore from the set the half belongs to";
constexpr char kDamagedHint[] =
    "the half is damaged: restore from another set, or put back an intact copy of this file";

// What one half is, according to the manifest.
struct HalfSpec {
  std::string role;   // kRoleDatadir | kRoleDatabase: what its embedded identity must say
  std::string label;  // kDatadirPart | kDatabasePart
  std::string file;
  std::string where;  // its path or s3:// URL, for messages
  uint64_t bytes = 0;
  std::string sha256;
};

struct HalfOutcome {
  std::vector<Finding> findings;
  std::optional<ArchiveScan> archive;
  std::optional<DumpToc> toc;
  std::optional<IndexSummary> index;
};

// A file name from the manifest must name a file inside the set directory.
bool IsPlainFileName(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos;
}

// Reads the rest of a stream, so that the reader has hashed the whole file.
Status Drain(ByteSource& source) {
  std::vector<char> buffer(1 << 20);
  while (true) {
    GB_ASSIGN_OR_RETURN(size_t got, source.Read(buffer.data(), buffer.size()));
    if (got == 0) return Status::Ok();
  }
}

class HalfChecker {
 public:
  // `chain_ids`: the sets an index entry may point into; empty = not known (the chain did
  // not load, which is a finding of its own).
  HalfChecker(const Repository& repository, const Manifest& manifest, HalfSpec spec,
              const SetCheckOptions& options, const std::set<std::string>& chain_ids)
      : repository_(repository), manifest_(manifest), spec_(std::move(spec)), options_(options),
        chain_ids_(chain_ids) {}

  HalfOutcome Run() {
    if (!Present()) return std::move(outcome_);
    if (!EmbeddedIdentityMatches()) return std::move(outcome_);
    if (!SizeMatches()) return std::move(outcome_);
    if (options_.depth != CheckDepth::kHeaders) ReadThrough();
    return std::move(outcome_);
  }

 private:
  std::string Name() const { return spec_.label + " " + spec_.file; }

  void Find(std::string problem, std::string hint = {}) {
    outcome_.findings.push_back(Finding::Problem(SetSubject(manifest_.id, spec_.label),
                                                 std::move(problem), std::move(hint)));
  }

  bool Present() {
    Result<HeadResult> head =
        repository_.store().Head(repository_.ObjectKey(manifest_.id, spec_.file));
    if (!head.ok()) {
      Find(spec_.label + " " + spec_.where + " cannot be read: " + head.status().message());
      return false;
    }
    if (!head->exists) {
      Find(spec_.label + " " + spec_.where + " is missing",
           "the set cannot be restored without it: restore from another set");
      return false;
    }
    size_ = head->info.size;
    return true;
  }

  // `what` carries `identity`; true when it is this half of this set.
  bool IdentityMatches(const PairIdentity& identity, const std::string& what) {
    if (identity.id != manifest_.id) {
      Find(what + " carries pair token " + identity.pair_token + " of set " + identity.id +
               ": it belongs to another set",
           kSwappedHint);
      return false;
    }
    if (identity.pair_token != manifest_.pair_token) {
      Find(what + " carries pair token " + identity.pair_token + ", the manifest says " +
               manifest_.pair_token + ": it belongs to another set of the same id, or was altered",
           kSwappedHint);
      return false;
    }
    if (identity.role != spec_.role) {
      Find(what + " is marked as the " + identity.role + " half, not the " + spec_.role + " half",
           "the files of the set were renamed or mixed up; restore from another set");
      return false;
    }
    return true;
  }

  // The identity in the leading zstd skippable frame: readable without decompressing, so it
  // is checked first and explains a size or hash mismatch better than they do.
  bool EmbeddedIdentityMatches() {
    Result<std::string> frame = ReadHalfHeader(repository_, manifest_.id, spec_.file);
    if (!frame.ok()) {
      const std::string& hint = frame.status().hint();
      Find(Name() + " cannot be read: " + frame.status().message(),
           hint.empty() ? kDamagedHint : hint);
      return false;
    }
    Result<PairIdentity> identity = PairIdentity::Parse(*frame, Name());
    if (!identity.ok()) {
      Find(identity.status().message(), kDamagedHint);
      return false;
    }
    return IdentityMatches(*identity, Name());
  }

  bool SizeMatches() {
    if (size_ == spec_.bytes) return true;
    Find(Name() + " is " + std::to_string(size_) + " bytes, the manifest says " +
             std::to_string(spec_.bytes) + (size_ < spec_.bytes ? " (truncated?)" : " (appended to?)"),
         kDamagedHint);
    return false;
  }

  // An encrypted set on a host without its identity (verify, audit on the backup host): the
  // stored bytes are hashed, their content cannot be read.
  bool CannotDecrypt() const {
    return manifest_.encrypted() && options_.hash_only_without_identity &&
           (repository_.keys() == nullptr || !repository_.keys()->has_identity());
  }

  void HashStored() {
    Result<std::unique_ptr<ObjectReader>> object = ObjectReader::Open(
        repository_.store(), repository_.ObjectKey(manifest_.id, spec_.file));
    HashingSink hashing;
    Status read = object.ok() ? CopyStream(**object, hashing).status() : object.status();
    if (!read.ok()) {
      Find(Name() + " does not read through: " + read.message(), kDamagedHint);
      return;
    }
    if (hashing.HexDigest() != spec_.sha256)
      Find("SHA-256 of " + spec_.file + " differs from the manifest: the half is damaged",
           kDamagedHint);
  }

  void ReadThrough() {
    const bool index = spec_.label == kIndexPart;
    if (CannotDecrypt() || (index ? options_.index_hash_only
                                  : options_.depth == CheckDepth::kStoredBytes))
      return HashStored();
    Result<std::unique_ptr<ZstdReader>> opened = OpenHalf(repository_, manifest_.id, spec_.file);
    if (!opened.ok()) {
      // A missing or wrong key says what to configure; anything else is damage.
      const std::string& hint = opened.status().hint();
      Find(Name() + " cannot be opened: " + opened.status().message(),
           hint.empty() ? kDamagedHint : hint);
      return;
    }
    ZstdReader& reader = **opened;
    Status read = index                        ? ReadIndex(reader)
                  : spec_.role == kRoleDatadir ? ReadArchive(reader)
                                               : ReadDump(reader);
    if (!read.ok()) {
      Find(Name() + " does not read through: " + read.message(), kDamagedHint);
      return;
    }
    if (reader.sha256_hex() != spec_.sha256)
      Find("SHA-256 of " + spec_.file + " differs from the manifest: the half is damaged",
           kDamagedHint);
    if (index) return;
    if (spec_.role == kRoleDatadir) CompareArchive();
    else CompareToc();
  }

  // Every entry parses, comes in the walk's order, each path once, and lies in a set of the
  // chain; as many as the manifest says. This set's half may hold more members than the index
  // points to (a file archived in pass 1 and again in pass 2 is listed once; one that vanished
  // before pass 2, not at all), never fewer.
  Status ReadIndex(ZstdReader& reader) {
    FileIndexReader index(reader, Name());
    FileIndexEntry entry;
    IndexSummary summary;
    std::string previous;
    bool foreign_found = false;  // one finding each: the rest would say the same
    bool disorder_found = false;
    for (;;) {
      GB_ASSIGN_OR_RETURN(bool more, index.Next(entry));
      if (!more) break;
      if (summary.entries > 0 && ComparePaths(previous, entry.path) >= 0 && !disorder_found) {
        disorder_found = true;
        Find(Name() + " lists " + entry.path + " after " + previous +
                 ": not in the walk's order, or twice",
             kDamagedHint);
      }
      previous = entry.path;
      ++summary.entries;
      if (entry.set_id == manifest_.id) ++summary.own_entries;
      if (entry.type == "file") summary.file_bytes += entry.size;
      if (chain_ids_.empty() || chain_ids_.count(entry.set_id) || foreign_found) continue;
      foreign_found = true;
      Find(Name() + " lists " + entry.path + " in set " + entry.set_id + ", which is not " +
               (chain_ids_.size() == 1 ? manifest_.id : "a set of its chain") + " (" +
               Join({chain_ids_.begin(), chain_ids_.end()}) + ")",
           kSwappedHint);
    }
    const uint64_t expected = manifest_.index->entries;
    if (summary.entries != expected)
      Find(Name() + " lists " + std::to_string(summary.entries) + " entries, the manifest says " +
               std::to_string(expected),
           kDamagedHint);
    if (summary.own_entries > manifest_.datadir.files)
      Find(Name() + " lists " + std::to_string(summary.own_entries) + " entries in set " +
               manifest_.id + ", whose data-dir half holds " +
               std::to_string(manifest_.datadir.files) + " members",
           kDamagedHint);
    outcome_.index = summary;
    return Drain(reader);
  }

  Status ReadArchive(ZstdReader& reader) {
    GB_ASSIGN_OR_RETURN(ArchiveScan scan, ScanArchive(reader));
    GB_RETURN_IF_ERROR(Drain(reader));
    outcome_.archive = std::move(scan);
    return Status::Ok();
  }

  Status ReadDump(ZstdReader& reader) {
    if (options_.tools == nullptr) return Drain(reader);  // hash only: no pg_restore at hand
    GB_ASSIGN_OR_RETURN(DumpToc toc, ReadDumpToc(*options_.tools, reader));
    // ReadDumpToc reads its source to the end even when pg_restore stops early.
    GB_RETURN_IF_ERROR(Drain(reader));
    outcome_.toc = std::move(toc);
    return Status::Ok();
  }

  void CompareArchive() {
    const ArchiveScan& scan = *outcome_.archive;
    const ManifestDatadir& expected = manifest_.datadir;
    if (scan.pair_member.empty()) {
      Find(Name() + " has no .govern-backup/pair.toml member", kDamagedHint);
    } else {
      std::string what = "the pair member of " + Name();
      Result<PairIdentity> identity = PairIdentity::Parse(scan.pair_member, what);
      if (!identity.ok()) Find(identity.status().message(), kDamagedHint);
      else IdentityMatches(*identity, what);
    }
    if (scan.entries != expected.files)
      Find(Name() + " holds " + std::to_string(scan.entries) + " entries, the manifest says " +
               std::to_string(expected.files),
           kDamagedHint);
    if (scan.source_bytes != expected.source_bytes)
      Find(Name() + " holds " + std::to_string(scan.source_bytes) +
               " bytes of file content, the manifest says " + std::to_string(expected.source_bytes),
           kDamagedHint);
  }

  void CompareToc() {
    if (!outcome_.toc) return;
    const DumpToc& toc = *outcome_.toc;
    const ManifestDatabase& expected = *manifest_.database;
    if (toc.dbname != expected.dbname)
      Find(Name() + " is a dump of database \"" + toc.dbname + "\", the manifest says \"" +
               expected.dbname + "\"",
           kSwappedHint);
    if (!expected.server_version.empty() && toc.server_version != expected.server_version)
      Find(Name() + " was dumped from PostgreSQL " + toc.server_version +
               ", the manifest says " + expected.server_version,
           kSwappedHint);
    std::set<std::string> dumped(toc.tables.begin(), toc.tables.end());
    std::vector<std::string> missing;
    for (const auto& [table, rows] : expected.table_rows)
      if (!dumped.count(table)) missing.push_back(table);
    if (!missing.empty()) {
      std::string list;
      for (size_t i = 0; i < missing.size() && i < 5; ++i) list += (i ? ", " : "") + missing[i];
      if (missing.size() > 5) list += ", ...";
      Find(Name() + " has no data for " + std::to_string(missing.size()) +
               " table(s) the manifest records: " + list,
           kDamagedHint);
    }
  }

  const Repository& repository_;
  const Manifest& manifest_;
  HalfSpec spec_;
  const SetCheckOptions& options_;
  const std::set<std::string>& chain_ids_;
  uint64_t size_ = 0;
  HalfOutcome outcome_;
};

}  // namespace

std::string SetSubject(const std::string& id, const std::string& part) {
  return "set " + id + " " + part;
}

SetCheckReport CheckSet(const Repository& repository, const std::string& id,
                        const SetCheckOptions& options) {
  SetCheckReport report;
  report.id = id;
  Result<Manifest> loaded = repository.LoadSet(id);
  if (!loaded.ok()) {
    report.findings.push_back(Finding::Problem(SetSubject(id, kManifestPart), loaded.status()));
    return report;
  }
  report.manifest = *loaded;
  const Manifest& manifest = *report.manifest;
  if (manifest.id != id) {
    report.findings.push_back(Finding::Problem(
        SetSubject(id, kManifestPart),
        "the manifest of set " + id + " (" + repository.Locate(repository.ManifestKey(id)) +
            ") describes set " + manifest.id + ": the set was renamed or the manifest copied",
        "give the set back its name (" + manifest.id + "), or restore from another set"));
    return report;
  }

  // The sets an index entry may point into: the set itself, and for an incremental set every
  // set it builds on.
  std::set<std::string> chain_ids;
  Result<std::vector<Manifest>> chain =
      manifest.type == SetType::kFull ? Result<std::vector<Manifest>>(std::vector<Manifest>{manifest})
      : options.complete_sets != nullptr ? ChainOf(*options.complete_sets, id)
                                         : LoadChain(repository, id);
  if (chain.ok()) {
    report.chain = std::move(chain).value();
    for (const Manifest& each : report.chain) chain_ids.insert(each.id);
  } else {
    report.findings.push_back(Finding::Problem(SetSubject(id, kChainPart), chain.status()));
  }

  std::vector<HalfSpec> halves;
  halves.push_back({kRoleDatadir, kDatadirPart, manifest.datadir.file, "",
                    manifest.datadir.bytes, manifest.datadir.sha256});
  if (manifest.database && options.database_half)
    halves.push_back({kRoleDatabase, kDatabasePart, manifest.database->file, "",
                      manifest.database->bytes, manifest.database->sha256});
  if (manifest.index)
    halves.push_back({kRoleDatadir, kIndexPart, manifest.index->file, "", manifest.index->bytes,
                      manifest.index->sha256});
  for (auto& half : halves) {
    if (!IsPlainFileName(half.file)) {
      report.findings.push_back(Finding::Problem(
          SetSubject(id, kManifestPart),
          "the manifest names the " + half.label + " \"" + half.file +
              "\", which is not a file of the set directory",
          "the manifest is not one govern-backup wrote"));
      return report;
    }
    half.where = repository.Locate(repository.ObjectKey(id, half.file));
  }

  // The halves at once: each is one sequential read (and hash, and decompression) of its own.
  std::vector<HalfOutcome> outcomes(halves.size());
  std::vector<std::thread> readers;
  for (size_t i = 1; i < halves.size(); ++i)
    readers.emplace_back([&, i] {
      outcomes[i] = HalfChecker(repository, manifest, halves[i], options, chain_ids).Run();
    });
  outcomes[0] = HalfChecker(repository, manifest, halves[0], options, chain_ids).Run();
  for (auto& reader : readers) reader.join();

  for (auto& outcome : outcomes) {
    for (auto& finding : outcome.findings) report.findings.push_back(std::move(finding));
    if (outcome.archive) report.archive = std::move(outcome.archive);
    if (outcome.toc) report.toc = std::move(outcome.toc);
    if (outcome.index) report.index = outcome.index;
  }
  return report;
}

Result<DumpTools> DumpToolsCache::For(const Manifest& manifest) {
  if (!manifest.database) return Status::Failed("set " + manifest.id + " has no database half");
  Result<int> parsed = MajorVersion(manifest.database->server_version);
  if (!parsed.ok())
    return parsed.status().WithContext("the manifest of set " + manifest.id +
                                       " records no readable server version");
  const int major = *parsed;
  auto found = found_.find(major);
  if (found == found_.end())
    found = found_.emplace(major, FindDumpToolsFor(pg_bin_dir_, major)).first;
  return found->second;
}

}  // namespace gb
