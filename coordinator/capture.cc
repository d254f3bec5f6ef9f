#include "coordinator/capture.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <memory>
#include <thread>

#include "coordinator/datadir_capture.h"
#include "coordinator/half_stream.h"
#include "coordinator/interrupt.h"
#include "coordinator/pair_identity.h"
#include "coordinator/repository.h"
#include "coordinator/set_keys.h"
#include "coordinator/task_wait.h"
#include "datadir/dss_control.h"
#include "io/subprocess.h"
#include "pg/dump.h"
#include "pg/dump_table_summary.h"
#include "pg/snapshot.h"

namespace gb {
namespace {

// Stops DSS if it runs, and starts it again: explicitly on the happy path, or when this
// object goes away after a failure, so that DSS always comes back.
class DssRestarter {
 public:
  DssRestarter(const DssControlOptions& options, Env* env, Progress* progress)
      : dss_(options), env_(env), progress_(progress) {}
  ~DssRestarter() {
    if (!stopped_by_us_) return;
    spdlog::warn("starting DSS again after the failed backup");
    Report("starting");
    Status started = dss_.Start();
    Report(started.ok() ? "running" : "start_failed");
    if (!started.ok())
      spdlog::error("DSS did not start again: {} (start it by hand: {} start)",
                    started.message(), dss_.options().dss_command);
  }

  Result<bool> Running() {
    GB_ASSIGN_OR_RETURN(DssState state, dss_.Query());
    return state == DssState::kRunning;
  }

  Status StopIfRunning(ManifestWindow& window) {
    GB_ASSIGN_OR_RETURN(DssState state, dss_.Query());
    window.dss_was_running = state == DssState::kRunning;
    if (!window.dss_was_running) {
      spdlog::info("DSS is stopped: capturing without stopping it");
      return Status::Ok();
    }
    spdlog::info("stopping DSS");
    Report("stopping");
    GB_RETURN_IF_ERROR(dss_.Stop().WithContext("stopping DSS"));
    stopped_by_us_ = true;
    Report("stopped");
    stopped_at_ = std::chrono::steady_clock::now();
    window.dss_stopped_at = env_->Now();
    return Status::Ok();
  }

  Status StartAgain(ManifestWindow& window) {
    if (!stopped_by_us_) return Status::Ok();
    spdlog::info("starting DSS again");
    stopped_by_us_ = false;  // one attempt; a failure is reported, not retried at exit
    Report("starting");
    Status started = dss_.Start();
    Report(started.ok() ? "running" : "start_failed");
    GB_RETURN_IF_ERROR(started.WithContext("starting DSS again"));
    window.dss_started_at = env_->Now();
    window.downtime_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - stopped_at_).count();
    return Status::Ok();
  }

 private:
  void Report(const char* state) {
    if (progress_) progress_->Dss(state);
  }

  DssControl dss_;
  Env* env_;
  Progress* progress_;
  bool stopped_by_us_ = false;
  std::chrono::steady_clock::time_point stopped_at_;
};

// The [snapshot] procedure of the DSS backup doc: create, then destroy whatever happened.
class VolumeSnapshot {
 public:
  explicit VolumeSnapshot(const SnapshotConfig& config) : config_(config) {}
  ~VolumeSnapshot() {
    Status destroyed = Destroy();
    if (!destroyed.ok()) spdlog::error("{}", destroyed.message());
  }

  Status Create() {
    GB_RETURN_IF_ERROR(Run(config_.create, "snapshot create"));
    created_ = true;
    return Status::Ok();
  }
  Status Destroy() {
    if (!created_) return Status::Ok();
    created_ = false;
    if (config_.destroy.empty()) return Status::Ok();
    return Run(config_.destroy, "snapshot destroy");
  }

 private:
  static Status Run(const std::string& command, const std::string& what) {
    spdlog::info("running {} command: {}", what, command);
    SubprocessOptions options;
    options.argv = {"/bin/sh", "-c", command};
    options.timeout = std::chrono::minutes(30);
    GB_ASSIGN_OR_RETURN(ExitInfo exit, RunSubprocess(options));
    if (!exit.success())
      return Status::Failed("the " + what + " command failed: " + exit.Describe(),
                            "check [snapshot] in the config");
    return Status::Ok();
  }

  SnapshotConfig config_;
  bool created_ = false;
};

// The database half: a snapshot exported at the capture instant and a pg_dump of it
// streaming into the set on its own thread. With DSS running, the dump may start before
// the instant, beside the data dir's first pass: it is kept if the database did not move
// before DSS stopped (pg/database_mark.h), so that the stopped node's dump need not wait
// for the data dir, and otherwise given up for a new one.
class DatabaseCapture {
 public:
  ~DatabaseCapture() {
    if (dump_) dump_->Cancel();
    AllowDrain();
    if (pump_.joinable()) pump_.join();
  }

  Status Start(const CaptureRequest& request) {
    GB_RETURN_IF_ERROR(OpenSnapshot(request));
    return StartDump();
  }

  // Before DSS stops: the snapshot, its mark, and pg_dump streaming at once (in the
  // background, DSS running: pass 1 need not wait for pg_dump to hold the snapshot).
  Status StartBeforeStop(const CaptureRequest& request) {
    GB_RETURN_IF_ERROR(OpenSnapshot(request));
    // Before pg_dump starts: the sequences it will read must not have moved since.
    GB_ASSIGN_OR_RETURN(mark_, snapshot_->Mark());
    GB_RETURN_IF_ERROR(StartDump());
    started_before_stop_ = true;
    StartPump(/*wait_for_snapshot=*/true);
    AllowDrain();
    return Status::Ok();
  }

  // DSS stopped: whether the dump started before stands for the stopped node's database. A
  // failure to tell is a reason to dump again, not to fail the backup.
  bool StillCurrent() {
    if (!started_before_stop_) return false;
    {
      std::lock_guard<std::mutex> lock(drain_mutex_);
      if (pump_done_ && !pumped_.ok()) {
        spdlog::info("the database dump started while DSS ran failed ({}): dumping again",
                     pumped_.status().message());
        return false;
      }
    }
    Result<std::optional<std::string>> change =
        WhatChangedSince(*request_->context->database, *mark_);
    if (!change.ok()) {
      spdlog::info("cannot tell whether the database changed since DSS was stopped ({}): "
                   "dumping it again", change.status().message());
      return false;
    }
    if (change->has_value()) {
      spdlog::info("the database changed before DSS stopped ({}): dumping it again (if it "
                   "does every night, set [backup] dump_while_running = false)", **change);
      return false;
    }
    spdlog::info("the database did not change before DSS stopped: keeping the dump of "
                 "snapshot {}, started while DSS ran", snapshot_->id());
    return true;
  }

  // Once pg_dump holds the snapshot (and has locked the tables it dumps), DSS may run again;
  // its output then streams into the set on a thread of its own.
  Status Hold() {
    if (pump_.joinable()) return Status::Ok();
    GB_RETURN_IF_ERROR(dump_->WaitUntilSnapshotHeld().WithContext("pg_dump"));
    StartPump(/*wait_for_snapshot=*/false);
    return Status::Ok();
  }

  // pg_dump holds its snapshot while blocked on a full pipe, so its output can wait: while
  // DSS is down the cores go to the data dir, whose capture is what DSS waits for.
  void AllowDrain() { SetDrain(true); }
  void HoldBackDrain() { SetDrain(false); }

  // Row counts and content hashes as the snapshot saw them: read from the dump as it
  // streamed, else (an archive that could not be followed) asked of the server in the
  // snapshot, which is still exported; then the exporting transaction ends.
  void RecordTables() {
    Result<std::map<std::string, TableSummary>> tables = tables_.Finish();
    if (tables.ok()) {
      spdlog::info("row counts and content hashes of {} tables read from the dump", tables->size());
    } else {
      spdlog::info("{}: asking the server", tables.status().message());
      const auto started = std::chrono::steady_clock::now();
      tables = snapshot_->SummarizeTables();
      if (tables.ok())
        spdlog::info("row counts and content hashes of {} tables in {:.1f} s", tables->size(),
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
                         .count());
    }
    if (tables.ok()) {
      for (const auto& [table, summary] : *tables) {
        table_rows_[table] = summary.rows;
        table_hashes_[table] = summary.hash;
      }
    } else {
      spdlog::warn("row counts and table hashes not recorded: {}", tables.status().message());
    }
    snapshot_->Release();
  }

  Result<ManifestDatabase> Finish() {
    AllowDrain();
    if (!pump_.joinable()) return Status::Failed("internal error: the database half was never held");
    pump_.join();
    if (!pumped_.ok()) {
      upload_->Abort(pumped_.status());
      return pumped_.status();
    }
    GB_RETURN_IF_ERROR(upload_->Finish().status());
    RecordTables();
    const NodeContext& context = *request_->context;
    ManifestDatabase database;
    database.file = file_;
    database.sha256 = upload_->sha256_hex();
    database.encrypted = upload_->encrypted();
    database.bytes = upload_->stored_bytes();
    database.dump_bytes = upload_->input_bytes();
    database.dbname = context.database->dbname;
    database.schema = context.schema;
    database.server_version = request_->server->server_version;
    database.system_identifier = request_->server->system_identifier;
    database.pg_dump_version = request_->tools->pg_dump_version;
    database.table_rows = table_rows_;
    database.table_hashes = table_hashes_;
    dump_.reset();
    return database;
  }

 private:
  // Writes wait while the drain is held back: pg_dump then waits on its full pipe.
  class GatedSink : public ByteSink {
   public:
    GatedSink(ByteSink& inner, DatabaseCapture& capture) : inner_(inner), capture_(capture) {}
    Status Write(const void* data, size_t size) override {
      capture_.WaitUntilDrainAllowed();
      return inner_.Write(data, size);
    }

   private:
    ByteSink& inner_;
    DatabaseCapture& capture_;
  };

  Status OpenSnapshot(const CaptureRequest& request) {
    const NodeContext& context = *request.context;
    request_ = &request;
    file_ = Repository::DatabaseFileName(request.id);
    PairIdentity identity{request.id, request.pair_token, kRoleDatabase};
    GB_ASSIGN_OR_RETURN(upload_, HalfUpload::Start(*request.repository, request.id, file_,
                                                   HalfOptionsFor(context.config, identity)));
    GB_ASSIGN_OR_RETURN(snapshot_, ExportedSnapshot::Open(*context.database));
    return Status::Ok();
  }

  Status StartDump() {
    spdlog::info("database snapshot {} exported; starting pg_dump", snapshot_->id());
    GB_ASSIGN_OR_RETURN(dump_, PgDump::Start(*request_->tools, *request_->context->database,
                                             snapshot_->id()));
    return Status::Ok();
  }

  void StartPump(bool wait_for_snapshot) {
    pump_ = std::thread([this, wait_for_snapshot] {
      Result<uint64_t> pumped = uint64_t{0};
      Status held = wait_for_snapshot
                        ? dump_->WaitUntilSnapshotHeld().WithContext("pg_dump")
                        : Status::Ok();
      if (held.ok()) {
        InterruptibleSink sink(upload_->sink());
        SummarizingSink summarizing(sink, tables_);
        GatedSink gated(summarizing, *this);
        Progress* progress = request_->progress;
        pumped = dump_->PumpTo(gated, [progress](uint64_t done) {
          if (progress) progress->Set(1, done);
        });
      } else {
        pumped = held;
      }
      std::lock_guard<std::mutex> lock(drain_mutex_);
      pumped_ = std::move(pumped);
      pump_done_ = true;
    });
  }

  void SetDrain(bool allowed) {
    std::lock_guard<std::mutex> lock(drain_mutex_);
    drain_allowed_ = allowed;
    drain_changed_.notify_all();
  }

  void WaitUntilDrainAllowed() {
    std::unique_lock<std::mutex> lock(drain_mutex_);
    drain_changed_.wait(lock, [this] { return drain_allowed_; });
  }

  const CaptureRequest* request_ = nullptr;
  std::mutex drain_mutex_;
  std::condition_variable drain_changed_;
  bool drain_allowed_ = false;
  bool pump_done_ = false;          // pumped_ is final (under drain_mutex_)
  bool started_before_stop_ = false;
  std::optional<DatabaseMark> mark_;
  std::string file_;
  std::unique_ptr<HalfUpload> upload_;
  std::unique_ptr<ExportedSnapshot> snapshot_;
  std::unique_ptr<PgDump> dump_;
  std::thread pump_;
  Result<uint64_t> pumped_ = Status::Failed("pg_dump output was not read");
  DumpTableSummary tables_;
  std::map<std::string, uint64_t> table_rows_;
  std::map<std::string, std::string> table_hashes_;
};

}  // namespace

// One flat script of the capture's steps in the order DSS lives them (longer than a function
// should be: split, the DSS window would be harder to read).
Result<CaptureResult> CaptureHalves(const CaptureRequest& request) {
  const NodeContext& context = *request.context;
  const Consistency consistency = request.consistency;
  CaptureResult result;
  DssRestarter dss(context.dss, request.env, request.progress);
  std::unique_ptr<VolumeSnapshot> volume;
  auto database = std::make_unique<DatabaseCapture>();
  DatadirCapture datadir;
  std::string source = context.node.data_dir;

  // Step: offline with DSS running, the first pass reads the data dir while DSS still runs,
  // and pg_dump starts beside it on a snapshot of the running database.
  bool two_passes = false;
  if (consistency == Consistency::kOffline) {
    GB_ASSIGN_OR_RETURN(two_passes, dss.Running());
  }
  if (two_passes) {
    if (context.database && context.config.backup.dump_while_running)
      GB_RETURN_IF_ERROR(database->StartBeforeStop(request));
    GB_RETURN_IF_ERROR(datadir.Start(request, source, true));
    GB_RETURN_IF_ERROR(datadir.FirstPass());
  }
  GB_RETURN_IF_ERROR(CheckInterrupted());

  // Step: stop DSS, unless online; once no long task runs (DSS's own backup procedure).
  if (consistency != Consistency::kOnline) {
    if (request.task_wait) GB_RETURN_IF_ERROR(request.task_wait->WaitUntilIdle());
    GB_RETURN_IF_ERROR(dss.StopIfRunning(result.window));
  }
  GB_RETURN_IF_ERROR(CheckInterrupted());

  // Step: the atomic volume snapshot, when configured.
  if (consistency == Consistency::kSnapshot) {
    volume = std::make_unique<VolumeSnapshot>(context.config.snapshot);
    GB_RETURN_IF_ERROR(volume->Create());
    source = context.config.snapshot.path;
  }

  // Step: the database instant. The dump started while DSS ran stands for it if the database
  // did not move since; else (or with no such dump) a snapshot is exported now and pg_dump
  // starts on it. With two passes pg_dump takes hold of it while the second pass reads the
  // data dir (both with DSS down).
  if (context.database && !database->StillCurrent()) {
    database = std::make_unique<DatabaseCapture>();
    GB_RETURN_IF_ERROR(database->Start(request));
  }
  if (context.database && !two_passes) GB_RETURN_IF_ERROR(database->Hold());
  GB_RETURN_IF_ERROR(CheckInterrupted());

  // Step: with a volume snapshot, both halves are frozen already: DSS may run again.
  if (consistency == Consistency::kSnapshot) GB_RETURN_IF_ERROR(dss.StartAgain(result.window));
  // pg_dump's output waits only while DSS is down waiting for the data dir to be read, so
  // that the cores go to the archive; in every other case it drains at once.
  const bool dss_waits_for_datadir =
      consistency == Consistency::kOffline && result.window.dss_was_running;
  if (dss_waits_for_datadir) {
    database->HoldBackDrain();
  } else {
    database->AllowDrain();
  }

  // Step: the data dir: the second pass (what changed since the first), or the only one.
  if (two_passes) {
    GB_RETURN_IF_ERROR(datadir.SecondPass());
  } else {
    GB_RETURN_IF_ERROR(datadir.Start(request, source, false));
    GB_RETURN_IF_ERROR(datadir.FirstPass());
  }
  GB_RETURN_IF_ERROR(datadir.CloseArchive());
  if (context.database && two_passes) GB_RETURN_IF_ERROR(database->Hold());

  // Step: DSS back as soon as the data dir is captured; pg_dump and the index finish meanwhile.
  if (consistency == Consistency::kOffline) GB_RETURN_IF_ERROR(dss.StartAgain(result.window));
  database->AllowDrain();
  if (volume) GB_RETURN_IF_ERROR(volume->Destroy());
  GB_ASSIGN_OR_RETURN(result.datadir, datadir.Finish(result.index));
  if (result.datadir.encrypted) result.recipients = request.repository->keys()->recipient_texts();
  result.type = datadir.parent() ? SetType::kIncremental : SetType::kFull;
  result.parent = datadir.parent() ? datadir.parent()->id : std::string();

  // Step: the database half completes.
  if (context.database) {
    GB_ASSIGN_OR_RETURN(result.database, database->Finish());
  }
  GB_RETURN_IF_ERROR(CheckInterrupted());
  return result;
}

}  // namespace gb
