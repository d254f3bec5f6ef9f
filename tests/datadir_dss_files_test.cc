// The parsers of a data dir's own files (datadir/dss_files.h), on real files, and the one
// defect they fixed in discovery: a character outside the BMP in dip.properties.
#include "datadir/dss_files.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "datadir/node.h"
#include "tests/datadir_test_util.h"

namespace gb {
namespace {

using testing::NodeScratchDir;
using testing::WriteText;

class DssFilesTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = scratch_ / name;
    WriteText(path, text);
    return path;
  }

  // The smallest data dir DiscoverNode accepts, with `properties` as config/dip.properties.
  std::string MinimalDataDir(const std::string& properties) {
    const std::string dir = scratch_ / "data";
    EXPECT_EQ(::mkdir(dir.c_str(), 0755), 0);
    EXPECT_EQ(::mkdir((dir + "/config").c_str(), 0755), 0);
    WriteText(dir + "/install.ini", "[general]\nnodetype = govern\n");
    WriteText(dir + "/dss-version.json", "{\"product_version\": \"14.4.1\"}");
    WriteText(dir + "/config/dip.properties", properties);
    return dir;
  }

  NodeScratchDir scratch_;
};

TEST_F(DssFilesTest, InstallIniGeneralSection) {
  Result<InstallIni> ini = ReadInstallIni(
      Write("install.ini", "; c\r\n[server]\nnodetype = design\n[general]\r\n nodetype = govern \n"
                           "nodeid = n1\ninstallid=abc\n"));
  ASSERT_TRUE(ini.ok()) << ini.status().ToString();
  EXPECT_EQ(ini->node_type, "govern");
  EXPECT_EQ(ini->node_id, "n1");
  EXPECT_EQ(ini->install_id, "abc");

  Result<InstallIni> garbage = ReadInstallIni(Write("bad.ini", "[general]\n\nnodetype\n"));
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.status().message(),
            scratch_ / "bad.ini" +
                " line 3: expected 'key = value' or '[section]', got 'nodetype'");

  Result<InstallIni> absent = ReadInstallIni(scratch_ / "absent.ini");
  ASSERT_FALSE(absent.ok());
  EXPECT_EQ(absent.status().system_errno(), ENOENT);
}

TEST_F(DssFilesTest, DssVersionFile) {
  Result<DssVersionFile> version = ReadDssVersionFile(Write(
      "v.json", "{\"conf_version\": \"14400\", \"nested\": {\"a\": [1, \"}\"]}, "
                "\"product_version\": \" 14.\\u0034.1 \"}"));
  ASSERT_TRUE(version.ok()) << version.status().ToString();
  EXPECT_EQ(version->product_version, "14.4.1");
  EXPECT_EQ(version->conf_version, "14400");

  Result<DssVersionFile> no_conf =
      ReadDssVersionFile(Write("v2.json", "{\"product_version\":\"1\"}"));
  ASSERT_TRUE(no_conf.ok());
  EXPECT_EQ(no_conf->conf_version, "");

  // Where the text goes wrong, by line and column.
  Result<DssVersionFile> broken =
      ReadDssVersionFile(Write("broken.json", "{\n  \"product_version\": \"14.4.1\",\n}\n"));
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.status().message().rfind(scratch_ / "broken.json" + " is not valid JSON: ", 0),
            0u)
      << broken.status().message();
  EXPECT_NE(broken.status().message().find("line 3, column 1"), std::string::npos)
      << broken.status().message();
}

TEST_F(DssFilesTest, JavaPropertiesSyntax) {
  Result<std::optional<JavaProperties>> properties = ReadJavaProperties(Write(
      "p.properties",
      "# comment\n! comment\n  \n"
      "a.key = value with spaces  \n"
      "colon:x\n"
      "blank y\n"
      "key\\ with\\=escapes = v\\tw\n"
      "joined = one\\\n    two\\\\\n"
      "empty\n"
      "emoji = \\uD83D\\uDE00 caf\\u00e9\n"));
  ASSERT_TRUE(properties.ok()) << properties.status().ToString();
  ASSERT_TRUE(properties->has_value());
  const JavaProperties& p = **properties;
  EXPECT_EQ(p.at("a.key"), "value with spaces  ");
  EXPECT_EQ(p.at("colon"), "x");
  EXPECT_EQ(p.at("blank"), "y");
  EXPECT_EQ(p.at("key with=escapes"), "v\tw");
  EXPECT_EQ(p.at("joined"), "onetwo\\");
  EXPECT_EQ(p.at("empty"), "");
  EXPECT_EQ(p.at("emoji"), "\xF0\x9F\x98\x80 caf\xC3\xA9");

  Result<std::optional<JavaProperties>> absent = ReadJavaProperties(scratch_ / "absent");
  ASSERT_TRUE(absent.ok()) << absent.status().ToString();
  EXPECT_FALSE(absent->has_value());
}

TEST_F(DssFilesTest, MalformedEscapeNamesFileAndLine) {
  for (const std::string& bad : {std::string("\\u12"), std::string("\\uZZZZ"),
                                 std::string("\\uD83D alone")}) {
    const std::string path = Write("bad.properties", "ok = 1\n\nkey = x" + bad + "\n");
    Result<std::optional<JavaProperties>> properties = ReadJavaProperties(path);
    ASSERT_FALSE(properties.ok()) << bad;
    EXPECT_EQ(properties.status().message().rfind(path + " line 3: malformed \\uXXXX escape", 0),
              0u)
        << properties.status().message();
  }
}

TEST_F(DssFilesTest, OptionalFilesAbsentOrUnreadable) {
  Result<std::string> install_dir = ReadInstallDir(Write(
      "env-default.sh", "export DKUINSTALLDIR=\"/opt/old\"\nexport DKUINSTALLDIR='/opt/dss'\n"));
  ASSERT_TRUE(install_dir.ok());
  EXPECT_EQ(*install_dir, "/opt/dss");
  EXPECT_EQ(*ReadInstallDir(scratch_ / "absent.sh"), "");
  EXPECT_EQ(*ReadInstallDir(Write("other.sh", "export PATH=/bin\n")), "");

  EXPECT_EQ(*ReadExpectedDipHome(Write("home.txt", "  /data/dss\n")), "/data/dss");
  EXPECT_EQ(*ReadExpectedDipHome(scratch_ / "absent.txt"), "");
  // Present but unreadable is not "absent": the error names it.
  const std::string directory = scratch_ / "a-directory";
  ASSERT_EQ(::mkdir(directory.c_str(), 0755), 0);
  Result<std::string> unreadable = ReadExpectedDipHome(directory);
  ASSERT_FALSE(unreadable.ok());
  EXPECT_NE(unreadable.status().message().find(directory), std::string::npos);
  EXPECT_FALSE(ReadJavaProperties(directory).ok());
}

// Java writes a character outside the BMP as a surrogate pair; discovery used to encode
// each half on its own (CESU-8), which is not UTF-8 and not the user's name.
TEST_F(DssFilesTest, DiscoveryDecodesSurrogatePairs) {
  const std::string dir = MinimalDataDir(
      "psql.jdbc.url=jdbc:postgresql://db/govern\npsql.jdbc.user=gov\\uD834\\uDD1Eern\n");
  Result<DssNode> node = DiscoverNode(dir);
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  ASSERT_TRUE(node->database.has_value());
  EXPECT_EQ(node->database->user, "gov\xF0\x9D\x84\x9E" "ern");
}

}  // namespace
}  // namespace gb
