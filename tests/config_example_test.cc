// The example configuration: it parses, holds the contract defaults, and config/example.toml
// on disk is the same text as ExampleConfigText().
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "config/config.h"

namespace gb {
namespace {

// tests/config_example_test.cc -> <source dir>/config/example.toml
std::filesystem::path ExampleOnDisk() {
  return std::filesystem::path(__FILE__).parent_path().parent_path() / "config" / "example.toml";
}

TEST(ExampleConfigTest, ParsesWithTheContractDefaults) {
  auto config = ParseConfig(ExampleConfigText(), "example.toml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->node.data_dir, "/data/dataiku/dss_data");
  EXPECT_EQ(config->repository.path, "/var/backups/govern-backup");
  EXPECT_FALSE(config->repository.is_s3());
  EXPECT_TRUE(config->repositories.empty());
  // [database] is left to dip.properties on a Govern node.
  EXPECT_FALSE(config->database.host.has_value());
  EXPECT_FALSE(config->database.port.has_value());
  EXPECT_FALSE(config->database.dbname.has_value());
  EXPECT_FALSE(config->database.user.has_value());

  const Config defaults;
  EXPECT_EQ(config->backup.mode, defaults.backup.mode);
  EXPECT_EQ(config->backup.exclude, BackupConfig::DefaultExcludes());
  EXPECT_EQ(config->backup.compression_level, defaults.backup.compression_level);
  EXPECT_EQ(config->backup.threads, defaults.backup.threads);
  EXPECT_EQ(config->backup.incremental, defaults.backup.incremental);
  EXPECT_EQ(config->backup.full_every, defaults.backup.full_every);
  EXPECT_FALSE(config->snapshot.enabled());
  EXPECT_EQ(config->retention.keep_last, defaults.retention.keep_last);
  EXPECT_EQ(config->retention.keep_daily, defaults.retention.keep_daily);
  EXPECT_EQ(config->retention.keep_weekly, defaults.retention.keep_weekly);
  EXPECT_EQ(config->retention.keep_monthly, defaults.retention.keep_monthly);
  EXPECT_EQ(config->retention.keep_within, defaults.retention.keep_within);
  EXPECT_EQ(config->retention.keep_within_text, defaults.retention.keep_within_text);
}

// The example with its commented-out [repositories.offsite] block (from its header to the
// next blank line) written in: what an admin gets by removing the "# " of those lines.
std::string WithOffsiteRepository(const std::string& example) {
  std::istringstream in(example);
  std::string result;
  std::string line;
  bool in_block = false;
  while (std::getline(in, line)) {
    if (line.rfind("# [repositories.offsite]", 0) == 0) in_block = true;
    if (line.empty()) in_block = false;
    if (in_block && line.rfind("# ", 0) == 0) line = line.substr(2);
    result += line + "\n";
  }
  return result;
}

TEST(ExampleConfigTest, DocumentedRepositoryKeysParseWithTheirDefaults) {
  const std::string text = WithOffsiteRepository(ExampleConfigText());
  ASSERT_NE(text, ExampleConfigText()) << "no commented [repositories.offsite] block";
  auto config = ParseConfig(text, "example.toml");
  ASSERT_TRUE(config.ok()) << config.status().ToString() << "\n" << text;
  ASSERT_EQ(config->repositories.count("offsite"), 1u);
  const RepositoryConfig& offsite = config->repositories.at("offsite");
  EXPECT_TRUE(offsite.is_s3());
  EXPECT_EQ(offsite.bucket, "govern-backups");
  EXPECT_EQ(offsite.prefix, "node-a/");
  EXPECT_EQ(offsite.endpoint, "https://s3.example.net");
  // Every value the example shows is the default.
  RepositoryConfig defaults;
  EXPECT_EQ(offsite.region, defaults.region);
  EXPECT_EQ(offsite.uri_style, defaults.uri_style);
  EXPECT_EQ(offsite.credentials, defaults.credentials);
  EXPECT_EQ(offsite.ca_file, defaults.ca_file);
  EXPECT_EQ(offsite.part_size, defaults.part_size);
  EXPECT_EQ(offsite.upload_concurrency, defaults.upload_concurrency);
  EXPECT_EQ(offsite.retry_max_time, defaults.retry_max_time);
  EXPECT_EQ(offsite.object_lock, defaults.object_lock);
  EXPECT_EQ(offsite.object_lock_retain, defaults.object_lock_retain);
  ASSERT_TRUE(offsite.retention.has_value());
  EXPECT_EQ(offsite.retention->keep_monthly, 24);
  EXPECT_EQ(offsite.retention->keep_last, config->retention.keep_last);
}

TEST(ExampleConfigTest, ShippedFileIsTheSameText) {
  const std::filesystem::path path = ExampleOnDisk();
  const char* update = std::getenv("GOVERN_BACKUP_UPDATE_EXAMPLE");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << ExampleConfigText();
  }
  std::ifstream file(path, std::ios::binary);
  ASSERT_TRUE(file) << path << " is missing; run this test with GOVERN_BACKUP_UPDATE_EXAMPLE=1";
  std::stringstream text;
  text << file.rdbuf();
  EXPECT_EQ(text.str(), ExampleConfigText())
      << path << " differs from ExampleConfigText() (config/example_config.cc); run this test "
      << "with GOVERN_BACKUP_UPDATE_EXAMPLE=1 to rewrite it";
}

TEST(ExampleConfigTest, ShippedFileLoads) {
  auto config = LoadConfigFile(ExampleOnDisk().string());
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->source, ExampleOnDisk().string());
}

}  // namespace
}  // namespace gb
