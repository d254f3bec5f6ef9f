#include "coordinator/audit_node.h"

#include <sys/stat.h>

#include <spdlog/spdlog.h>

#include <filesystem>

#include "coordinator/format_bytes.h"
#include "coordinator/node_context.h"
#include "coordinator/restore_marker.h"
#include "datadir/dss_control.h"
#include "datadir/node.h"
#include "pg/server.h"

namespace gb {
namespace {

namespace fs = std::filesystem;

class LiveNodeChecks : private FindingList {
 public:
  explicit LiveNodeChecks(const LiveNodeAudit& audit)
      : config_(*audit.config), newest_(audit.newest), sets_(*audit.sets),
        running_(audit.running), backup_leftover_(audit.backup_leftover), now_(audit.now) {}

  std::vector<Finding> Run() {
    CheckLiveNode();
    return std::move(findings_);
  }

 private:
  std::string AgeAndSize(const std::string& path) const { return PathAgeAndSize(path, now_); }

  // Step: the live node against the newest set.
  void CheckLiveNode() {
    const std::string& data_dir = config_.node.data_dir;
    if (data_dir.empty() || !LooksLikeDataDir(data_dir)) {
      Note("node", "not checked: " + data_dir + " is not a DSS data dir on this machine");
      return;
    }
    Result<DssNode> node = DiscoverNode(data_dir);
    if (!node.ok()) {
      Add("node", "cannot read the live node: " + node.status().message(), node.status().hint());
      return;
    }
    const Manifest* newest = newest_;
    if (newest) {
      int compared = CompareDssVersions(node->dss_version, newest->node.dss_version);
      if (compared > 0)
        Add("node",
            "node upgraded since the last backup: DSS " + node->dss_version + ", the newest set " +
                newest->id + " has " + newest->node.dss_version,
            "take a new backup now: older sets restore only onto the older DSS version");
      else if (compared < 0)
        Add("node",
            "the live node runs DSS " + node->dss_version + ", older than the newest set " + newest->id +
                " (" + newest->node.dss_version + ")",
            "was the node downgraded or restored from an older set? take a new backup now");
    }
    CheckDss(*node);
    CheckDatabase(*node, newest);
    CheckRestoreLeftovers(data_dir);
    ReadRestoredFrom(data_dir);
  }

  void CheckDss(const DssNode& node) {
    if (!backup_leftover_) return;  // only an interrupted backup leaves DSS stopped by us
    Result<DssControlOptions> control =
        MakeDssControlOptions(config_.node.data_dir, config_.node.dss_command, config_.node.dss_user);
    if (!control.ok()) return;
    Result<DssState> state = DssControl(*control).Query();
    if (state.ok() && *state == DssState::kStopped)
      Add("node", "DSS is stopped and a backup was interrupted: it may have stopped DSS",
          "start DSS: " + control->dss_command + " start");
  }

  void CheckDatabase(const DssNode& node, const Manifest* newest) {
    std::optional<ConnectionParams> params = ResolveDatabase(config_, node, nullptr);
    if (!params) return;
    Result<ServerIdentity> server = ReadServerIdentity(*params);
    if (!server.ok()) {
      Add("database", "cannot reach the node's database: " + server.status().message(),
          server.status().hint().empty() ? "check that PostgreSQL runs" : server.status().hint());
      return;
    }
    if (newest && newest->database) {
      if (newest->database->dbname != params->dbname)
        Add("database",
            "the node's database is now \"" + params->dbname + "\", the newest set " + newest->id +
                " has \"" + newest->database->dbname + "\"",
            "take a new backup now");
      if (!server->system_identifier.empty() && !newest->database->system_identifier.empty() &&
          server->system_identifier != newest->database->system_identifier)
        Add("database",
            "the database server changed since the last backup: system identifier " +
                server->system_identifier + ", the newest set " + newest->id + " has " +
                newest->database->system_identifier,
            "take a new backup now");
    }
    ListScratchDatabases(*params);
  }

  // Databases left by an interrupted restore (<dbname>_restore_*) or verify --deep
  // (<dbname>_verify_*); the asides of finished restores (<dbname>_pre_restore_*) are noted.
  void ListScratchDatabases(const ConnectionParams& params) {
    for (const char* kind : {"_restore_", "_verify_", "_pre_restore_"}) {
      Result<std::vector<DatabaseSize>> databases = DatabasesWithPrefix(params, params.dbname + kind);
      if (!databases.ok()) {
        spdlog::debug("scratch databases not listed: {}", databases.status().message());
        return;
      }
      for (const DatabaseSize& database : *databases) {
        if (std::string(kind) == "_pre_restore_") {  // kept on purpose by a finished restore
          Note("database", "the database replaced by a restore is kept as " + database.name + " (" +
                               FormatBytes(database.bytes) + "); drop it when the restored node is fine");
          continue;
        }
        bool restore = std::string(kind) == "_restore_";
        if (running_ && restore && running_->operation == LockOperation::kRestore) {
          Note("database", "database " + database.name + " is in use by " + running_->Describe());
          continue;
        }
        Add("database",
            "database " + database.name + " is the leftover of an interrupted " +
                (restore ? "restore" : "verify --deep") + " (" + FormatBytes(database.bytes) + ")",
            "drop it: dropdb " + database.name);
      }
    }
  }

  // Staging directories of interrupted restores beside the data dir; the asides a finished
  // restore kept on purpose are only noted.
  void CheckRestoreLeftovers(const std::string& data_dir) {
    fs::path live(data_dir);
    while (live.has_parent_path() && live.filename().empty()) live = live.parent_path();
    std::string base = live.filename().string();
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(live.parent_path(), error)) {
      std::string name = entry.path().filename().string();
      std::string path = entry.path().string();
      if (name.rfind(base + ".restore-", 0) == 0) {
        if (running_ && running_->operation == LockOperation::kRestore) {
          Note(path, "in use by " + running_->Describe());
          continue;
        }
        Add(path, "leftover of an interrupted restore: " + path + " (" + AgeAndSize(path) + ")",
            "no restore is running: remove it (rm -rf " + path + ")");
      } else if (name.rfind(base + ".pre-restore-", 0) == 0) {
        Note("data dir", "the data dir replaced by a restore is kept as " + path + " (" +
                             AgeAndSize(path) + "); remove it when the restored node is fine");
      }
    }
  }

  void ReadRestoredFrom(const std::string& data_dir) {
    Result<std::optional<RestoredFromMarker>> read = ReadRestoredFromMarker(data_dir);
    if (!read.ok()) {
      Note("node", read.status().message());
      return;
    }
    if (!read->has_value()) return;
    const RestoredFromMarker& marker = **read;
    std::string note = "the live node was restored from set " + marker.id + " at " +
                       FormatRfc3339(marker.restored_at);
    const SetEntry* found = nullptr;
    for (const auto& set : sets_)
      if (set.id == marker.id) found = &set;
    if (!found || !found->has_manifest)
      note += " (that set is no longer in the repository)";
    else if (found->manifest.ok() && found->manifest->pair_token != marker.pair_token)
      note += " (but the set of that id in this repository has another pair token)";
    Note("node", note);
  }


  const Config& config_;
  const Manifest* newest_;
  const std::vector<SetEntry>& sets_;
  const std::optional<LockHolder> running_;
  const bool backup_leftover_;
  const TimePoint now_;
};

}  // namespace

std::vector<Finding> AuditLiveNode(const LiveNodeAudit& audit) { return LiveNodeChecks(audit).Run(); }

std::string PathAgeAndSize(const std::string& path, TimePoint now) {
  struct stat info {};
  std::string age = "?";
  if (::lstat(path.c_str(), &info) == 0)
    age = FormatAge(std::chrono::duration_cast<std::chrono::seconds>(
        now - std::chrono::system_clock::from_time_t(info.st_mtime)));
  return "age " + age + ", " + FormatBytes(TreeBytes(path));
}

}  // namespace gb
