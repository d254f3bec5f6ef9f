// `govern-backup demo`: the main job on an embedded default. A throwaway PostgreSQL and a
// sample Govern node are backed up; the node is then changed and restored, showing both
// halves back as they were; the demo ends with `verify --deep` and `audit`.
// It is compiled into the executable, not the coordinator library: only the program links
// the sandbox (see CMakeLists.txt). As root, the sandbox announces on stderr each change it
// makes to the machine (a system user, o+x on a directory) before making it.
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <iostream>
#include <sstream>

#include <toml++/toml.h>

#include "coordinator/commands.h"
#include "coordinator/repository.h"
#include "datadir/dss_control.h"
#include "io/atomic_file.h"
#include "io/files.h"
#include "io/sha256.h"
#include "pg/server.h"
#include "sandbox/sample_govern_schema.h"
#include "sandbox/sample_node.h"
#include "sandbox/sql.h"
#include "sandbox/throwaway_cluster.h"

namespace gb {
namespace {

namespace fs = std::filesystem;

void Heading(const std::string& text) { std::cout << "\n== " << text << "\n" << std::flush; }

Result<std::string> MakeSandbox(const std::string& requested) {
  std::string dir = requested;
  if (dir.empty()) {
    GB_ASSIGN_OR_RETURN(dir,
                        MakeTempDir(fs::temp_directory_path().string(), "govern-backup-demo-"));
  } else {
    std::error_code error;
    fs::create_directories(dir, error);
    if (error) {
      return Status::Failed("cannot create demo directory " + dir + ": " + error.message());
    }
  }
  // The sample node's unprivileged DSS user must traverse it.
  if (::chmod(dir.c_str(), 0755) != 0) {
    return Status::FromErrno("cannot make the demo directory " + dir + " traversable (0755)", errno,
                             "choose another place with --dir");
  }
  return dir;
}

// Written with toml++ so that any path is quoted correctly.
std::string ConfigText(const SampleNode& node, const ThrowawayCluster& cluster,
                       const std::string& repository) {
  toml::table config{
      {"node", toml::table{{"data_dir", node.data_dir}}},
      // host, port, dbname and user come from the node's dip.properties.
      {"database", toml::table{{"password_file", cluster.password_file()},
                               {"pg_bin_dir", cluster.bin_dir()}}},
      {"repository", toml::table{{"path", repository}}},
  };
  std::ostringstream text;
  text << "# govern-backup demo configuration\n" << config << "\n";
  return text.str();
}

uint64_t TotalRows(const ConnectionParams& params) {
  Result<std::map<std::string, uint64_t>> rows = CountTableRows(params);
  uint64_t total = 0;
  if (rows.ok())
    for (const auto& [table, count] : *rows) total += count;
  return total;
}

std::string FileState(const std::string& path) {
  if (!fs::exists(path)) return "absent";
  Result<std::string> sha = Sha256::OfFile(path);
  return sha.ok() ? "sha256 " + sha->substr(0, 16) + "..." : "unreadable";
}

// Changes both halves of the node so the restore has something to undo.
Status ChangeNode(const SampleNode& node, const ConnectionParams& db, const std::string& changed_file,
                  const std::string& added_file) {
  GB_RETURN_IF_ERROR(WriteFileAtomically(changed_file, "{\"changed\": \"after the backup\"}\n", 0644));
  GB_RETURN_IF_ERROR(WriteFileAtomically(added_file, "made after the backup\n", 0644));
  return ExecuteSql(db,
                    "CREATE TABLE made_after_backup(id int);"
                    "INSERT INTO made_after_backup SELECT generate_series(1, 100);");
}

}  // namespace

// A script the admin reads as it prints: each step is one call and one line of output, in
// the order of the README's story (about 90 lines, kept whole so it reads top to bottom).
Status RunDemo(const GlobalOptions& global, const DemoOptions& options) {
  GB_ASSIGN_OR_RETURN(std::string sandbox, MakeSandbox(options.directory));
  std::cout << "govern-backup demo in " << sandbox << "\n";

  Heading("1. a throwaway PostgreSQL server with a Govern database");
  ThrowawayClusterOptions cluster_options;
  cluster_options.directory = sandbox + "/postgresql";
  cluster_options.keep = options.keep;
  GB_ASSIGN_OR_RETURN(auto cluster, ThrowawayCluster::Start(cluster_options));
  ConnectionParams db = cluster->GovernParams();
  GB_RETURN_IF_ERROR(LoadSampleGovernSchema(db, "", 4 << 20));
  std::cout << "PostgreSQL on 127.0.0.1:" << cluster->port() << ", database " << db.dbname
            << " (" << TotalRows(db) << " rows)\n";

  Heading("2. a sample Govern node (DSS running)");
  SampleNodeOptions node_options;
  node_options.root = sandbox + "/node";
  node_options.db_host = db.host;
  node_options.db_port = db.port;
  node_options.db_name = db.dbname;
  node_options.db_user = db.user;
  GB_ASSIGN_OR_RETURN(SampleNode node, GenerateSampleNode(node_options));
  std::string config_path = sandbox + "/config.toml";
  std::string repository = sandbox + "/repository";
  GB_RETURN_IF_ERROR(WriteFileAtomically(config_path, ConfigText(node, *cluster, repository), 0644));
  std::cout << "data dir " << node.data_dir << "\nconfig   " << config_path << "\n";

  GlobalOptions demo_global = global;
  demo_global.config_path = config_path;
  demo_global.json = false;

  Heading("3. govern-backup check");
  GB_RETURN_IF_ERROR(RunCheck(demo_global));

  Heading("4. govern-backup backup");
  GB_RETURN_IF_ERROR(RunBackup(demo_global, BackupOptions{}));
  GB_ASSIGN_OR_RETURN(auto sets, Repository::Local(repository)->CompleteSets());
  if (sets.empty()) return Status::Failed("the demo backup left no set");
  std::string id = sets.back().id;

  Heading("5. govern-backup show " + id);
  GB_RETURN_IF_ERROR(RunShow(demo_global, id));

  Heading("6. change the node after the backup: one file changed, one added, one table added");
  std::string changed_file = node.data_dir + "/config/general-settings.json";
  std::string added_file = node.data_dir + "/config/made-after-backup.txt";
  std::string file_before = FileState(changed_file);
  uint64_t rows_before = TotalRows(db);
  GB_RETURN_IF_ERROR(ChangeNode(node, db, changed_file, added_file));
  std::cout << "config/general-settings.json: " << file_before << " -> " << FileState(changed_file)
            << "\nconfig/made-after-backup.txt: " << FileState(added_file)
            << "\ndatabase rows: " << rows_before << " -> " << TotalRows(db) << "\n";

  Heading("7. govern-backup restore " + id + " --yes");
  RestoreOptions restore;
  restore.id = id;
  restore.yes = true;
  GB_RETURN_IF_ERROR(RunRestore(demo_global, restore));
  std::cout << "config/general-settings.json: " << FileState(changed_file)
            << (FileState(changed_file) == file_before ? "  (as at the backup)" : "  (DIFFERS!)")
            << "\nconfig/made-after-backup.txt: " << FileState(added_file)
            << "\ndatabase rows: " << TotalRows(db)
            << (TotalRows(db) == rows_before ? "  (as at the backup)" : "  (DIFFERS!)") << "\n";

  Heading("8. govern-backup verify --deep");
  VerifyOptions verify;
  verify.all = true;
  verify.deep = true;
  GB_RETURN_IF_ERROR(RunVerify(demo_global, verify));

  Heading("9. govern-backup audit");
  Status audited = RunAudit(demo_global, AuditOptions{});
  if (!audited.ok()) std::cout << "(audit reports the set-aside copies the restore kept)\n";

  if (options.keep) {
    Heading("kept for exploring");
    std::cout << "  export GOVERN_BACKUP_CONFIG=" << config_path << "\n"
              << "  govern-backup list; govern-backup verify --all; govern-backup audit\n"
              << "PostgreSQL keeps running on port " << cluster->port() << " (data in "
              << cluster->directory() << "); stop it with:\n"
              << "  " << cluster->bin_dir() << "/pg_ctl -D " << cluster->directory()
              << "/data stop   (as the postgres user when root)\n";
    return Status::Ok();
  }
  Heading("cleaning up");
  if (Result<DssControlOptions> dss = MakeDssControlOptions(node.data_dir, "", ""); dss.ok())
    (void)DssControl(*dss).Stop();
  (void)cluster->Discard();
  std::error_code error;
  fs::remove_all(sandbox, error);
  std::cout << "removed " << sandbox << " (run with --keep to explore it)\n";
  return Status::Ok();
}

}  // namespace gb
