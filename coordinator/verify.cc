// `govern-backup verify [ID ...] [--all] [--deep]`: the structural checks of a set
// (set_checks.h: manifest, signature, sizes, pair identities, the SHA-256 of every stored
// byte, the index read through) on one or more sets and on every set they build on (chain.h),
// each once, parents first: a set whose chain holds a failed set fails too, naming it. It runs
// at the speed of SHA-256 and needs no key: nothing is decompressed or decrypted but the index.
// --deep also test-restores each set asked for into scratch space, as restore stages it (a set
// with an index from its chain, set_tree.h; a 0.1.0 set from its half), and compares what
// comes out with what the backup recorded.
//
// Verify takes no lock and never changes a set: backups may run beside it. Its scratch space
// (<repo>/.work/verify-<id>-<pid>, database <dbname>_verify_<random>) is always removed.
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <iostream>
#include <map>
#include <set>

#include "coordinator/chain.h"
#include "coordinator/commands.h"
#include "coordinator/findings.h"
#include "coordinator/manifest_signature.h"
#include "coordinator/node_context.h"
#include "coordinator/repository.h"
#include "coordinator/set_checks.h"
#include "coordinator/set_tree.h"
#include "coordinator/time_format.h"
#include "coordinator/work_leftovers.h"
#include "datadir/archive_reader.h"
#include "datadir/tree_stats.h"
#include "io/text.h"
#include "coordinator/half_stream.h"
#include "pg/dump.h"
#include "pg/server.h"

namespace gb {
namespace {

// Removes the scratch directory and drops the scratch database, whatever happened.
class Scratch {
 public:
  explicit Scratch(Env* env) : env_(env) {}
  ~Scratch() {
    if (!dir_.empty()) {
      Status removed = env_->RemoveAll(dir_);
      if (!removed.ok()) spdlog::error("could not remove verify scratch {}: {}", dir_, removed.message());
    }
    if (database_) {
      Status dropped = DropDatabase(*database_, database_->dbname);
      if (!dropped.ok())
        spdlog::error("could not drop scratch database {}: {} (drop it by hand)", database_->dbname,
                      dropped.message());
    }
  }
  void SetDir(std::string dir) { dir_ = std::move(dir); }
  void SetDatabase(const ConnectionParams& params) { database_ = params; }

 private:
  Env* env_;
  std::string dir_;
  std::optional<ConnectionParams> database_;
};

// One set: its structural report, the tools that read its dump, the sets of its chain that
// failed, and what --deep found.
struct SetResult {
  SetCheckReport report;
  bool requested = false;  // named (or selected); else checked because a requested set needs it
  std::optional<DumpTools> tools;
  std::vector<Finding> chain_problems;
  bool deep = false;
  std::vector<Finding> deep_problems;
  std::optional<SignatureVerdict> signature;  // when the config requires signed manifests

  std::vector<Finding> Problems() const {
    std::vector<Finding> all = report.findings;
    all.insert(all.end(), chain_problems.begin(), chain_problems.end());
    all.insert(all.end(), deep_problems.begin(), deep_problems.end());
    return all;
  }
  bool ok() const { return report.ok() && chain_problems.empty() && deep_problems.empty(); }
};

// Step: which sets. Ids given, --all, or else the newest complete set.
Result<std::vector<std::string>> SelectSets(const Repository& repo, const VerifyOptions& options) {
  if (options.all && !options.ids.empty())
    return Status::Usage("verify: give set ids or --all, not both");
  if (!options.ids.empty()) return options.ids;
  if (!repo.Exists())
    return Status::Problems("no complete backup set to verify: repository " + repo.root() +
                                " does not exist",
                            "take one: `govern-backup backup`");
  GB_ASSIGN_OR_RETURN(auto sets, repo.ListSets());
  std::vector<std::string> ids;
  if (options.all) {
    for (const auto& set : sets) ids.push_back(set.id);
  } else {
    for (auto it = sets.rbegin(); it != sets.rend(); ++it)
      if (it->has_manifest && it->manifest.ok()) {
        ids.push_back(it->id);
        break;
      }
  }
  if (ids.empty())
    return Status::Problems("no complete backup set in " + repo.root() + " to verify",
                            "take one: `govern-backup backup`");
  return ids;
}

// Step: a set is only as sound as every set it builds on (checked before it): one finding per
// failed ancestor, naming it.
void CheckAncestors(const std::map<std::string, const SetResult*>& checked, SetResult& result) {
  const std::vector<Manifest>& chain = result.report.chain;
  for (size_t i = 0; i + 1 < chain.size(); ++i) {
    auto found = checked.find(chain[i].id);
    if (found == checked.end() || found->second->ok()) continue;
    result.chain_problems.push_back(Finding::Problem(
        SetSubject(result.report.id, kChainPart),
        "set " + result.report.id + " builds on set " + chain[i].id +
            ", which failed verification: it cannot be restored",
        "put back an intact copy of set " + chain[i].id + " (`govern-backup copy` from another "
        "repository), or restore another set"));
  }
}

// Step: the structural checks, every stored byte hashed; for a set --deep test-restores
// (`for_deep`), the pg_restore that reads its dump, found per server major.
SetResult CheckStructure(const Repository& repo, DumpToolsCache& tools_cache,
                         const ManifestTrust& trust, const std::string& id, bool for_deep) {
  SetResult result;
  Status tools_status;
  Result<Manifest> manifest = repo.LoadSet(id);
  // Before anything else: the halves of a set that no trusted key vouches for are not read.
  if (manifest.ok() && trust.required()) {
    result.signature = trust.Check(*manifest);
    Status trusted = trust.Accept(*manifest);
    if (!trusted.ok()) {
      result.report.id = id;
      result.report.manifest = *manifest;
      result.report.findings.push_back(
          Finding::Problem(SetSubject(id, kSignaturePart), trusted.WithCode(Code::kProblems)));
      return result;
    }
  }
  if (for_deep && manifest.ok() && manifest->database) {
    Result<DumpTools> found = tools_cache.For(*manifest);
    if (found.ok()) result.tools = *found;
    else tools_status = found.status();
  }
  SetCheckOptions check;
  // --deep decompresses everything as it test-restores; reading it here too would be twice.
  check.depth = CheckDepth::kStoredBytes;
  check.hash_only_without_identity = true;  // a backup host verifies without the identity
  spdlog::debug("verifying set {}", id);
  result.report = CheckSet(repo, id, check);
  if (!tools_status.ok())
    result.report.findings.push_back(Finding::Problem(
        SetSubject(id, kDatabasePart),
        tools_status.WithContext("the dump cannot be test-restored")));
  return result;
}

// A fresh, private directory for the test extraction: under <repo>/.work for a local
// repository (audit and prune find it there if verify dies), else under $TMPDIR (/var/tmp).
Result<std::string> MakeScratchDir(Env* env, const Repository& repo, const std::string& id) {
  std::string parent = repo.WorkRoot();
  if (!repo.is_local()) {
    const char* tmpdir = std::getenv("TMPDIR");
    parent = tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/var/tmp";
  }
  Status made = env->CreateDirectory(parent, 0700);
  (void)made;  // usually exists
  std::string dir = parent + "/" + VerifyScratchName(id, getpid());
  Status created = env->CreateDirectory(dir, 0700);
  if (!created.ok())
    return created.WithContext("cannot create the scratch directory for the test extraction");
  return dir;
}

// A test extraction: what it read, and what the set records it must give.
struct TestExtraction {
  std::string source;         // what was extracted, for messages
  uint64_t read_entries = 0;  // entries read from the archive
  uint64_t expected_entries = 0;
  uint64_t expected_bytes = 0;  // of file content, each inode once
};

// The extracted tree must be exactly what the set records, by the rule restore applies to its
// staged copy (restore_staging.cc): every entry below the root except the .govern-backup
// folder (the pair member is not extracted), and file bytes counting each inode once. verify
// used to tolerate one entry too few, so a set that restore would refuse could pass verify.
void CompareExtractedTree(const std::string& dir, const TestExtraction& extraction,
                          const std::string& subject, std::vector<Finding>& problems) {
  Result<TreeStats> extracted = MeasureDataDir(dir);  // restore's count, the same rule
  if (!extracted.ok()) {
    problems.push_back(Finding::Problem(
        subject, extracted.status().WithContext("cannot measure the test extraction of " +
                                                extraction.source)));
    return;
  }
  const char* hint = "the half is damaged: restore from another set";
  if (extraction.read_entries != extraction.expected_entries ||
      extracted->entries != extraction.expected_entries)
    problems.push_back(Finding::Problem(
        subject,
        "test extraction of " + extraction.source + " gave " +
            std::to_string(extracted->entries) + " entries on disk (" +
            std::to_string(extraction.read_entries) + " read), the set records " +
            std::to_string(extraction.expected_entries),
        hint));
  if (extracted->bytes != extraction.expected_bytes)
    problems.push_back(Finding::Problem(
        subject,
        "test extraction of " + extraction.source + " gave " + std::to_string(extracted->bytes) +
            " bytes of file content, the set records " +
            std::to_string(extraction.expected_bytes),
        hint));
}

// A set without an index (0.1.0): its half extracted as one stream.
Result<TestExtraction> ExtractHalf(const Repository& repo, const Manifest& manifest,
                                   const std::string& dir) {
  TestExtraction extraction;
  extraction.source = "data-dir half " + manifest.datadir.file;
  GB_ASSIGN_OR_RETURN(auto reader, OpenHalf(repo, manifest.id, manifest.datadir.file));
  ExtractOptions options;
  options.destination = dir;
  options.restore_owners = false;  // verify needs no privilege; restore sets the owners
  GB_ASSIGN_OR_RETURN(ArchiveScan scan, ExtractArchive(*reader, options));
  extraction.read_entries = scan.entries;
  extraction.expected_entries = manifest.datadir.files;
  extraction.expected_bytes = manifest.datadir.source_bytes;
  return extraction;
}

// A set with an index (format 2, full or incremental): its data dir made from the index, each
// entry read from the set of its chain that holds it, as restore stages it (set_tree.h, which
// checks every member against its index entry on the way).
Result<TestExtraction> ExtractFromIndex(const Repository& repo, const SetResult& result,
                                        const std::string& dir) {
  const std::vector<Manifest>& chain = result.report.chain;
  TestExtraction extraction;
  extraction.source = chain.size() == 1
                          ? "the index of set " + chain.back().id
                          : "the chain " + Join(ChainIds(chain)) + " (from the index of set " +
                                chain.back().id + ")";
  SetTreeOptions options;
  options.destination = dir;
  options.restore_owners = false;  // verify needs no privilege; restore sets the owners
  GB_ASSIGN_OR_RETURN(SetTree tree, MaterialiseSetTree(repo, chain, options));
  extraction.read_entries = tree.entries;
  extraction.expected_entries = result.report.index->entries;
  extraction.expected_bytes = result.report.index->file_bytes;
  return extraction;
}

// --deep, data dir: extract into scratch space, then compare the tree with the set.
void DeepDatadir(Env* env, const Repository& repo, const SetResult& result, Scratch& scratch,
                 std::vector<Finding>& problems) {
  const Manifest& manifest = *result.report.manifest;
  const std::string subject = SetSubject(manifest.id, kDatadirPart);
  Result<std::string> dir = MakeScratchDir(env, repo, manifest.id);
  if (!dir.ok()) {
    problems.push_back(Finding::Problem(subject, dir.status()));
    return;
  }
  scratch.SetDir(*dir);
  // The structural checks passed, so an incremental set's chain loaded and its index was read.
  Result<TestExtraction> extraction = HasSetTree(manifest) && result.report.index
                                          ? ExtractFromIndex(repo, result, *dir)
                                          : ExtractHalf(repo, manifest, *dir);
  if (!extraction.ok()) {
    problems.push_back(Finding::Problem(
        subject, "the data dir of set " + manifest.id + " does not extract: " +
                     extraction.status().message(),
        "restore from another set"));
    return;
  }
  CompareExtractedTree(*dir, *extraction, subject, problems);
}

// The restored tables against the row counts the backup recorded.
void CompareRowCounts(const ConnectionParams& target, const Manifest& manifest,
                      std::vector<Finding>& problems) {
  const std::string subject = SetSubject(manifest.id, kDatabasePart);
  const std::string& file = manifest.database->file;
  const auto& expected = manifest.database->table_rows;
  if (expected.empty()) {
    spdlog::warn("set {}: the manifest records no row counts; the restored rows were not compared",
                 manifest.id);
    return;
  }
  Result<std::map<std::string, uint64_t>> counted = CountTableRows(target);
  if (!counted.ok()) {
    problems.push_back(Finding::Problem(
        subject, counted.status().WithContext("cannot count the rows of the test restore")));
    return;
  }
  const char* hint = "the dump is incomplete: restore from another set";
  for (const auto& [table, rows] : expected) {
    auto found = counted->find(table);
    if (found == counted->end())
      problems.push_back(Finding::Problem(
          subject, "table " + table + " is missing after the test restore of " + file, hint));
    else if (found->second != rows)
      problems.push_back(Finding::Problem(
          subject,
          "table " + table + " has " + std::to_string(found->second) +
              " rows after the test restore of " + file + ", the backup recorded " +
              std::to_string(rows),
          hint));
  }
}

// --deep, database: pg_restore into a scratch database, then compare the row counts.
void DeepDatabase(const Config& config, const Repository& repo, const Manifest& manifest,
                  const DumpTools& tools, Scratch& scratch, std::vector<Finding>& problems) {
  const std::string subject = SetSubject(manifest.id, kDatabasePart);
  // The server to restore into: the node's (config merged with dip.properties), or the
  // config alone when the node is gone.
  Result<DssNode> node = DiscoverNode(config.node.data_dir);
  std::optional<ConnectionParams> params = ResolveDatabase(config, node.ok() ? *node : DssNode{}, nullptr);
  if (!params) {
    problems.push_back(Finding::Problem(
        subject, "--deep needs a database server to test-restore into, and none is configured",
        "set [database] host, port and user in the config"));
    return;
  }
  std::string name = manifest.database->dbname + "_verify_" + RandomHex(3);
  Status created = CreateDatabase(*params, name, params->user);
  if (!created.ok()) {
    problems.push_back(Finding::Problem(
        subject, "cannot create the scratch database " + name + ": " + created.message(),
        "the database user needs CREATEDB for verify --deep"));
    return;
  }
  ConnectionParams target = params->WithDatabase(name);
  scratch.SetDatabase(target);
  const std::string& file = manifest.database->file;
  auto reader = OpenHalf(repo, manifest.id, file);
  if (!reader.ok()) {
    problems.push_back(Finding::Problem(
        subject, reader.status().WithContext("database half " + file + " cannot be opened")));
    return;
  }
  Status restored = RestoreDump(tools, target, **reader);
  if (!restored.ok()) {
    problems.push_back(Finding::Problem(
        subject, "database half " + file + " does not restore: " + restored.message(),
        "this set's database cannot be restored: take a new backup, restore from another set"));
    return;
  }
  CompareRowCounts(target, manifest, problems);
}

// Step: --deep, only on a set whose structure (and chain) is sound.
void DeepCheck(const GlobalOptions& global, const Config& config, const Repository& repo,
               SetResult& result) {
  result.deep = true;
  if (!result.ok() || !result.report.manifest) return;
  const Manifest& manifest = *result.report.manifest;
  Scratch scratch(global.env);
  DeepDatadir(global.env, repo, result, scratch, result.deep_problems);
  if (manifest.database && result.tools)
    DeepDatabase(config, repo, manifest, *result.tools, scratch, result.deep_problems);
}

// The tables of a set's dump, as its manifest records them (a row count for each).
size_t DatabaseTables(const SetResult& result) {
  return result.report.manifest->database->table_rows.size();
}

// What a sound set holds, for its ok finding.
std::string SoundSetDetail(const SetResult& result) {
  const Manifest& m = *result.report.manifest;
  std::string detail;
  if (m.type == SetType::kIncremental) {
    detail = "incremental on " + m.parent + " (chain of " +
             std::to_string(result.report.chain.size()) + " sets); ";
    if (result.report.index)
      detail += "data dir " + std::to_string(result.report.index->entries) + " entries, ";
    detail += std::to_string(m.datadir.files) + " in this set, " + FormatBytes(m.datadir.bytes);
  } else {
    detail = "data dir " + std::to_string(m.datadir.files) + " files, " + FormatBytes(m.datadir.bytes);
  }
  if (m.database) {
    detail += "; database " + std::to_string(DatabaseTables(result)) + " tables, " + FormatBytes(m.database->bytes);
  } else {
    detail += "; no database";
  }
  if (result.deep) detail += "; test-restored";
  if (!result.requested) detail += " (checked: a set it was asked for builds on it)";
  return detail;
}

// A sound set is one ok finding; a damaged one, one finding per problem.
std::vector<Finding> SetFindings(const SetResult& result) {
  if (!result.ok()) return result.Problems();
  return {Finding::Ok("set " + result.report.id, SoundSetDetail(result))};
}

nlohmann::json SetJson(const SetResult& result) {
  nlohmann::json set = {{"id", result.report.id}, {"ok", result.ok()}, {"deep", result.deep},
                         {"requested", result.requested}};
  if (result.report.manifest) {
    const Manifest& m = *result.report.manifest;
    set["type"] = ToString(m.type);
    set["parent"] = m.parent;
    set["created_at"] = FormatRfc3339(m.created_at);
    set["datadir_files"] = m.datadir.files;
    set["datadir_bytes"] = m.datadir.bytes;
    set["database_bytes"] = m.database ? m.database->bytes : 0;
    set.update(SignatureJson(m));
  }
  if (result.signature) set["signature"] = ToString(result.signature->check);
  if (result.report.manifest && result.report.manifest->database)
    set["database_tables"] = DatabaseTables(result);
  return set;
}

// `findings`: any found before the sets were checked.
void PrintVerifyJson(const std::vector<SetResult>& results, std::vector<Finding> findings = {}) {
  nlohmann::json sets = nlohmann::json::array();
  for (const SetResult& result : results) {
    for (Finding& finding : SetFindings(result)) findings.push_back(std::move(finding));
    sets.push_back(SetJson(result));
  }
  nlohmann::json document = ReportJson("verify", findings);
  document["sets"] = std::move(sets);
  PrintJson(document, std::cout);
}

}  // namespace

Status RunVerify(const GlobalOptions& global, const VerifyOptions& options) {
  GB_ASSIGN_OR_RETURN(Config config, LoadConfig(global.config_path));
  GB_ASSIGN_OR_RETURN(auto repository, OpenRepository(config, global.repo, global.wrap_store));
  const Repository& repo = *repository;
  GB_ASSIGN_OR_RETURN(ManifestTrust trust, ManifestTrust::FromConfig(config.encryption));
  Result<std::vector<std::string>> selected = SelectSets(repo, options);
  if (!selected.ok()) {
    // Nothing to verify is a problem (exit 3) that a monitoring script reads like any other.
    if (global.json && selected.status().code() == Code::kProblems)
      PrintVerifyJson({}, {Finding::Problem("repository", selected.status())});
    return selected.status();
  }
  // Every set a selected set builds on is checked too, once, before the sets that need it.
  const std::set<std::string> requested(selected->begin(), selected->end());
  const std::vector<std::string> ids = WithAncestors(repo, *selected);

  DumpToolsCache tools_cache(config.database.pg_bin_dir);
  std::vector<SetResult> results;
  results.reserve(ids.size());  // CheckAncestors keeps pointers to earlier results
  std::map<std::string, const SetResult*> checked;
  size_t failed = 0;
  for (const auto& id : ids) {
    const bool is_requested = requested.count(id) > 0;
    SetResult result = CheckStructure(repo, tools_cache, trust, id, options.deep && is_requested);
    result.requested = is_requested;
    CheckAncestors(checked, result);
    if (options.deep && result.requested) DeepCheck(global, config, repo, result);
    if (!global.json) {  // each set as soon as it is done: verify --all can take long
      PrintFindings(SetFindings(result), std::cout);
      std::cout.flush();
    }
    failed += result.ok() ? 0 : 1;
    results.push_back(std::move(result));
    checked[id] = &results.back();
  }
  if (global.json) PrintVerifyJson(results);
  if (failed > 0)
    return Status::Problems("verify: " + std::to_string(failed) + " of " +
                            std::to_string(results.size()) + " set(s) failed");
  return Status::Ok();
}

}  // namespace gb
