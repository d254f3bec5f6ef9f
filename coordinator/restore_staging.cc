#include "coordinator/restore_staging.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <thread>
#include <utility>
#include <vector>

#include "coordinator/half_stream.h"
#include "coordinator/interrupt.h"
#include "coordinator/restore_marker.h"
#include "coordinator/set_tree.h"
#include "datadir/archive_reader.h"
#include "datadir/tree_stats.h"
#include "pg/dump.h"
#include "io/text.h"
#include "pg/server.h"

namespace gb {
namespace {

namespace fs = std::filesystem;

// Counts decompressed bytes for the progress line and stops at a signal.
class WatchedSource : public ByteSource {
 public:
  WatchedSource(ByteSource& inner, Progress* progress, int stream)
      : inner_(inner), progress_(progress), stream_(stream) {}

  Result<size_t> Read(void* buffer, size_t capacity) override {
    GB_RETURN_IF_ERROR(CheckInterrupted());
    GB_ASSIGN_OR_RETURN(size_t n, inner_.Read(buffer, capacity));
    done_ += n;
    if (progress_ != nullptr) progress_->Set(stream_, done_);
    return n;
  }

 private:
  ByteSource& inner_;
  Progress* progress_;
  int stream_;
  uint64_t done_ = 0;
};

// Reads what the consumer left unread (padding, a tail pg_restore did not need), then checks
// that the file read is the one the pre-flight checked: it could have changed since.
Status CheckReadThrough(ZstdReader& reader, const std::string& path,
                        const std::string& expected_sha256) {
  std::vector<char> buffer(1 << 16);
  for (;;) {
    GB_ASSIGN_OR_RETURN(size_t n, reader.Read(buffer.data(), buffer.size()));
    if (n == 0) break;
  }
  if (reader.sha256_hex() != expected_sha256)
    return Status::Failed(path + " changed since the pre-flight check (SHA-256 " +
                              reader.sha256_hex() + ", manifest " + expected_sha256 + ")",
                          "something else is writing to the repository; run the restore again");
  return Status::Ok();
}

// The staged root takes the live root's mode and owner (a new one: 0755, owned like the
// files inside it), as the DSS user must be able to write there.
Status SetRootModeAndOwner(const RestorePlan& plan, const std::string& dir) {
  std::optional<uid_t> uid = plan.target_uid;
  std::optional<gid_t> gid = plan.target_gid;
  if (!uid) {
    struct stat inside {};
    if (::lstat((dir + "/dss-version.json").c_str(), &inside) == 0) {
      uid = inside.st_uid;
      gid = inside.st_gid;
    }
  }
  if (uid && ::geteuid() == 0 && ::lchown(dir.c_str(), *uid, *gid) != 0)
    return Status::FromErrno("cannot set the owner of " + dir, errno);
  if (::chmod(dir.c_str(), plan.target_mode) != 0)
    return Status::FromErrno("cannot set the mode of " + dir, errno);
  return Status::Ok();
}

RestoredFromMarker MarkerFor(const RestorePlan& plan, TimePoint restored_at) {
  const Manifest& manifest = plan.manifest;
  return RestoredFromMarker{manifest.id, manifest.pair_token, restored_at, manifest.node.data_dir,
                            manifest.node.dss_version,
                            plan.has_database ? plan.database.dbname : std::string()};
}

// The data dir of a format-2 set, from its index: each file from the set of the chain that
// holds it (set_tree.h), checked against the index on its way to the disk.
Status ExtractFromIndex(const RestorePlan& plan, Progress* progress, ArchiveScan* scan) {
  // The chain the pre-flight checked, not one read again: what was checked is what is staged.
  const std::vector<Manifest>& chain = plan.chain;
  if (chain.empty() || chain.back().id != plan.manifest.id)
    return Status::Failed("internal error: restore of set " + plan.manifest.id +
                          " staged without its checked chain");
  SetTreeOptions options;
  options.destination = plan.staging_dir;
  options.restore_owners = true;
  options.on_progress = [progress](uint64_t done) {
    if (progress != nullptr) progress->Set(0, done);
    return CheckInterrupted();
  };
  GB_ASSIGN_OR_RETURN(SetTree tree, MaterialiseSetTree(*plan.repository, chain, options));
  if (tree.holders.size() > 1)
    spdlog::info("files read from {} sets of the chain: {}", tree.holders.size(),
                 Join(tree.holders, ", "));
  scan->entries = tree.entries;
  scan->source_bytes = tree.file_bytes;
  return Status::Ok();
}

// The data dir of a set without an index (0.1.0): its one stream extracted, then checked
// against the manifest: every byte of the half read (its SHA-256), entries and bytes.
Status ExtractStream(const RestorePlan& plan, Progress* progress, ArchiveScan* scan) {
  const ManifestDatadir& expected = plan.manifest.datadir;
  GB_ASSIGN_OR_RETURN(auto reader,
                      OpenHalf(*plan.repository, plan.manifest.id, expected.file));
  WatchedSource source(*reader, progress, 0);
  ExtractOptions options;
  options.destination = plan.staging_dir;
  options.restore_owners = true;
  GB_ASSIGN_OR_RETURN(*scan, ExtractArchive(source, options));
  GB_RETURN_IF_ERROR(CheckReadThrough(*reader, plan.datadir_file, expected.sha256));
  if (scan->entries != expected.files || scan->source_bytes != expected.source_bytes)
    return Status::Failed("the archive " + plan.datadir_file + " held " +
                          std::to_string(scan->entries) + " entries and " +
                          std::to_string(scan->source_bytes) + " bytes; the manifest says " +
                          std::to_string(expected.files) + " and " +
                          std::to_string(expected.source_bytes));
  return Status::Ok();
}

Status StageDataDir(const RestorePlan& plan, Env* env, Progress* progress, ArchiveScan* scan,
                    bool* created) {
  GB_RETURN_IF_ERROR(env->CreateDirectory(plan.staging_dir, 0700));
  *created = true;
  spdlog::info("extracting {} into {}", plan.datadir_file, plan.staging_dir);
  Status extracted = HasSetTree(plan.manifest) ? ExtractFromIndex(plan, progress, scan)
                                               : ExtractStream(plan, progress, scan);
  // The pre-flight refuses an unsafe archive (exit 4); caught only now, it is still a refusal.
  if (IsUnsafeArchive(extracted)) return extracted.WithCode(Code::kRefused);
  GB_RETURN_IF_ERROR(extracted);

  // What is on disk now, against what was extracted.
  GB_ASSIGN_OR_RETURN(TreeStats staged, MeasureDataDir(plan.staging_dir));
  if (staged.entries != scan->entries || staged.bytes != scan->source_bytes)
    return Status::Failed("the staged data dir " + plan.staging_dir + " holds " +
                          std::to_string(staged.entries) + " entries and " +
                          std::to_string(staged.bytes) + " bytes; the set holds " +
                          std::to_string(scan->entries) + " and " +
                          std::to_string(scan->source_bytes));
  GB_RETURN_IF_ERROR(SetRootModeAndOwner(plan, plan.staging_dir));
  GB_RETURN_IF_ERROR(
      WriteRestoredFromMarker(plan.staging_dir, MarkerFor(plan, env->Now()), env));
  spdlog::info("data dir staged: {} entries, {}", staged.entries, FormatBytes(staged.bytes));
  return Status::Ok();
}

Status StageDatabase(const RestorePlan& plan, Progress* progress, bool* created) {
  const ManifestDatabase& expected = *plan.manifest.database;
  GB_RETURN_IF_ERROR(CreateDatabase(plan.database, plan.staging_db, plan.database.user));
  *created = true;
  const ConnectionParams staging = plan.database.WithDatabase(plan.staging_db);
  spdlog::info("restoring {} into database {}", plan.database_file, plan.staging_db);
  GB_ASSIGN_OR_RETURN(auto reader,
                      OpenHalf(*plan.repository, plan.manifest.id, expected.file));
  WatchedSource source(*reader, progress, 1);
  GB_RETURN_IF_ERROR(RestoreDump(plan.tools, staging, source));
  GB_RETURN_IF_ERROR(CheckReadThrough(*reader, plan.database_file, expected.sha256));

  if (!expected.table_rows.empty()) {
    GB_ASSIGN_OR_RETURN(auto rows, CountTableRows(staging));
    for (const auto& [table, count] : expected.table_rows) {
      auto found = rows.find(table);
      uint64_t staged = found == rows.end() ? 0 : found->second;
      if (found == rows.end() || staged != count)
        return Status::Failed("table " + table + " of the staging database " + plan.staging_db +
                              " has " + (found == rows.end() ? std::string("no rows table")
                                                             : std::to_string(staged) + " rows") +
                              "; the manifest recorded " + std::to_string(count));
    }
  }
  spdlog::info("database staged: {}", plan.staging_db);
  return Status::Ok();
}

}  // namespace

Result<StagedHalves> StageHalves(const RestorePlan& plan, Env* env, Progress* progress) {
  StagedHalves staged;
  bool dir_created = false;
  bool db_created = false;
  Status datadir_status;
  Status database_status;

  // Both halves at once: the extraction is disk- and zstd-bound, pg_restore server-bound.
  std::thread database_thread;
  if (plan.has_database)
    database_thread = std::thread(
        [&] { database_status = StageDatabase(plan, progress, &db_created); });
  datadir_status = StageDataDir(plan, env, progress, &staged.scan, &dir_created);
  if (database_thread.joinable()) database_thread.join();

  Status failed = !datadir_status.ok() ? datadir_status : database_status;
  if (!failed.ok()) {
    if (!datadir_status.ok() && !database_status.ok())
      spdlog::error("staging the database failed too: {}", database_status.message());
    if (dir_created) {
      Status removed = env->RemoveAll(plan.staging_dir);
      if (!removed.ok()) spdlog::error("{}", removed.message());
    }
    if (db_created) {
      Status dropped = DropDatabase(plan.database, plan.staging_db);
      if (!dropped.ok()) spdlog::error("{}", dropped.message());
    }
    return Status::Failed("staging set " + plan.manifest.id + " failed: " + failed.message() +
                              "; the staged copies were removed and nothing live was touched",
                          failed.hint());
  }
  staged.dir = plan.staging_dir;
  if (plan.has_database) staged.database = plan.staging_db;
  return staged;
}

Status DiscardStaged(const RestorePlan& plan, Env* env) {
  Status removed = env->RemoveAll(plan.staging_dir);
  Status dropped = plan.has_database ? DropDatabase(plan.database, plan.staging_db) : Status::Ok();
  return !removed.ok() ? removed : dropped;
}

}  // namespace gb
