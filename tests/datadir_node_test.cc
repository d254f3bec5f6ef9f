// DiscoverNode, ParseJdbcUrl and CompareDssVersions against real generated data dirs (the
// generated node's own layout is tested in sandbox_sample_node_test.cc).
#include "datadir/node.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "sandbox/sample_node.h"
#include "tests/datadir_test_util.h"

namespace gb {
namespace {

using testing::NodeScratchDir;
using testing::ReadText;
using testing::WriteText;

class NodeTest : public ::testing::Test {
 protected:
  static SampleNodeOptions SmallNode() {
    SampleNodeOptions options;
    options.small_files = 40;
    return options;
  }

  SampleNode Generate(SampleNodeOptions options = SmallNode()) {
    const std::string root = scratch_ / ("node" + std::to_string(counter_++));
    return testing::MakeStoppedNode(std::move(options), root);
  }

  // Every message and hint of an error, for checks that a password never leaks.
  static std::string AllText(const Status& status) {
    return status.message() + "\n" + status.hint() + "\n" + status.ToString();
  }

  NodeScratchDir scratch_;
  int counter_ = 0;
};

TEST_F(NodeTest, DiscoversAGeneratedGovernNode) {
  SampleNodeOptions options = SmallNode();
  options.db_host = "db.example.com";
  options.db_port = 5433;
  options.db_name = "govern_prod";
  options.db_user = "govern_app";
  SampleNode sample = Generate(options);

  Result<DssNode> node = DiscoverNode(sample.data_dir);
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  EXPECT_EQ(node->data_dir, sample.data_dir);
  EXPECT_EQ(node->node_type, "govern");
  EXPECT_TRUE(node->is_govern());
  EXPECT_EQ(node->install_id.size(), 24u);
  EXPECT_FALSE(node->node_id.empty());
  EXPECT_EQ(node->dss_version, "14.4.1");
  EXPECT_EQ(node->conf_version, "14400");
  EXPECT_EQ(node->install_dir, sample.install_dir);
  EXPECT_EQ(node->install_dss_version, "14.4.1");
  EXPECT_EQ(node->expected_dip_home, sample.data_dir);
  ASSERT_TRUE(node->database.has_value());
  EXPECT_EQ(node->database->host, "db.example.com");
  EXPECT_EQ(node->database->port, 5433);
  EXPECT_EQ(node->database->dbname, "govern_prod");
  EXPECT_EQ(node->database->schema, "");
  EXPECT_EQ(node->database->user, "govern_app");
  EXPECT_TRUE(node->database->password_present);
  EXPECT_TRUE(node->database->password_encrypted);
  EXPECT_FALSE(node->install_in_progress);
  EXPECT_FALSE(node->migration_in_progress);
  EXPECT_EQ(node->owner_uid, sample.owner_uid);
  EXPECT_EQ(node->owner_gid, sample.owner_gid);
  if (::geteuid() == 0) {
    EXPECT_EQ(node->owner_name, kSampleNodeUser);
  } else {
    EXPECT_EQ(node->owner_name, ::getpwuid(::geteuid())->pw_name);
  }
}

TEST_F(NodeTest, DiscoversTheSchemaAndASocketDirectory) {
  SampleNodeOptions options = SmallNode();
  options.db_schema = "governance";
  options.db_host = "/var/run/postgresql";
  options.db_port = 5444;
  SampleNode sample = Generate(options);
  EXPECT_NE(ReadText(sample.data_dir + "/config/dip.properties").find("currentSchema=governance"),
            std::string::npos);

  Result<DssNode> node = DiscoverNode(sample.data_dir + "/");
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  EXPECT_EQ(node->data_dir, sample.data_dir);  // trailing slash dropped
  ASSERT_TRUE(node->database.has_value());
  EXPECT_EQ(node->database->schema, "governance");
  EXPECT_EQ(node->database->host, "/var/run/postgresql");
  EXPECT_EQ(node->database->port, 5444);
  EXPECT_EQ(node->database->dbname, "govern");
}

TEST_F(NodeTest, ReadsJavaPropertiesSyntax) {
  SampleNode sample = Generate();
  WriteText(sample.data_dir + "/config/dip.properties",
            "# comment\n"
            "! another comment\n"
            "   \n"
            "psql.jdbc.url : jdbc:postgresql://pg\\u002dhost:6543/\\\n"
            "        gov\\\n"
            "  db?currentSchema=s1&ApplicationName=x\n"
            "psql.jdbc.user   gov\\u00e9rn\n"
            "psql.jdbc.password=plain-Secret-42\n"
            "psql.jdbc.user = final_user\n");
  Result<DssNode> node = DiscoverNode(sample.data_dir);
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  ASSERT_TRUE(node->database.has_value());
  EXPECT_EQ(node->database->host, "pg-host");
  EXPECT_EQ(node->database->port, 6543);
  EXPECT_EQ(node->database->dbname, "govdb");
  EXPECT_EQ(node->database->schema, "s1");
  EXPECT_EQ(node->database->user, "final_user");  // the last one wins
  EXPECT_TRUE(node->database->password_present);
  EXPECT_FALSE(node->database->password_encrypted);
}

TEST_F(NodeTest, NoJdbcUrlMeansNoDatabase) {
  SampleNode sample = Generate();
  WriteText(sample.data_dir + "/config/dip.properties", "psql.jdbc.user=govern\n");
  Result<DssNode> node = DiscoverNode(sample.data_dir);
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  EXPECT_FALSE(node->database.has_value());

  ASSERT_EQ(::unlink((sample.data_dir + "/config/dip.properties").c_str()), 0);
  node = DiscoverNode(sample.data_dir);
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  EXPECT_FALSE(node->database.has_value());
}

TEST_F(NodeTest, BadJdbcUrlNamesTheFileAndKeyButNeverThePassword) {
  SampleNode sample = Generate();
  const std::string properties = sample.data_dir + "/config/dip.properties";
  const std::string encrypted = "e:AES:c2VjcmV0LXZhbHVlLXRoYXQtbXVzdC1ub3QtbGVhaw==";
  for (const std::string& url :
       {std::string("jdbc:mysql://db.example.com:3306/govern"),
        std::string("jdbc:postgresql://db.example.com:5432"),
        std::string("jdbc:postgresql://db.example.com:port/govern"),
        std::string("jdbc:postgresql://db.example.com:5432/govern?password=URLSECRET99")}) {
    WriteText(properties, "psql.jdbc.url=" + url + "\npsql.jdbc.user=govern\npsql.jdbc.password=" +
                              encrypted + "\n");
    Result<DssNode> node = DiscoverNode(sample.data_dir);
    if (url.find("URLSECRET99") != std::string::npos) {
      // A password in the URL is legal; it is just never shown.
      ASSERT_TRUE(node.ok()) << node.status().ToString();
      EXPECT_TRUE(node->database->password_present);
      continue;
    }
    ASSERT_FALSE(node.ok()) << url;
    const std::string text = AllText(node.status());
    EXPECT_NE(text.find("config/dip.properties"), std::string::npos) << text;
    EXPECT_NE(text.find("psql.jdbc.url"), std::string::npos) << text;
    EXPECT_EQ(text.find(encrypted), std::string::npos) << text;
    EXPECT_EQ(text.find("c2VjcmV0"), std::string::npos) << text;
  }
  WriteText(properties, "psql.jdbc.url=jdbc:mysql://db/govern\n");
  EXPECT_NE(DiscoverNode(sample.data_dir).status().message().find("is not a PostgreSQL JDBC URL"),
            std::string::npos);
}

TEST_F(NodeTest, ParsesJdbcUrls) {
  Result<JdbcSettings> ipv6 = ParseJdbcUrl("jdbc:postgresql://[::1]:5433/govern");
  ASSERT_TRUE(ipv6.ok()) << ipv6.status().ToString();
  EXPECT_EQ(ipv6->host, "::1");
  EXPECT_EQ(ipv6->port, 5433);
  EXPECT_EQ(ipv6->dbname, "govern");

  Result<JdbcSettings> ipv6_no_port = ParseJdbcUrl("jdbc:postgresql://[fe80::1]/g");
  ASSERT_TRUE(ipv6_no_port.ok()) << ipv6_no_port.status().ToString();
  EXPECT_EQ(ipv6_no_port->host, "fe80::1");
  EXPECT_EQ(ipv6_no_port->port, 5432);

  Result<JdbcSettings> defaults = ParseJdbcUrl("jdbc:postgresql://dbhost/my%20db");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->host, "dbhost");
  EXPECT_EQ(defaults->port, 5432);
  EXPECT_EQ(defaults->dbname, "my db");
  EXPECT_EQ(defaults->schema, "");
  EXPECT_FALSE(defaults->password_present);

  Result<JdbcSettings> query =
      ParseJdbcUrl("jdbc:postgresql://h:1/d?ssl=true&currentSchema=gov&user=u1&other=y");
  ASSERT_TRUE(query.ok());
  EXPECT_EQ(query->schema, "gov");
  EXPECT_EQ(query->user, "u1");

  Result<JdbcSettings> local = ParseJdbcUrl("jdbc:postgresql:govern");
  ASSERT_TRUE(local.ok()) << local.status().ToString();
  EXPECT_EQ(local->host, "localhost");
  EXPECT_EQ(local->dbname, "govern");

  EXPECT_FALSE(ParseJdbcUrl("jdbc:postgresql://h:5432/").ok());
  EXPECT_FALSE(ParseJdbcUrl("jdbc:postgresql://h:5432").ok());
  EXPECT_FALSE(ParseJdbcUrl("jdbc:postgresql://h:99999/d").ok());
  EXPECT_FALSE(ParseJdbcUrl("jdbc:postgresql://[::1/d").ok());
  EXPECT_FALSE(ParseJdbcUrl("postgresql://h/d").ok());
  EXPECT_FALSE(ParseJdbcUrl("").ok());

  Result<JdbcSettings> secret = ParseJdbcUrl("jdbc:postgresql://h:bad/d?password=TOPSECRET");
  ASSERT_FALSE(secret.ok());
  EXPECT_EQ(AllText(secret.status()).find("TOPSECRET"), std::string::npos)
      << secret.status().ToString();
}

TEST_F(NodeTest, MalformedVersionFile) {
  SampleNode sample = Generate();
  const std::string path = sample.data_dir + "/dss-version.json";
  struct Case {
    std::string content;
    std::string expected;
  };
  for (const Case& c : {Case{"{\"conf_version\": \"14400\"}", "no product_version"},
                        Case{"{\"product_version\": 14.4}", "no product_version"},
                        Case{"{\"product_version\": \"14.4.1\"", "not valid JSON"},
                        Case{"[\"14.4.1\"]", "not a JSON object"},
                        Case{"", "not valid JSON"},
                        Case{"{\"product_version\": \"14.4.1\"} trailing", "line 1, column"}}) {
    WriteText(path, c.content);
    Result<DssNode> node = DiscoverNode(sample.data_dir);
    ASSERT_FALSE(node.ok()) << c.content;
    EXPECT_NE(node.status().message().find("dss-version.json"), std::string::npos)
        << node.status().ToString();
    EXPECT_NE(node.status().message().find(c.expected), std::string::npos)
        << node.status().ToString();
  }
  // Tolerated: other value types, nested values, escapes.
  WriteText(path,
            "{\"conf_version\": \"14400\", \"extra\": {\"a\": [1, \"}\"]}, \"n\": 3.5e2,"
            " \"b\": true, \"product_version\": \"14.\\u0034.1\"}");
  Result<DssNode> node = DiscoverNode(sample.data_dir);
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  EXPECT_EQ(node->dss_version, "14.4.1");
}

TEST_F(NodeTest, MalformedInstallIni) {
  SampleNode sample = Generate();
  const std::string path = sample.data_dir + "/install.ini";
  WriteText(path, "[general]\nnodetype = govern\nthis line is garbage\n");
  Result<DssNode> node = DiscoverNode(sample.data_dir);
  ASSERT_FALSE(node.ok());
  EXPECT_NE(node.status().message().find("install.ini line 3"), std::string::npos)
      << node.status().ToString();

  WriteText(path, "[general\nnodetype = govern\n");
  node = DiscoverNode(sample.data_dir);
  ASSERT_FALSE(node.ok());
  EXPECT_NE(node.status().message().find("install.ini line 1"), std::string::npos);

  WriteText(path, "[server]\nport = 11200\n");
  node = DiscoverNode(sample.data_dir);
  ASSERT_FALSE(node.ok());
  EXPECT_NE(node.status().message().find("no nodetype"), std::string::npos)
      << node.status().ToString();

  WriteText(path, "; comment\n# comment\n[general]\n  nodetype=design  \n");
  node = DiscoverNode(sample.data_dir);
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  EXPECT_EQ(node->node_type, "design");
  EXPECT_FALSE(node->is_govern());
}

TEST_F(NodeTest, MissingDirectoryAndNotADataDir) {
  Result<DssNode> missing = DiscoverNode(scratch_ / "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "data dir " + (scratch_ / "nope") + " does not exist");

  const std::string empty = scratch_ / "empty";
  ASSERT_EQ(::mkdir(empty.c_str(), 0755), 0);
  EXPECT_FALSE(LooksLikeDataDir(empty));
  Result<DssNode> not_data_dir = DiscoverNode(empty);
  ASSERT_FALSE(not_data_dir.ok());
  EXPECT_NE(not_data_dir.status().message().find("no dss-version.json"), std::string::npos);
  EXPECT_NE(not_data_dir.status().message().find("no install.ini"), std::string::npos);
  EXPECT_NE(not_data_dir.status().hint().find("[node].data_dir"), std::string::npos);

  WriteText(empty + "/install.ini", "[general]\nnodetype = govern\n");
  not_data_dir = DiscoverNode(empty);
  ASSERT_FALSE(not_data_dir.ok());
  EXPECT_NE(not_data_dir.status().message().find("no dss-version.json"), std::string::npos);
  EXPECT_EQ(not_data_dir.status().message().find("install.ini"), std::string::npos);

  SampleNode sample = Generate();
  EXPECT_TRUE(LooksLikeDataDir(sample.data_dir));
}

TEST_F(NodeTest, DetectsMarkersAndOptionalFiles) {
  SampleNode sample = Generate();
  WriteText(sample.data_dir + "/DSS-INITIAL-INSTALL-IN-PROGRESS.txt", "");
  WriteText(sample.data_dir + "/DSS-MIGRATION-IN-PROGRESS.json", "{}");
  ASSERT_EQ(::unlink((sample.data_dir + "/install-support/expected-dip-home.txt").c_str()), 0);
  WriteText(sample.install_dir + "/dss-version.json", "{\"product_version\": \"14.5.0\"}");
  Result<DssNode> node = DiscoverNode(sample.data_dir);
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  EXPECT_TRUE(node->install_in_progress);
  EXPECT_TRUE(node->migration_in_progress);
  EXPECT_EQ(node->expected_dip_home, "");
  EXPECT_EQ(node->install_dss_version, "14.5.0");
  EXPECT_EQ(node->effective_dss_version(), "14.5.0");

  // An installation that is gone leaves the data dir's own version.
  std::filesystem::remove_all(sample.install_dir);
  node = DiscoverNode(sample.data_dir);
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  EXPECT_EQ(node->install_dss_version, "");
  EXPECT_EQ(node->effective_dss_version(), "14.4.1");
}

TEST(CompareDssVersionsTest, ComparesNumerically) {
  EXPECT_LT(CompareDssVersions("14.4.1", "14.10.0"), 0);
  EXPECT_GT(CompareDssVersions("14.10.0", "14.4.1"), 0);
  EXPECT_EQ(CompareDssVersions("14.4.1", "14.4.1"), 0);
  EXPECT_EQ(CompareDssVersions("14.4", "14.4.0"), 0);
  EXPECT_LT(CompareDssVersions("13.5.5", "14.0.0"), 0);
  EXPECT_GT(CompareDssVersions("14.4.1", "14.4"), 0);
  EXPECT_LT(CompareDssVersions("14.4.1-beta", "14.4.1"), 0);
  EXPECT_LT(CompareDssVersions("9.0.0", "10.0.0"), 0);
}

}  // namespace
}  // namespace gb
