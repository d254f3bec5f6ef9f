#include "pg/pq_session.h"

#include <regex>

#include <spdlog/spdlog.h>

namespace gb {
namespace pq {
namespace {

bool Contains(const std::string& text, const char* needle) {
  return text.find(needle) != std::string::npos;
}

std::string Where(const ConnectionParams& params) {
  return (params.host.empty() ? std::string("localhost") : params.host) + ":" +
         std::to_string(params.port);
}

std::string PasswordFileHint(const ConnectionParams& params) {
  const std::string file = params.password_file.empty()
                               ? std::string("(PGPASSFILE, else ~/.pgpass)")
                               : params.password_file + " (set as [database].password_file)";
  return "check the password in the libpq password file " + file +
         "; its line must match host:port:database:user";
}

// The first line of a libpq message, without "FATAL:" and surrounding blanks.
std::string Condense(const std::string& message) {
  std::string line = message.substr(0, message.find('\n'));
  for (const char* prefix : {"FATAL:", "ERROR:"}) {
    auto at = line.find(prefix);
    if (at != std::string::npos) line = line.substr(at + std::string(prefix).size());
  }
  auto begin = line.find_first_not_of(" \t");
  auto end = line.find_last_not_of(" \t\r");
  if (begin == std::string::npos) return "";
  return line.substr(begin, end - begin + 1);
}

}  // namespace

std::string ScrubPasswords(const std::string& text) {
  static const std::regex kPassword(R"((password\s*=\s*)('([^'\\]|\\.)*'|\S+))",
                                    std::regex::icase);
  return std::regex_replace(text, kPassword, "$1***");
}

// Classified by text because a failed connection has nothing else: libpq reports it through
// PQerrorMessage only (no SQLSTATE, no error fields), and libpqxx passes that text on.
Status ClassifyConnectError(const ConnectionParams& params, const std::string& libpq_message) {
  const std::string message = ScrubPasswords(libpq_message);
  const std::string where = Where(params);
  spdlog::debug("connection to {} failed: {}", params.Describe(), message);
  if (Contains(message, "password authentication failed")) {
    return Status::Failed("password authentication failed for user " + params.user + " at " +
                              where,
                          PasswordFileHint(params));
  }
  if (Contains(message, "no password supplied")) {
    return Status::Failed("no password found for user " + params.user + " at " + where +
                              " (the server asks for one)",
                          PasswordFileHint(params));
  }
  if (Contains(message, "does not exist") && Contains(message, "database")) {
    return Status::Failed("database \"" + params.dbname + "\" does not exist on " + where,
                          "check [database].dbname in the configuration");
  }
  if (Contains(message, "role \"") && Contains(message, "does not exist")) {
    return Status::Failed("role \"" + params.user + "\" does not exist on " + where,
                          "check [database].user in the configuration");
  }
  if (Contains(message, "Connection refused") || Contains(message, "could not connect") ||
      Contains(message, "No such file or directory") ||
      Contains(message, "could not translate host name") || Contains(message, "timeout expired") ||
      Contains(message, "the database system is shutting down") ||
      Contains(message, "the database system is starting up") ||
      Contains(message, "No route to host")) {
    return Status::Failed("PostgreSQL server not reachable at " + where + ": " + Condense(message),
                          "is the server running? check [database].host and port");
  }
  if (Contains(message, "no pg_hba.conf entry")) {
    return Status::Failed("PostgreSQL at " + where + " refuses user " + params.user + ": " +
                              Condense(message),
                          "allow this host and user in the server's pg_hba.conf");
  }
  return Status::Failed("cannot connect to PostgreSQL as " + params.Describe() + ": " +
                        Condense(message));
}

Result<std::unique_ptr<pqxx::connection>> Connect(const ConnectionParams& params) {
  try {
    return std::make_unique<pqxx::connection>(params.ConnectionString());
  } catch (const std::exception& error) {
    return ClassifyConnectError(params, error.what());
  }
}

Status QueryError(const std::string& doing, const ConnectionParams& params,
                  const std::exception& error) {
  if (dynamic_cast<const pqxx::broken_connection*>(&error) != nullptr) {
    return ClassifyConnectError(params, error.what());
  }
  return Status::Failed(doing + " on " + params.Describe() + ": " +
                        Condense(ScrubPasswords(error.what())));
}

std::vector<std::pair<std::string, std::string>> UserTables(pqxx::transaction_base& tx) {
  const pqxx::result rows = tx.exec(
      "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c "
      "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
      "WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
      "AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%' "
      "ORDER BY 1, 2");
  std::vector<std::pair<std::string, std::string>> tables;
  for (const auto& row : rows) tables.emplace_back(row[0].as<std::string>(), row[1].as<std::string>());
  return tables;
}

std::map<std::string, uint64_t> CountUserTableRows(pqxx::transaction_base& tx) {
  std::map<std::string, uint64_t> counts;
  for (const auto& [schema, table] : UserTables(tx)) {
    const pqxx::row count =
        tx.exec1("SELECT count(*) FROM " + tx.quote_name(schema) + "." + tx.quote_name(table));
    counts[schema + "." + table] = count[0].as<uint64_t>();
  }
  return counts;
}

}  // namespace pq
}  // namespace gb
