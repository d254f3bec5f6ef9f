#include "pg/server.h"

#include <spdlog/spdlog.h>

#include <pqxx/pqxx>

#include "pg/pq_session.h"
#include "pg/version.h"

namespace gb {
namespace {

constexpr const char* kMaintenanceDatabase = "postgres";

// Runs `body(tx)` in an autocommit session on the maintenance database of the server, which
// CREATE/DROP/ALTER DATABASE need (they cannot run inside a transaction block).
template <typename Body>
Status OnMaintenanceDatabase(const ConnectionParams& params, const std::string& doing,
                             Body&& body) {
  const ConnectionParams maintenance = params.WithDatabase(kMaintenanceDatabase);
  GB_ASSIGN_OR_RETURN(auto connection, pq::Connect(maintenance));
  try {
    pqxx::nontransaction tx(*connection);
    return body(tx);
  } catch (const std::exception& error) {
    return pq::QueryError(doing, maintenance, error);
  }
}

}  // namespace

Result<ServerIdentity> ReadServerIdentity(const ConnectionParams& params) {
  GB_ASSIGN_OR_RETURN(auto connection, pq::Connect(params));
  ServerIdentity identity;
  std::string reported_version;
  try {
    pqxx::nontransaction tx(*connection);
    reported_version = tx.exec1("SHOW server_version")[0].as<std::string>();
    identity.server_version_num = tx.exec1("SHOW server_version_num")[0].as<int>();
    const pqxx::row role = tx.exec1(
        "SELECT current_user, r.rolsuper, r.rolcreatedb, "
        "pg_database_size(current_database()), d.datdba = r.oid "
        "FROM pg_catalog.pg_roles r, pg_catalog.pg_database d "
        "WHERE r.rolname = current_user AND d.datname = current_database()");
    identity.current_user = role[0].as<std::string>();
    identity.is_superuser = role[1].as<bool>();
    identity.can_create_db = role[2].as<bool>() || identity.is_superuser;
    identity.database_bytes = role[3].as<uint64_t>();
    identity.owns_database = role[4].as<bool>();
  } catch (const std::exception& error) {
    return pq::QueryError("reading the server identity", params, error);
  }
  Result<PgVersion> version = ParseServerVersion(reported_version);
  if (!version.ok()) return version.status().WithContext("server " + params.Describe());
  identity.server_version = version->text;
  identity.server_major = version->major;
  // pg_control_system() may be revoked from ordinary roles; the identifier is then unknown
  // rather than an error, since it only strengthens the "same cluster" check.
  try {
    pqxx::nontransaction tx(*connection);
    identity.system_identifier =
        tx.exec1("SELECT system_identifier FROM pg_catalog.pg_control_system()")[0]
            .as<std::string>();
  } catch (const pqxx::broken_connection& error) {
    return pq::ClassifyConnectError(params, error.what());
  } catch (const std::exception& error) {
    spdlog::debug("system identifier of {} not readable: {}", params.Describe(), error.what());
  }
  return identity;
}

Result<std::map<std::string, uint64_t>> CountTableRows(const ConnectionParams& params) {
  GB_ASSIGN_OR_RETURN(auto connection, pq::Connect(params));
  try {
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(*connection);
    auto counts = pq::CountUserTableRows(tx);
    tx.commit();
    return counts;
  } catch (const std::exception& error) {
    return pq::QueryError("counting table rows", params, error);
  }
}

Result<bool> DatabaseExists(const ConnectionParams& params, const std::string& dbname) {
  bool exists = false;
  GB_RETURN_IF_ERROR(OnMaintenanceDatabase(
      params, "looking for database \"" + dbname + "\"", [&](pqxx::nontransaction& tx) {
        exists = !tx.exec_params("SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1",
                                 dbname)
                      .empty();
        return Status::Ok();
      }));
  return exists;
}

Status CreateDatabase(const ConnectionParams& params, const std::string& dbname,
                      const std::string& owner) {
  return OnMaintenanceDatabase(
      params, "creating database \"" + dbname + "\"", [&](pqxx::nontransaction& tx) {
        tx.exec0("CREATE DATABASE " + tx.quote_name(dbname) + " OWNER " +
                 tx.quote_name(owner) + " TEMPLATE template0");
        spdlog::debug("created database {} owned by {}", dbname, owner);
        return Status::Ok();
      });
}

Status DropDatabase(const ConnectionParams& params, const std::string& dbname) {
  return OnMaintenanceDatabase(
      params, "dropping database \"" + dbname + "\"", [&](pqxx::nontransaction& tx) {
        tx.exec0("DROP DATABASE IF EXISTS " + tx.quote_name(dbname));
        spdlog::debug("dropped database {}", dbname);
        return Status::Ok();
      });
}

Status RenameDatabase(const ConnectionParams& params, const std::string& from,
                      const std::string& to) {
  return OnMaintenanceDatabase(
      params, "renaming database \"" + from + "\" to \"" + to + "\"",
      [&](pqxx::nontransaction& tx) {
        tx.exec0("ALTER DATABASE " + tx.quote_name(from) + " RENAME TO " + tx.quote_name(to));
        spdlog::debug("renamed database {} to {}", from, to);
        return Status::Ok();
      });
}

Result<std::vector<std::string>> OtherSessions(const ConnectionParams& params,
                                               const std::string& dbname) {
  std::vector<std::string> sessions;
  GB_RETURN_IF_ERROR(OnMaintenanceDatabase(
      params, "listing the sessions on database \"" + dbname + "\"",
      [&](pqxx::nontransaction& tx) {
        const pqxx::result rows = tx.exec_params(
            "SELECT pid, coalesce(usename, ''), coalesce(application_name, ''), "
            "coalesce(client_addr::text, 'local') "
            "FROM pg_catalog.pg_stat_activity "
            // Clients only: an autovacuum worker (it analyzes every table after a
            // restore) is ended by RENAME and DROP DATABASE themselves, and is nobody's
            // session to wait for.
            "WHERE datname = $1 AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend' ORDER BY pid",
            dbname);
        for (const auto& row : rows) {
          std::string session = "pid " + row[0].as<std::string>() + " user " +
                                row[1].as<std::string>() + " from " + row[3].as<std::string>();
          const std::string application = row[2].as<std::string>();
          if (!application.empty()) session += " (" + application + ")";
          sessions.push_back(session);
        }
        return Status::Ok();
      }));
  return sessions;
}

Result<std::vector<DatabaseSize>> DatabasesWithPrefix(const ConnectionParams& params,
                                                      const std::string& prefix) {
  std::vector<DatabaseSize> databases;
  GB_RETURN_IF_ERROR(OnMaintenanceDatabase(
      params, "listing the databases named " + prefix + "*", [&](pqxx::nontransaction& tx) {
        const pqxx::result rows = tx.exec_params(
            "SELECT datname, pg_catalog.pg_database_size(oid) FROM pg_catalog.pg_database "
            "WHERE left(datname, length($1)) = $1 ORDER BY 1",
            prefix);
        for (const auto& row : rows)
          databases.push_back({row[0].as<std::string>(), row[1].as<uint64_t>()});
        return Status::Ok();
      }));
  return databases;
}

}  // namespace gb
