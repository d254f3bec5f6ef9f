// Whether a database can have changed since a snapshot (the dump started while DSS ran is
// kept only when it cannot): a commit after the snapshot, a transaction in progress at the
// snapshot that commits later, and a sequence moved outside any transaction all count; a
// transaction that only read, or rolled back, does not.
#include "pg/database_mark.h"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "pg/snapshot.h"
#include "sandbox/sql.h"
#include "tests/support/pg_test_cluster.h"

namespace gb {
namespace {

using testing::FreshDatabase;
using testing::PgClusterTest;

void Sql(const ConnectionParams& params, const std::string& sql) {
  Status done = ExecuteSql(params, sql);
  ASSERT_TRUE(done.ok()) << done.ToString();
}

// The mark of a snapshot exported now (kept open, as a backup keeps it).
struct Marked {
  std::unique_ptr<ExportedSnapshot> snapshot;
  DatabaseMark mark;
};

Marked MarkNow(const ConnectionParams& params) {
  Marked marked;
  Result<std::unique_ptr<ExportedSnapshot>> snapshot = ExportedSnapshot::Open(params);
  EXPECT_TRUE(snapshot.ok()) << snapshot.status().ToString();
  if (!snapshot.ok()) return marked;
  marked.snapshot = std::move(snapshot).value();
  Result<DatabaseMark> mark = marked.snapshot->Mark();
  EXPECT_TRUE(mark.ok()) << mark.status().ToString();
  if (mark.ok()) marked.mark = *mark;
  return marked;
}

// "" when nothing changed, else WhatChangedSince's reason.
std::string ChangeSince(const ConnectionParams& params, const DatabaseMark& mark) {
  Result<std::optional<std::string>> change = WhatChangedSince(params, mark);
  EXPECT_TRUE(change.ok()) << change.status().ToString();
  if (!change.ok()) return "error";
  return change->value_or("");
}

constexpr char kSchema[] =
    "CREATE TABLE items (id int PRIMARY KEY, name text);"
    "INSERT INTO items SELECT i, 'item ' || i FROM generate_series(1, 100) i;"
    "CREATE SEQUENCE ids;"
    "CREATE UNLOGGED SEQUENCE tickets;";

TEST_F(PgClusterTest, NothingChangesWhileOnlyReadsAndRollbacksHappen) {
  const ConnectionParams db = FreshDatabase("mark_still");
  Sql(db, kSchema);
  Marked marked = MarkNow(db);
  EXPECT_EQ(ChangeSince(db, marked.mark), "");
  {
    pqxx::connection connection(db.ConnectionString());
    pqxx::work tx(connection);
    tx.exec("SELECT count(*) FROM items");
    tx.commit();
    pqxx::work rolled_back(connection);
    rolled_back.exec("INSERT INTO items VALUES (1000, 'never')");  // takes an xid
    rolled_back.abort();
  }
  EXPECT_EQ(ChangeSince(db, marked.mark), "");
}

TEST_F(PgClusterTest, ACommitAfterTheSnapshotIsAChange) {
  const ConnectionParams db = FreshDatabase("mark_commit");
  Sql(db, kSchema);
  Marked marked = MarkNow(db);
  Sql(db, "UPDATE items SET name = 'renamed' WHERE id = 7");
  EXPECT_EQ(ChangeSince(db, marked.mark), "1 transaction committed since");
}

TEST_F(PgClusterTest, ATransactionOpenAtTheSnapshotThatCommitsLaterIsAChange) {
  const ConnectionParams db = FreshDatabase("mark_in_progress");
  Sql(db, kSchema);
  pqxx::connection connection(db.ConnectionString());
  pqxx::work open(connection);
  open.exec("DELETE FROM items WHERE id = 3");  // has its xid before the snapshot
  // A later transaction done before the snapshot: xmax passes the open one, which the
  // snapshot then lists as in progress.
  Sql(db, "UPDATE items SET name = 'before the snapshot' WHERE id = 50");
  Marked marked = MarkNow(db);
  EXPECT_EQ(marked.mark.in_progress.size(), 1u);
  EXPECT_EQ(ChangeSince(db, marked.mark), "") << "in progress, it is seen by no snapshot";
  open.commit();
  EXPECT_EQ(ChangeSince(db, marked.mark), "1 transaction committed since");
}

TEST_F(PgClusterTest, ASequenceMovedOutsideAnyTransactionIsAChange) {
  const ConnectionParams db = FreshDatabase("mark_sequence");
  Sql(db, kSchema);
  Sql(db, "SELECT nextval('tickets')");
  Marked marked = MarkNow(db);
  // An unlogged sequence never takes an xid; a logged one takes one every 32 values only.
  Sql(db, "SELECT nextval('tickets')");
  EXPECT_EQ(ChangeSince(db, marked.mark), "sequence public.tickets moved from 1 to 2");
}

TEST_F(PgClusterTest, ASequenceCreatedOrDroppedIsAChange) {
  const ConnectionParams db = FreshDatabase("mark_sequences");
  Sql(db, kSchema);
  Marked marked = MarkNow(db);
  Sql(db, "CREATE SEQUENCE more_ids");
  EXPECT_NE(ChangeSince(db, marked.mark), "");
  Marked again = MarkNow(db);
  EXPECT_EQ(again.mark.sequences.count("public.more_ids"), 1u);
  EXPECT_EQ(again.mark.sequences.at("public.more_ids"), "") << "never called";
  EXPECT_EQ(ChangeSince(db, again.mark), "");
}

TEST_F(PgClusterTest, TooManyTransactionsSinceAreAChangeWithoutAskingEach) {
  const ConnectionParams db = FreshDatabase("mark_many");
  Sql(db, kSchema);
  Marked marked = MarkNow(db);
  {
    // Each loop turn its own transaction, with an xid: a DO block commits only outside one.
    pqxx::connection connection(db.ConnectionString());
    pqxx::nontransaction tx(connection);
    tx.exec("DO $$ BEGIN FOR i IN 1.." + std::to_string(kMaxXidsToExamine + 1) +
            " LOOP PERFORM txid_current(); COMMIT; END LOOP; END $$");
  }
  EXPECT_EQ(ChangeSince(db, marked.mark), std::to_string(kMaxXidsToExamine + 1) +
                                              " transactions started since");
}

TEST_F(PgClusterTest, AMarkFromAnotherServerIsAChange) {
  const ConnectionParams db = FreshDatabase("mark_other_server");
  Marked marked = MarkNow(db);
  DatabaseMark ahead = marked.mark;
  ahead.xmax += 5;  // ids this server has not handed out yet
  EXPECT_NE(ChangeSince(db, ahead).find("transaction ids went back"), std::string::npos);
}

TEST_F(PgClusterTest, AMarkOfAReleasedSnapshotIsAnError) {
  const ConnectionParams db = FreshDatabase("mark_released");
  Marked marked = MarkNow(db);
  marked.snapshot->Release();
  Result<DatabaseMark> mark = marked.snapshot->Mark();
  ASSERT_FALSE(mark.ok());
  EXPECT_NE(mark.status().message().find("already released"), std::string::npos)
      << mark.status().ToString();
}

}  // namespace
}  // namespace gb
