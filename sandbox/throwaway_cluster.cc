#include "sandbox/throwaway_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <vector>

#include <pqxx/pqxx>

#include "io/files.h"
#include "io/subprocess.h"
#include "pg/pq_session.h"
#include "sandbox/system_changes.h"

namespace gb {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSuperuser = "postgres";
constexpr const char* kServerAccount = "postgres";
constexpr int kStartAttempts = 5;

// Variables of our own environment that would point initdb, pg_ctl or psql elsewhere.
const std::vector<std::string> kForeignPgVariables = {
    "PGDATA", "PGHOST", "PGHOSTADDR", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSFILE",
    "PGPASSWORD", "PGSERVICE", "PGSERVICEFILE", "PGOPTIONS", "PGSSLMODE"};

// The newest /usr/lib/postgresql/<N>/bin holding initdb.
Result<std::string> NewestServerBinDir() {
  int newest = -1;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", error)) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos || name.empty()) continue;
    if (fs::exists(entry.path() / "bin" / "initdb")) newest = std::max(newest, std::stoi(name));
  }
  if (newest < 0) {
    return Status::Failed("no PostgreSQL server found under /usr/lib/postgresql",
                          "install postgresql-15");
  }
  return "/usr/lib/postgresql/" + std::to_string(newest) + "/bin";
}

Result<int> FreeLocalPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return Status::FromErrno("socket", errno);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    const int saved = errno;
    ::close(fd);
    return Status::FromErrno("finding a free port on 127.0.0.1", saved);
  }
  ::close(fd);
  return static_cast<int>(ntohs(address.sin_port));
}

// libpq password file field: ':' and '\' escaped with a backslash.
std::string PgpassField(const std::string& value) {
  std::string escaped;
  for (char c : value) {
    if (c == ':' || c == '\\') escaped += '\\';
    escaped += c;
  }
  return escaped;
}

}  // namespace

struct ThrowawayCluster::Impl {
  ThrowawayClusterOptions options;
  std::optional<SystemUser> account;     // set when we are root
  std::string directory;                 // ours, removed by Discard()
  std::string created_parent;            // options.directory when we created it
  std::string data_dir;
  std::string log_file;
  std::string socket_dir;
  std::string separate_socket_dir;       // when <directory>/socket would be too long a path
  std::string password_file;
  std::string bin_dir;
  int port = 0;
  bool running = false;
  bool discarded = false;                // Discard() has run: nothing left to stop

  Result<ExitInfo> Run(std::vector<std::string> argv, std::chrono::seconds timeout) {
    SubprocessOptions options;
    options.argv = std::move(argv);
    options.unset_env = kForeignPgVariables;
    options.cwd = directory;
    options.timeout = timeout;
    if (account) {
      options.uid = account->uid;
      options.gid = account->gid;
    }
    return RunSubprocess(options);
  }

  Status Chown(const std::string& path) {
    if (account && ::chown(path.c_str(), account->uid, account->gid) != 0) {
      return Status::FromErrno("chown " + path, errno);
    }
    return Status::Ok();
  }

  Status InitDb() {
    GB_ASSIGN_OR_RETURN(
        ExitInfo exit,
        Run({bin_dir + "/initdb", "-D", data_dir, "-U", kSuperuser, "--auth-local=trust",
             "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"},
            std::chrono::seconds(300)));
    if (!exit.success()) return Status::Failed("initdb " + data_dir + " failed: " + exit.Describe());
    return Status::Ok();
  }

  Status WriteServerSettings() {
    const std::string settings =
        "\n# throwaway cluster (govern-backup)\n"
        "port = " + std::to_string(port) + "\n"
        "listen_addresses = '127.0.0.1'\n"
        "unix_socket_directories = '" + socket_dir + "'\n"
        "fsync = off\n"
        "synchronous_commit = off\n"
        "full_page_writes = off\n"
        "max_connections = 50\n"
        "shared_buffers = 64MB\n"
        "max_wal_size = 1GB\n"
        "logging_collector = off\n" +
        std::string(options.autovacuum ? "" : "autovacuum = off\n");
    // Appended: the last occurrence of a setting wins, so a port change on retry works.
    std::ofstream conf(data_dir + "/postgresql.conf", std::ios::app);
    conf << settings;
    conf.close();
    if (!conf) return Status::Failed("cannot write " + data_dir + "/postgresql.conf");
    return Status::Ok();
  }

  Status PgCtlStart() {
    GB_ASSIGN_OR_RETURN(ExitInfo exit,
                        Run({bin_dir + "/pg_ctl", "-D", data_dir, "-l", log_file, "-w", "-t",
                             "120", "start"},
                            std::chrono::seconds(180)));
    if (!exit.success()) {
      return Status::Failed("pg_ctl start of " + data_dir + " failed: " + exit.Describe() +
                            "; see " + log_file);
    }
    running = true;
    return Status::Ok();
  }

  Status PgCtlStop() {
    GB_ASSIGN_OR_RETURN(ExitInfo exit,
                        Run({bin_dir + "/pg_ctl", "-D", data_dir, "-m", "fast", "-w", "-t",
                             "120", "stop"},
                            std::chrono::seconds(180)));
    if (!exit.success()) {
      return Status::Failed("pg_ctl stop of " + data_dir + " failed: " + exit.Describe());
    }
    running = false;
    return Status::Ok();
  }

  bool LogSaysPortTaken() {
    std::ifstream log(log_file);
    std::string line;
    while (std::getline(log, line)) {
      if (line.find("could not bind") != std::string::npos ||
          line.find("Address already in use") != std::string::npos) {
        return true;
      }
    }
    return false;
  }

  // Picks a port (unless given), then starts; retries on a port taken in between.
  Status StartOnSomePort() {
    for (int attempt = 1;; ++attempt) {
      if (options.port == 0) {
        GB_ASSIGN_OR_RETURN(port, FreeLocalPort());
      } else {
        port = options.port;
      }
      GB_RETURN_IF_ERROR(WriteServerSettings());
      Status started = PgCtlStart();
      if (started.ok()) return started;
      if (options.port != 0 || attempt >= kStartAttempts || !LogSaysPortTaken()) return started;
      spdlog::debug("port {} was taken; trying another", port);
    }
  }

  Status CreateGovernRoleAndDatabase(const ConnectionParams& superuser) {
    GB_ASSIGN_OR_RETURN(auto connection, pq::Connect(superuser));
    try {
      pqxx::nontransaction tx(*connection);
      tx.exec0("CREATE ROLE " + tx.quote_name(options.govern_user) + " LOGIN PASSWORD " +
               tx.quote(options.govern_password) +
               (options.govern_can_create_db ? " CREATEDB" : " NOCREATEDB") + " NOSUPERUSER");
      tx.exec0("CREATE DATABASE " + tx.quote_name(options.govern_db) + " OWNER " +
               tx.quote_name(options.govern_user));
    } catch (const std::exception& error) {
      return pq::QueryError("creating the Govern role and database", superuser, error);
    }
    return Status::Ok();
  }

  Status WritePasswordFile() {
    password_file = directory + "/pgpass";
    std::string content;
    for (const char* host : {"127.0.0.1", "localhost"}) {
      content += std::string(host) + ":" + std::to_string(port) + ":*:" +
                 PgpassField(options.govern_user) + ":" +
                 PgpassField(options.govern_password) + "\n";
    }
    return WriteFile(password_file, content, 0600);
  }
};

ThrowawayCluster::ThrowawayCluster() : impl_(std::make_unique<Impl>()) {}

ThrowawayCluster::~ThrowawayCluster() {
  Impl& impl = *impl_;
  if (impl.options.keep && !impl.discarded && !impl.directory.empty()) {
    // Kept for exploring (demo --keep, the benchmark): the server outlives us.
    spdlog::info("throwaway cluster kept running in {}", impl.directory);
    return;
  }
  Status discarded = Discard();
  if (!discarded.ok()) spdlog::warn("throwaway cluster: {}", discarded.ToString());
}

Result<std::unique_ptr<ThrowawayCluster>> ThrowawayCluster::Start(
    const ThrowawayClusterOptions& options) {
  std::unique_ptr<ThrowawayCluster> cluster(new ThrowawayCluster());
  Impl& impl = *cluster->impl_;
  impl.options = options;
  if (::geteuid() == 0) {
    GB_ASSIGN_OR_RETURN(impl.account,
                        EnsureSystemUser(kServerAccount, "to run the throwaway PostgreSQL server "
                                         "(it refuses to run as root)", std::cerr));
  }
  if (options.bin_dir.empty()) {
    GB_ASSIGN_OR_RETURN(impl.bin_dir, NewestServerBinDir());
  } else {
    impl.bin_dir = options.bin_dir;
  }

  std::string parent = options.directory;
  if (parent.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    parent = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  } else if (!fs::exists(parent)) {
    std::error_code error;
    fs::create_directories(parent, error);
    if (error) return Status::Failed("cannot create " + parent + ": " + error.message());
    impl.created_parent = parent;
  }
  GB_ASSIGN_OR_RETURN(impl.directory, MakeTempDir(fs::absolute(parent).string(), "pgcluster-"));
  impl.discarded = false;
  impl.data_dir = impl.directory + "/data";
  impl.log_file = impl.directory + "/server.log";
  impl.socket_dir = impl.directory + "/socket";
  // A Unix socket path is limited to sizeof(sun_path) bytes, ".s.PGSQL.NNNNN" included.
  if (impl.socket_dir.size() + 20 >= sizeof(sockaddr_un::sun_path)) {
    GB_ASSIGN_OR_RETURN(impl.separate_socket_dir, MakeTempDir("/tmp", "pgsock-"));
    impl.socket_dir = impl.separate_socket_dir;
  } else if (::mkdir(impl.socket_dir.c_str(), 0700) != 0) {
    return Status::FromErrno("creating " + impl.socket_dir, errno);
  }
  if (impl.account) {
    GB_RETURN_IF_ERROR(MakeAncestorsTraversable(impl.directory, "the postgres user", std::cerr));
    GB_RETURN_IF_ERROR(impl.Chown(impl.directory));
    GB_RETURN_IF_ERROR(impl.Chown(impl.socket_dir));
  }
  spdlog::debug("throwaway cluster in {} ({})", impl.directory, impl.bin_dir);

  GB_RETURN_IF_ERROR(impl.InitDb());
  GB_RETURN_IF_ERROR(impl.StartOnSomePort());
  GB_RETURN_IF_ERROR(impl.CreateGovernRoleAndDatabase(cluster->SuperuserParams()));
  GB_RETURN_IF_ERROR(impl.WritePasswordFile());
  spdlog::info("throwaway PostgreSQL cluster running on 127.0.0.1:{} ({})", impl.port,
               impl.directory);
  return cluster;
}

ConnectionParams ThrowawayCluster::GovernParams() const {
  ConnectionParams params;
  params.host = "127.0.0.1";
  params.port = impl_->port;
  params.dbname = impl_->options.govern_db;
  params.user = impl_->options.govern_user;
  params.password_file = impl_->password_file;
  return params;
}

ConnectionParams ThrowawayCluster::SuperuserParams() const {
  ConnectionParams params;
  params.host = impl_->socket_dir;
  params.port = impl_->port;
  params.dbname = "postgres";
  params.user = kSuperuser;
  return params;
}

int ThrowawayCluster::port() const { return impl_->port; }
const std::string& ThrowawayCluster::socket_dir() const { return impl_->socket_dir; }
const std::string& ThrowawayCluster::password_file() const { return impl_->password_file; }
const std::string& ThrowawayCluster::bin_dir() const { return impl_->bin_dir; }
const std::string& ThrowawayCluster::directory() const { return impl_->directory; }
bool ThrowawayCluster::running() const { return impl_->running; }

Status ThrowawayCluster::StopServer() {
  if (!impl_->running) return Status::Ok();
  return impl_->PgCtlStop();
}

Status ThrowawayCluster::StartServer() {
  if (impl_->running) return Status::Ok();
  if (impl_->discarded) return Status::Failed("throwaway cluster " + impl_->directory + " is gone");
  return impl_->PgCtlStart();
}

Status ThrowawayCluster::Discard() {
  Impl& impl = *impl_;
  if (impl.discarded || impl.directory.empty()) return Status::Ok();
  Status server_stopped = StopServer();
  if (!server_stopped.ok()) return server_stopped;
  impl.discarded = true;
  std::error_code error;
  fs::remove_all(impl.directory, error);
  if (error) return Status::Failed("cannot remove " + impl.directory + ": " + error.message());
  if (!impl.separate_socket_dir.empty()) fs::remove_all(impl.separate_socket_dir, error);
  if (!impl.created_parent.empty() && fs::is_empty(impl.created_parent, error)) {
    fs::remove(impl.created_parent, error);
  }
  spdlog::debug("throwaway cluster {} removed", impl.directory);
  return Status::Ok();
}

}  // namespace gb
