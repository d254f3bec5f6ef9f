#include "coordinator/preflight.h"

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

void CheckRepository(Preflight& preflight, const Config& config, const Repository& repository,
                     bool estimate_size) {
  const size_t first = preflight.findings.size();
  for (Finding& finding : CheckRepositoryAccess(config, repository))
    preflight.findings.push_back(std::move(finding));
  for (size_t i = first; i < preflight.findings.size(); ++i)
    if (!preflight.findings[i].ok()) return;
  if (!estimate_size || !preflight.context) return;

  Result<DataDirEstimate> estimate =
      EstimateDataDir(preflight.context->node.data_dir, config.backup.exclude);
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
                       ", before compression)";
  if (*free_bytes < needed)
    Add(preflight, "space",
        Status::Failed("not enough space in " + repository.root() + ": " + detail,
                       "free space, prune old sets (`govern-backup prune`), or move the repository"));
  else
    Add(preflight, "space", Status::Ok(), detail);
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
  CheckRepository(preflight, config, repository, options.estimate_size);
  return preflight;
}

}  // namespace gb
