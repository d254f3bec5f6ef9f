// DatabaseMark: what tells whether a database can have changed between two instants, so that
// a dump started on a snapshot of the running node can stand for the stopped node's database.
//
// Every change to a table's contents, a large object or the schema is made by a transaction
// that holds a transaction id (xid). A snapshot lists which xids it cannot see: those in
// progress when it was taken, and every xid from its xmax on. If none of those committed by a
// later instant, a snapshot taken then sees exactly the same rows. Sequences are the one
// exception: nextval and setval change them outside any transaction (nextval logs, and takes
// an xid, only once per 32 values), so their values are compared too.
//
// A mark is read in the transaction whose snapshot it describes (ExportedSnapshot::Mark).
//
// Thread-safety: a plain value; WhatChangedSince opens a connection of its own.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "io/status.h"
#include "pg/connection.h"

namespace gb {

struct DatabaseMark {
  uint64_t xmin = 0;  // every xid before it was finished when the snapshot was taken
  uint64_t xmax = 0;  // the first xid not yet handed out
  std::vector<uint64_t> in_progress;  // xids between xmin and xmax it cannot see
  // "schema.sequence" -> its last value ("" never called, or not readable by this user).
  std::map<std::string, std::string> sequences;
};

// Past this many xids handed out since the mark, the database is taken as changed without
// asking the server about each (a busy cluster: another dump is due anyway).
inline constexpr uint64_t kMaxXidsToExamine = 10000;

// Whether anything a dump would hold may differ now from what `mark`'s snapshot saw: nullopt
// when nothing can have, else what did ("3 transactions committed", "sequence s moved").
// An xid of another database of the cluster counts too (xids are the cluster's): that only
// costs a dump that could have been kept.
Result<std::optional<std::string>> WhatChangedSince(const ConnectionParams& params,
                                                    const DatabaseMark& mark);

}  // namespace gb
