// TableSummary: what a backup records of each table of the database so that `diff` can tell
// which tables changed between two sets without reading their dumps: the row count and a
// content hash that does not depend on the order of the rows.
//
// Thread-safety: plain functions; each call uses its own connection or the caller's
// transaction (one thread at a time, as libpqxx requires).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "io/status.h"
#include "pg/connection.h"

namespace gb {

// The content hash's scheme, spelled at the start of every hash up to its ':': a hash made
// another way (an older version, or read from the dump: dump_table_summary.h) is never taken
// for a difference, only for "not comparable". This one is the server's, asked in SQL.
inline constexpr char kTableHashScheme[] = "hte64sum:";

struct TableSummary {
  uint64_t rows = 0;
  std::string hash;  // kTableHashScheme + 16 hex digits
};

// Every table of every non-system schema ("schema.table"), as one REPEATABLE READ
// transaction sees them.
Result<std::map<std::string, TableSummary>> SummarizeTables(const ConnectionParams& params);

// Whether two hashes were made by the same scheme, the same text up to the first ':' (so that
// different means changed).
bool SameTableHashScheme(const std::string& a, const std::string& b);

}  // namespace gb
