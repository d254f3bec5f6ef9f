// The server half against a real throwaway PostgreSQL: identity, classified connection
// errors, row counts and the maintenance operations.
#include "pg/server.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "sandbox/sample_govern_schema.h"
#include "sandbox/throwaway_cluster.h"
#include "tests/support/pg_test_cluster.h"

namespace gb {
namespace {

namespace fs = std::filesystem;
using testing::FreshDatabase;
using testing::PgClusterTest;
using testing::SharedCluster;

std::string WritePasswordFile(const std::string& name, const std::string& content) {
  const std::string path = SharedCluster().directory() + "/" + name;
  std::ofstream(path) << content;
  ::chmod(path.c_str(), 0600);
  return path;
}

TEST(ConnectionParamsTest, ConnectionStringQuotesValuesAndHasNoPassword) {
  ConnectionParams params;
  params.host = "db.example";
  params.port = 5433;
  params.dbname = "it's";
  params.user = "back\\slash";
  params.password_file = "/etc/govern/pg pass";
  const std::string conninfo = params.ConnectionString();
  EXPECT_NE(conninfo.find("host='db.example'"), std::string::npos) << conninfo;
  EXPECT_NE(conninfo.find("port='5433'"), std::string::npos) << conninfo;
  EXPECT_NE(conninfo.find("dbname='it\\'s'"), std::string::npos) << conninfo;
  EXPECT_NE(conninfo.find("user='back\\\\slash'"), std::string::npos) << conninfo;
  EXPECT_NE(conninfo.find("passfile='/etc/govern/pg pass'"), std::string::npos) << conninfo;
  EXPECT_NE(conninfo.find("connect_timeout='10'"), std::string::npos) << conninfo;
  EXPECT_NE(conninfo.find("application_name='govern-backup'"), std::string::npos) << conninfo;
  EXPECT_EQ(conninfo.find("password="), std::string::npos) << conninfo;

  const auto env = params.ChildEnvironment();
  EXPECT_EQ(env.at("PGHOST"), "db.example");
  EXPECT_EQ(env.at("PGPORT"), "5433");
  EXPECT_EQ(env.at("PGDATABASE"), "it's");
  EXPECT_EQ(env.at("PGPASSFILE"), "/etc/govern/pg pass");
  EXPECT_EQ(env.count("PGPASSWORD"), 0u);
  EXPECT_EQ(params.Describe(), "back\\slash@db.example:5433/it's");
  EXPECT_EQ(params.WithDatabase("other").dbname, "other");
  EXPECT_EQ(params.WithDatabase("other").port, 5433);
}

TEST_F(PgClusterTest, ReadsTheIdentityOfTheGovernRole) {
  Result<ServerIdentity> identity = ReadServerIdentity(cluster().GovernParams());
  ASSERT_TRUE(identity.ok()) << identity.status().ToString();
  EXPECT_EQ(identity->server_major, 15);
  EXPECT_EQ(identity->server_version.rfind("15.", 0), 0u) << identity->server_version;
  EXPECT_EQ(identity->server_version.find(' '), std::string::npos) << identity->server_version;
  EXPECT_EQ(identity->server_version_num / 10000, 15);
  EXPECT_EQ(identity->server_version,
            "15." + std::to_string(identity->server_version_num % 10000));
  EXPECT_GT(identity->database_bytes, 1000000u);
  EXPECT_EQ(identity->current_user, "govern");
  EXPECT_FALSE(identity->is_superuser);
  EXPECT_TRUE(identity->can_create_db);
  EXPECT_TRUE(identity->owns_database);

  Result<ServerIdentity> superuser = ReadServerIdentity(cluster().SuperuserParams());
  ASSERT_TRUE(superuser.ok()) << superuser.status().ToString();
  EXPECT_TRUE(superuser->is_superuser);
  EXPECT_TRUE(superuser->can_create_db);
  ASSERT_FALSE(superuser->system_identifier.empty());
  EXPECT_TRUE(std::all_of(superuser->system_identifier.begin(),
                          superuser->system_identifier.end(), ::isdigit))
      << superuser->system_identifier;
  // The Govern role reads it too where the server grants it; else it stays unknown.
  if (!identity->system_identifier.empty()) {
    EXPECT_EQ(identity->system_identifier, superuser->system_identifier);
  }
}

TEST_F(PgClusterTest, WrongPasswordIsNamedWithoutShowingAPassword) {
  const std::string wrong = "not-the-Secret-42";
  ConnectionParams params = cluster().GovernParams();
  params.password_file = WritePasswordFile(
      "wrong-pgpass", "127.0.0.1:" + std::to_string(params.port) + ":*:govern:" + wrong + "\n");
  Result<ServerIdentity> identity = ReadServerIdentity(params);
  ASSERT_FALSE(identity.ok());
  const std::string text = identity.status().ToString();
  EXPECT_NE(text.find("password authentication failed for user govern at 127.0.0.1:" +
                      std::to_string(params.port)),
            std::string::npos)
      << text;
  EXPECT_NE(identity.status().hint().find(params.password_file), std::string::npos) << text;
  EXPECT_EQ(text.find(wrong), std::string::npos) << text;
  EXPECT_EQ(text.find("govern-secret"), std::string::npos) << text;
}

TEST_F(PgClusterTest, MissingPasswordIsNamed) {
  ConnectionParams params = cluster().GovernParams();
  params.password_file = WritePasswordFile("empty-pgpass", "");
  Result<ServerIdentity> identity = ReadServerIdentity(params);
  ASSERT_FALSE(identity.ok());
  EXPECT_NE(identity.status().message().find("no password found for user govern"),
            std::string::npos)
      << identity.status().ToString();
  EXPECT_NE(identity.status().hint().find(params.password_file), std::string::npos);
}

TEST_F(PgClusterTest, StoppedServerIsNotReachable) {
  ASSERT_TRUE(cluster().StopServer().ok());
  Result<ServerIdentity> tcp = ReadServerIdentity(cluster().GovernParams());
  Result<ServerIdentity> socket = ReadServerIdentity(cluster().SuperuserParams());
  ASSERT_TRUE(cluster().StartServer().ok());
  ASSERT_FALSE(tcp.ok());
  EXPECT_NE(tcp.status().message().find("PostgreSQL server not reachable at 127.0.0.1:" +
                                        std::to_string(cluster().port())),
            std::string::npos)
      << tcp.status().ToString();
  EXPECT_NE(tcp.status().hint().find("is the server running?"), std::string::npos);
  ASSERT_FALSE(socket.ok());
  EXPECT_NE(socket.status().message().find("not reachable at " + cluster().socket_dir()),
            std::string::npos)
      << socket.status().ToString();
  // And back up again.
  EXPECT_TRUE(ReadServerIdentity(cluster().GovernParams()).ok());
}

TEST_F(PgClusterTest, MissingDatabaseIsNamed) {
  Result<ServerIdentity> identity =
      ReadServerIdentity(cluster().GovernParams().WithDatabase("no_such_govern"));
  ASSERT_FALSE(identity.ok());
  EXPECT_NE(identity.status().message().find("database \"no_such_govern\" does not exist"),
            std::string::npos)
      << identity.status().ToString();
}

TEST_F(PgClusterTest, CountsRowsOfEveryUserTable) {
  const ConnectionParams db = FreshDatabase("count_rows");
  ASSERT_TRUE(LoadSampleGovernSchema(db, "", 1 << 20).ok());
  ASSERT_TRUE(LoadSampleGovernSchema(db, "Odd \"Schema\"", 100 * 1024).ok());
  {
    pqxx::connection connection(db.ConnectionString());
    pqxx::work tx(connection);
    tx.exec0("DELETE FROM attachments WHERE id IN (SELECT id FROM attachments LIMIT 3)");
    tx.commit();
  }
  Result<std::map<std::string, uint64_t>> counts = CountTableRows(db);
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  for (const char* table : {"blueprints", "blueprint_versions", "artifacts",
                            "artifact_relationships", "roles", "permissions", "user_profiles",
                            "custom_pages", "attachments"}) {
    EXPECT_EQ(counts->count(std::string("public.") + table), 1u) << table;
    EXPECT_EQ(counts->count(std::string("Odd \"Schema\".") + table), 1u) << table;
  }
  EXPECT_EQ(counts->size(), 18u);
  EXPECT_EQ(counts->at("public.roles"), 4u);
  EXPECT_EQ(counts->at("public.user_profiles"), 200u);
  EXPECT_GT(counts->at("public.artifacts"), 500u);
  EXPECT_EQ(counts->at("public.artifact_relationships"), counts->at("public.artifacts") - 1);
  EXPECT_EQ(counts->at("public.attachments"), counts->at("public.artifacts") / 25 - 3);
  EXPECT_LT(counts->at("Odd \"Schema\".artifacts"), counts->at("public.artifacts"));
  for (const auto& [table, rows] : *counts) {
    EXPECT_EQ(table.rfind("pg_", 0), std::string::npos) << table;
    EXPECT_EQ(table.rfind("information_schema", 0), std::string::npos) << table;
  }
}

TEST_F(PgClusterTest, SampleSchemaSizeFollowsTheRequest) {
  const ConnectionParams small = FreshDatabase("sample_small");
  const ConnectionParams large = FreshDatabase("sample_large");
  Result<ServerIdentity> empty = ReadServerIdentity(small);
  ASSERT_TRUE(empty.ok());
  ASSERT_TRUE(LoadSampleGovernSchema(small, "", 1 << 20).ok());
  ASSERT_TRUE(LoadSampleGovernSchema(large, "", 16 << 20).ok());
  Result<ServerIdentity> small_identity = ReadServerIdentity(small);
  Result<ServerIdentity> large_identity = ReadServerIdentity(large);
  ASSERT_TRUE(small_identity.ok() && large_identity.ok());
  const double small_growth = double(small_identity->database_bytes - empty->database_bytes);
  const double large_growth = double(large_identity->database_bytes - empty->database_bytes);
  EXPECT_GT(small_growth, 0.5 * (1 << 20)) << small_growth;
  EXPECT_LT(small_growth, 3.0 * (1 << 20)) << small_growth;
  EXPECT_GT(large_growth, 0.7 * (16 << 20)) << large_growth;
  EXPECT_LT(large_growth, 1.5 * (16 << 20)) << large_growth;
}

TEST_F(PgClusterTest, CreatesRenamesAndDropsDatabases) {
  const ConnectionParams govern = cluster().GovernParams();
  const std::string name = "a \"quoted\" db";
  const std::string renamed = "renamed; DROP DATABASE govern";
  ASSERT_TRUE(DropDatabase(govern, name).ok());
  ASSERT_TRUE(DropDatabase(govern, renamed).ok());

  Result<bool> exists = DatabaseExists(govern, name);
  ASSERT_TRUE(exists.ok()) << exists.status().ToString();
  EXPECT_FALSE(*exists);
  Status created = CreateDatabase(govern, name, "govern");
  ASSERT_TRUE(created.ok()) << created.ToString();
  EXPECT_TRUE(*DatabaseExists(govern, name));
  Status again = CreateDatabase(govern, name, "govern");
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.message().find("creating database \"" + name + "\""), std::string::npos)
      << again.ToString();
  EXPECT_NE(again.message().find("already exists"), std::string::npos) << again.ToString();

  {
    pqxx::connection session(govern.WithDatabase(name).ConnectionString());
    Result<std::vector<std::string>> others = OtherSessions(govern, name);
    ASSERT_TRUE(others.ok()) << others.status().ToString();
    ASSERT_EQ(others->size(), 1u);
    EXPECT_NE(others->front().find("pid " + std::to_string(session.backendpid())),
              std::string::npos)
        << others->front();
    EXPECT_NE(others->front().find("user govern"), std::string::npos) << others->front();
    EXPECT_NE(others->front().find("govern-backup"), std::string::npos) << others->front();
    // A database in use cannot be renamed; the error names it.
    Status busy = RenameDatabase(govern, name, renamed);
    EXPECT_FALSE(busy.ok());
    EXPECT_NE(busy.message().find("is being accessed by other users"), std::string::npos)
        << busy.ToString();
  }
  Result<std::vector<std::string>> none = OtherSessions(govern, name);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  Status moved = RenameDatabase(govern, name, renamed);
  ASSERT_TRUE(moved.ok()) << moved.ToString();
  EXPECT_FALSE(*DatabaseExists(govern, name));
  EXPECT_TRUE(*DatabaseExists(govern, renamed));
  EXPECT_TRUE(*DatabaseExists(govern, "govern"));

  ASSERT_TRUE(DropDatabase(govern, renamed).ok());
  EXPECT_FALSE(*DatabaseExists(govern, renamed));
  EXPECT_TRUE(DropDatabase(govern, renamed).ok());  // absent is fine
}

TEST(ThrowawayClusterTest, StartsWithoutCreateDbAndRemovesItsDirectory) {
  const std::string parent =
      (fs::temp_directory_path() / ("gb-pg-test-" + std::to_string(::getpid()))).string();
  ThrowawayClusterOptions options;
  options.directory = parent;
  options.govern_can_create_db = false;
  options.govern_password = "p:ss\\word";
  Result<std::unique_ptr<ThrowawayCluster>> cluster = ThrowawayCluster::Start(options);
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  const std::string directory = (*cluster)->directory();
  EXPECT_EQ(directory.rfind(parent + "/", 0), 0u) << directory;
  EXPECT_TRUE(fs::exists(directory + "/data/PG_VERSION"));
  EXPECT_TRUE((*cluster)->running());
  EXPECT_GT((*cluster)->port(), 0);
  struct stat info {};
  ASSERT_EQ(::stat((*cluster)->password_file().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);

  Result<ServerIdentity> identity = ReadServerIdentity((*cluster)->GovernParams());
  ASSERT_TRUE(identity.ok()) << identity.status().ToString();
  EXPECT_FALSE(identity->can_create_db);
  EXPECT_FALSE(identity->is_superuser);
  EXPECT_TRUE(identity->owns_database);
  Status refused = CreateDatabase((*cluster)->GovernParams(), "not_allowed", "govern");
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("permission denied"), std::string::npos)
      << refused.ToString();

  const ConnectionParams params = (*cluster)->GovernParams();
  ASSERT_TRUE((*cluster)->Discard().ok());
  EXPECT_FALSE(fs::exists(directory));
  EXPECT_FALSE(fs::exists(parent));
  Result<ServerIdentity> gone = ReadServerIdentity(params);
  ASSERT_FALSE(gone.ok());
  EXPECT_NE(gone.status().message().find("not reachable"), std::string::npos);
  EXPECT_TRUE((*cluster)->Discard().ok());  // twice is fine
}

}  // namespace
}  // namespace gb
