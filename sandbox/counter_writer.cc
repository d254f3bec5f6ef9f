#include "sandbox/counter_writer.h"

#include <unistd.h>

#include <pqxx/pqxx>

#include "io/files.h"
#include "sandbox/sql.h"

namespace gb {
namespace {

Result<uint64_t> ParseCounter(const std::string& text, const std::string& where) {
  std::string digits = text;
  while (!digits.empty() && digits.back() == '\n') digits.pop_back();
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos)
    return Status::Failed(where + " holds no counter: \"" + text + "\"");
  return static_cast<uint64_t>(std::stoull(digits));
}

// A file of the node's control dir that the node's owner (who runs bin/dss) can use.
Status WriteOwnedFile(const SampleNode& node, const std::string& name, const std::string& content,
                      mode_t mode) {
  const std::string path = node.control_dir + "/" + name;
  GB_RETURN_IF_ERROR(WriteFile(path, content, mode));
  if (::geteuid() == 0 && ::chown(path.c_str(), node.owner_uid, node.owner_gid) != 0)
    return Status::FromErrno("cannot give " + path + " to the node's owner", errno);
  return Status::Ok();
}

// psql's settings for bin/dss (counter, stop-sql): one KEY=VALUE a line, with a copy of
// db.password_file that the node's owner can read.
Result<std::string> PsqlSettings(const SampleNode& node, const ConnectionParams& db,
                                 const std::string& psql) {
  std::string settings = "psql=" + psql + "\nPGHOST=" + db.host + "\nPGPORT=" +
                         std::to_string(db.port) + "\nPGDATABASE=" + db.dbname +
                         "\nPGUSER=" + db.user + "\n";
  if (!db.password_file.empty()) {
    GB_ASSIGN_OR_RETURN(std::string passwords, ReadWholeFile(db.password_file));
    // libpq ignores a password file that others can read.
    GB_RETURN_IF_ERROR(WriteOwnedFile(node, "dss.pgpass", passwords, 0600));
    settings += "PGPASSFILE=" + node.control_dir + "/dss.pgpass\n";
  }
  return settings;
}

}  // namespace

Status EnableCounterWriter(const SampleNode& node, const ConnectionParams& db,
                           const std::string& psql) {
  GB_RETURN_IF_ERROR(ExecuteSql(db, std::string("CREATE TABLE IF NOT EXISTS ") + kCounterTable +
                                        " (id int PRIMARY KEY, value bigint NOT NULL);"
                                        "INSERT INTO " + kCounterTable +
                                        " VALUES (1, 0) ON CONFLICT (id) DO NOTHING;"));
  GB_ASSIGN_OR_RETURN(std::string settings, PsqlSettings(node, db, psql));
  return WriteOwnedFile(node, "counter", settings, 0644);
}

Status SetSqlAtStop(const SampleNode& node, const ConnectionParams& db, const std::string& sql,
                    const std::string& psql) {
  if (sql.find('\n') != std::string::npos)
    return Status::Failed("the SQL of a stop is one line: " + sql);
  GB_ASSIGN_OR_RETURN(std::string settings, PsqlSettings(node, db, psql));
  return WriteOwnedFile(node, "stop-sql", settings + "sql=" + sql + "\n", 0644);
}

std::map<std::string, std::string> ExpectedCounterChurn(uint64_t n) {
  const std::string dir = kCounterChurnDir;
  std::map<std::string, std::string> files;
  files[dir] = "";
  for (int folder = 0; folder < 16; ++folder) files[dir + "/" + std::to_string(folder)] = "";
  for (uint64_t k = 1; k <= n; ++k) {
    const std::string line = std::to_string(k) + "\n";
    files[dir + "/log" + std::to_string(k % 5)] += line;
    const std::string folder = dir + "/" + std::to_string(k % 16) + "/";
    if (k + 4 > n) files[folder + "f" + std::to_string(k)] = line;        // the last 4 steps
    else if (k + 12 > n) files[folder + "r" + std::to_string(k)] = line;  // renamed, not deleted
  }
  return files;
}

Result<uint64_t> ReadCounterFile(const std::string& data_dir) {
  const std::string path = data_dir + "/" + kCounterFile;
  GB_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
  return ParseCounter(text, path);
}

Result<uint64_t> ReadCounterRow(const ConnectionParams& db) {
  try {
    pqxx::connection connection(db.ConnectionString());
    pqxx::work work(connection);
    const pqxx::row row =
        work.exec1(std::string("SELECT value FROM ") + kCounterTable + " WHERE id = 1");
    return ParseCounter(row[0].as<std::string>(), kCounterTable + std::string(" in ") +
                                                       db.Describe());
  } catch (const std::exception& error) {
    return Status::Failed("reading the counter row of " + db.Describe() + ": " + error.what());
  }
}

}  // namespace gb
