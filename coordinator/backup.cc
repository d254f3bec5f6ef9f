// `govern-backup backup`: one paired backup set, as a flat script of named steps.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <iostream>

#include "coordinator/capture.h"
#include "coordinator/commands.h"
#include "coordinator/interrupt.h"
#include "coordinator/pair_identity.h"
#include "coordinator/preflight.h"
#include "coordinator/repository.h"
#include "coordinator/repository_lock.h"
#include "io/atomic_file.h"

namespace gb {
namespace {

std::string Hostname() {
  char name[256] = {0};
  if (gethostname(name, sizeof name - 1) != 0) return "";
  return name;
}

std::string ConsistencyFor(const Config& config, const BackupOptions& options) {
  if (options.online || config.backup.mode == "online") return "online";
  if (config.snapshot.enabled()) return "snapshot";
  return "offline";
}

// Removes the work directory of a backup that did not complete.
class WorkDirGuard {
 public:
  WorkDirGuard(Env* env, std::string dir) : env_(env), dir_(std::move(dir)) {}
  ~WorkDirGuard() {
    if (dir_.empty()) return;
    Status removed = env_->RemoveAll(dir_);
    if (!removed.ok()) spdlog::error("could not remove unfinished work {}: {}", dir_, removed.message());
  }
  void Release() { dir_.clear(); }

 private:
  Env* env_;
  std::string dir_;
};

void PrintPlan(const Preflight& preflight, const std::string& consistency, const Repository& repo) {
  const NodeContext& context = *preflight.context;
  bool running = preflight.dss_state == DssState::kRunning;
  std::cout << "dry run: nothing is touched\n";
  if (consistency == "online")
    std::cout << "DSS: keep running (online backup: consistency = online)\n";
  else if (!running)
    std::cout << "DSS: already stopped; it stays stopped\n";
  else
    std::cout << "DSS: stop (" << context.dss.dss_command << " stop), start again as soon as the "
              << (consistency == "snapshot" ? "volume snapshot is taken" : "data dir is captured")
              << "\n";
  if (consistency == "snapshot")
    std::cout << "snapshot: run `" << context.config.snapshot.create << "`, archive from "
              << context.config.snapshot.path << ", then `" << context.config.snapshot.destroy << "`\n";
  if (preflight.estimate) {
    std::cout << "archive: " << context.node.data_dir << ": " << preflight.estimate->entries
              << " entries, " << FormatBytes(preflight.estimate->bytes) << "\n";
    for (const auto& [name, bytes] : preflight.estimate->excluded)
      std::cout << "  exclude " << name << " (" << FormatBytes(bytes) << ")\n";
  }
  if (context.database && preflight.server)
    std::cout << "dump: " << context.database->Describe() << " (PostgreSQL "
              << preflight.server->server_version << ", " << FormatBytes(preflight.server->database_bytes)
              << ") with " << preflight.tools->pg_dump << "\n";
  else
    std::cout << "dump: none (no database on this node)\n";
  std::cout << "into: " << repo.root() << "/<new set id>/\n";
}

}  // namespace

Status RunBackup(const GlobalOptions& global, const BackupOptions& options) {
  auto started = std::chrono::steady_clock::now();
  InstallInterruptHandlers();

  // Step: configuration.
  GB_ASSIGN_OR_RETURN(Config config, LoadConfig(global.config_path));
  Repository repo(config.repository.path);
  std::string consistency = ConsistencyFor(config, options);

  // Step: one operation at a time.
  std::unique_ptr<RepositoryLock> lock;
  if (!options.dry_run) {
    GB_RETURN_IF_ERROR(repo.EnsureExists());
    GB_ASSIGN_OR_RETURN(lock, RepositoryLock::Acquire(repo.LockPath(), "backup"));
  }

  // Step: pre-flight; refuse before DSS is touched.
  PreflightOptions preflight_options;
  preflight_options.estimate_size = true;
  Preflight preflight = RunPreflight(config, preflight_options);
  if (!preflight.ok()) {
    for (const auto& finding : preflight.findings)
      if (!finding.ok()) spdlog::error("pre-flight {}: {}", finding.subject, finding.status.ToString());
    return preflight.FirstFailure().WithContext("backup refused, DSS untouched");
  }
  if (options.dry_run) {
    PrintPlan(preflight, consistency, repo);
    return Status::Ok();
  }
  const NodeContext& context = *preflight.context;

  // Step: the work directory, outside the listed sets until complete.
  Manifest manifest;
  manifest.created_at = global.env->Now();
  manifest.id = Repository::NewSetId(manifest.created_at);
  manifest.pair_token = NewPairToken();
  manifest.consistency = consistency;
  manifest.tool_version = GOVERN_BACKUP_VERSION;
  manifest.note = options.note;
  manifest.node = {context.node.data_dir,    context.node.node_type, context.node.dss_version,
                   context.node.conf_version, context.node.install_dir, context.node.node_id,
                   Hostname()};
  std::string work_dir = repo.WorkDir(manifest.id);
  Status made = global.env->CreateDirectory(repo.WorkRoot(), 0700);
  (void)made;  // it usually exists already
  GB_RETURN_IF_ERROR(global.env->CreateDirectory(work_dir, 0700));
  WorkDirGuard work_guard(global.env, work_dir);
  spdlog::info("backup {} of {} ({})", manifest.id, context.node.data_dir, consistency);

  // Step: capture both halves.
  uint64_t estimated = (preflight.estimate ? preflight.estimate->bytes : 0) +
                       (preflight.server ? preflight.server->database_bytes : 0);
  Progress progress("backup " + manifest.id, estimated);
  CaptureRequest request;
  request.context = &context;
  request.tools = preflight.tools ? &*preflight.tools : nullptr;
  request.server = preflight.server ? &*preflight.server : nullptr;
  request.consistency = consistency;
  request.work_dir = work_dir;
  request.id = manifest.id;
  request.pair_token = manifest.pair_token;
  request.progress = &progress;
  GB_ASSIGN_OR_RETURN(CaptureResult captured, CaptureHalves(request));
  progress.Finish();
  manifest.datadir = captured.datadir;
  manifest.database = captured.database;
  manifest.window = captured.window;
  manifest.window.duration_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  // Step: the manifest, last and atomically; then the set appears under its name.
  GB_RETURN_IF_ERROR(CheckInterrupted());
  GB_RETURN_IF_ERROR(WriteFileAtomically(work_dir + "/" + kManifestName, manifest.ToText(), 0600));
  GB_RETURN_IF_ERROR(global.env->Rename(work_dir, repo.SetDir(manifest.id)));
  work_guard.Release();
  GB_RETURN_IF_ERROR(FsyncPath(repo.root()));
  GB_RETURN_IF_ERROR(FsyncPath(repo.WorkRoot()));

  spdlog::info("set {} complete: data dir {} ({} entries), database {}, DSS down {:.1f} s",
               manifest.id, FormatBytes(manifest.datadir.bytes), manifest.datadir.files,
               manifest.database ? FormatBytes(manifest.database->bytes) : std::string("none"),
               manifest.window.downtime_seconds);
  if (global.json) std::cout << manifest.ToJson();
  else std::cout << manifest.id << "\n";
  return Status::Ok();
}

}  // namespace gb
