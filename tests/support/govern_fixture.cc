#include "tests/support/govern_fixture.h"

#include <sys/stat.h>
#include <unistd.h>

#include <pqxx/pqxx>

#include <atomic>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "io/files.h"
#include "io/sha256.h"
#include "sandbox/sample_govern_schema.h"
#include "sandbox/throwaway_cluster.h"
#include "tests/support/wait.h"

namespace gb {
namespace testing {

namespace fs = std::filesystem;

namespace {

std::string MakeTempRoot() {
  Result<std::string> made = MakeTempDir(fs::temp_directory_path().string(), "gb-e2e-");
  if (!made.ok()) std::abort();
  ::chmod(made->c_str(), 0755);  // the unprivileged DSS user must traverse it
  return *made;
}

std::string UniqueDbName() {
  static std::atomic<int> counter{0};
  return "govern_t" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
}

}  // namespace

void GovernNodeTest::SetUp() {
  PgClusterTest::SetUp();
  root_ = MakeTempRoot();
  repo_ = root_ + "/repo";
  config_path_ = root_ + "/config.toml";
  dbname_ = UniqueDbName();
  db_ = FreshDatabase(dbname_);
  Status loaded = LoadSampleGovernSchema(db_, "", 256 * 1024);
  ASSERT_TRUE(loaded.ok()) << loaded.ToString();

  SampleNodeOptions options;
  options.root = root_ + "/node";
  options.db_host = db_.host;
  options.db_port = db_.port;
  options.db_name = dbname_;
  options.db_user = db_.user;
  options.small_files = 120;
  options.large_files = 2;
  options.large_file_bytes = 512 * 1024;
  options.start_running = true;
  Result<SampleNode> node = GenerateSampleNode(options);
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  node_ = *node;
  WriteConfig();
}

void GovernNodeTest::TearDown() {
  if (!node_.data_dir.empty()) {
    (void)RunDss("stop");
    (void)node_.KillSupervisor();  // in case a fault switch made bin/dss stop fail
  }
  // Restores leave data dirs beside the node and databases beside ours; both go.
  std::error_code error;
  fs::remove_all(root_, error);
  try {
    pqxx::connection admin(SharedCluster().SuperuserParams().WithDatabase("postgres").ConnectionString());
    pqxx::nontransaction work(admin);
    for (const auto& row : work.exec("SELECT datname FROM pg_database WHERE datname LIKE " +
                                     work.quote(dbname_ + "%")))
      work.exec("DROP DATABASE IF EXISTS " + work.quote_name(row[0].c_str()));
  } catch (const std::exception&) {
  }
}

Result<ExitInfo> GovernNodeTest::RunDss(const std::string& verb) {
  SubprocessOptions options;
  options.argv = {node_.data_dir + "/bin/dss", verb};
  if (::geteuid() == 0) {
    options.uid = node_.owner_uid;
    options.gid = node_.owner_gid;
  }
  options.timeout = std::chrono::seconds(30);
  return RunSubprocess(options);
}

void GovernNodeTest::WriteConfig(const std::string& extra_toml) {
  std::ofstream out(config_path_, std::ios::trunc);
  out << "[node]\n"
      << "data_dir = \"" << node_.data_dir << "\"\n\n"
      << "[database]\n"
      << "password_file = \"" << SharedCluster().password_file() << "\"\n"
      << "pg_bin_dir = \"" << SharedCluster().bin_dir() << "\"\n\n"
      << (repository_toml_.empty() ? "[repository]\npath = \"" + repo_ + "\"\n\n"
                                   : repository_toml_)
      << extra_toml << "\n";
}

CommandResult GovernNodeTest::Run(const std::vector<std::string>& args) {
  SubprocessOptions options;
  options.argv = {GOVERN_BACKUP_BINARY, "--config", config_path_};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  options.timeout = std::chrono::minutes(5);
  CommandResult result;
  Result<ExitInfo> exit = RunSubprocess(options);
  if (!exit.ok()) {
    result.err = exit.status().ToString();
    return result;
  }
  result.exit_code = exit->term_signal ? 128 + exit->term_signal : exit->exit_code;
  result.out = exit->stdout_text;
  result.err = exit->stderr_text;
  return result;
}

std::unique_ptr<Subprocess> GovernNodeTest::Start(const std::vector<std::string>& args) {
  SubprocessOptions options;
  options.argv = {GOVERN_BACKUP_BINARY, "--config", config_path_};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  options.timeout = std::chrono::minutes(5);
  Result<std::unique_ptr<Subprocess>> started = Subprocess::Start(options);
  if (!started.ok()) return nullptr;
  return std::move(started).value();
}

std::string GovernNodeTest::BackupOk(const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"backup"};
  args.insert(args.end(), extra.begin(), extra.end());
  CommandResult result = Run(args);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  last_backup_log_ = result.err;
  std::string id = result.out;
  while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
  return id;
}

std::string GovernNodeTest::BackupOkInItsOwnSecond(const std::vector<std::string>& extra) {
  std::string id = BackupOk(extra);
  const std::time_t done = std::time(nullptr);
  EXPECT_TRUE(WaitUntil([&] { return std::time(nullptr) > done; }, std::chrono::seconds(5)));
  return id;
}

std::vector<std::string> GovernNodeTest::SetIds() {
  std::vector<std::string> ids;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(repo_, error)) {
    std::string name = entry.path().filename().string();
    if (name[0] != '.') ids.push_back(name);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::map<std::string, std::string> GovernNodeTest::TreeDigest(
    const std::string& dir, const std::vector<std::string>& skip_top) {
  std::map<std::string, std::string> digest;
  std::error_code error;
  for (fs::recursive_directory_iterator it(dir, error), end; it != end; it.increment(error)) {
    // Lexically: fs::relative resolves symlinks, which would name a link by its target.
    std::string relative = it->path().lexically_relative(dir).string();
    std::string top = relative.substr(0, relative.find('/'));
    if (std::find(skip_top.begin(), skip_top.end(), top) != skip_top.end()) {
      if (it->is_directory() && !it->is_symlink()) it.disable_recursion_pending();
      continue;
    }
    struct stat info {};
    if (::lstat(it->path().c_str(), &info) != 0) continue;
    std::string line = "mode=" + std::to_string(info.st_mode) + " uid=" + std::to_string(info.st_uid) +
                       " gid=" + std::to_string(info.st_gid);
    if (S_ISREG(info.st_mode)) {
      Result<std::string> sha = Sha256::OfFile(it->path().string());
      line += " size=" + std::to_string(info.st_size) + " mtime=" + std::to_string(info.st_mtime) +
              " sha=" + (sha.ok() ? *sha : "?") + " links=" + std::to_string(info.st_nlink);
    } else if (S_ISLNK(info.st_mode)) {
      line += " -> " + fs::read_symlink(it->path(), error).string();
    }
    digest[relative] = line;
  }
  return digest;
}

std::map<std::string, std::string> GovernNodeTest::DatabaseDigest(const ConnectionParams& params) {
  std::map<std::string, std::string> digest;
  pqxx::connection connection(params.ConnectionString());
  pqxx::work work(connection);
  auto tables = work.exec(
      "SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN "
      "('pg_catalog','information_schema') ORDER BY 1, 2");
  for (const auto& row : tables) {
    std::string name = work.quote_name(row[0].c_str()) + "." + work.quote_name(row[1].c_str());
    auto result = work.exec1("SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM " +
                             name + " t");
    digest[std::string(row[0].c_str()) + "." + row[1].c_str()] =
        std::string(result[0].c_str()) + ":" + result[1].c_str();
  }
  return digest;
}

void GovernNodeTest::Sql(const ConnectionParams& params, const std::string& sql) {
  pqxx::connection connection(params.ConnectionString());
  pqxx::work work(connection);
  work.exec(sql);
  work.commit();
}

}  // namespace testing
}  // namespace gb
