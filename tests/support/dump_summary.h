// The table summaries a backup records (read from its dump: pg/dump_table_summary.h), taken of
// a live or restored database with a pg_dump of its own: what a test compares a set's manifest
// with.
#pragma once

#include <map>
#include <string>

#include "io/status.h"
#include "pg/connection.h"
#include "pg/table_summary.h"

namespace gb {
namespace testing {

// pg_dump 15 of `params` (no snapshot), its bytes summarized and dropped.
Result<std::map<std::string, TableSummary>> DumpSummaries(const ConnectionParams& params);

}  // namespace testing
}  // namespace gb
