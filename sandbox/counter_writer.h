// CounterWriter: the writing DSS of the consistency tests (and SetSqlAtStop: one that writes
// as it stops). While the sample node's fake DSS
// runs with its `counter` switch on, a writer counts steps n = 1, 2, ...: each step commits
// n to the row of table dss_counter, then writes n to config/counter.txt, then creates,
// appends to, renames and deletes files under managed_folders/counter-churn; a `dss stop`
// lets the step in progress finish (sandbox/fake_dss.sh, do_counter_writer). A data dir and a
// database captured together while DSS was stopped therefore hold the same n, and exactly the
// churn files of step n (ExpectedCounterChurn); captured while DSS runs, they need not.
//
// Thread-safety: plain functions; EnableCounterWriter once per node, before DSS starts.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "io/status.h"
#include "pg/connection.h"
#include "sandbox/sample_node.h"

namespace gb {

inline constexpr char kCounterFile[] = "config/counter.txt";             // in the data dir
inline constexpr char kCounterChurnDir[] = "managed_folders/counter-churn";  // in the data dir
inline constexpr char kCounterTable[] = "dss_counter";                    // (id = 1, value)

// Creates the counter table (value 0) in `db` and turns the node's `counter` switch on: the
// writer starts with the next `dss start` (restart DSS if it runs). The writer connects with
// `db` through psql (`psql`: its path), using a copy of db.password_file that the node's
// owner can read.
Status EnableCounterWriter(const SampleNode& node, const ConnectionParams& db,
                           const std::string& psql = "/usr/bin/psql");

// Turns the node's `stop-sql` switch on: from now on every `dss stop` runs `sql` (one line)
// in `db` through psql once the server is down, as a Govern server that writes on its way
// down; the stop fails if the SQL does. Removing control_dir/stop-sql turns it off.
Status SetSqlAtStop(const SampleNode& node, const ConnectionParams& db, const std::string& sql,
                    const std::string& psql = "/usr/bin/psql");

// What the churn of kCounterChurnDir holds after step `n`: relative path (under the data dir)
// -> file content, "" for the folders.
std::map<std::string, std::string> ExpectedCounterChurn(uint64_t n);

// The counter of a data dir (its kCounterFile) and of a database (its row); errors name them.
Result<uint64_t> ReadCounterFile(const std::string& data_dir);
Result<uint64_t> ReadCounterRow(const ConnectionParams& db);

}  // namespace gb
