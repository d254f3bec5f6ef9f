#include "coordinator/preflight.h"

#include <utility>

#include "coordinator/chain.h"
#include "coordinator/repository.h"
#include "coordinator/repository_checks.h"
#include "coordinator/time_format.h"

namespace gb {

bool Preflight::ok() const { return AllOk(findings); }

Status Preflight::FirstFailure() const {
  for (const Finding& finding : findings)
    if (!finding.ok()) return finding.status;
  return Status::Ok();
}

namespace {

void Add(Preflight& preflight, std::string subject, Status status, std::string detail = {}) {
  preflight.findings.push_back({std::move(subject), std::move(status), std::move(detail)});
}

void CheckNode(Preflight& preflight, const Config& config) {
  Result<NodeContext> context = ResolveNode(config);
  if (!context.ok()) {
    Add(preflight, "node", context.status());
    return;
  }
  const DssNode& node = context->node;
  Add(preflight, "node", Status::Ok(),
      node.node_type + " node at " + node.data_dir + ", DSS " + node.dss_version +
          " (conf " + node.conf_version + ")" +
          (node.install_dir.empty() ? "" : ", installation " + node.install_dir));
  if (node.install_in_progress)
    Add(preflight, "markers",
        Status::Failed("a DSS installation is in progress (DSS-INITIAL-INSTALL-IN-PROGRESS.txt in " +
                           node.data_dir + ")",
                       "wait for the installation to finish; a backup now would not be usable"));
  else if (node.migration_in_progress)
    Add(preflight, "markers",
        Status::Failed("a DSS migration is in progress (DSS-MIGRATION-IN-PROGRESS.json in " +
                           node.data_dir + ")",
                       "wait for the upgrade to finish (or resolve the failed migration) first"));
  else
    Add(preflight, "markers", Status::Ok(), "no installation or migration in progress");
  preflight.context = std::move(context).value();
}

void CheckDss(Preflight& preflight) {
  DssControl dss(preflight.context->dss);
  Result<DssState> state = dss.Query();
  if (!state.ok()) {
    Add(preflight, "dss", state.status().WithContext("bin/dss status"));
    return;
  }
  preflight.dss_state = *state;
  Add(preflight, "dss", Status::Ok(),
      std::string(*state == DssState::kRunning ? "running" : "stopped") + " (bin/dss as " +
          (preflight.context->dss.run_as_name.empty() ? "current user"
                                                      : preflight.context->dss.run_as_name) +
          ")");
}

void CheckDatabase(Preflight& preflight, const Config& config) {
  const NodeContext& context = *preflight.context;
  if (!context.database) {
    Add(preflight, "database", Status::Ok(),
        "none: a " + context.node.node_type + " node has no database half");
    return;
  }
  Result<ServerIdentity> server = ReadServerIdentity(*context.database);
  if (!server.ok()) {
    Add(preflight, "database", server.status());
    return;
  }
  preflight.server = *server;
  Add(preflight, "database", Status::Ok(),
      context.database->Describe() + ", PostgreSQL " + server->server_version + ", " +
          FormatBytes(server->database_bytes) +
          (server->system_identifier.empty() ? "" : ", system " + server->system_identifier));

  Result<DumpTools> tools = FindDumpToolsFor(config.database.pg_bin_dir, server->server_major);
  if (!tools.ok()) {
    Add(preflight, "dump tools", tools.status());
    return;
  }
  preflight.tools = *tools;
  Add(preflight, "dump tools", Status::Ok(),
      tools->pg_dump + " " + tools->pg_dump_version + ", pg_restore " + tools->pg_restore_version);
}

// The data dir's size as the newest set of it recorded, without walking it: a nightly set
// must not cost a walk of the whole tree. An incremental set records only what it archived, so
// its chain's sets are summed: an upper bound (a file rewritten every night counts each night),
// which the free-space check errs on the safe side with. Nullopt: no set of this data dir, or
// a chain that does not load.
std::optional<std::pair<DataDirEstimate, std::string>> RecordedEstimate(
    const std::vector<Manifest>& sets, const std::string& data_dir) {
  const Manifest* newest = nullptr;
  for (const Manifest& set : sets)  // oldest first
    if (set.node.data_dir == data_dir) newest = &set;
  if (newest == nullptr) return std::nullopt;
  std::vector<Manifest> chain{*newest};
  if (newest->type == SetType::kIncremental) {
    Result<std::vector<Manifest>> loaded = ChainOf(sets, newest->id);
    if (!loaded.ok()) return std::nullopt;
    chain = std::move(loaded).value();
  }
  DataDirEstimate estimate;
  for (const Manifest& set : chain) {
    estimate.entries += set.datadir.files;
    estimate.bytes += set.datadir.source_bytes;
  }
  return std::make_pair(estimate, newest->id);
}

Result<DataDirEstimate> EstimateSize(Preflight& preflight, const Config& config,
                                     const std::vector<Manifest>* recorded_sets) {
  const std::string& data_dir = preflight.context->node.data_dir;
  if (recorded_sets != nullptr)
    if (auto recorded = RecordedEstimate(*recorded_sets, data_dir)) {
      preflight.estimate_source = recorded->second;
      return recorded->first;
    }
  return EstimateDataDir(data_dir, config.backup.exclude);
}

// Whether the repository can be written; true when it can.
bool CheckRepository(Preflight& preflight, const Config& config, const Repository& repository) {
  const size_t first = preflight.findings.size();
  for (Finding& finding : CheckRepositoryAccess(config, repository))
    preflight.findings.push_back(std::move(finding));
  for (size_t i = first; i < preflight.findings.size(); ++i)
    if (!preflight.findings[i].ok()) return false;
  return true;
}

}  // namespace

Preflight RunPreflight(const Config& config, const Repository& repository,
                       const PreflightOptions& options) {
  Preflight preflight;
  Add(preflight, "config", Status::Ok(), config.source);
  CheckNode(preflight, config);
  if (preflight.context) {
    if (options.query_dss) CheckDss(preflight);
    CheckDatabase(preflight, config);
  }
  if (CheckRepository(preflight, config, repository) && options.estimate_size)
    CheckSpace(preflight, config, repository, nullptr);
  return preflight;
}

void CheckSpace(Preflight& preflight, const Config& config, const Repository& repository,
                const std::vector<Manifest>* recorded_sets) {
  if (!preflight.context) return;
  Result<DataDirEstimate> estimate = EstimateSize(preflight, config, recorded_sets);
  if (!estimate.ok()) {
    Add(preflight, "space", estimate.status());
    return;
  }
  preflight.estimate = *estimate;
  if (!repository.is_local()) return;  // a bucket's free space is the store's business
  // Compression usually halves the data; demanding the uncompressed size keeps a margin.
  uint64_t needed = estimate->bytes + (preflight.server ? preflight.server->database_bytes : 0);
  Result<uint64_t> free_bytes = FreeBytes(repository.root());
  if (!free_bytes.ok()) {
    Add(preflight, "space", free_bytes.status());
    return;
  }
  std::string detail = FormatBytes(*free_bytes) + " free for at most " + FormatBytes(needed) +
                       " (data dir " + FormatBytes(estimate->bytes) + " in " +
                       std::to_string(estimate->entries) + " entries" +
                       (preflight.server ? ", database " + FormatBytes(preflight.server->database_bytes)
                                         : std::string()) +
                       ", before compression" +
                       (preflight.estimate_source.empty()
                            ? std::string()
                            : "; as set " + preflight.estimate_source + " and its chain recorded") +
                       ")";
  if (*free_bytes < needed)
    Add(preflight, "space",
        Status::Failed("not enough space in " + repository.root() + ": " + detail,
                       "free space, prune old sets (`govern-backup prune`), or move the repository"));
  else
    Add(preflight, "space", Status::Ok(), detail);
}

}  // namespace gb
