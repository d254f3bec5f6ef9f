// `govern-backup backup`: one paired backup set, as a flat script of named steps.
#include <spdlog/spdlog.h>
#include <chrono>
#include <iostream>

#include "coordinator/capture.h"
#include "coordinator/copy.h"
#include "coordinator/commands.h"
#include "coordinator/exit_codes.h"
#include "coordinator/hooks.h"
#include "coordinator/interrupt.h"
#include "coordinator/json_output.h"
#include "coordinator/manifest_signature.h"
#include "coordinator/pair_identity.h"
#include "coordinator/preflight.h"
#include "coordinator/repository.h"
#include "coordinator/operation_lock.h"
#include "coordinator/parent_choice.h"
#include "coordinator/task_wait.h"

namespace gb {
namespace {

Consistency ConsistencyFor(const Config& config, const BackupOptions& options) {
  if (options.online || config.backup.mode == "online") return Consistency::kOnline;
  if (config.snapshot.enabled()) return Consistency::kSnapshot;
  return Consistency::kOffline;
}

// The manifest's fields known before the capture; the halves and the window come after.
Manifest NewManifest(const NodeContext& context, Consistency consistency,
                     const BackupOptions& options, const std::string& newest_id, Env* env) {
  Manifest manifest;
  manifest.created_at = env->Now();
  manifest.id = Repository::NewSetId(manifest.created_at, newest_id);
  manifest.pair_token = NewPairToken();
  manifest.consistency = consistency;
  manifest.tool_version = GOVERN_BACKUP_VERSION;
  manifest.note = options.note;
  const DssNode& node = context.node;
  manifest.node = {node.data_dir,    node.node_type, node.dss_version, node.conf_version,
                   node.install_dir, node.node_id,   env->HostName()};
  return manifest;
}

CaptureRequest CaptureRequestFor(const Preflight& preflight, const Manifest& manifest,
                                 const Repository& repository, const ParentChoice& choice,
                                 Progress* progress, Env* env) {
  CaptureRequest request;
  request.context = &*preflight.context;
  request.tools = preflight.tools ? &*preflight.tools : nullptr;
  request.server = preflight.server ? &*preflight.server : nullptr;
  request.consistency = manifest.consistency;
  request.repository = &repository;
  request.id = manifest.id;
  request.pair_token = manifest.pair_token;
  request.parent = choice.parent ? &*choice.parent : nullptr;
  request.progress = progress;
  request.env = env;
  return request;
}

// What both halves add up to, for the progress line.
uint64_t EstimatedBytes(const Preflight& preflight) {
  return (preflight.estimate ? preflight.estimate->bytes : 0) +
         (preflight.server ? preflight.server->database_bytes : 0);
}

void RecordCapture(CaptureResult captured, std::chrono::steady_clock::time_point started,
                   Manifest& manifest) {
  manifest.type = captured.type;
  manifest.parent = captured.parent;
  manifest.datadir = std::move(captured.datadir);
  manifest.database = std::move(captured.database);
  manifest.index = std::move(captured.index);
  manifest.recipients = std::move(captured.recipients);
  manifest.window = captured.window;
  manifest.window.duration_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

// Every failed pre-flight item logged; the first one is the command's error.
Status Refusal(const Preflight& preflight) {
  for (const auto& finding : preflight.findings)
    if (!finding.ok()) spdlog::error("pre-flight {}: {}", finding.subject, finding.status.ToString());
  return preflight.FirstFailure().WithContext("backup refused, DSS untouched");
}

Status CopyNewSet(const GlobalOptions& global, const Config& config, const Repository& repo,
                  const std::string& id, const std::string& target) {
  Result<std::unique_ptr<Repository>> to = OpenRepository(config, target, global.wrap_store);
  Result<CopyOutcome> copied = to.ok() ? CopySets(repo, **to, {id}, global.env)
                                       : Result<CopyOutcome>(to.status());
  if (copied.ok()) {
    spdlog::info("set {} copied to {}", id, target);
    return Status::Ok();
  }
  return copied.status()
      .WithContext("set " + id + " is complete in " + repo.root() + ", but its copy to " + target +
                   " failed")
      .WithHint("`govern-backup copy --to " + target + "` copies it later")
      .WithCode(Code::kCopyFailed);
}

void PrintPlan(const Preflight& preflight, Consistency consistency, const Repository& repo,
               const ParentChoice& choice) {
  const NodeContext& context = *preflight.context;
  bool running = preflight.dss_state == DssState::kRunning;
  std::cout << "dry run: nothing is touched\n";
  if (consistency == Consistency::kOnline)
    std::cout << "DSS: keep running (online backup: consistency = online)\n";
  else if (!running)
    std::cout << "DSS: already stopped; it stays stopped\n";
  else
    std::cout << "DSS: stop (" << context.dss.dss_command << " stop)"
              << (consistency == Consistency::kSnapshot
                      ? ", start again as soon as the volume snapshot is taken"
                      : " after a first pass over the data dir, start again after the second pass "
                        "(what changed meanwhile) and the database snapshot")
              << "\n";
  if (consistency == Consistency::kSnapshot)
    std::cout << "snapshot: run `" << context.config.snapshot.create << "`, archive from "
              << context.config.snapshot.path << ", then `" << context.config.snapshot.destroy << "`\n";
  std::cout << "set: " << (choice.parent ? "incremental, " : "full: ") << choice.reason << "\n";
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
  std::cout << "into: " << repo.Locate(repo.SetPrefix("<new set id>")) << "\n";
  const HooksConfig& hooks = context.config.hooks;
  if (!hooks.pre_backup.empty() || !hooks.post_backup.empty())
    std::cout << "hooks: pre_backup `" << hooks.pre_backup << "`, post_backup `" << hooks.post_backup
              << "` (not run by a dry run)\n";
}

BackupFigures FiguresOf(const Manifest& manifest) {
  BackupFigures figures;
  figures.datadir_bytes = manifest.datadir.bytes;
  figures.has_database = manifest.database.has_value();
  figures.database_bytes = manifest.database ? manifest.database->bytes : 0;
  figures.dss_downtime_seconds = manifest.window.downtime_seconds;
  return figures;
}

}  // namespace

Status RunBackup(const GlobalOptions& global, const BackupOptions& options) {
  auto started = std::chrono::steady_clock::now();
  InstallInterruptHandlers();
  Progress progress("backup", 0,
                    global.json ? ProgressOutput::kJsonLines : ProgressOutput::kTerminal);
  CommandReport unreported;
  CommandReport& report = global.report ? *global.report : unreported;

  // Step: configuration.
  GB_ASSIGN_OR_RETURN(Config config, LoadConfig(global.config_path));
  Consistency consistency = ConsistencyFor(config, options);
  // The signing key is read now: a key that cannot sign must fail the backup before DSS stops.
  GB_ASSIGN_OR_RETURN(ManifestSigner signer, ManifestSigner::FromConfig(config.encryption));
  if (!options.copy_to.empty())  // a wrong name is a usage error before anything runs
    GB_RETURN_IF_ERROR(config.FindRepository(options.copy_to).status());

  // Step: the admin's pre_backup hook, before the repository or DSS is touched (it may be
  // what mounts the backup disk).
  if (!options.dry_run)
    GB_RETURN_IF_ERROR(RunPreBackupHook(config, {"backup", global.repo, {}, {}}));
  GB_RETURN_IF_ERROR(CheckInterrupted());  // a signal while the hook ran: stop before anything
  GB_ASSIGN_OR_RETURN(auto repository, OpenRepository(config, global.repo, global.wrap_store));
  const Repository& repo = *repository;

  // Step: one operation at a time.
  std::unique_ptr<OperationLock> lock;
  if (!options.dry_run) {
    GB_RETURN_IF_ERROR(repo.EnsureExists(global.env));
    GB_ASSIGN_OR_RETURN(lock, OperationLock::Acquire(repo, LockOperation::kBackup, global.env));
  }

  // Step: pre-flight; refuse before DSS is touched.
  progress.Phase("preflight");
  // The sets are listed once: the newest one of the node is the parent to build on and tells
  // the data dir's size (a dry run's plan walks it, to show the walk's figures).
  PreflightOptions preflight_options;
  preflight_options.estimate_size = false;
  Preflight preflight = RunPreflight(config, repo, preflight_options);
  if (!preflight.ok()) return Refusal(preflight);
  const Result<std::vector<Manifest>> sets = repo.CompleteSets();
  CheckSpace(preflight, config, repo, sets.ok() && !options.dry_run ? &*sets : nullptr);
  if (!preflight.ok()) return Refusal(preflight);
  const NodeContext& context = *preflight.context;
  const ParentChoice choice =
      ChooseParent(config, sets, context.node.data_dir, options.full, global.env->Now());
  // Step: no long task may run when DSS stops; asked now too, to fail before any work.
  GB_ASSIGN_OR_RETURN(TaskWait task_wait,
                      TaskWait::Prepare(config, consistency, preflight.dss_state));
  if (options.dry_run) {
    PrintPlan(preflight, consistency, repo, choice);
    std::cout << task_wait.Plan() << "\n";
    return Status::Ok();
  }
  GB_RETURN_IF_ERROR(task_wait.FirstAsk());
  spdlog::info("{} set: {}", choice.parent ? "incremental" : "full", choice.reason);

  // Step: the new set; not listed as complete until its manifest is stored.
  GB_ASSIGN_OR_RETURN(const std::vector<std::string> ids, repo.CompleteSetIds());
  Manifest manifest =
      NewManifest(context, consistency, options, ids.empty() ? "" : ids.back(), global.env);
  UnfinishedSet unfinished(repo, manifest.id, global.env);
  report.set_id = manifest.id;
  spdlog::info("backup {} of {} ({})", manifest.id, context.node.data_dir, ToString(consistency));

  // Step: capture both halves.
  progress.SetLabel("backup " + manifest.id, EstimatedBytes(preflight));
  progress.Phase("capture", manifest.id);
  CaptureRequest request = CaptureRequestFor(preflight, manifest, repo, choice, &progress, global.env);
  request.task_wait = &task_wait;
  GB_ASSIGN_OR_RETURN(CaptureResult captured, CaptureHalves(request));
  progress.Finish();
  RecordCapture(std::move(captured), started, manifest);

  // Step: the manifest, last, only while the lock is surely ours: the commit.
  progress.Phase("commit");
  GB_RETURN_IF_ERROR(CheckInterrupted());
  GB_RETURN_IF_ERROR(lock->Healthy());
  GB_RETURN_IF_ERROR(signer.Sign(manifest));
  GB_RETURN_IF_ERROR(repo.CommitManifest(manifest));
  unfinished.Committed();
  report.backup = FiguresOf(manifest);
  progress.Phase("complete", manifest.id);

  spdlog::info("set {} complete ({}): data dir {} ({} entries archived), database {}, DSS down "
               "{:.1f} s",
               manifest.id, ToString(manifest.type), FormatBytes(manifest.datadir.bytes),
               manifest.datadir.files,
               manifest.database ? FormatBytes(manifest.database->bytes) : std::string("none"),
               manifest.window.downtime_seconds);
  if (global.json) PrintJson(manifest.ToJson());
  else std::cout << manifest.id << "\n";
  std::cout.flush();
  lock.reset();

  // Step: the admin's post_backup hook, then the copy elsewhere when asked: the set is
  // complete here whatever happens to them (their failures are exit 6).
  Status post = RunPostBackupHook(config, {"backup", global.repo, manifest.id, kExitOk});
  if (options.copy_to.empty()) return post;
  if (!post.ok()) spdlog::error("{}", post.ToString());  // the copy's outcome is returned
  Status copied = CopyNewSet(global, config, repo, manifest.id, options.copy_to);
  return copied.ok() ? post : copied;
}

}  // namespace gb
