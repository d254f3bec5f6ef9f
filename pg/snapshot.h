// ExportedSnapshot: a REPEATABLE READ transaction whose snapshot is exported with
// pg_export_snapshot(), so that pg_dump --snapshot sees exactly that instant. The
// snapshot stays valid while this object (its transaction) is alive.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "io/status.h"
#include "pg/connection.h"
#include "pg/database_mark.h"
#include "pg/table_summary.h"

namespace gb {

class ExportedSnapshot {
 public:
  static Result<std::unique_ptr<ExportedSnapshot>> Open(const ConnectionParams& params);
  ~ExportedSnapshot();  // ends the transaction

  const std::string& id() const;  // e.g. "00000003-0000001B-1"
  // Row counts of every user table as seen by the snapshot ("schema.table" -> rows).
  Result<std::map<std::string, uint64_t>> CountTableRows();
  // Row count and content hash of every user table as seen by the snapshot (what a set
  // records for `diff`); one scan per table.
  Result<std::map<std::string, TableSummary>> SummarizeTables();
  // What tells later whether the database moved since this snapshot (database_mark.h).
  Result<DatabaseMark> Mark();
  void Release();                 // ends the transaction early

 private:
  ExportedSnapshot();
  Status CheckHeld() const;  // an error once released
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gb
