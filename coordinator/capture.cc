#include "coordinator/capture.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <memory>
#include <thread>

#include "coordinator/half_stream.h"
#include "coordinator/interrupt.h"
#include "coordinator/pair_identity.h"
#include "coordinator/repository.h"
#include "datadir/archive_writer.h"
#include "datadir/dss_control.h"
#include "datadir/file_index.h"
#include "io/subprocess.h"
#include "pg/dump.h"
#include "pg/snapshot.h"

namespace gb {
namespace {

HalfOptions WriterOptions(const Config& config, const PairIdentity& identity) {
  HalfOptions options;
  options.level = config.backup.compression_level;
  options.threads = config.backup.threads;
  options.identity = identity.ToText();
  return options;
}

// Stops DSS if it runs, and starts it again: explicitly on the happy path, or when this
// object goes away after a failure, so that DSS always comes back.
class DssRestarter {
 public:
  DssRestarter(const DssControlOptions& options, Env* env) : dss_(options), env_(env) {}
  ~DssRestarter() {
    if (!stopped_by_us_) return;
    spdlog::warn("starting DSS again after the failed backup");
    Status started = dss_.Start();
    if (!started.ok())
      spdlog::error("DSS did not start again: {} (start it by hand: {} start)",
                    started.message(), dss_.options().dss_command);
  }

  Status StopIfRunning(ManifestWindow& window) {
    GB_ASSIGN_OR_RETURN(DssState state, dss_.Query());
    window.dss_was_running = state == DssState::kRunning;
    if (!window.dss_was_running) {
      spdlog::info("DSS is stopped: capturing without stopping it");
      return Status::Ok();
    }
    spdlog::info("stopping DSS");
    GB_RETURN_IF_ERROR(dss_.Stop().WithContext("stopping DSS"));
    stopped_by_us_ = true;
    stopped_at_ = std::chrono::steady_clock::now();
    window.dss_stopped_at = env_->Now();
    return Status::Ok();
  }

  Status StartAgain(ManifestWindow& window) {
    if (!stopped_by_us_) return Status::Ok();
    spdlog::info("starting DSS again");
    stopped_by_us_ = false;  // one attempt; a failure is reported, not retried at exit
    GB_RETURN_IF_ERROR(dss_.Start().WithContext("starting DSS again"));
    window.dss_started_at = env_->Now();
    window.downtime_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - stopped_at_).count();
    return Status::Ok();
  }

 private:
  DssControl dss_;
  Env* env_;
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
// streaming into the set on its own thread.
class DatabaseCapture {
 public:
  ~DatabaseCapture() {
    if (dump_) dump_->Cancel();
    AllowDrain();
    if (pump_.joinable()) pump_.join();
  }

  Status Start(const CaptureRequest& request) {
    const NodeContext& context = *request.context;
    request_ = &request;
    file_ = Repository::DatabaseFileName(request.id);
    PairIdentity identity{request.id, request.pair_token, kRoleDatabase};
    GB_ASSIGN_OR_RETURN(upload_, HalfUpload::Start(*request.repository, request.id, file_,
                                                   WriterOptions(context.config, identity)));
    GB_ASSIGN_OR_RETURN(snapshot_, ExportedSnapshot::Open(*context.database));
    spdlog::info("database snapshot {} exported; starting pg_dump", snapshot_->id());
    GB_ASSIGN_OR_RETURN(dump_, PgDump::Start(*request.tools, *context.database, snapshot_->id()));
    GB_RETURN_IF_ERROR(dump_->WaitUntilSnapshotHeld().WithContext("pg_dump"));
    pump_ = std::thread([this] {
      WaitUntilDrainAllowed();
      InterruptibleSink sink(upload_->sink());
      Progress* progress = request_->progress;
      pumped_ = dump_->PumpTo(sink, [progress](uint64_t done) {
        if (progress) progress->Set(1, done);
      });
    });
    return Status::Ok();
  }

  // pg_dump holds its snapshot while blocked on a full pipe, so its output can wait: while
  // DSS is down the cores go to the data dir, whose capture is what DSS waits for.
  void AllowDrain() {
    std::lock_guard<std::mutex> lock(drain_mutex_);
    drain_allowed_ = true;
    drain_changed_.notify_all();
  }

  // Row counts and content hashes as the snapshot saw them, taken while pg_dump runs; then
  // the exporting transaction ends (pg_dump keeps its own).
  void CountRows() {
    Result<std::map<std::string, TableSummary>> tables = snapshot_->SummarizeTables();
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
    pump_.join();
    if (!pumped_.ok()) {
      upload_->Abort(pumped_.status());
      return pumped_.status();
    }
    GB_RETURN_IF_ERROR(upload_->Finish().status());
    const NodeContext& context = *request_->context;
    ManifestDatabase database;
    database.file = file_;
    database.sha256 = upload_->sha256_hex();
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
  void WaitUntilDrainAllowed() {
    std::unique_lock<std::mutex> lock(drain_mutex_);
    drain_changed_.wait(lock, [this] { return drain_allowed_; });
  }

  const CaptureRequest* request_ = nullptr;
  std::mutex drain_mutex_;
  std::condition_variable drain_changed_;
  bool drain_allowed_ = false;
  std::string file_;
  std::unique_ptr<HalfUpload> upload_;
  std::unique_ptr<ExportedSnapshot> snapshot_;
  std::unique_ptr<PgDump> dump_;
  std::thread pump_;
  Result<uint64_t> pumped_ = Status::Failed("pg_dump output was not read");
  std::map<std::string, uint64_t> table_rows_;
  std::map<std::string, std::string> table_hashes_;
};

// The set's per-file index, streamed into its own object while the data dir is archived.
class IndexCapture {
 public:
  Status Start(const CaptureRequest& request, const PairIdentity& identity) {
    set_id_ = request.id;
    file_ = request.id + kFileIndexSuffix;
    GB_ASSIGN_OR_RETURN(upload_, HalfUpload::Start(*request.repository, request.id, file_,
                                                   WriterOptions(request.context->config,
                                                                 identity)));
    writer_ = std::make_unique<FileIndexWriter>(upload_->sink());
    return Status::Ok();
  }
  Status Add(FileIndexEntry member) {
    member.set_id = set_id_;
    return writer_->Add(member);
  }
  void Abort(const Status& why) { upload_->Abort(why); }
  Result<ManifestIndex> Finish() {
    GB_RETURN_IF_ERROR(upload_->Finish().status());
    return ManifestIndex{file_, upload_->sha256_hex(), upload_->stored_bytes(),
                         writer_->entries()};
  }

 private:
  std::string set_id_;
  std::string file_;
  std::unique_ptr<HalfUpload> upload_;
  std::unique_ptr<FileIndexWriter> writer_;
};

// The data-dir half, seekable, and its index.
Result<ManifestDatadir> ArchiveDatadir(const CaptureRequest& request, const std::string& source,
                                       std::optional<ManifestIndex>& index_out) {
  const Config& config = request.context->config;
  ManifestDatadir datadir;
  datadir.file = Repository::DatadirFileName(request.id);
  datadir.seekable = true;
  PairIdentity identity{request.id, request.pair_token, kRoleDatadir};
  HalfOptions half_options = WriterOptions(config, identity);
  half_options.seekable = true;
  GB_ASSIGN_OR_RETURN(auto upload, HalfUpload::Start(*request.repository, request.id, datadir.file,
                                                     half_options));
  IndexCapture index;
  Status index_started = index.Start(request, identity);
  if (!index_started.ok()) {
    upload->Abort(index_started);
    return index_started;
  }
  InterruptibleSink sink(upload->sink());
  ArchiveWriteOptions options;
  options.source_dir = source;
  options.exclude = config.backup.exclude;
  options.pair_member = identity.ToText();
  options.online = request.consistency == Consistency::kOnline;
  Progress* progress = request.progress;
  options.progress = [progress](uint64_t done) {
    if (progress) progress->Set(0, done);
  };
  HalfUpload* half = upload.get();
  options.on_member = [half, &index](const FileIndexEntry& member) {
    GB_RETURN_IF_ERROR(index.Add(member));
    return half->MaybeCutFrame();
  };
  spdlog::info("archiving {}", source);
  Result<ArchiveWriteStats> archived = WriteDataDirArchive(options, sink);
  if (!archived.ok()) {
    upload->Abort(archived.status());
    index.Abort(archived.status());
    return archived.status();
  }
  const ArchiveWriteStats& stats = *archived;
  Status stored = upload->Finish().status();
  if (!stored.ok()) {
    index.Abort(stored);
    return stored;
  }
  GB_ASSIGN_OR_RETURN(index_out, index.Finish());
  datadir.sha256 = upload->sha256_hex();
  datadir.bytes = upload->stored_bytes();
  datadir.files = stats.entries;
  datadir.source_bytes = stats.source_bytes;
  datadir.excluded = config.backup.exclude;
  datadir.changed_while_read = stats.changed_while_read;
  datadir.vanished_while_read = stats.vanished_while_read;
  for (const auto& path : stats.changed_while_read)
    spdlog::warn("online backup: {} changed while it was read", path);
  for (const auto& path : stats.vanished_while_read)
    spdlog::warn("online backup: {} vanished while it was read", path);
  return datadir;
}

}  // namespace

Result<CaptureResult> CaptureHalves(const CaptureRequest& request) {
  const NodeContext& context = *request.context;
  const Consistency consistency = request.consistency;
  CaptureResult result;
  DssRestarter dss(context.dss, request.env);
  std::unique_ptr<VolumeSnapshot> volume;
  DatabaseCapture database;
  std::string source = context.node.data_dir;

  // Step: stop DSS, unless online.
  if (consistency != Consistency::kOnline) GB_RETURN_IF_ERROR(dss.StopIfRunning(result.window));
  GB_RETURN_IF_ERROR(CheckInterrupted());

  // Step: the atomic volume snapshot, when configured.
  if (consistency == Consistency::kSnapshot) {
    volume = std::make_unique<VolumeSnapshot>(context.config.snapshot);
    GB_RETURN_IF_ERROR(volume->Create());
    source = context.config.snapshot.path;
  }

  // Step: the database instant: export a snapshot and let pg_dump take hold of it.
  if (context.database) GB_RETURN_IF_ERROR(database.Start(request));
  GB_RETURN_IF_ERROR(CheckInterrupted());

  // Step: with a volume snapshot, both halves are frozen already: DSS may run again.
  if (consistency == Consistency::kSnapshot) GB_RETURN_IF_ERROR(dss.StartAgain(result.window));
  // pg_dump's output waits (AllowDrain) only while DSS is down waiting for the data dir to
  // be read, so that the cores go to the archive; in every other case it drains at once.
  const bool dss_waits_for_datadir =
      consistency == Consistency::kOffline && result.window.dss_was_running;
  if (!dss_waits_for_datadir) database.AllowDrain();

  // Step: the data-dir half, in one pass.
  GB_ASSIGN_OR_RETURN(result.datadir, ArchiveDatadir(request, source, result.index));

  // Step: DSS back as soon as the data dir is captured; pg_dump finishes meanwhile.
  if (consistency == Consistency::kOffline) GB_RETURN_IF_ERROR(dss.StartAgain(result.window));
  database.AllowDrain();
  if (volume) GB_RETURN_IF_ERROR(volume->Destroy());

  // Step: the database half completes.
  if (context.database) {
    database.CountRows();
    GB_ASSIGN_OR_RETURN(result.database, database.Finish());
  }
  GB_RETURN_IF_ERROR(CheckInterrupted());
  return result;
}

}  // namespace gb
