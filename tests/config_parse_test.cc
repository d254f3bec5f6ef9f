// ParseConfig / LoadConfigFile / ResolveConfigPath against real TOML text and real files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "config/config.h"
#include "io/age_keys.h"
#include "io/signing.h"
#include "tests/support/scratch_dir.h"

namespace gb {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The smallest valid file: the two required keys.
constexpr const char* kMinimal = R"(
[node]
data_dir = "/srv/dss"

[repository]
path = "/backup/govern"
)";

Status ParseError(const std::string& text) {
  auto config = ParseConfig(text, "config.toml");
  EXPECT_FALSE(config.ok()) << "parsed without error:\n" << text;
  EXPECT_EQ(config.status().code(), Code::kUsage) << config.status().ToString();
  return config.status();
}

// kMinimal plus one more table.
std::string With(const std::string& extra) { return std::string(kMinimal) + extra; }

TEST(ConfigParseTest, DefaultsWhenKeysAreAbsent) {
  auto config = ParseConfig(kMinimal, "minimal.toml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->source, "minimal.toml");
  EXPECT_EQ(config->node.data_dir, "/srv/dss");
  EXPECT_EQ(config->node.dss_command, "");
  EXPECT_EQ(config->node.dss_user, "");
  EXPECT_FALSE(config->database.host.has_value());
  EXPECT_FALSE(config->database.port.has_value());
  EXPECT_FALSE(config->database.dbname.has_value());
  EXPECT_FALSE(config->database.user.has_value());
  EXPECT_EQ(config->database.password_file, "");
  EXPECT_EQ(config->database.pg_bin_dir, "");
  EXPECT_EQ(config->repository.path, "/backup/govern");
  EXPECT_EQ(config->backup.mode, "offline");
  EXPECT_EQ(config->backup.exclude,
            (std::vector<std::string>{"tmp", "caches", "data-catalog", "run", "jobs", "scenarios",
                                      "diagnosis", "exports", "prepared_bundles",
                                      "apinode-packages"}));
  EXPECT_EQ(config->backup.compression_level, 3);
  EXPECT_EQ(config->backup.threads, 0);
  EXPECT_TRUE(config->backup.incremental);
  EXPECT_EQ(config->backup.full_every, std::chrono::hours(24 * 7));
  EXPECT_EQ(config->backup.full_every_text, "7d");
  EXPECT_FALSE(config->snapshot.enabled());
  EXPECT_EQ(config->retention.keep_last, 7);
  EXPECT_EQ(config->retention.keep_daily, 7);
  EXPECT_EQ(config->retention.keep_weekly, 4);
  EXPECT_EQ(config->retention.keep_monthly, 6);
  EXPECT_EQ(config->retention.keep_within, std::chrono::hours(96));
  EXPECT_EQ(config->retention.keep_within_text, "4d");
}

TEST(ConfigParseTest, EveryKeyOverridesItsDefault) {
  auto config = ParseConfig(R"(
[node]
data_dir = "/data/dataiku/dss_data"
dss_command = "/opt/dss/bin/dss"
dss_user = "dataiku"

[database]
host = "db.example.com"
port = 6543
dbname = "gov"
user = "gov_owner"
password_file = "/etc/govern-backup/pgpass"
pg_bin_dir = "/usr/lib/postgresql/15/bin"

[repository]
path = "/var/backups/govern-backup"

[backup]
mode = "online"
exclude = ["tmp", "jupyter-run"]
compression_level = 19
threads = 2
incremental = false
full_every = "1d12h"

[snapshot]
create = "lvcreate -s -n snap vg0/dss && mount -o ro /dev/vg0/snap /mnt/snap"
path = "/mnt/snap/dss_data"
destroy = "umount /mnt/snap && lvremove -y vg0/snap"

[retention]
keep_last = 0
keep_daily = 14
keep_weekly = 8
keep_monthly = 12
keep_within = "1d12h"
)",
                            "full.toml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->node.data_dir, "/data/dataiku/dss_data");
  EXPECT_EQ(config->node.dss_command, "/opt/dss/bin/dss");
  EXPECT_EQ(config->node.dss_user, "dataiku");
  EXPECT_EQ(config->database.host, "db.example.com");
  EXPECT_EQ(config->database.port, 6543);
  EXPECT_EQ(config->database.dbname, "gov");
  EXPECT_EQ(config->database.user, "gov_owner");
  EXPECT_EQ(config->database.password_file, "/etc/govern-backup/pgpass");
  EXPECT_EQ(config->database.pg_bin_dir, "/usr/lib/postgresql/15/bin");
  EXPECT_EQ(config->repository.path, "/var/backups/govern-backup");
  EXPECT_EQ(config->backup.mode, "online");
  EXPECT_EQ(config->backup.exclude, (std::vector<std::string>{"tmp", "jupyter-run"}));
  EXPECT_EQ(config->backup.compression_level, 19);
  EXPECT_FALSE(config->backup.incremental);
  EXPECT_EQ(config->backup.full_every, std::chrono::hours(36));
  EXPECT_EQ(config->backup.full_every_text, "1d12h");
  EXPECT_EQ(config->backup.threads, 2);
  EXPECT_TRUE(config->snapshot.enabled());
  EXPECT_EQ(config->snapshot.create,
            "lvcreate -s -n snap vg0/dss && mount -o ro /dev/vg0/snap /mnt/snap");
  EXPECT_EQ(config->snapshot.path, "/mnt/snap/dss_data");
  EXPECT_EQ(config->snapshot.destroy, "umount /mnt/snap && lvremove -y vg0/snap");
  EXPECT_EQ(config->retention.keep_last, 0);
  EXPECT_EQ(config->retention.keep_daily, 14);
  EXPECT_EQ(config->retention.keep_weekly, 8);
  EXPECT_EQ(config->retention.keep_monthly, 12);
  EXPECT_EQ(config->retention.keep_within, std::chrono::hours(36));
  EXPECT_EQ(config->retention.keep_within_text, "1d12h");
}

TEST(ConfigParseTest, EmptyExcludeListExcludesNothing) {
  auto config = ParseConfig(With("[backup]\nexclude = []\n"), "config.toml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_TRUE(config->backup.exclude.empty());
}

TEST(ConfigParseTest, UnknownKeyNamesDottedKeyLineAndClosestKnownKey) {
  // Line 8: kMinimal has 6 lines (a leading newline), then [backup] on 7.
  const Status status = ParseError(With("[backup]\ncompresion_level = 5\n"));
  EXPECT_EQ(status.message(), "config.toml:8: unknown key backup.compresion_level");
  EXPECT_THAT(status.hint(), HasSubstr("backup.compression_level"));
}

TEST(ConfigParseTest, UnknownTableIsReportedWithSuggestion) {
  const Status status = ParseError(With("[retension]\nkeep_last = 3\n"));
  EXPECT_THAT(status.message(), HasSubstr("config.toml:7:"));
  EXPECT_THAT(status.message(), HasSubstr("unknown table [retension]"));
  EXPECT_THAT(status.hint(), HasSubstr("retention"));
}

TEST(ConfigParseTest, KnownKeyInTheWrongTableSuggestsTheRightOne) {
  const Status status = ParseError(With("[backup]\ndata_dir = \"/x\"\n"));
  EXPECT_THAT(status.message(), HasSubstr("unknown key backup.data_dir"));
  EXPECT_THAT(status.hint(), HasSubstr("node.data_dir"));
}

TEST(ConfigParseTest, FarOffUnknownKeyHasNoSuggestion) {
  const Status status = ParseError(With("[backup]\nflux_capacitor = 1\n"));
  EXPECT_THAT(status.message(), HasSubstr("unknown key backup.flux_capacitor"));
  EXPECT_EQ(status.hint(), "");
}

TEST(ConfigParseTest, EarliestProblemInTheFileIsReported) {
  // toml++ iterates keys sorted; the report must follow the file instead.
  const Status status = ParseError(With("[retention]\nzzz = 1\n[backup]\naaa = 2\n"));
  EXPECT_THAT(status.message(), HasSubstr("config.toml:8: unknown key retention.zzz"));
}

TEST(ConfigParseTest, WrongTypesNameKeyLineAndExpectedType) {
  struct Case {
    std::string extra;
    std::string message;
  };
  const Case cases[] = {
      {"[database]\nport = \"5432\"\n",
       "config.toml:8: database.port: expected an integer, got a string"},
      {"[backup]\nthreads = \"4\"\n",
       "config.toml:8: backup.threads: expected an integer, got a string"},
      {"[backup]\nexclude = \"tmp\"\n",
       "config.toml:8: backup.exclude: expected an array of strings, got a string"},
      {"[backup]\nexclude = [\"tmp\", 3]\n",
       "config.toml:8: backup.exclude[1]: expected a string, got an integer"},
      {"[backup]\ncompression_level = 3.5\n",
       "config.toml:8: backup.compression_level: expected an integer, got a floating-point number"},
      {"[backup]\nincremental = \"yes\"\n",
       "config.toml:8: backup.incremental: expected true or false, got a string"},
      {"[backup]\nfull_every = 7\n",
       "config.toml:8: backup.full_every: expected a string, got an integer"},
      {"[retention]\nkeep_within = 4\n",
       "config.toml:8: retention.keep_within: expected a string, got an integer"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ParseError(With(c.extra)).message(), c.message) << c.extra;
  }
  EXPECT_EQ(ParseError("backup = 3\n" + std::string(kMinimal)).message(),
            "config.toml:1: backup: expected a table, got an integer");
}

TEST(ConfigParseTest, ImpossibleValuesAreRefused) {
  struct Case {
    std::string extra;
    std::string message_part;
  };
  const Case cases[] = {
      {"[backup]\ncompression_level = -3\n",
       "config.toml:8: backup.compression_level: -3 is out of range (1..19)"},
      {"[backup]\ncompression_level = 0\n", "backup.compression_level: 0 is out of range (1..19)"},
      {"[backup]\ncompression_level = 20\n", "backup.compression_level: 20 is out of range"},
      {"[backup]\nthreads = -1\n", "backup.threads: -1 is out of range"},
      {"[database]\nport = 0\n", "database.port: 0 is out of range (1..65535)"},
      {"[database]\nport = 70000\n", "database.port: 70000 is out of range (1..65535)"},
      {"[retention]\nkeep_daily = -1\n", "retention.keep_daily: -1 is out of range (>= 0)"},
      {"[retention]\nkeep_last = -7\n", "retention.keep_last: -7 is out of range"},
      {"[retention]\nkeep_weekly = -1\n", "retention.keep_weekly: -1 is out of range"},
      {"[retention]\nkeep_monthly = -1\n", "retention.keep_monthly: -1 is out of range"},
      {"[backup]\nmode = \"hot\"\n", "backup.mode: 'hot' is neither offline nor online"},
      {"[backup]\nexclude = [\"tmp/x\"]\n", "backup.exclude[0]: 'tmp/x' is not a folder name"},
      {"[backup]\nexclude = [\"..\"]\n", "backup.exclude[0]: '..' is not a folder name"},
      {"[backup]\nexclude = [\"tmp\", \".\"]\n", "backup.exclude[1]: '.' is not a folder name"},
      {"[backup]\nexclude = [\"\"]\n", "backup.exclude[0]: '' is not a folder name"},
      {"[database]\nhost = \"\"\n", "database.host: must not be empty"},
      {"[node]\n", "node"},  // a table defined twice is a TOML error
  };
  for (const Case& c : cases) {
    EXPECT_THAT(ParseError(With(c.extra)).message(), HasSubstr(c.message_part)) << c.extra;
  }
}

TEST(ConfigParseTest, DssUserRootIsRefusedBecauseBinDssRefusesRoot) {
  const Status status = ParseError(R"([node]
data_dir = "/srv/dss"
dss_user = "root"
[repository]
path = "/backup"
)");
  EXPECT_EQ(status.message(), "config.toml:3: node.dss_user: bin/dss refuses to run as root");
}

TEST(ConfigParseTest, BadDurationIsRefusedWithTheDurationMessage) {
  const Status status = ParseError(With("[retention]\nkeep_within = \"4x\"\n"));
  EXPECT_EQ(status.message(),
            "config.toml:8: retention.keep_within: invalid duration '4x': use a number followed "
            "by s, m, h, d or w");
}

TEST(ConfigParseTest, RelativePathsAreRefusedWhereAbsoluteIsRequired) {
  const std::string keys[][2] = {
      {"node", "dss_command"},    {"database", "password_file"}, {"database", "pg_bin_dir"},
      {"snapshot", "path"},
  };
  for (const auto& key : keys) {
    // Dotted keys, so that [node] is not defined twice; the relative path is on line 3.
    const std::string text = "node.data_dir = \"/srv/dss\"\nrepository.path = \"/backup\"\n" +
                             key[0] + "." + key[1] + " = \"relative/dir\"\n";
    const Status status = ParseError(text);
    EXPECT_EQ(status.message(), "config.toml:3: " + key[0] + "." + key[1] +
                                    ": 'relative/dir' is not an absolute path");
    EXPECT_THAT(status.hint(), HasSubstr("full path"));
  }
  EXPECT_THAT(ParseError("[node]\ndata_dir = \"~/dss\"\n[repository]\npath = \"/b\"\n").message(),
              HasSubstr("config.toml:2: node.data_dir: '~/dss' is not an absolute path"));
  EXPECT_THAT(ParseError("[node]\ndata_dir = \"/dss\"\n[repository]\npath = \"b\"\n").message(),
              HasSubstr("config.toml:4: repository.path: 'b' is not an absolute path"));
}

TEST(ConfigParseTest, MissingRequiredKeysAreNamed) {
  EXPECT_EQ(ParseError("[repository]\npath = \"/b\"\n").message(),
            "config.toml: missing key node.data_dir (required)");
  EXPECT_EQ(ParseError("[node]\ndata_dir = \"/dss\"\n").message(),
            "config.toml: missing key repository.path or repository.url (required)");
  EXPECT_EQ(ParseError("").message(), "config.toml: missing key node.data_dir (required)");
  EXPECT_EQ(ParseError("[node]\ndata_dir = \"\"\n[repository]\npath = \"/b\"\n").message(),
            "config.toml:2: missing key node.data_dir (required)");
}

TEST(ConfigParseTest, PasswordKeyIsRefusedWithoutEchoingIt) {
  const Status status = ParseError(With("[database]\npassword = \"s3cret-Pw\"\n"));
  EXPECT_THAT(status.message(), HasSubstr("config.toml:8: database.password"));
  EXPECT_THAT(status.message(), HasSubstr("may not hold a password"));
  EXPECT_THAT(status.hint(), HasSubstr("password_file"));
  EXPECT_THAT(status.ToString(), Not(HasSubstr("s3cret")));
}

TEST(ConfigParseTest, PasswordKeyIsRefusedAnywhere) {
  const Status top = ParseError(std::string("Password = 'hunter2'\n") + kMinimal);
  EXPECT_THAT(top.message(), HasSubstr("config.toml:1: Password"));
  EXPECT_THAT(top.ToString(), Not(HasSubstr("hunter2")));
  const Status nested = ParseError(With("[snapshot.extra]\npassword = 'hunter2'\n"));
  EXPECT_THAT(nested.message(), HasSubstr("snapshot.extra.password"));
  EXPECT_THAT(nested.ToString(), Not(HasSubstr("hunter2")));
}

TEST(ConfigParseTest, SyntaxErrorGivesLineAndColumn) {
  const Status status = ParseError(With("[backup]\nthreads = = 4\n"));
  EXPECT_THAT(status.message(), HasSubstr("config.toml:8:11: "));
  // Something of toml++'s own description follows the position.
  EXPECT_GT(status.message().size(), std::string("config.toml:8:11: ").size());
}

TEST(ConfigParseTest, SnapshotNeedsBothCreateAndPath) {
  EXPECT_EQ(ParseError(With("[snapshot]\ncreate = \"mount-snap\"\n")).message(),
            "config.toml:8: snapshot.create is set but snapshot.path is not");
  EXPECT_EQ(ParseError(With("[snapshot]\npath = \"/mnt/snap\"\n")).message(),
            "config.toml:8: snapshot.path is set but snapshot.create is not");
  EXPECT_EQ(ParseError(With("[snapshot]\ndestroy = \"umount /mnt/snap\"\n")).message(),
            "config.toml:8: snapshot.destroy is set but snapshot.create is not");
  auto without_destroy =
      ParseConfig(With("[snapshot]\ncreate = \"mount-snap\"\npath = \"/mnt/snap\"\n"), "c.toml");
  ASSERT_TRUE(without_destroy.ok()) << without_destroy.status().ToString();
  EXPECT_TRUE(without_destroy->snapshot.enabled());
}

TEST(ConfigParseTest, RepositoryInsideTheDataDirIsRefused) {
  EXPECT_THAT(
      ParseError("[node]\ndata_dir = \"/srv/dss/\"\n[repository]\npath = \"/srv/dss/backups\"\n")
          .message(),
      HasSubstr("config.toml:4: repository.path '/srv/dss/backups' is inside node.data_dir"));
  auto sibling =
      ParseConfig("[node]\ndata_dir = \"/srv/dss\"\n[repository]\npath = \"/srv/dss-backups\"\n",
                  "c.toml");
  EXPECT_TRUE(sibling.ok()) << sibling.status().ToString();
}

// A temporary directory for real files, removed afterwards.
class ConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = scratch_.path(); }

  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  gb::testing::ScratchDir scratch_{"config_test."};
  std::filesystem::path dir_;
};

TEST_F(ConfigFileTest, LoadsAFileAndRecordsItsPath) {
  const std::string path = Write("config.toml", kMinimal);
  auto config = LoadConfigFile(path);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->source, path);
  EXPECT_EQ(config->node.data_dir, "/srv/dss");
}

TEST_F(ConfigFileTest, ErrorsNameTheFileAsGiven) {
  const std::string path = Write("bad.toml", With("[backup]\ncompresion_level = 5\n"));
  auto config = LoadConfigFile(path);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), Code::kUsage);
  EXPECT_EQ(config.status().message(), path + ":8: unknown key backup.compresion_level");
}

TEST_F(ConfigFileTest, MissingFileIsAUsageErrorWithAHint) {
  const std::string path = (dir_ / "nowhere.toml").string();
  auto config = LoadConfigFile(path);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), Code::kUsage);
  EXPECT_EQ(config.status().message(), "config file " + path + " not found");
  EXPECT_THAT(config.status().hint(), HasSubstr("--config"));
  EXPECT_THAT(config.status().hint(), HasSubstr("GOVERN_BACKUP_CONFIG"));
}

TEST_F(ConfigFileTest, UnreadableFileIsAUsageError) {
  // A directory cannot be read as a file, for root as for anyone.
  auto config = LoadConfigFile(dir_.string());
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), Code::kUsage);
  EXPECT_THAT(config.status().message(), HasSubstr(dir_.string()));

  if (geteuid() != 0) {  // root reads mode 000 files anyway
    const std::string path = Write("locked.toml", kMinimal);
    ASSERT_EQ(chmod(path.c_str(), 0), 0);
    auto locked = LoadConfigFile(path);
    ASSERT_FALSE(locked.ok());
    EXPECT_EQ(locked.status().code(), Code::kUsage);
    EXPECT_THAT(locked.status().message(), HasSubstr(path));
  }
}

// Sets or unsets GOVERN_BACKUP_CONFIG for one test, restoring it afterwards.
class ScopedConfigEnv {
 public:
  explicit ScopedConfigEnv(const char* value) {
    if (const char* old = getenv("GOVERN_BACKUP_CONFIG")) saved_ = old;
    if (value) {
      setenv("GOVERN_BACKUP_CONFIG", value, 1);
    } else {
      unsetenv("GOVERN_BACKUP_CONFIG");
    }
  }
  ~ScopedConfigEnv() {
    if (saved_) {
      setenv("GOVERN_BACKUP_CONFIG", saved_->c_str(), 1);
    } else {
      unsetenv("GOVERN_BACKUP_CONFIG");
    }
  }

 private:
  std::optional<std::string> saved_;
};

TEST(ResolveConfigPathTest, FlagThenEnvironmentThenSystemDefault) {
  {
    ScopedConfigEnv env("/from/env.toml");
    EXPECT_EQ(ResolveConfigPath("/from/flag.toml"), "/from/flag.toml");
    EXPECT_EQ(ResolveConfigPath(""), "/from/env.toml");
  }
  {
    ScopedConfigEnv env("");
    EXPECT_EQ(ResolveConfigPath(""), "/etc/govern-backup/config.toml");
  }
  {
    ScopedConfigEnv env(nullptr);
    EXPECT_EQ(ResolveConfigPath(""), "/etc/govern-backup/config.toml");
    EXPECT_EQ(ResolveConfigPath("relative.toml"), "relative.toml");
  }
}

}  // namespace
}  // namespace gb

namespace gb {
namespace {

TEST(ConfigParseTest, OperationsAndEncryptionSectionsAreRead) {
  const std::string recipient = AgeIdentity::Generate().Recipient().ToString();
  const std::string trusted = SigningKey::Generate().PublicKey();
  auto config = ParseConfig(With("[encryption]\nrecipients = [\"" + recipient +
                                 "\"]\nidentity_file = \"/keys/id.txt\"\n"
                                 "signing_key_file = \"/keys/sign.pem\"\ntrusted_keys = [\"" +
                                 trusted + "\"]\n[hooks]\npre_backup = \"true\"\ntimeout = \"30s\"\n"
                                 "[metrics]\ntextfile = \"/var/lib/node_exporter/gb.prom\"\n"),
                            "c.toml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->encryption.recipients, std::vector<std::string>{recipient});
  EXPECT_EQ(config->encryption.trusted_keys, std::vector<std::string>{trusted});
  EXPECT_TRUE(config->encryption.encrypts());
  EXPECT_TRUE(config->encryption.requires_signature());
  EXPECT_EQ(config->hooks.pre_backup, "true");
  EXPECT_EQ(config->hooks.timeout, std::chrono::seconds(30));
  EXPECT_EQ(config->metrics.textfile, "/var/lib/node_exporter/gb.prom");
  EXPECT_EQ(config->node.wait_for_tasks, std::chrono::minutes(10));
}

TEST(ConfigParseTest, BadKeysOfEncryptionAndApiAreNamed) {
  std::string message = ParseError(With("[encryption]\nrecipients = [\"age1nope\"]\n")).ToString();
  EXPECT_NE(message.find("encryption.recipients[0]"), std::string::npos) << message;
  message = ParseError(With("[encryption]\ntrusted_keys = [\"ed25519:short\"]\n")).ToString();
  EXPECT_NE(message.find("encryption.trusted_keys[0]"), std::string::npos) << message;
  message = ParseError(With("[encryption]\nidentity_file = \"key.txt\"\n")).ToString();
  EXPECT_NE(message.find("encryption.identity_file"), std::string::npos) << message;
  message = ParseError("[node]\ndata_dir = \"/srv/dss\"\napi_url = \"localhost:11200\"\n"
                       "[repository]\npath = \"/b\"\n").ToString();
  EXPECT_NE(message.find("node.api_url"), std::string::npos) << message;
}

}  // namespace
}  // namespace gb
