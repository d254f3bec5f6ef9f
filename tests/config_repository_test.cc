// [repository] and [repositories.NAME]: local and S3 repositories, their rules and errors,
// Config::FindRepository and Config::RetentionFor, against real TOML text.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "config/config.h"

namespace gb {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Lines 1-2; a test's tables start on line 3.
constexpr const char* kNode = "[node]\ndata_dir = \"/srv/dss\"\n";
// A valid main repository (lines 3-4), for tests of the named ones.
constexpr const char* kLocalMain = "[repository]\npath = \"/backup/govern\"\n";

Config Parse(const std::string& text) {
  auto config = ParseConfig(text, "config.toml");
  EXPECT_TRUE(config.ok()) << config.status().ToString() << "\n" << text;
  return config.ok() ? *config : Config{};
}

Status ParseError(const std::string& text) {
  auto config = ParseConfig(text, "config.toml");
  EXPECT_FALSE(config.ok()) << "parsed without error:\n" << text;
  EXPECT_EQ(config.status().code(), Code::kUsage) << config.status().ToString();
  return config.status();
}

// An S3 [repository] (lines 3-5) followed by `keys` (line 6 on).
std::string S3Main(const std::string& keys) {
  return std::string(kNode) +
         "[repository]\nurl = \"s3://govern-backups/node-a\"\n"
         "endpoint = \"https://s3.example.net\"\n" +
         keys;
}

TEST(ConfigRepositoryTest, S3MainRepositoryWithEveryKey) {
  const Config config = Parse(std::string(kNode) + R"([repository]
url = "s3://govern-backups/node-a/daily"
endpoint = "https://s3.example.net:8443/"
region = "eu-west-3"
uri_style = "host"
credentials = "file"
access_key_file = "/etc/govern-backup/s3-access"
secret_key_file = "/etc/govern-backup/s3-secret"
ca_file = "/etc/govern-backup/ca.pem"
part_size = "64MiB"
upload_concurrency = 8
retry_max_time = "10m"
object_lock = "compliance"
object_lock_retain = "40d"
)");
  const RepositoryConfig& main = config.repository;
  EXPECT_EQ(main.name, "main");
  EXPECT_TRUE(main.is_s3());
  EXPECT_EQ(main.path, "");
  EXPECT_EQ(main.url, "s3://govern-backups/node-a/daily");
  EXPECT_EQ(main.bucket, "govern-backups");
  EXPECT_EQ(main.prefix, "node-a/daily/");
  EXPECT_EQ(main.endpoint, "https://s3.example.net:8443");  // the trailing "/" dropped
  EXPECT_EQ(main.region, "eu-west-3");
  EXPECT_EQ(main.uri_style, "host");
  EXPECT_EQ(main.credentials, "file");
  EXPECT_EQ(main.access_key_file, "/etc/govern-backup/s3-access");
  EXPECT_EQ(main.secret_key_file, "/etc/govern-backup/s3-secret");
  EXPECT_EQ(main.ca_file, "/etc/govern-backup/ca.pem");
  EXPECT_EQ(main.part_size, 64u << 20);
  EXPECT_EQ(main.upload_concurrency, 8);
  EXPECT_EQ(main.retry_max_time, std::chrono::minutes(10));
  EXPECT_EQ(main.object_lock, "compliance");
  EXPECT_EQ(main.object_lock_retain, std::chrono::hours(40 * 24));
  EXPECT_FALSE(main.retention.has_value());
  EXPECT_TRUE(config.repositories.empty());
}

TEST(ConfigRepositoryTest, S3DefaultsAreTheContractsAndOfS3Config) {
  const Config config = Parse(std::string(kNode) +
                              "[repository]\nurl = \"s3://bucket\"\n"
                              "endpoint = \"http://127.0.0.1:7480\"\n");
  const RepositoryConfig& main = config.repository;
  EXPECT_EQ(main.bucket, "bucket");
  EXPECT_EQ(main.prefix, "");
  EXPECT_EQ(main.endpoint, "http://127.0.0.1:7480");
  EXPECT_EQ(main.region, "us-east-1");
  EXPECT_EQ(main.uri_style, "path");
  EXPECT_EQ(main.credentials, "env");
  EXPECT_EQ(main.access_key_file, "");
  EXPECT_EQ(main.profile, "");
  EXPECT_EQ(main.shared_credentials_file, "");
  EXPECT_EQ(main.ca_file, "");
  EXPECT_EQ(main.part_size, 16u << 20);
  EXPECT_EQ(main.upload_concurrency, 4);
  EXPECT_EQ(main.retry_max_time, std::chrono::minutes(5));
  EXPECT_EQ(main.object_lock, "");
  EXPECT_EQ(main.object_lock_retain, std::chrono::hours(35 * 24));
}

TEST(ConfigRepositoryTest, UrlPrefixEndsWithOneSlashOrIsEmpty) {
  const std::pair<std::string, std::string> cases[] = {
      {"s3://bucket", ""},
      {"s3://bucket/", ""},
      {"s3://bucket/node-a", "node-a/"},
      {"s3://bucket/node-a/", "node-a/"},
      {"s3://bucket/a/B_c.d", "a/B_c.d/"},
  };
  for (const auto& [url, prefix] : cases) {
    const Config config = Parse(std::string(kNode) + "[repository]\nurl = \"" + url +
                                "\"\nendpoint = \"https://s3.example.net\"\n");
    EXPECT_EQ(config.repository.bucket, "bucket") << url;
    EXPECT_EQ(config.repository.prefix, prefix) << url;
  }
}

TEST(ConfigRepositoryTest, ProfileCredentials) {
  const Config config = Parse(S3Main(R"(credentials = "profile"
profile = "backup"
shared_credentials_file = "/etc/govern-backup/aws-credentials"
)"));
  EXPECT_EQ(config.repository.credentials, "profile");
  EXPECT_EQ(config.repository.profile, "backup");
  EXPECT_EQ(config.repository.shared_credentials_file, "/etc/govern-backup/aws-credentials");
}

TEST(ConfigRepositoryTest, NamedLocalRepositoryUsesTheMainRetention) {
  const Config config = Parse(std::string(kNode) + kLocalMain + R"(
[repositories.usb-disk_2]
path = "/mnt/usb/govern-backup"

[retention]
keep_last = 3
)");
  ASSERT_EQ(config.repositories.size(), 1u);
  const RepositoryConfig& usb = config.repositories.at("usb-disk_2");
  EXPECT_EQ(usb.name, "usb-disk_2");
  EXPECT_FALSE(usb.is_s3());
  EXPECT_EQ(usb.path, "/mnt/usb/govern-backup");
  EXPECT_FALSE(usb.retention.has_value());
  EXPECT_EQ(&config.RetentionFor(usb), &config.retention);
  EXPECT_EQ(config.RetentionFor(usb).keep_last, 3);
}

TEST(ConfigRepositoryTest, NamedS3RepositoryWithItsOwnRetention) {
  const Config config = Parse(std::string(kNode) + kLocalMain + R"(
[retention]
keep_last = 3
keep_within = "2d"

[repositories.offsite]
url = "s3://govern-offsite/node-a"
endpoint = "https://s3.example.net"
object_lock = "governance"

[repositories.offsite.retention]
keep_monthly = 24
keep_within = "30d"
)");
  const RepositoryConfig& offsite = config.repositories.at("offsite");
  EXPECT_EQ(offsite.name, "offsite");
  EXPECT_TRUE(offsite.is_s3());
  EXPECT_EQ(offsite.bucket, "govern-offsite");
  EXPECT_EQ(offsite.prefix, "node-a/");
  EXPECT_EQ(offsite.object_lock, "governance");
  ASSERT_TRUE(offsite.retention.has_value());
  const RetentionConfig& own = config.RetentionFor(offsite);
  EXPECT_EQ(&own, &*offsite.retention);
  EXPECT_EQ(own.keep_monthly, 24);
  EXPECT_EQ(own.keep_within, std::chrono::hours(30 * 24));
  EXPECT_EQ(own.keep_within_text, "30d");
  // The keys it leaves unset are [retention]'s, not the contract defaults.
  EXPECT_EQ(own.keep_last, 3);
  EXPECT_EQ(own.keep_daily, 7);
  // The main repository keeps [retention], untouched by the named one.
  EXPECT_EQ(&config.RetentionFor(config.repository), &config.retention);
  EXPECT_EQ(config.retention.keep_monthly, 6);
  EXPECT_EQ(config.retention.keep_within, std::chrono::hours(48));
}

TEST(ConfigRepositoryTest, FindRepositoryByName) {
  const Config config = Parse(std::string(kNode) + kLocalMain + R"(
[repositories.usb]
path = "/mnt/usb/govern-backup"
[repositories.offsite]
url = "s3://govern-offsite"
endpoint = "https://s3.example.net"
)");
  for (const char* main : {"", "main"}) {
    auto found = config.FindRepository(main);
    ASSERT_TRUE(found.ok()) << found.status().ToString();
    EXPECT_EQ(*found, &config.repository) << "'" << main << "'";
  }
  auto offsite = config.FindRepository("offsite");
  ASSERT_TRUE(offsite.ok()) << offsite.status().ToString();
  EXPECT_EQ(*offsite, &config.repositories.at("offsite"));
  EXPECT_EQ((*offsite)->bucket, "govern-offsite");
  auto usb = config.FindRepository("usb");
  ASSERT_TRUE(usb.ok()) << usb.status().ToString();
  EXPECT_EQ((*usb)->path, "/mnt/usb/govern-backup");

  auto unknown = config.FindRepository("ofsite");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), Code::kUsage);
  EXPECT_EQ(unknown.status().message(), "no repository named 'ofsite' in config.toml");
  EXPECT_THAT(unknown.status().hint(), HasSubstr("main, offsite, usb"));
}

TEST(ConfigRepositoryTest, FindRepositoryWithoutNamedOnesListsMain) {
  const Config config = Parse(std::string(kNode) + kLocalMain);
  auto unknown = config.FindRepository("offsite");
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().hint(), HasSubstr("the repositories are main ("));
}

TEST(ConfigRepositoryTest, BothPathAndUrlIsAnErrorNamingTheTable) {
  EXPECT_EQ(ParseError(S3Main("path = \"/backup\"\n")).message(),
            "config.toml:4: [repository] sets both path and url");
  EXPECT_EQ(ParseError(std::string(kNode) + kLocalMain +
                       "[repositories.x]\npath = \"/b\"\nurl = \"s3://bucket\"\n")
                .message(),
            "config.toml:7: [repositories.x] sets both path and url");
}

TEST(ConfigRepositoryTest, NeitherPathNorUrlIsAnErrorNamingTheTable) {
  EXPECT_EQ(ParseError(kNode).message(),
            "config.toml: missing key repository.path or repository.url (required)");
  EXPECT_EQ(ParseError(std::string(kNode) + "[repository]\nurl = \"\"\n").message(),
            "config.toml:4: missing key repository.path or repository.url (required)");
  const Status named =
      ParseError(std::string(kNode) + kLocalMain + "[repositories.offsite]\nregion = \"x\"\n");
  EXPECT_EQ(named.message(),
            "config.toml:5: missing key repositories.offsite.path or repositories.offsite.url "
            "(required)");
  EXPECT_THAT(named.hint(), HasSubstr("s3://BUCKET/PREFIX"));
}

TEST(ConfigRepositoryTest, EveryS3KeyWithAPathIsAnErrorNamingTheKey) {
  const std::pair<std::string, std::string> keys[] = {
      {"endpoint", "\"https://s3.example.net\""},
      {"region", "\"us-east-1\""},
      {"uri_style", "\"path\""},
      {"credentials", "\"env\""},
      {"access_key_file", "\"/a\""},
      {"secret_key_file", "\"/s\""},
      {"profile", "\"p\""},
      {"shared_credentials_file", "\"/c\""},
      {"ca_file", "\"/ca.pem\""},
      {"part_size", "\"16MiB\""},
      {"upload_concurrency", "4"},
      {"retry_max_time", "\"5m\""},
      {"object_lock", "\"\""},
      {"object_lock_retain", "\"35d\""},
  };
  for (const auto& [key, value] : keys) {
    const Status main = ParseError(std::string(kNode) + kLocalMain + key + " = " + value + "\n");
    EXPECT_EQ(main.message(), "config.toml:5: repository." + key +
                                  ": an S3 key, but [repository] is a local directory (path)");
    EXPECT_THAT(main.hint(), HasSubstr("url = "));
    const Status named =
        ParseError(std::string(kNode) + kLocalMain + "[repositories.usb]\npath = \"/mnt/usb\"\n" +
                   key + " = " + value + "\n");
    EXPECT_EQ(named.message(), "config.toml:7: repositories.usb." + key +
                                   ": an S3 key, but [repositories.usb] is a local directory "
                                   "(path)");
  }
}

TEST(ConfigRepositoryTest, MainIsNotAName) {
  const Status status =
      ParseError(std::string(kNode) + kLocalMain + "[repositories.main]\npath = \"/mnt/usb\"\n");
  EXPECT_EQ(status.message(),
            "config.toml:5: [repositories.main]: the name main is [repository]'s");
}

TEST(ConfigRepositoryTest, NamesHoldOnlyLettersDigitsUnderscoreAndHyphen) {
  for (const char* name : {"\"off site\"", "\"a.b\"", "\"\"", "\"caf\xC3\xA9\"", "\"a/b\""}) {
    const Status status = ParseError(std::string(kNode) + kLocalMain + "[repositories." + name +
                                     "]\npath = \"/mnt/usb\"\n");
    EXPECT_THAT(status.message(), HasSubstr("config.toml:5: [repositories."));
    EXPECT_THAT(status.message(), HasSubstr("is not a repository name"));
  }
}

TEST(ConfigRepositoryTest, RepositoriesHoldsOnlyTables) {
  EXPECT_EQ(
      ParseError(std::string(kNode) + kLocalMain + "[repositories]\npath = \"/b\"\n").message(),
      "config.toml:6: repositories.path: expected a table, got a string");
  EXPECT_EQ(ParseError(std::string("repositories = 3\n") + kNode + kLocalMain).message(),
            "config.toml:1: repositories: expected a table, got an integer");
  EXPECT_EQ(ParseError(std::string(kNode) + kLocalMain +
                       "[repositories.x]\npath = \"/b\"\nretention = 3\n")
                .message(),
            "config.toml:7: repositories.x.retention: expected a table, got an integer");
}

TEST(ConfigRepositoryTest, UnknownKeysOfARepositoryAreNamedWithASuggestion) {
  const std::string named = std::string(kNode) + kLocalMain +
                            "[repositories.offsite]\nurl = \"s3://bucket\"\n"
                            "endpoint = \"https://s3.example.net\"\n";
  const Status misspelt = ParseError(named + "regon = \"eu\"\n");
  EXPECT_EQ(misspelt.message(), "config.toml:8: unknown key repositories.offsite.regon");
  EXPECT_EQ(misspelt.hint(), "did you mean repositories.offsite.region?");
  // A retention rule written in the repository's table rather than in its [.retention].
  const Status misplaced = ParseError(named + "keep_last = 3\n");
  EXPECT_EQ(misplaced.message(), "config.toml:8: unknown key repositories.offsite.keep_last");
  EXPECT_EQ(misplaced.hint(), "did you mean repositories.offsite.retention.keep_last?");
  const Status in_retention =
      ParseError(named + "[repositories.offsite.retention]\nkeep_lsat = 3\n");
  EXPECT_EQ(in_retention.message(),
            "config.toml:9: unknown key repositories.offsite.retention.keep_lsat");
  EXPECT_EQ(in_retention.hint(), "did you mean repositories.offsite.retention.keep_last?");
  // The main repository's retention is [retention].
  const Status main_retention =
      ParseError(std::string(kNode) + kLocalMain + "[repository.retention]\nkeep_last = 3\n");
  EXPECT_EQ(main_retention.message(), "config.toml:5: unknown table [repository.retention]");
  EXPECT_EQ(ParseError(S3Main("endpont = \"x\"\n")).hint(), "did you mean repository.endpoint?");
  EXPECT_EQ(ParseError(std::string(kNode) + kLocalMain + "[repositoris.x]\npath = \"/b\"\n").hint(),
            "did you mean repositories?");
}

TEST(ConfigRepositoryTest, BadUrlsAreRefused) {
  const std::pair<std::string, std::string> cases[] = {
      {"https://s3.example.net/bucket", "does not start with s3://"},
      {"S3://bucket", "does not start with s3://"},
      {"bucket/prefix", "does not start with s3://"},
      {"s3://", "a bucket name has 3 to 63 characters"},
      {"s3:///prefix", "a bucket name has 3 to 63 characters"},
      {"s3://ab", "a bucket name has 3 to 63 characters"},
      {"s3://" + std::string(64, 'b'), "a bucket name has 3 to 63 characters"},
      {"s3://Govern", "a bucket name holds only a-z, 0-9, '.' and '-'"},
      {"s3://govern_backups", "a bucket name holds only a-z, 0-9, '.' and '-'"},
      {"s3://-govern", "starts and ends with a letter or a digit"},
      {"s3://govern./x", "starts and ends with a letter or a digit"},
      {"s3://bucket//x", "empty, '.' or '..' part"},
      {"s3://bucket/a//b", "empty, '.' or '..' part"},
      {"s3://bucket/a/../b", "empty, '.' or '..' part"},
      {"s3://bucket/./b", "empty, '.' or '..' part"},
      {"s3://bucket/a b", "the prefix holds only letters, digits"},
      {"s3://bucket/a?b", "the prefix holds only letters, digits"},
  };
  for (const auto& [url, problem] : cases) {
    const Status status = ParseError(std::string(kNode) + "[repository]\nurl = \"" + url +
                                     "\"\nendpoint = \"https://s3.example.net\"\n");
    EXPECT_THAT(status.message(), HasSubstr("config.toml:4: repository.url: '" + url + "'")) << url;
    EXPECT_THAT(status.message(), HasSubstr(problem)) << url;
    EXPECT_THAT(status.hint(), HasSubstr("s3://BUCKET/PREFIX")) << url;
  }
}

TEST(ConfigRepositoryTest, UrlNeedsAnEndpoint) {
  const Status status =
      ParseError(std::string(kNode) + "[repository]\nurl = \"s3://bucket/node-a\"\n");
  EXPECT_EQ(status.message(), "config.toml:4: missing key repository.endpoint (required with url)");
}

TEST(ConfigRepositoryTest, BadEndpointsAreRefused) {
  for (const char* endpoint : {"s3.example.net", "ftp://s3.example.net", "https://",
                               "https://s3.example.net/bucket", "https://host?x=1", ""}) {
    const Status status =
        ParseError(std::string(kNode) + "[repository]\nurl = \"s3://bucket\"\nendpoint = \"" +
                   endpoint + "\"\n");
    EXPECT_EQ(status.message(), "config.toml:5: repository.endpoint '" + std::string(endpoint) +
                                    "' is not http://HOST[:PORT] or https://HOST[:PORT]");
  }
  // Userinfo may hold a secret: the value is not repeated.
  const Status secret =
      ParseError(std::string(kNode) +
                 "[repository]\nurl = \"s3://bucket\"\nendpoint = \"https://AK:s3cret@host\"\n");
  EXPECT_EQ(secret.message(),
            "config.toml:5: repository.endpoint is not http://HOST[:PORT] or https://HOST[:PORT]");
  EXPECT_THAT(secret.ToString(), Not(HasSubstr("s3cret")));
}

TEST(ConfigRepositoryTest, ImpossibleS3ValuesNameTheKeyAndLine) {
  const std::pair<std::string, std::string> cases[] = {
      {"region = \"\"\n", "config.toml:6: repository.region: must not be empty"},
      {"uri_style = \"virtual\"\n",
       "config.toml:6: repository.uri_style: 'virtual' is neither path nor host"},
      {"credentials = \"vault\"\n",
       "config.toml:6: repository.credentials: 'vault' is none of env, file, profile"},
      {"ca_file = \"ca.pem\"\n",
       "config.toml:6: repository.ca_file: 'ca.pem' is not an absolute path"},
      {"part_size = \"4MiB\"\n",
       "config.toml:6: repository.part_size: '4MiB' is out of range (5MiB..5GiB)"},
      {"part_size = \"5MB\"\n",
       "config.toml:6: repository.part_size: '5MB' is out of range (5MiB..5GiB)"},
      {"part_size = \"6GiB\"\n",
       "config.toml:6: repository.part_size: '6GiB' is out of range (5MiB..5GiB)"},
      {"part_size = \"16\"\n",
       "config.toml:6: repository.part_size: invalid size '16': use a whole number followed by "
       "B, kB, MB, GB, KiB, MiB or GiB"},
      {"part_size = 16777216\n",
       "config.toml:6: repository.part_size: expected a string such as \"16MiB\", got an "
       "integer"},
      {"upload_concurrency = 0\n",
       "config.toml:6: repository.upload_concurrency: 0 is out of range (1..64)"},
      {"upload_concurrency = 65\n",
       "config.toml:6: repository.upload_concurrency: 65 is out of range (1..64)"},
      {"upload_concurrency = \"4\"\n",
       "config.toml:6: repository.upload_concurrency: expected an integer, got a string"},
      {"retry_max_time = \"5\"\n",
       "config.toml:6: repository.retry_max_time: invalid duration '5': use a number followed "
       "by s, m, h, d or w"},
      {"object_lock = \"legal-hold\"\n",
       "config.toml:6: repository.object_lock: 'legal-hold' is none of \"\", governance, "
       "compliance"},
      {"object_lock = true\n",
       "config.toml:6: repository.object_lock: expected a string, got a boolean"},
      {"object_lock_retain = \"0d\"\n",
       "config.toml:6: repository.object_lock_retain: '0d' is shorter than 1s"},
      {"object_lock_retain = \"35\"\n",
       "config.toml:6: repository.object_lock_retain: invalid duration '35': use a number "
       "followed by s, m, h, d or w"},
  };
  for (const auto& [keys, message] : cases) {
    EXPECT_EQ(ParseError(S3Main(keys)).message(), message) << keys;
  }
}

TEST(ConfigRepositoryTest, LimitsOfTheS3ValuesAreAccepted) {
  const Config config = Parse(S3Main(R"(part_size = "5MiB"
upload_concurrency = 64
retry_max_time = "0s"
object_lock_retain = "1s"
)"));
  EXPECT_EQ(config.repository.part_size, 5u << 20);
  EXPECT_EQ(config.repository.upload_concurrency, 64);
  EXPECT_EQ(config.repository.retry_max_time, std::chrono::seconds(0));
  EXPECT_EQ(config.repository.object_lock_retain, std::chrono::seconds(1));
  EXPECT_EQ(Parse(S3Main("part_size = \"5GiB\"\n")).repository.part_size, std::uint64_t{5} << 30);
}

TEST(ConfigRepositoryTest, KeyFilesGoWithCredentialsFile) {
  EXPECT_EQ(ParseError(S3Main("credentials = \"file\"\n")).message(),
            "config.toml:6: missing key repository.access_key_file (required with credentials "
            "= \"file\")");
  EXPECT_EQ(ParseError(S3Main("credentials = \"file\"\naccess_key_file = \"/a\"\n")).message(),
            "config.toml:6: missing key repository.secret_key_file (required with credentials "
            "= \"file\")");
  EXPECT_EQ(ParseError(S3Main("credentials = \"file\"\naccess_key_file = \"/a\"\n"
                              "secret_key_file = \"\"\n"))
                .message(),
            "config.toml:8: missing key repository.secret_key_file (required with credentials "
            "= \"file\")");
  EXPECT_EQ(ParseError(S3Main("credentials = \"file\"\naccess_key_file = \"a\"\n"
                              "secret_key_file = \"/s\"\n"))
                .message(),
            "config.toml:7: repository.access_key_file: 'a' is not an absolute path");
  // Without credentials = "file" (env is the default) they would be ignored: refused.
  EXPECT_EQ(ParseError(S3Main("secret_key_file = \"/s\"\n")).message(),
            "config.toml:6: repository.secret_key_file is set but credentials is not \"file\"");
  EXPECT_EQ(ParseError(S3Main("credentials = \"profile\"\naccess_key_file = \"/a\"\n")).message(),
            "config.toml:7: repository.access_key_file is set but credentials is not \"file\"");
  // "" is "not set", as the example writes them.
  EXPECT_EQ(Parse(S3Main("access_key_file = \"\"\nprofile = \"\"\n")).repository.credentials,
            "env");
}

TEST(ConfigRepositoryTest, ProfileKeysGoWithCredentialsProfile) {
  EXPECT_EQ(ParseError(S3Main("profile = \"backup\"\n")).message(),
            "config.toml:6: repository.profile is set but credentials is not \"profile\"");
  EXPECT_EQ(ParseError(S3Main("credentials = \"file\"\naccess_key_file = \"/a\"\n"
                              "secret_key_file = \"/s\"\nshared_credentials_file = \"/c\"\n"))
                .message(),
            "config.toml:9: repository.shared_credentials_file is set but credentials is not "
            "\"profile\"");
  EXPECT_EQ(
      ParseError(S3Main("credentials = \"profile\"\nshared_credentials_file = \"c\"\n")).message(),
      "config.toml:7: repository.shared_credentials_file: 'c' is not an absolute path");
}

TEST(ConfigRepositoryTest, S3SecretsAreRefusedWithoutEchoingThem) {
  for (const char* key : {"secret_key", "aws_secret_access_key", "access_key", "session_token"}) {
    const Status status = ParseError(S3Main(std::string(key) + " = \"wJalrXUtnFEMI\"\n"));
    EXPECT_EQ(status.message(), "config.toml:6: repository." + std::string(key) +
                                    ": the configuration may not hold an S3 key");
    EXPECT_THAT(status.hint(), HasSubstr("credentials"));
    EXPECT_THAT(status.ToString(), Not(HasSubstr("wJalrXUtnFEMI")));
  }
  // Reported before an earlier problem: the file holds a secret.
  const Status first = ParseError(std::string(kNode) +
                                  "[repository]\nurl = \"bad\"\n"
                                  "[repositories.x]\nurl = \"s3://bucket\"\nsecret_key = 'k'\n");
  EXPECT_THAT(first.message(), HasSubstr("config.toml:7: repositories.x.secret_key"));
}

TEST(ConfigRepositoryTest, ProblemsInNamedTablesNameTheirDottedKey) {
  const std::string offsite = std::string(kNode) + kLocalMain +
                              "[repositories.offsite]\nurl = \"s3://bucket\"\n"
                              "endpoint = \"https://s3.example.net\"\n";
  EXPECT_EQ(ParseError(offsite + "upload_concurrency = 99\n").message(),
            "config.toml:8: repositories.offsite.upload_concurrency: 99 is out of range (1..64)");
  EXPECT_EQ(ParseError(offsite + "[repositories.offsite.retention]\nkeep_last = -1\n").message(),
            "config.toml:9: repositories.offsite.retention.keep_last: -1 is out of range (>= 0)");
  EXPECT_EQ(
      ParseError(offsite + "[repositories.offsite.retention]\nkeep_within = \"4\"\n").message(),
      "config.toml:9: repositories.offsite.retention.keep_within: invalid duration '4': use a "
      "number followed by s, m, h, d or w");
  EXPECT_EQ(ParseError(std::string(kNode) + kLocalMain + "[repositories.usb]\npath = \"mnt/usb\"\n")
                .message(),
            "config.toml:6: repositories.usb.path: 'mnt/usb' is not an absolute path");
}

TEST(ConfigRepositoryTest, NoLocalRepositoryInsideTheDataDir) {
  EXPECT_EQ(ParseError(std::string(kNode) + kLocalMain +
                       "[repositories.usb]\npath = \"/srv/dss/backups\"\n")
                .message(),
            "config.toml:6: repositories.usb.path '/srv/dss/backups' is inside node.data_dir "
            "'/srv/dss'");
}

TEST(ConfigRepositoryTest, RepositoriesMayNotOverlap) {
  const std::string main = std::string(kNode) + kLocalMain;  // path = "/backup/govern" on line 4
  EXPECT_EQ(ParseError(main + "[repositories.copy]\npath = \"/backup/govern/\"\n").message(),
            "config.toml:6: repositories.copy.path '/backup/govern/' overlaps repository.path "
            "'/backup/govern': one repository would hold the other");
  EXPECT_THAT(ParseError(main + "[repositories.inner]\npath = \"/backup/govern/x/../inner\"\n")
                  .message(),
              HasSubstr("config.toml:6: repositories.inner.path '/backup/govern/x/../inner' "
                        "overlaps repository.path"));
  EXPECT_THAT(ParseError(main + "[repositories.outer]\npath = \"/backup\"\n").message(),
              HasSubstr("config.toml:6: repositories.outer.path '/backup' overlaps"));
  // Siblings, even with a common start of name, are apart.
  Parse(main + "[repositories.sibling]\npath = \"/backup/govern-2\"\n");

  const std::string s3 =
      S3Main("") + "[repositories.offsite]\nendpoint = \"http://S3.example.net/\"\n";
  EXPECT_EQ(ParseError(s3 + "url = \"s3://govern-backups/node-a/\"\n").message(),
            "config.toml:8: repositories.offsite.url 's3://govern-backups/node-a/' overlaps "
            "repository.url 's3://govern-backups/node-a': one repository would hold the other");
  EXPECT_THAT(ParseError(s3 + "url = \"s3://govern-backups\"\n").message(),
              HasSubstr("overlaps repository.url"));
  EXPECT_THAT(ParseError(s3 + "url = \"s3://govern-backups/node-a/x\"\n").message(),
              HasSubstr("overlaps repository.url"));
  Parse(s3 + "url = \"s3://govern-backups/node-ab\"\n");
  Parse(s3 + "url = \"s3://govern-offsite/node-a\"\n");
  // The same bucket and prefix on another server is another place.
  Parse(S3Main("") +
        "[repositories.offsite]\nendpoint = \"https://s3.other.net\"\n"
        "url = \"s3://govern-backups/node-a\"\n");
  // Between named repositories too.
  EXPECT_THAT(ParseError(main + "[repositories.a]\npath = \"/mnt/a\"\n"
                                "[repositories.b]\npath = \"/mnt/a/b\"\n")
                  .message(),
              HasSubstr("config.toml:8: repositories.b.path '/mnt/a/b' overlaps "
                        "repositories.a.path '/mnt/a'"));
}

}  // namespace
}  // namespace gb
