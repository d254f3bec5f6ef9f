// The one PostgreSQL version parser (pg/version.h) on the strings the server, dumps,
// manifests and tools give.
#include "pg/version.h"

#include <gtest/gtest.h>

namespace gb {
namespace {

TEST(PgVersionTest, ServerVersions) {
  struct Case {
    const char* text;
    const char* short_version;
    int major;
  };
  for (const Case& c : {Case{"15.18 (Debian 15.18-0+deb12u1)", "15.18", 15},
                        Case{"15.18", "15.18", 15}, Case{"16beta2", "16beta2", 16},
                        Case{"9.6.24", "9.6.24", 9}, Case{" 17.2\n", "17.2", 17},
                        Case{"100.1", "100.1", 100}}) {
    Result<PgVersion> version = ParseServerVersion(c.text);
    ASSERT_TRUE(version.ok()) << c.text << ": " << version.status().ToString();
    EXPECT_EQ(version->text, c.short_version) << c.text;
    EXPECT_EQ(version->major, c.major) << c.text;
    EXPECT_EQ(*MajorVersion(c.text), c.major) << c.text;
  }
}

// A manifest with a garbled version used to give major 0 (atoi) or throw (stoi).
TEST(PgVersionTest, NoNumberIsAnErrorNotZero) {
  for (const char* bad : {"", "   ", "beta", "v15", "0", "-15.2", "99999999999999999999.1"}) {
    Result<int> major = MajorVersion(bad);
    ASSERT_FALSE(major.ok()) << "'" << bad << "' gave " << *major;
    EXPECT_NE(major.status().message().find("is not a PostgreSQL version"), std::string::npos);
  }
}

TEST(PgVersionTest, ToolOutput) {
  Result<PgVersion> dump =
      ParseToolVersion("pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n");
  ASSERT_TRUE(dump.ok()) << dump.status().ToString();
  EXPECT_EQ(dump->text, "15.18");
  EXPECT_EQ(dump->major, 15);

  Result<PgVersion> later = ParseToolVersion("pg_dump (PostgreSQL)\nsecond line 3\n");
  ASSERT_TRUE(later.ok());  // the first word starting with a digit, wherever it is
  EXPECT_EQ(later->major, 3);

  Result<PgVersion> empty = ParseToolVersion("no version here\n");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().message(), "no version in \"no version here\"");
}

}  // namespace
}  // namespace gb
