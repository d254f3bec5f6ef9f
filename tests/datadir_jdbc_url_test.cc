// ParseJdbcUrl and RedactJdbcUrl (datadir/jdbc_url.h): the corners the discovery tests
// do not reach.
#include "datadir/jdbc_url.h"

#include <gtest/gtest.h>

namespace gb {
namespace {

TEST(JdbcUrlTest, PercentDecodingKeepsWhatIsNotAnEscape) {
  Result<JdbcSettings> decoded = ParseJdbcUrl("jdbc:postgresql://h/my%2Fdb%zz%4");
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->dbname, "my/db%zz%4");
}

TEST(JdbcUrlTest, PortsAreWholeNumbersInRange) {
  for (const char* bad : {"+5432", "-1", "0", "65536", "54 32", "5432x", ""}) {
    const std::string url = std::string("jdbc:postgresql://h:") + bad + "/d";
    Result<JdbcSettings> settings = ParseJdbcUrl(url);
    if (std::string(bad).empty()) {  // "h:" is a host with the default port
      ASSERT_TRUE(settings.ok()) << settings.status().ToString();
      EXPECT_EQ(settings->port, 5432);
      continue;
    }
    ASSERT_FALSE(settings.ok()) << url;
    EXPECT_NE(settings.status().message().find("invalid port"), std::string::npos)
        << settings.status().message();
  }
  Result<JdbcSettings> highest = ParseJdbcUrl("jdbc:postgresql://h:65535/d");
  ASSERT_TRUE(highest.ok());
  EXPECT_EQ(highest->port, 65535);
}

TEST(JdbcUrlTest, UnixSocketAndSeveralHosts) {
  Result<JdbcSettings> socket = ParseJdbcUrl(
      "jdbc:postgresql://localhost/govern?socketFactory=org.newsclub.net.unix."
      "AFUNIXSocketFactory$FactoryArg&socketFactoryArg=/run/postgresql/.s.PGSQL.5433");
  ASSERT_TRUE(socket.ok()) << socket.status().ToString();
  EXPECT_EQ(socket->host, "/run/postgresql");
  EXPECT_EQ(socket->port, 5433);
  EXPECT_FALSE(ParseJdbcUrl("jdbc:postgresql://h/d?socketFactoryArg=/run/.s.PGSQL.x").ok());

  Result<JdbcSettings> several = ParseJdbcUrl("jdbc:postgresql://a:5433,b:5434/govern");
  ASSERT_TRUE(several.ok()) << several.status().ToString();
  EXPECT_EQ(several->host, "a");
  EXPECT_EQ(several->port, 5433);
}

TEST(JdbcUrlTest, RedactionMasksEveryPasswordAndNothingElse) {
  EXPECT_EQ(RedactJdbcUrl("jdbc:postgresql://h/d?user=u&password=s3cret&x=1&password=again"),
            "jdbc:postgresql://h/d?user=u&password=***&x=1&password=***");
  EXPECT_EQ(RedactJdbcUrl("jdbc:postgresql://h/d"), "jdbc:postgresql://h/d");
  Result<JdbcSettings> bad = ParseJdbcUrl("jdbc:postgresql://h:x/d?password=s3cret");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().ToString().find("s3cret"), std::string::npos);
  EXPECT_NE(bad.status().ToString().find("password=***"), std::string::npos);
}

}  // namespace
}  // namespace gb
