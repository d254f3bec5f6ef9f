// GovernNodeTest: an end-to-end fixture. Each test gets a generated Govern node (DSS running)
// whose dip.properties points at a fresh database on the shared throwaway cluster, filled
// with the sample Govern schema; a repository; a config file; and helpers to run the real
// govern-backup binary and to compare data dirs and databases.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sandbox/sample_node.h"
#include "io/subprocess.h"
#include "pg/connection.h"
#include "tests/support/pg_test_cluster.h"

namespace gb {
namespace testing {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// A data-dir half still being written into a local repository: LocalStore's temporary file
// (".tmp-<ID>.datadir.tar.zst-<random>"), which becomes the half only when it is complete.
inline bool IsHalfBeingWritten(const std::filesystem::path& file) {
  const std::string name = file.filename().string();
  return name.rfind(".tmp-", 0) == 0 && name.find(".datadir.tar.zst") != std::string::npos;
}

class GovernNodeTest : public PgClusterTest {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Runs build/govern-backup --config <config_path_> <args...>.
  CommandResult Run(const std::vector<std::string>& args);
  // Starts it without waiting (signal tests); stdout captured.
  std::unique_ptr<Subprocess> Start(const std::vector<std::string>& args);
  // Runs `backup` (plus extra args), expects exit 0, returns the new set id; its stderr (the
  // log) is kept in last_backup_log_.
  std::string BackupOk(const std::vector<std::string>& extra = {});
  // BackupOk, then waits for the clock's next second: ids and retention order sets by the
  // second, so the next set surely sorts after this one.
  std::string BackupOkInItsOwnSecond(const std::vector<std::string>& extra = {});
  // Runs the node's bin/dss (as its owner when we are root), e.g. RunDss("stop").
  Result<ExitInfo> RunDss(const std::string& verb);
  // Rewrites the config file with extra TOML appended to the default one.
  void WriteConfig(const std::string& extra_toml = "");

  // Everything about a tree that a restore must reproduce: per relative path, type, mode,
  // owner, size, content hash, link target. Excluded top-level names can be skipped.
  static std::map<std::string, std::string> TreeDigest(const std::string& dir,
                                                       const std::vector<std::string>& skip_top = {});
  // Per table ("schema.table"), its row count and an md5 of its rows in a stable order.
  static std::map<std::string, std::string> DatabaseDigest(const ConnectionParams& params);
  // Runs SQL as the Govern role.
  static void Sql(const ConnectionParams& params, const std::string& sql);

  std::vector<std::string> SetIds();  // set directories in the repository, sorted

  std::string root_;         // temporary directory of this test
  std::string repo_;         // <root>/repo
  std::string last_backup_log_;  // BackupOk's stderr
  std::string config_path_;  // <root>/config.toml
  std::string repository_toml_;  // the [repository] table(s) of WriteConfig; "" = path = repo_
  std::string dbname_;       // unique per test
  ConnectionParams db_;      // the Govern role on dbname_
  SampleNode node_;
};

}  // namespace testing
}  // namespace gb
