// Internal to pg/: opening libpqxx connections with classified, password-free errors, and
// the queries that several pg/ files share. Not part of the interface others code against.
#pragma once

#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <pqxx/pqxx>

#include "io/status.h"
#include "pg/connection.h"
#include "pg/database_mark.h"
#include "pg/table_summary.h"

namespace gb {
namespace pq {

// Opens a connection; a failure is classified (authentication, unreachable server, missing
// database) with a hint for the admin.
Result<std::unique_ptr<pqxx::connection>> Connect(const ConnectionParams& params);

// The error for a failed connection attempt whose libpq message is `libpq_message`.
Status ClassifyConnectError(const ConnectionParams& params, const std::string& libpq_message);

// The error for a failed query: "<doing> on <params.Describe()>: <server message>".
Status QueryError(const std::string& doing, const ConnectionParams& params,
                  const std::exception& error);

// Replaces anything that looks like "password=..." by "password=***".
std::string ScrubPasswords(const std::string& text);

// Every table of every non-system schema, as (schema, table), sorted.
std::vector<std::pair<std::string, std::string>> UserTables(pqxx::transaction_base& tx);

// Exact row count of every table of every non-system schema, as `tx` sees them.
std::map<std::string, uint64_t> CountUserTableRows(pqxx::transaction_base& tx);

// Row count and content hash (table_summary.h) of the same tables, one scan each. It pins
// the settings that shape a row's text (time zone, date and interval styles, float digits,
// bytea output) with SET LOCAL, so that a table's hash does not depend on the role's or the
// server's defaults: call it inside a transaction block.
std::map<std::string, TableSummary> SummarizeUserTables(pqxx::transaction_base& tx);

// The mark (database_mark.h) of the snapshot `tx` reads from (in REPEATABLE READ, the
// transaction's own), and its sequences' values now.
DatabaseMark ReadDatabaseMark(pqxx::transaction_base& tx);

}  // namespace pq
}  // namespace gb
