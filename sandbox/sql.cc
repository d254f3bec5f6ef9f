#include "sandbox/sql.h"

#include <pqxx/pqxx>

namespace gb {

Status ExecuteSql(const ConnectionParams& params, const std::string& sql) {
  try {
    pqxx::connection connection(params.ConnectionString());
    pqxx::work work(connection);
    work.exec(sql);
    work.commit();
    return Status::Ok();
  } catch (const std::exception& error) {
    return Status::Failed("SQL on " + params.Describe() + " failed: " + error.what());
  }
}

}  // namespace gb
