#include "pg/snapshot.h"

#include <spdlog/spdlog.h>

#include <pqxx/pqxx>

#include "pg/pq_session.h"

namespace gb {

using SnapshotTransaction = pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>;

struct ExportedSnapshot::Impl {
  ConnectionParams params;
  std::unique_ptr<pqxx::connection> connection;
  std::unique_ptr<SnapshotTransaction> transaction;
  std::string id;
};

ExportedSnapshot::ExportedSnapshot() : impl_(std::make_unique<Impl>()) {}

ExportedSnapshot::~ExportedSnapshot() { Release(); }

Result<std::unique_ptr<ExportedSnapshot>> ExportedSnapshot::Open(const ConnectionParams& params) {
  std::unique_ptr<ExportedSnapshot> snapshot(new ExportedSnapshot());
  Impl& impl = *snapshot->impl_;
  impl.params = params;
  GB_ASSIGN_OR_RETURN(impl.connection, pq::Connect(params));
  try {
    impl.transaction = std::make_unique<SnapshotTransaction>(*impl.connection);
    impl.id = impl.transaction->exec1("SELECT pg_catalog.pg_export_snapshot()")[0]
                  .as<std::string>();
  } catch (const std::exception& error) {
    return pq::QueryError("exporting a snapshot", params, error);
  }
  spdlog::debug("exported snapshot {} of {}", impl.id, params.Describe());
  return snapshot;
}

const std::string& ExportedSnapshot::id() const { return impl_->id; }

Status ExportedSnapshot::CheckHeld() const {
  if (impl_->transaction) return Status::Ok();
  return Status::Failed("snapshot " + impl_->id + " of " + impl_->params.Describe() +
                        " was already released");
}

Result<std::map<std::string, uint64_t>> ExportedSnapshot::CountTableRows() {
  GB_RETURN_IF_ERROR(CheckHeld());
  try {
    return pq::CountUserTableRows(*impl_->transaction);
  } catch (const std::exception& error) {
    return pq::QueryError("counting table rows in snapshot " + impl_->id, impl_->params, error);
  }
}

Result<std::map<std::string, TableSummary>> ExportedSnapshot::SummarizeTables() {
  GB_RETURN_IF_ERROR(CheckHeld());
  try {
    return pq::SummarizeUserTables(*impl_->transaction);
  } catch (const std::exception& error) {
    return pq::QueryError("hashing table contents in snapshot " + impl_->id, impl_->params,
                          error);
  }
}

Result<DatabaseMark> ExportedSnapshot::Mark() {
  GB_RETURN_IF_ERROR(CheckHeld());
  try {
    return pq::ReadDatabaseMark(*impl_->transaction);
  } catch (const std::exception& error) {
    return pq::QueryError("reading the transaction state of snapshot " + impl_->id,
                          impl_->params, error);
  }
}

void ExportedSnapshot::Release() {
  if (!impl_ || !impl_->transaction) return;
  try {
    // Read-only: committing and aborting are the same; abort never needs the server.
    impl_->transaction->abort();
  } catch (const std::exception& error) {
    spdlog::debug("ending snapshot transaction {}: {}", impl_->id, error.what());
  }
  impl_->transaction.reset();
  impl_->connection.reset();
  spdlog::debug("released snapshot {}", impl_->id);
}

}  // namespace gb
