// End-to-end tests of `govern-backup check` against a generated Govern node.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

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
  CommandResult result = Run({"check"});
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_NE(result.out.find("govern node at " + node_.data_dir), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("DSS 14.4.1"), std::string::npos);
  EXPECT_NE(result.out.find("PostgreSQL 15."), std::string::npos);
  EXPECT_NE(result.out.find("running"), std::string::npos);
  EXPECT_EQ(result.out.find("FAIL"), std::string::npos);
  EXPECT_FALSE(fs::exists(repo_)) << "check must not create the repository";
}

TEST_F(CheckTest, JsonIsOneDocument) {
  CommandResult result = Run({"--json", "check"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out.front(), '{');
  EXPECT_NE(result.out.find("\"ok\":true"), std::string::npos) << result.out;
}

TEST_F(CheckTest, WrongPasswordSaysSoAndNeverPrintsIt) {
  std::string wrong = root_ + "/wrong.pgpass";
  std::ofstream(wrong) << "*:*:*:*:not-the-password-x9\n";
  fs::permissions(wrong, fs::perms::owner_read | fs::perms::owner_write);
  WriteWholeConfig(node_.data_dir, wrong, repo_);
  CommandResult result = Run({"check"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.out.find("password authentication failed"), std::string::npos) << result.out;
  EXPECT_EQ((result.out + result.err).find("not-the-password-x9"), std::string::npos);
  EXPECT_EQ((result.out + result.err).find("govern-secret"), std::string::npos);
}

TEST_F(CheckTest, DatabaseDown) {
  ASSERT_TRUE(SharedCluster().StopServer().ok());
  CommandResult result = Run({"check"});
  ASSERT_TRUE(SharedCluster().StartServer().ok());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.out.find("not reachable"), std::string::npos) << result.out;
}

TEST_F(CheckTest, MissingDataDir) {
  WriteWholeConfig(root_ + "/no-such-dir", SharedCluster().password_file(), repo_);
  CommandResult result = Run({"check"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.out.find(root_ + "/no-such-dir"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("does not exist"), std::string::npos) << result.out;
}

TEST_F(CheckTest, MalformedDipProperties) {
  std::ofstream(node_.data_dir + "/config/dip.properties", std::ios::trunc)
      << "psql.jdbc.url=jdbc:mysql://db/govern\npsql.jdbc.user=govern\n";
  CommandResult result = Run({"check"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.out.find("dip.properties"), std::string::npos) << result.out;
}

TEST_F(CheckTest, MigrationInProgress) {
  std::ofstream(node_.data_dir + "/DSS-MIGRATION-IN-PROGRESS.json") << "{}\n";
  CommandResult result = Run({"check"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.out.find("migration is in progress"), std::string::npos) << result.out;
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
  CommandResult result = Run({"check"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.out.find("FAIL  repository"), std::string::npos) << result.out;
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
