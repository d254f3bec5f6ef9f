// The table summaries read from a real pg_dump archive as it streams: the same row counts as
// the server's count(*), a content hash independent of row order and of the database's
// output settings, sensitive to any change, whatever the pieces the bytes come in; and an
// archive it cannot follow is said so (the backup then asks the server), never misread.
#include "pg/dump_table_summary.h"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "pg/dump.h"
#include "pg/dump_tools.h"
#include "pg/pq_session.h"
#include "sandbox/sql.h"
#include "tests/support/dump_summary.h"
#include "tests/support/pg_test_cluster.h"

namespace gb {
namespace {

using testing::DumpSummaries;
using testing::FreshDatabase;
using testing::PgClusterTest;

void Sql(const ConnectionParams& params, const std::string& sql) {
  Status done = ExecuteSql(params, sql);
  ASSERT_TRUE(done.ok()) << done.ToString();
}

std::map<std::string, uint64_t> ServerRowCounts(const ConnectionParams& params) {
  pqxx::connection connection(params.ConnectionString());
  pqxx::work tx(connection);
  return pq::CountUserTableRows(tx);
}

std::map<std::string, TableSummary> Summaries(const ConnectionParams& params) {
  Result<std::map<std::string, TableSummary>> summaries = DumpSummaries(params);
  EXPECT_TRUE(summaries.ok()) << summaries.status().ToString();
  return summaries.ok() ? *summaries : std::map<std::string, TableSummary>{};
}

// The archive's bytes, whole.
std::string Dump(const ConnectionParams& params, std::vector<std::string> extra = {}) {
  Result<DumpTools> tools = FindDumpToolsFor("", 15);
  EXPECT_TRUE(tools.ok());
  if (!extra.empty()) {
    // pg_dump itself, with options PgDump does not take (a compressed archive).
    std::string command = tools->pg_dump + " --format=custom";
    for (const std::string& option : extra) command += " " + option;
    command += " '--dbname=" + params.ConnectionString() + "'";
    std::string out;
    FILE* pipe = popen(command.c_str(), "r");
    char buffer[65536];
    for (size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
    EXPECT_EQ(pclose(pipe), 0) << command;
    return out;
  }
  Result<std::unique_ptr<PgDump>> dump = PgDump::Start(*tools, params, "");
  EXPECT_TRUE(dump.ok());
  StringSink sink;
  EXPECT_TRUE((*dump)->PumpTo(sink).ok());
  return sink.bytes();
}

Result<std::map<std::string, TableSummary>> SummarizeInPieces(const std::string& archive,
                                                              size_t piece) {
  DumpTableSummary summary;
  for (size_t at = 0; at < archive.size(); at += piece)
    summary.Feed(archive.data() + at, std::min(piece, archive.size() - at));
  return summary.Finish();
}

// Rows a naive line count would get wrong: an empty line (one empty text column), escaped
// newlines, tabs and backslashes, NULLs, a row "\." would be mistaken for the end marker if
// COPY did not escape it; a table in another schema, an empty one, a large object (a data
// block of another kind), and enough rows to span many pieces.
constexpr char kAwkwardTables[] =
    "CREATE TABLE single (v text);"
    "INSERT INTO single VALUES (''), (''), ('x'), (E'\\\\.'), (NULL);"
    "CREATE TABLE escaped (id int, body text);"
    "INSERT INTO escaped VALUES (1, E'two\\nlines'), (2, E'tab\\there'), (3, E'back\\\\slash');"
    "CREATE SCHEMA other; CREATE TABLE other.kept (id int PRIMARY KEY, name text);"
    "INSERT INTO other.kept SELECT i, 'name ' || i FROM generate_series(1, 30000) i;"
    "CREATE TABLE empty (v text);"
    "SELECT lo_from_bytea(0, 'a large object');";

TEST_F(PgClusterTest, DumpSummaryCountsWhatTheServerCounts) {
  const ConnectionParams db = FreshDatabase("dump_summary_counts");
  Sql(db, kAwkwardTables);
  const std::map<std::string, uint64_t> counts = ServerRowCounts(db);
  const std::string archive = Dump(db);
  Result<std::map<std::string, TableSummary>> whole = SummarizeInPieces(archive, archive.size());
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  ASSERT_EQ(whole->size(), counts.size());
  for (const auto& [table, rows] : counts) {
    ASSERT_TRUE(whole->count(table)) << table;
    EXPECT_EQ(whole->at(table).rows, rows) << table;
    EXPECT_EQ(whole->at(table).hash.rfind("copysha64sum-pg15:", 0), 0u) << whole->at(table).hash;
  }
  EXPECT_EQ(whole->at("public.single").rows, 5u);
  EXPECT_EQ(whole->at("public.empty").hash, "copysha64sum-pg15:0000000000000000");

  // Every cut of the stream gives the same summaries: one byte at a time, and odd pieces.
  for (size_t piece : {size_t{1}, size_t{7}, size_t{4093}, size_t{1} << 20}) {
    Result<std::map<std::string, TableSummary>> cut = SummarizeInPieces(archive, piece);
    ASSERT_TRUE(cut.ok()) << piece << ": " << cut.status().ToString();
    for (const auto& [table, summary] : *whole) {
      EXPECT_EQ(cut->at(table).rows, summary.rows) << piece << " " << table;
      EXPECT_EQ(cut->at(table).hash, summary.hash) << piece << " " << table;
    }
  }
}

TEST_F(PgClusterTest, DumpSummaryHashIsTheContentNotTheOrderNorTheSettings) {
  const ConnectionParams db = FreshDatabase("dump_summary_content");
  Sql(db, "CREATE TABLE items (id int, r text, at timestamptz, blob bytea);"
          "INSERT INTO items SELECT i, 'row ' || i, timestamptz '2026-01-01 00:00Z' + i * "
          "interval '1 hour', decode(md5(i::text), 'hex') FROM generate_series(1, 500) i;"
          "CREATE TABLE multiset (v text); INSERT INTO multiset VALUES ('a'), ('a'), ('c');");
  const auto first = Summaries(db);

  // An update undone moves the row to the end of the heap: same content, same hash.
  Sql(db, "UPDATE items SET r = 'moved' WHERE id = 7; UPDATE items SET r = 'row 7' WHERE id = 7;");
  // The database's defaults change how rows are written as text; PgDump pins them.
  Sql(db, "ALTER DATABASE dump_summary_content SET TimeZone = 'Asia/Kolkata';"
          "ALTER DATABASE dump_summary_content SET bytea_output = 'escape';"
          "ALTER DATABASE dump_summary_content SET DateStyle = 'SQL, DMY';");
  const auto same = Summaries(db);
  EXPECT_EQ(same.at("public.items").hash, first.at("public.items").hash);
  EXPECT_EQ(same.at("public.multiset").hash, first.at("public.multiset").hash);

  // One character of one row; {a, a, c} -> {b, b, c}, which a XOR of rows would not see.
  Sql(db, "UPDATE items SET r = 'row 8.' WHERE id = 8; UPDATE multiset SET v = 'b' WHERE v = 'a';");
  const auto changed = Summaries(db);
  EXPECT_EQ(changed.at("public.items").rows, 500u);
  EXPECT_NE(changed.at("public.items").hash, first.at("public.items").hash);
  EXPECT_EQ(changed.at("public.multiset").rows, 3u);
  EXPECT_NE(changed.at("public.multiset").hash, first.at("public.multiset").hash);
  EXPECT_TRUE(SameTableHashScheme(changed.at("public.items").hash, first.at("public.items").hash));
  EXPECT_FALSE(SameTableHashScheme(first.at("public.items").hash, "hte64sum:0123456789abcdef"));
}

TEST_F(PgClusterTest, AnArchiveThatCannotBeFollowedIsSaidSoNeverMisread) {
  const ConnectionParams db = FreshDatabase("dump_summary_refused");
  Sql(db, kAwkwardTables);
  const std::string archive = Dump(db);

  Result<std::map<std::string, TableSummary>> compressed =
      SummarizeInPieces(Dump(db, {"--compress=6"}), 65536);
  ASSERT_FALSE(compressed.ok());
  EXPECT_NE(compressed.status().message().find("compressed"), std::string::npos)
      << compressed.status().ToString();

  // Cut inside a table's rows.
  const size_t row = archive.find("15000\tname 15000\n");
  ASSERT_NE(row, std::string::npos);
  Result<std::map<std::string, TableSummary>> truncated =
      SummarizeInPieces(archive.substr(0, row + 3), 65536);
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.status().message().find("ends inside"), std::string::npos)
      << truncated.status().ToString();

  std::string newer = archive;
  newer[6] = 15;  // archive version 1.15 (pg_dump 16): a layout not checked here
  Result<std::map<std::string, TableSummary>> other = SummarizeInPieces(newer, 65536);
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.status().message().find("archive version 1.15"), std::string::npos)
      << other.status().ToString();

  EXPECT_FALSE(SummarizeInPieces("SELECT 1;\n", 4).ok());
  EXPECT_FALSE(SummarizeInPieces("", 1).ok());

  // A damaged data block (a chunk length turned negative) stops the summary.
  std::string damaged = archive;
  damaged[row - 5] = 1;  // the sign byte of the row's chunk length
  DumpTableSummary summary;
  summary.Feed(damaged.data(), damaged.size());
  EXPECT_TRUE(summary.failed());
  EXPECT_FALSE(summary.Finish().ok());
}

}  // namespace
}  // namespace gb
