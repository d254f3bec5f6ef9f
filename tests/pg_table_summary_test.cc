// The per-table row count and content hash that sets record for `diff`: independent of row
// order and of session settings, sensitive to any change of content, and taken in the
// exported snapshot rather than in the live database.
#include "pg/table_summary.h"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "pg/snapshot.h"
#include "tests/support/pg_test_cluster.h"

namespace gb {
namespace {

using testing::FreshDatabase;
using testing::PgClusterTest;

void Sql(const ConnectionParams& params, const std::string& sql) {
  pqxx::connection connection(params.ConnectionString());
  pqxx::work tx(connection);
  tx.exec(sql);
  tx.commit();
}

std::map<std::string, TableSummary> Summaries(const ConnectionParams& params) {
  Result<std::map<std::string, TableSummary>> summaries = SummarizeTables(params);
  EXPECT_TRUE(summaries.ok()) << summaries.status().ToString();
  return summaries.ok() ? *summaries : std::map<std::string, TableSummary>{};
}

TableSummary SummaryOf(const ConnectionParams& params, const std::string& table) {
  auto summaries = Summaries(params);
  auto found = summaries.find(table);
  EXPECT_NE(found, summaries.end()) << table;
  return found == summaries.end() ? TableSummary{} : found->second;
}

// Types whose text depends on session settings, and a column named like the query's alias.
constexpr char kItemsTable[] =
    "CREATE TABLE items (id int, r text, at timestamptz, span interval, ratio float8, "
    "blob bytea, price money);";

TEST_F(PgClusterTest, TableHashIgnoresRowOrder) {
  const ConnectionParams one = FreshDatabase("summary_order_one");
  const ConnectionParams two = FreshDatabase("summary_order_two");
  Sql(one, std::string(kItemsTable) +
               "INSERT INTO items SELECT i, 'row ' || i, timestamptz '2026-01-01 00:00Z' + i * "
               "interval '1 hour', i * interval '1 minute', i / 3.0, decode(md5(i::text), "
               "'hex'), i FROM generate_series(1, 500) i;");
  Sql(two, std::string(kItemsTable) +
               "INSERT INTO items SELECT i, 'row ' || i, timestamptz '2026-01-01 00:00Z' + i * "
               "interval '1 hour', i * interval '1 minute', i / 3.0, decode(md5(i::text), "
               "'hex'), i FROM generate_series(500, 1, -1) i;");
  const TableSummary first = SummaryOf(one, "public.items");
  EXPECT_EQ(first.rows, 500u);
  EXPECT_EQ(first.hash.rfind(kTableHashScheme, 0), 0u) << first.hash;
  EXPECT_EQ(first.hash.size(), std::string(kTableHashScheme).size() + 16) << first.hash;
  const TableSummary second = SummaryOf(two, "public.items");
  EXPECT_EQ(second.rows, first.rows);
  EXPECT_EQ(second.hash, first.hash);

  // An update undone moves the row to the end of the heap: same content, same hash.
  Sql(one, "UPDATE items SET r = 'moved' WHERE id = 7; UPDATE items SET r = 'row 7' WHERE id = 7;");
  EXPECT_EQ(SummaryOf(one, "public.items").hash, first.hash);
  EXPECT_TRUE(SameTableHashScheme(first.hash, second.hash));
  EXPECT_FALSE(SameTableHashScheme(first.hash, "sha256:0123"));
}

TEST_F(PgClusterTest, TableHashSeesEveryChangeOfContent) {
  const ConnectionParams db = FreshDatabase("summary_changes");
  Sql(db, "CREATE TABLE pairs (k int, v text);"
          "INSERT INTO pairs VALUES (1, 'a'), (2, 'b');"
          "CREATE TABLE multiset (v text);"
          "INSERT INTO multiset VALUES ('a'), ('a'), ('c');");
  const auto before = Summaries(db);

  // The same values, swapped between rows: same count, same column values, other rows.
  Sql(db, "UPDATE pairs SET v = CASE v WHEN 'a' THEN 'b' ELSE 'a' END;");
  // {a, a, c} -> {b, b, c}: a hash that cancelled duplicates (XOR) would see no change.
  Sql(db, "UPDATE multiset SET v = 'b' WHERE v = 'a';");
  const auto after = Summaries(db);
  EXPECT_EQ(after.at("public.pairs").rows, before.at("public.pairs").rows);
  EXPECT_NE(after.at("public.pairs").hash, before.at("public.pairs").hash);
  EXPECT_EQ(after.at("public.multiset").rows, 3u);
  EXPECT_NE(after.at("public.multiset").hash, before.at("public.multiset").hash);

  // One character of one row among many.
  Sql(db, "CREATE TABLE big AS SELECT i, repeat('x', 100) AS body FROM generate_series(1, 20000) i;");
  const std::string big = SummaryOf(db, "public.big").hash;
  Sql(db, "UPDATE big SET body = repeat('x', 99) || 'y' WHERE i = 12345;");
  EXPECT_NE(SummaryOf(db, "public.big").hash, big);

  // An empty table has a hash too (the sum of nothing).
  Sql(db, "CREATE TABLE empty (v text);");
  EXPECT_EQ(SummaryOf(db, "public.empty").rows, 0u);
  EXPECT_EQ(SummaryOf(db, "public.empty").hash, std::string(kTableHashScheme) + "0000000000000000");
}

// Time zone, date style, float digits, bytea output and the like change how a row is written
// as text; the hash pins them, so that a role's or server's defaults never read as a change.
TEST_F(PgClusterTest, TableHashDoesNotDependOnSessionSettings) {
  const ConnectionParams db = FreshDatabase("summary_settings");
  Sql(db, std::string(kItemsTable) +
              "INSERT INTO items VALUES (1, 'x', '2026-03-04 05:06:07.891+00', '1 day 2 hours', "
              "0.1, '\\x00ff', 12.5);");
  const std::string plain = SummaryOf(db, "public.items").hash;
  Sql(db, "ALTER DATABASE summary_settings SET TimeZone = 'Asia/Kolkata';"
          "ALTER DATABASE summary_settings SET DateStyle = 'SQL, DMY';"
          "ALTER DATABASE summary_settings SET IntervalStyle = 'iso_8601';"
          "ALTER DATABASE summary_settings SET extra_float_digits = -3;"
          "ALTER DATABASE summary_settings SET bytea_output = 'escape';");
  {
    // The settings do reach new sessions: the rows' text really differs there.
    pqxx::connection connection(db.ConnectionString());
    pqxx::work tx(connection);
    EXPECT_EQ(tx.exec1("SHOW TimeZone")[0].as<std::string>(), "Asia/Kolkata");
    EXPECT_EQ(tx.exec1("SHOW bytea_output")[0].as<std::string>(), "escape");
  }
  EXPECT_EQ(SummaryOf(db, "public.items").hash, plain);
}

// What a set records is the database at the snapshot's instant, not what came after.
TEST_F(PgClusterTest, SnapshotSummaryIsTheSnapshotsContent) {
  const ConnectionParams db = FreshDatabase("summary_snapshot");
  ASSERT_TRUE(LoadSampleGovernSchema(db, "", 256 * 1024).ok());
  const auto before = Summaries(db);
  ASSERT_TRUE(before.count("public.artifacts"));

  Result<std::unique_ptr<ExportedSnapshot>> snapshot = ExportedSnapshot::Open(db);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
  Sql(db, "UPDATE artifacts SET name = name || ' (renamed)' WHERE id IN "
          "(SELECT id FROM artifacts ORDER BY id LIMIT 3);");
  const auto live = Summaries(db);
  EXPECT_EQ(live.at("public.artifacts").rows, before.at("public.artifacts").rows);
  EXPECT_NE(live.at("public.artifacts").hash, before.at("public.artifacts").hash);

  Result<std::map<std::string, TableSummary>> seen = (*snapshot)->SummarizeTables();
  ASSERT_TRUE(seen.ok()) << seen.status().ToString();
  ASSERT_EQ(seen->size(), before.size());
  for (const auto& [table, summary] : before) {
    EXPECT_EQ(seen->at(table).rows, summary.rows) << table;
    EXPECT_EQ(seen->at(table).hash, summary.hash) << table;
  }
  (*snapshot)->Release();
  EXPECT_FALSE((*snapshot)->SummarizeTables().ok());
}

}  // namespace
}  // namespace gb
