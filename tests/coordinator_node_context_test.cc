// The [database] settings: defaults from the node's dip.properties, config keys override.
#include <gtest/gtest.h>

#include "coordinator/node_context.h"

namespace gb {
namespace {

DssNode GovernNodeWithJdbc(const std::string& schema) {
  DssNode node;
  node.node_type = "govern";
  JdbcSettings jdbc;
  jdbc.host = "db.internal";
  jdbc.port = 5433;
  jdbc.dbname = "governdb";
  jdbc.user = "dss_govern";
  jdbc.schema = schema;
  node.database = jdbc;
  return node;
}

TEST(ResolveDatabase, EveryDefaultComesFromDipProperties) {
  Config config;
  std::string schema;
  auto params = ResolveDatabase(config, GovernNodeWithJdbc("governance"), &schema);
  ASSERT_TRUE(params.has_value());
  EXPECT_EQ(params->host, "db.internal");
  EXPECT_EQ(params->port, 5433);
  EXPECT_EQ(params->dbname, "governdb");
  EXPECT_EQ(params->user, "dss_govern");
  EXPECT_EQ(schema, "governance");
}

TEST(ResolveDatabase, WithoutCurrentSchemaTheSchemaIsEmpty) {
  Config config;
  std::string schema = "unchanged?";
  auto params = ResolveDatabase(config, GovernNodeWithJdbc(""), &schema);
  ASSERT_TRUE(params.has_value());
  EXPECT_EQ(schema, "");
}

TEST(ResolveDatabase, ConfigKeysOverrideDipProperties) {
  Config config;
  config.database.host = "127.0.0.1";
  config.database.port = 6543;
  config.database.user = "backup_reader";
  config.database.password_file = "/etc/govern-backup/pgpass";
  auto params = ResolveDatabase(config, GovernNodeWithJdbc(""), nullptr);
  ASSERT_TRUE(params.has_value());
  EXPECT_EQ(params->host, "127.0.0.1");
  EXPECT_EQ(params->port, 6543);
  EXPECT_EQ(params->dbname, "governdb");  // not overridden
  EXPECT_EQ(params->user, "backup_reader");
  EXPECT_EQ(params->password_file, "/etc/govern-backup/pgpass");
}

TEST(ResolveDatabase, ConfigAloneDescribesTheDatabaseOfANodeWithoutDipProperties) {
  Config config;
  config.database.dbname = "govern";
  config.database.user = "govern";
  DssNode node;
  node.node_type = "govern";
  auto params = ResolveDatabase(config, node, nullptr);
  ASSERT_TRUE(params.has_value());
  EXPECT_EQ(params->host, "localhost");
  EXPECT_EQ(params->port, 5432);
  EXPECT_EQ(params->dbname, "govern");
}

TEST(ResolveDatabase, ADesignNodeWithoutSettingsHasNoDatabaseHalf) {
  Config config;
  DssNode node;
  node.node_type = "design";
  EXPECT_FALSE(ResolveDatabase(config, node, nullptr).has_value());
}

}  // namespace
}  // namespace gb
