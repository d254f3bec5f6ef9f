// The database half end to end against a real server: finding pg_dump, an exported
// snapshot that pg_dump really uses, the table of contents, and restoring the dump.
#include "pg/dump.h"

#include <filesystem>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "pg/dump_tools.h"
#include "pg/server.h"
#include "pg/snapshot.h"
#include "tests/support/memory_streams.h"
#include "tests/support/pg_test_cluster.h"

namespace gb {
namespace {

namespace fs = std::filesystem;
using testing::FreshDatabase;
using testing::PgClusterTest;
using testing::StringSink;
using testing::StringSource;

void Sql(const ConnectionParams& params, const std::string& sql) {
  pqxx::connection connection(params.ConnectionString());
  pqxx::work tx(connection);
  tx.exec(sql);
  tx.commit();
}

DumpTools Tools() {
  Result<DumpTools> tools = FindDumpToolsFor("", 15);
  EXPECT_TRUE(tools.ok()) << tools.status().ToString();
  return tools.ok() ? *tools : DumpTools{};
}

// Dumps `params` (in `snapshot` when given) into memory.
std::string DumpToMemory(const ConnectionParams& params, const std::string& snapshot = "") {
  Result<std::unique_ptr<PgDump>> dump = PgDump::Start(Tools(), params, snapshot);
  EXPECT_TRUE(dump.ok()) << dump.status().ToString();
  if (!dump.ok()) return "";
  StringSink sink;
  Result<uint64_t> pumped = (*dump)->PumpTo(sink);
  EXPECT_TRUE(pumped.ok()) << pumped.status().ToString();
  if (pumped.ok()) {
    EXPECT_EQ(*pumped, sink.bytes().size());
  }
  return sink.bytes();
}

TEST(DumpToolsTest, FindsTheInstalledTools) {
  Result<DumpTools> tools = FindDumpTools("");
  ASSERT_TRUE(tools.ok()) << tools.status().ToString();
  EXPECT_EQ(tools->pg_dump_major, 15);
  EXPECT_EQ(tools->pg_restore_major, 15);
  EXPECT_EQ(tools->pg_dump_version.rfind("15.", 0), 0u) << tools->pg_dump_version;
  EXPECT_EQ(tools->pg_dump_version.find(' '), std::string::npos) << tools->pg_dump_version;
  EXPECT_EQ(tools->pg_dump_version, tools->pg_restore_version);
  EXPECT_TRUE(fs::exists(tools->pg_dump)) << tools->pg_dump;
  EXPECT_EQ(fs::path(tools->pg_restore).filename(), "pg_restore");
  // Debian's version-picking wrapper is resolved to the real program.
  EXPECT_NE(fs::canonical(tools->pg_dump).filename(), "pg_wrapper") << tools->pg_dump;

  Result<DumpTools> in_dir = FindDumpTools("/usr/lib/postgresql/15/bin");
  ASSERT_TRUE(in_dir.ok()) << in_dir.status().ToString();
  EXPECT_EQ(in_dir->pg_dump, "/usr/lib/postgresql/15/bin/pg_dump");
  EXPECT_EQ(in_dir->pg_dump_version, tools->pg_dump_version);
}

TEST(DumpToolsTest, MissingOrTooOldToolsAreErrors) {
  Result<DumpTools> missing = FindDumpTools("/nonexistent/bin");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("/nonexistent/bin/pg_dump not found"),
            std::string::npos)
      << missing.status().ToString();
  EXPECT_NE(missing.status().hint().find("pg_bin_dir"), std::string::npos);

  Result<DumpTools> too_old = FindDumpToolsFor("", 99);
  ASSERT_FALSE(too_old.ok());
  EXPECT_NE(too_old.status().message().find("pg_dump 15"), std::string::npos)
      << too_old.status().ToString();
  EXPECT_NE(too_old.status().message().find("older than the server (99)"), std::string::npos)
      << too_old.status().ToString();
  EXPECT_NE(too_old.status().hint().find("postgresql-client-99"), std::string::npos);

  Result<DumpTools> dir_too_old = FindDumpToolsFor("/usr/lib/postgresql/15/bin", 16);
  ASSERT_FALSE(dir_too_old.ok());
  EXPECT_NE(dir_too_old.status().message().find("older than the server (16)"),
            std::string::npos);

  Result<DumpTools> enough = FindDumpToolsFor("", 15);
  ASSERT_TRUE(enough.ok()) << enough.status().ToString();
  EXPECT_GE(enough->pg_dump_major, 15);
}

// The proof that the snapshot is what pg_dump dumps: rows committed after Open() are absent
// from the dump, rows deleted after Open() are present, even though the snapshot is released
// as soon as pg_dump holds it and the tables change again while it runs.
TEST_F(PgClusterTest, DumpSeesExactlyTheExportedSnapshot) {
  const ConnectionParams db = FreshDatabase("snapshot_source");
  ASSERT_TRUE(LoadSampleGovernSchema(db, "", 1 << 20).ok());
  Result<std::map<std::string, uint64_t>> before = CountTableRows(db);
  ASSERT_TRUE(before.ok()) << before.status().ToString();

  Result<std::unique_ptr<ExportedSnapshot>> snapshot = ExportedSnapshot::Open(db);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
  EXPECT_FALSE((*snapshot)->id().empty());

  Sql(db,
      "INSERT INTO user_profiles (login, display_name, email, role_id, settings) "
      "SELECT 'late' || i, 'Late', 'late@example.com', 'reader', '{}' "
      "FROM generate_series(1, 7) i;"
      "DELETE FROM custom_pages WHERE id IN ('page1', 'page2');");
  Result<std::map<std::string, uint64_t>> live = CountTableRows(db);
  ASSERT_TRUE(live.ok());
  EXPECT_EQ(live->at("public.user_profiles"), before->at("public.user_profiles") + 7);
  EXPECT_EQ(live->at("public.custom_pages"), before->at("public.custom_pages") - 2);
  Result<std::map<std::string, uint64_t>> in_snapshot = (*snapshot)->CountTableRows();
  ASSERT_TRUE(in_snapshot.ok()) << in_snapshot.status().ToString();
  EXPECT_EQ(*in_snapshot, *before);

  Result<std::unique_ptr<PgDump>> dump = PgDump::Start(Tools(), db, (*snapshot)->id());
  ASSERT_TRUE(dump.ok()) << dump.status().ToString();
  Status held = (*dump)->WaitUntilSnapshotHeld();
  ASSERT_TRUE(held.ok()) << held.ToString();
  (*snapshot)->Release();
  EXPECT_FALSE((*snapshot)->CountTableRows().ok());
  Sql(db, "DELETE FROM artifact_relationships WHERE id % 2 = 0;"
          "INSERT INTO roles VALUES ('auditor', 'Auditors');");

  StringSink sink;
  uint64_t last_progress = 0;
  Result<uint64_t> pumped =
      (*dump)->PumpTo(sink, [&last_progress](uint64_t bytes) { last_progress = bytes; });
  ASSERT_TRUE(pumped.ok()) << pumped.status().ToString();
  EXPECT_EQ(*pumped, sink.bytes().size());
  EXPECT_EQ(last_progress, *pumped);
  EXPECT_EQ(sink.bytes().substr(0, 5), "PGDMP");

  const ConnectionParams restored = FreshDatabase("snapshot_restored");
  StringSource source(sink.bytes());
  Status restore = RestoreDump(Tools(), restored, source);
  ASSERT_TRUE(restore.ok()) << restore.ToString();
  EXPECT_TRUE(source.at_end());
  Result<std::map<std::string, uint64_t>> after = CountTableRows(restored);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(*after, *before);
}

TEST_F(PgClusterTest, TableOfContentsDescribesTheDump) {
  const ConnectionParams db = FreshDatabase("toc_source");
  ASSERT_TRUE(LoadSampleGovernSchema(db, "govern_app", 1 << 20).ok());
  const std::string bytes = DumpToMemory(db);
  ASSERT_FALSE(bytes.empty());

  StringSource source(bytes, 4096);
  Result<DumpToc> toc = ReadDumpToc(Tools(), source);
  ASSERT_TRUE(toc.ok()) << toc.status().ToString();
  EXPECT_TRUE(source.at_end()) << source.consumed() << " of " << bytes.size();
  Result<ServerIdentity> identity = ReadServerIdentity(db);
  ASSERT_TRUE(identity.ok());
  EXPECT_EQ(toc->dbname, "toc_source");
  EXPECT_EQ(toc->server_version, identity->server_version);
  EXPECT_EQ(toc->dump_version, Tools().pg_dump_version);
  EXPECT_GT(toc->entries, 30) ;
  std::vector<std::string> tables = toc->tables;
  std::sort(tables.begin(), tables.end());
  const std::vector<std::string> expected = {
      "govern_app.artifact_relationships", "govern_app.artifacts", "govern_app.attachments",
      "govern_app.blueprint_versions",     "govern_app.blueprints", "govern_app.custom_pages",
      "govern_app.permissions",            "govern_app.roles",      "govern_app.user_profiles"};
  EXPECT_EQ(tables, expected);
}

TEST_F(PgClusterTest, RestoreReproducesTheDatabase) {
  const ConnectionParams db = FreshDatabase("roundtrip_source");
  ASSERT_TRUE(LoadSampleGovernSchema(db, "", 2 << 20).ok());
  ASSERT_TRUE(LoadSampleGovernSchema(db, "second", 256 << 10).ok());
  const std::string bytes = DumpToMemory(db);
  ASSERT_FALSE(bytes.empty());

  const ConnectionParams target = FreshDatabase("roundtrip_target");
  StringSource source(bytes, 65536);
  Status restored = RestoreDump(Tools(), target, source);
  ASSERT_TRUE(restored.ok()) << restored.ToString();
  EXPECT_TRUE(source.at_end());
  Result<std::map<std::string, uint64_t>> original = CountTableRows(db);
  Result<std::map<std::string, uint64_t>> copy = CountTableRows(target);
  ASSERT_TRUE(original.ok() && copy.ok());
  EXPECT_EQ(*copy, *original);
  EXPECT_EQ(copy->size(), 18u);

  // The objects that are not tables came along too: view, function, sequence position.
  pqxx::connection connection(target.ConnectionString());
  pqxx::work tx(connection);
  EXPECT_EQ(tx.exec1("SELECT artifact_count('model')")[0].as<uint64_t>(),
            tx.exec1("SELECT artifacts FROM artifact_overview WHERE kind = 'model'")[0]
                .as<uint64_t>());
  EXPECT_EQ(tx.exec1("SELECT nextval('artifact_number_seq')")[0].as<uint64_t>(),
            original->at("public.artifacts") + 1);
}

TEST_F(PgClusterTest, FailingPgDumpIsAnErrorNotData) {
  const ConnectionParams missing = cluster().GovernParams().WithDatabase("no_such_db");
  Result<std::unique_ptr<PgDump>> dump = PgDump::Start(Tools(), missing, "");
  ASSERT_TRUE(dump.ok()) << dump.status().ToString();
  Status held = (*dump)->WaitUntilSnapshotHeld();
  ASSERT_FALSE(held.ok());
  EXPECT_NE(held.message().find("pg_dump of"), std::string::npos) << held.ToString();
  EXPECT_NE(held.message().find("no_such_db"), std::string::npos) << held.ToString();
  EXPECT_NE(held.message().find("does not exist"), std::string::npos) << held.ToString();
  StringSink sink;
  Result<uint64_t> pumped = (*dump)->PumpTo(sink);
  EXPECT_FALSE(pumped.ok());
  EXPECT_TRUE(sink.bytes().empty());

  // A snapshot that no transaction exports any more.
  const ConnectionParams db = FreshDatabase("stale_snapshot");
  std::string stale_id;
  {
    Result<std::unique_ptr<ExportedSnapshot>> snapshot = ExportedSnapshot::Open(db);
    ASSERT_TRUE(snapshot.ok());
    stale_id = (*snapshot)->id();
  }
  Result<std::unique_ptr<PgDump>> stale = PgDump::Start(Tools(), db, stale_id);
  ASSERT_TRUE(stale.ok());
  StringSink stale_sink;
  Result<uint64_t> stale_pumped = (*stale)->PumpTo(stale_sink);
  ASSERT_FALSE(stale_pumped.ok());
  EXPECT_NE(stale_pumped.status().message().find("snapshot"), std::string::npos)
      << stale_pumped.status().ToString();
  EXPECT_TRUE(stale_sink.bytes().empty());
}

TEST_F(PgClusterTest, DamagedDumpIsRefusedAndStillReadToTheEnd) {
  std::string garbage(3 << 20, 'x');
  StringSource toc_source(garbage);
  Result<DumpToc> toc = ReadDumpToc(Tools(), toc_source);
  ASSERT_FALSE(toc.ok());
  EXPECT_NE(toc.status().message().find("pg_restore --list failed"), std::string::npos)
      << toc.status().ToString();
  EXPECT_TRUE(toc_source.at_end());

  const ConnectionParams target = FreshDatabase("damaged_target");
  StringSource restore_source(garbage);
  Status restored = RestoreDump(Tools(), target, restore_source);
  ASSERT_FALSE(restored.ok());
  EXPECT_NE(restored.message().find("pg_restore into govern@127.0.0.1"), std::string::npos)
      << restored.ToString();
  EXPECT_TRUE(restore_source.at_end());

  // A real dump cut short: the data of the last tables is missing.
  const ConnectionParams db = FreshDatabase("truncated_source");
  ASSERT_TRUE(LoadSampleGovernSchema(db, "", 1 << 20).ok());
  const std::string bytes = DumpToMemory(db);
  StringSource truncated(bytes.substr(0, bytes.size() / 2));
  Status partial = RestoreDump(Tools(), FreshDatabase("truncated_target"), truncated);
  EXPECT_FALSE(partial.ok());
}

}  // namespace
}  // namespace gb
