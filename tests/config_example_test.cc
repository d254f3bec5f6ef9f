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
  EXPECT_FALSE(config->snapshot.enabled());
  EXPECT_EQ(config->retention.keep_last, defaults.retention.keep_last);
  EXPECT_EQ(config->retention.keep_daily, defaults.retention.keep_daily);
  EXPECT_EQ(config->retention.keep_weekly, defaults.retention.keep_weekly);
  EXPECT_EQ(config->retention.keep_monthly, defaults.retention.keep_monthly);
  EXPECT_EQ(config->retention.keep_within, defaults.retention.keep_within);
  EXPECT_EQ(config->retention.keep_within_text, defaults.retention.keep_within_text);
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
