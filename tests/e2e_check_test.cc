// End-to-end tests of `govern-backup check` against a generated Govern node.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/support/cli_json.h"
#include "tests/support/govern_fixture.h"

namespace gb {
namespace testing {
namespace {

namespace fs = std::filesystem;

class CheckTest : public GovernNodeTest {
 protected:
  void WriteWholeConfig(const std::string& data_dir, const std::string& password_file,
                        const std::string& repository) {
    std::ofstream(config_path_, std::ios::trunc)
        << "[node]\ndata_dir = \"" << data_dir << "\"\n[database]\npassword_file = \"" << password_file
        << "\"\npg_bin_dir = \"" << SharedCluster().bin_dir() << "\"\n[repository]\npath = \""
        << repository << "\"\n";
  }
};

TEST_F(CheckTest, AllWellOnAGeneratedNode) {
  JsonRun run = RunJson(config_path_, {"check"});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(run.doc["command"], "check");
  EXPECT_EQ(run.doc["ok"], true);
  EXPECT_TRUE(Problems(run.doc).empty()) << run.out;
  EXPECT_TRUE(HasOk(run.doc, "node", "govern node at " + node_.data_dir));
  EXPECT_TRUE(HasOk(run.doc, "node", "DSS 14.4.1"));
  EXPECT_TRUE(HasOk(run.doc, "database", "PostgreSQL 15."));
  EXPECT_TRUE(HasOk(run.doc, "dss", "running"));
  for (const char* subject : {"config", "markers", "dump tools", "repository", "space"})
    EXPECT_TRUE(HasOk(run.doc, subject)) << subject;
  EXPECT_FALSE(fs::exists(repo_)) << "check must not create the repository";
}

// The text layout itself: one "ok" line per check, a failure with its hint below it.
TEST_F(CheckTest, TextLayoutIsOneLinePerCheckWithTheHintBelowAFailure) {
  CommandResult good = Run({"check"});
  EXPECT_EQ(good.exit_code, 0) << good.out << good.err;
  EXPECT_NE(good.out.find("ok    node: govern node at " + node_.data_dir), std::string::npos)
      << good.out;
  EXPECT_EQ(good.out.find("FAIL"), std::string::npos) << good.out;

  std::ofstream(node_.data_dir + "/DSS-MIGRATION-IN-PROGRESS.json") << "{}\n";
  CommandResult bad = Run({"check"});
  EXPECT_EQ(bad.exit_code, 1) << bad.out << bad.err;
  EXPECT_NE(bad.out.find("FAIL  markers: a DSS migration is in progress"), std::string::npos)
      << bad.out;
  EXPECT_NE(bad.out.find("\n      hint: wait for the upgrade to finish"), std::string::npos)
      << bad.out;
}

TEST_F(CheckTest, WrongPasswordSaysSoAndNeverPrintsIt) {
  std::string wrong = root_ + "/wrong.pgpass";
  std::ofstream(wrong) << "*:*:*:*:not-the-password-x9\n";
  fs::permissions(wrong, fs::perms::owner_read | fs::perms::owner_write);
  WriteWholeConfig(node_.data_dir, wrong, repo_);
  JsonRun run = RunJson(config_path_, {"check"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.doc["ok"], false);
  EXPECT_TRUE(HasProblem(run.doc, "database", "password authentication failed"));
  CommandResult text = Run({"check"});
  for (const std::string& output : {run.out, run.err, text.out, text.err}) {
    EXPECT_EQ(output.find("not-the-password-x9"), std::string::npos) << output;
    EXPECT_EQ(output.find("govern-secret"), std::string::npos) << output;
  }
}

TEST_F(CheckTest, DatabaseDown) {
  ASSERT_TRUE(SharedCluster().StopServer().ok());
  JsonRun run = RunJson(config_path_, {"check"});
  ASSERT_TRUE(SharedCluster().StartServer().ok());
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(HasProblem(run.doc, "database", "not reachable"));
}

TEST_F(CheckTest, MissingDataDir) {
  WriteWholeConfig(root_ + "/no-such-dir", SharedCluster().password_file(), repo_);
  JsonRun run = RunJson(config_path_, {"check"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(HasProblem(run.doc, "node", root_ + "/no-such-dir"));
  EXPECT_TRUE(HasProblem(run.doc, "node", "does not exist"));
}

TEST_F(CheckTest, MalformedDipProperties) {
  std::ofstream(node_.data_dir + "/config/dip.properties", std::ios::trunc)
      << "psql.jdbc.url=jdbc:mysql://db/govern\npsql.jdbc.user=govern\n";
  JsonRun run = RunJson(config_path_, {"check"});
  EXPECT_EQ(run.exit_code, 1);
  ASSERT_EQ(Problems(run.doc).size(), 1u) << run.out;
  EXPECT_NE(Problems(run.doc)[0]["message"].get<std::string>().find("dip.properties"),
            std::string::npos)
      << run.out;
}

TEST_F(CheckTest, MigrationInProgress) {
  std::ofstream(node_.data_dir + "/DSS-MIGRATION-IN-PROGRESS.json") << "{}\n";
  JsonRun run = RunJson(config_path_, {"check"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(HasProblem(run.doc, "markers", "migration is in progress"));
  EXPECT_EQ(Problems(run.doc).size(), 1u) << run.out;
}

TEST_F(CheckTest, RepositoryNotWritable) {
  std::string repository;
  if (::geteuid() == 0) {
    // Permissions do not stop root: a repository path below a regular file cannot be made.
    std::ofstream(root_ + "/a-file") << "x";
    repository = root_ + "/a-file/repo";
  } else {
    fs::create_directories(root_ + "/locked");
    fs::permissions(root_ + "/locked", fs::perms::owner_read | fs::perms::owner_exec);
    repository = root_ + "/locked/repo";
  }
  WriteWholeConfig(node_.data_dir, SharedCluster().password_file(), repository);
  JsonRun run = RunJson(config_path_, {"check"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(HasProblem(run.doc, "repository", "repository " + repository));
}

TEST_F(CheckTest, InvalidConfigIsExitTwoNamingKeyAndLine) {
  std::ofstream(config_path_, std::ios::app) << "[backup]\ncompression_level = -1\n";
  CommandResult result = Run({"check"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("backup.compression_level"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("config.toml:13"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace testing
}  // namespace gb
