// `govern-backup verify [ID ...] [--all] [--deep]`: the structural checks of restore's
// pre-flight (set_checks.h) on one or more sets; --deep also test-restores each set into
// scratch space and compares what comes out with what the backup recorded.
//
// Verify takes no lock and never changes a set: backups may run beside it. Its scratch space
// (<repo>/.work/verify-<id>-<pid>, database <dbname>_verify_<random>) is always removed.
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <set>

#include "coordinator/commands.h"
#include "coordinator/json_writer.h"
#include "coordinator/node_context.h"
#include "coordinator/repository.h"
#include "coordinator/set_checks.h"
#include "coordinator/work_leftovers.h"
#include "datadir/archive_reader.h"
#include "io/zstd_file.h"
#include "pg/dump.h"
#include "pg/server.h"

namespace gb {
namespace {

namespace fs = std::filesystem;

std::string ShortRandom() {
  unsigned char bytes[3] = {0, 0, 0};
  if (getrandom(bytes, sizeof bytes, 0) != sizeof bytes) bytes[0] = static_cast<unsigned char>(getpid());
  char hex[7];
  std::snprintf(hex, sizeof hex, "%02x%02x%02x", bytes[0], bytes[1], bytes[2]);
  return hex;
}

// What --deep found, besides the structural findings.
struct DeepResult {
  std::vector<SetFinding> findings;
  uint64_t extracted_entries = 0;
  uint64_t extracted_bytes = 0;
  size_t tables_compared = 0;
};

// Removes the scratch directory and drops the scratch database, whatever happened.
class Scratch {
 public:
  Scratch(Env* env) : env_(env) {}
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

// Bytes of regular files under `dir`, each inode once (hard links are archived once).
void WalkExtracted(const std::string& dir, uint64_t* entries, uint64_t* bytes) {
  std::set<std::pair<dev_t, ino_t>> seen;
  std::error_code error;
  for (fs::recursive_directory_iterator it(dir, error), end; it != end; it.increment(error)) {
    if (error) break;
    ++*entries;
    struct stat info {};
    if (::lstat(it->path().c_str(), &info) != 0 || !S_ISREG(info.st_mode)) continue;
    if (seen.insert({info.st_dev, info.st_ino}).second) *bytes += static_cast<uint64_t>(info.st_size);
  }
}

void DeepDatadir(const GlobalOptions& global, const Repository& repo, const Manifest& manifest,
                 Scratch& scratch, DeepResult& result) {
  auto find = [&](std::string problem, std::string hint = {}) {
    result.findings.push_back({"datadir", std::move(problem), std::move(hint)});
  };
  Status made = global.env->CreateDirectory(repo.WorkRoot(), 0700);
  (void)made;  // usually exists
  std::string dir = repo.WorkRoot() + "/" + VerifyScratchName(manifest.id, getpid());
  Status created = global.env->CreateDirectory(dir, 0700);
  if (!created.ok()) {
    find("cannot create the scratch directory for the test extraction: " + created.message());
    return;
  }
  scratch.SetDir(dir);
  std::string file = manifest.datadir.file;
  auto reader = ZstdFileReader::Open(repo.SetDir(manifest.id) + "/" + file);
  if (!reader.ok()) {
    find("data-dir half " + file + " cannot be opened: " + reader.status().message());
    return;
  }
  ExtractOptions options;
  options.destination = dir;
  options.restore_owners = false;  // verify needs no privilege; restore sets the owners
  Result<ArchiveScan> scan = ExtractArchive(**reader, options);
  if (!scan.ok()) {
    find("data-dir half " + file + " does not extract: " + scan.status().message(),
         "restore from another set");
    return;
  }
  WalkExtracted(dir, &result.extracted_entries, &result.extracted_bytes);
  // What landed on disk must be what the archive holds; the walk sees neither the pair
  // member (not extracted) nor the archive's entry for the top directory itself.
  if (scan->entries != manifest.datadir.files || result.extracted_entries + 1 < manifest.datadir.files)
    find("test extraction of " + file + " gave " + std::to_string(result.extracted_entries) +
             " entries, the manifest says " + std::to_string(manifest.datadir.files),
         "the half is damaged: restore from another set");
  if (result.extracted_bytes != manifest.datadir.source_bytes)
    find("test extraction of " + file + " gave " + std::to_string(result.extracted_bytes) +
             " bytes of file content, the manifest says " + std::to_string(manifest.datadir.source_bytes),
         "the half is damaged: restore from another set");
}

void DeepDatabase(const Config& config, const Repository& repo, const Manifest& manifest,
                  const DumpTools& tools, Scratch& scratch, DeepResult& result) {
  auto find = [&](std::string problem, std::string hint = {}) {
    result.findings.push_back({"database", std::move(problem), std::move(hint)});
  };
  // The server to restore into: the node's (config merged with dip.properties), or the
  // config alone when the node is gone.
  Result<DssNode> node = DiscoverNode(config.node.data_dir);
  std::optional<ConnectionParams> params = ResolveDatabase(config, node.ok() ? *node : DssNode{}, nullptr);
  if (!params) {
    find("--deep needs a database server to test-restore into, and none is configured",
         "set [database] host, port and user in the config");
    return;
  }
  std::string name = manifest.database->dbname + "_verify_" + ShortRandom();
  ConnectionParams target = params->WithDatabase(name);
  Status created = CreateDatabase(*params, name, params->user);
  if (!created.ok()) {
    find("cannot create the scratch database " + name + ": " + created.message(),
         "the database user needs CREATEDB for verify --deep");
    return;
  }
  scratch.SetDatabase(target);
  std::string file = manifest.database->file;
  auto reader = ZstdFileReader::Open(repo.SetDir(manifest.id) + "/" + file);
  if (!reader.ok()) {
    find("database half " + file + " cannot be opened: " + reader.status().message());
    return;
  }
  Status restored = RestoreDump(tools, target, **reader);
  if (!restored.ok()) {
    find("database half " + file + " does not restore: " + restored.message(),
         "this set's database cannot be restored: take a new backup, restore from another set");
    return;
  }
  const auto& expected = manifest.database->table_rows;
  if (expected.empty()) {
    spdlog::warn("set {}: the manifest records no row counts; the restored rows were not compared",
                 manifest.id);
    return;
  }
  Result<std::map<std::string, uint64_t>> counted = CountTableRows(target);
  if (!counted.ok()) {
    find("cannot count the rows of the test restore: " + counted.status().message());
    return;
  }
  for (const auto& [table, rows] : expected) {
    ++result.tables_compared;
    auto found = counted->find(table);
    if (found == counted->end())
      find("table " + table + " is missing after the test restore of " + file,
           "the dump is incomplete: restore from another set");
    else if (found->second != rows)
      find("table " + table + " has " + std::to_string(found->second) +
               " rows after the test restore of " + file + ", the backup recorded " + std::to_string(rows),
           "the dump is incomplete: restore from another set");
  }
}

struct SetResult {
  SetCheckReport report;
  bool deep = false;
  DeepResult deep_result;
  bool ok() const { return report.ok() && deep_result.findings.empty(); }
  std::vector<SetFinding> AllFindings() const {
    std::vector<SetFinding> all = report.findings;
    all.insert(all.end(), deep_result.findings.begin(), deep_result.findings.end());
    return all;
  }
};

std::string OkLine(const SetResult& result) {
  const Manifest& m = *result.report.manifest;
  std::string line = "ok   " + m.id + "  (data dir " + std::to_string(m.datadir.files) + " files, " +
                     FormatBytes(m.datadir.bytes);
  if (m.database) {
    size_t tables = result.report.toc ? result.report.toc->tables.size() : m.database->table_rows.size();
    line += "; database " + std::to_string(tables) + " tables, " + FormatBytes(m.database->bytes);
  } else {
    line += "; no database";
  }
  if (result.deep) line += "; test-restored";
  return line + ")";
}

void PrintJson(const std::vector<SetResult>& results, bool all_ok) {
  JsonWriter json;
  json.BeginObject().Key("ok").Bool(all_ok).Key("sets").BeginArray();
  for (const auto& result : results) {
    json.BeginObject().Key("id").String(result.report.id).Key("ok").Bool(result.ok())
        .Key("deep").Bool(result.deep);
    if (result.report.manifest) {
      const Manifest& m = *result.report.manifest;
      json.Key("created_at").String(FormatRfc3339(m.created_at))
          .Key("datadir_files").Integer(static_cast<int64_t>(m.datadir.files))
          .Key("datadir_bytes").Integer(static_cast<int64_t>(m.datadir.bytes))
          .Key("database_bytes").Integer(m.database ? static_cast<int64_t>(m.database->bytes) : 0);
    }
    if (result.report.toc) json.Key("database_tables").Integer(static_cast<int64_t>(result.report.toc->tables.size()));
    json.Key("findings").BeginArray();
    for (const auto& finding : result.AllFindings())
      json.BeginObject().Key("half").String(finding.half).Key("problem").String(finding.problem)
          .Key("hint").String(finding.hint).EndObject();
    json.EndArray().EndObject();
  }
  json.EndArray().EndObject();
  std::cout << json.str() << "\n";
}

}  // namespace

Status RunVerify(const GlobalOptions& global, const VerifyOptions& options) {
  GB_ASSIGN_OR_RETURN(Config config, LoadConfig(global.config_path));
  Repository repo(config.repository.path);

  // Step: which sets.
  std::vector<std::string> ids = options.ids;
  if (options.all && !ids.empty())
    return Status::Usage("verify: give set ids or --all, not both");
  std::error_code missing;
  if (ids.empty() && !fs::is_directory(repo.root(), missing))
    return Status::Problems("no complete backup set to verify: repository " + repo.root() +
                                " does not exist",
                            "take one: `govern-backup backup`");
  if (ids.empty()) {
    GB_ASSIGN_OR_RETURN(auto sets, repo.ListSets());
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
  }

  // Step: check each set; the tools that read its dump are found per server major.
  DumpToolsCache tools_cache(config.database.pg_bin_dir);
  std::vector<SetResult> results;
  for (const auto& id : ids) {
    SetResult result;
    result.deep = options.deep;
    SetCheckOptions check;
    check.read_through = true;
    std::optional<DumpTools> tools;
    Status tools_status;
    Result<Manifest> manifest = repo.LoadSet(id);
    if (manifest.ok() && manifest->database) {
      Result<DumpTools> found = tools_cache.For(*manifest);
      if (found.ok()) tools = *found;
      else tools_status = found.status();
      check.tools = tools ? &*tools : nullptr;
    }
    spdlog::debug("verifying set {}", id);
    result.report = CheckSet(repo, id, check);
    if (!tools_status.ok())
      result.report.findings.push_back({"database",
                                        "the dump's table of contents cannot be read: " + tools_status.message(),
                                        tools_status.hint()});

    // Step: --deep, only on a set whose structure is sound.
    if (options.deep && result.report.ok() && result.report.manifest) {
      Scratch scratch(global.env);
      DeepDatadir(global, repo, *result.report.manifest, scratch, result.deep_result);
      if (result.report.manifest->database && tools)
        DeepDatabase(config, repo, *result.report.manifest, *tools, scratch, result.deep_result);
    }

    if (!global.json) {
      if (result.ok()) {
        std::cout << OkLine(result) << "\n";
      } else {
        for (const auto& finding : result.AllFindings()) {
          std::cout << "FAIL " << id << "  " << finding.half << ": " << finding.problem << "\n";
          if (!finding.hint.empty()) std::cout << "     what to do: " << finding.hint << "\n";
        }
      }
      std::cout.flush();
    }
    results.push_back(std::move(result));
  }

  size_t failed = 0;
  for (const auto& result : results) failed += result.ok() ? 0 : 1;
  if (global.json) PrintJson(results, failed == 0);
  if (failed > 0)
    return Status::Problems("verify: " + std::to_string(failed) + " of " + std::to_string(results.size()) +
                            " set(s) failed");
  return Status::Ok();
}

}  // namespace gb
