// End-to-end tests of the [metrics] textfile: after backup, verify, audit and prune the real
// binary rewrites it, and Prometheus' own parser (python3-prometheus-client's
// text_string_to_metric_families, the format node_exporter's textfile collector reads)
// reads back the values each command left.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <map>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "io/files.h"
#include "io/subprocess.h"
#include "tests/support/cli_json.h"
#include "tests/support/govern_fixture.h"
#include "tests/support/wait.h"

namespace gb {
namespace testing {
namespace {

namespace fs = std::filesystem;

// Debian's python3 (the package's module is not on a pyenv python's path).
constexpr char kParser[] = R"(
import json, sys
from prometheus_client.parser import text_string_to_metric_families
samples = []
for family in text_string_to_metric_families(open(sys.argv[1]).read()):
    if not family.documentation:
        sys.exit("no HELP for " + family.name)
    for sample in family.samples:
        samples.append({"name": sample.name, "labels": sample.labels, "value": sample.value,
                        "type": family.type})
print(json.dumps(samples))
)";

// Every sample of the textfile, as Prometheus' parser reads it; a test failure if it cannot.
nlohmann::json ParseWithPrometheus(const std::string& path) {
  SubprocessOptions options;
  options.argv = {"/usr/bin/python3", "-c", kParser, path};
  options.timeout = std::chrono::seconds(60);
  Result<ExitInfo> ran = RunSubprocess(options);
  EXPECT_TRUE(ran.ok() && ran->success())
      << (ran.ok() ? ran->Describe() : ran.status().ToString());
  if (!ran.ok() || !ran->success()) return nlohmann::json::array();
  return nlohmann::json::parse(ran->stdout_text);
}

// The value of the one sample `name` whose labels include `labels`; NaN when there is none.
double Value(const nlohmann::json& samples, const std::string& name,
             const std::map<std::string, std::string>& labels) {
  for (const auto& sample : samples) {
    if (sample["name"] != name) continue;
    bool match = true;
    for (const auto& [key, value] : labels) match = match && sample["labels"].value(key, "") == value;
    if (match) return sample["value"].get<double>();
  }
  return NAN;
}

double Now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// How many processes wait in flock() for the folder `path` (/proc/locks: "-> FLOCK" lines
// naming its device and inode).
int WaitersForTheLockOf(const std::string& path) {
  struct stat folder {};
  if (stat(path.c_str(), &folder) != 0) return -1;
  char id[64];
  snprintf(id, sizeof id, "%02x:%02x:%llu", major(folder.st_dev), minor(folder.st_dev),
           static_cast<unsigned long long>(folder.st_ino));
  std::ifstream locks("/proc/locks");
  int waiters = 0;
  for (std::string line; std::getline(locks, line);)
    if (line.find("-> FLOCK") != std::string::npos &&
        line.find(" " + std::string(id) + " ") != std::string::npos)
      ++waiters;
  return waiters;
}

class MetricsTest : public GovernNodeTest {
 protected:
  void SetUp() override {
    GovernNodeTest::SetUp();
    fs::create_directories(root_ + "/textfiles");
    textfile_ = root_ + "/textfiles/govern-backup.prom";
    WriteConfig("[metrics]\ntextfile = \"" + textfile_ + "\"\n[retention]\nkeep_last = 1\n"
                "keep_daily = 0\nkeep_weekly = 0\nkeep_monthly = 0\nkeep_within = \"0s\"\n");
  }
  double Of(const std::string& name, const std::map<std::string, std::string>& labels) {
    return Value(ParseWithPrometheus(textfile_), name, labels);
  }
  static std::map<std::string, std::string> Cmd(const std::string& command) {
    return {{"repository", "main"}, {"command", command}};
  }
  std::string textfile_;
};

TEST_F(MetricsTest, EachCommandLeavesItsFiguresAndKeepsTheOthers) {
  // backup: its outcome, the halves' bytes, DSS downtime, the number of sets.
  const double before = std::floor(Now());
  JsonRun backup = RunJson(config_path_, {"backup"});
  ASSERT_EQ(backup.exit_code, 0) << backup.err;
  nlohmann::json samples = ParseWithPrometheus(textfile_);
  EXPECT_EQ(Value(samples, "govern_backup_last_exit_code", Cmd("backup")), 0);
  const double success = Value(samples, "govern_backup_last_success_timestamp_seconds", Cmd("backup"));
  EXPECT_GE(success, before);
  EXPECT_LE(success, Now());
  EXPECT_GT(Value(samples, "govern_backup_last_duration_seconds", Cmd("backup")), 0);
  EXPECT_EQ(Value(samples, "govern_backup_last_backup_bytes", {{"half", "datadir"}}),
            backup.doc["datadir"]["bytes"].get<double>());
  EXPECT_EQ(Value(samples, "govern_backup_last_backup_bytes", {{"half", "database"}}),
            backup.doc["database"]["bytes"].get<double>());
  EXPECT_NEAR(Value(samples, "govern_backup_last_backup_dss_downtime_seconds", {}),
              backup.doc["window"]["downtime_seconds"].get<double>(), 0.01);
  EXPECT_EQ(Value(samples, "govern_backup_sets", {{"repository", "main"}}), 1);
  // The set's second, from its id (the manifest's created_at, to the second).
  const double newest = Value(samples, "govern_backup_newest_set_timestamp_seconds", {});
  EXPECT_GE(newest, before);
  EXPECT_LE(newest, success);

  // verify: its own figures; the backup's stay.
  JsonRun verify = RunJson(config_path_, {"verify"});
  ASSERT_EQ(verify.exit_code, 0) << verify.err;
  samples = ParseWithPrometheus(textfile_);
  EXPECT_EQ(Value(samples, "govern_backup_last_exit_code", Cmd("verify")), 0);
  EXPECT_EQ(Value(samples, "govern_backup_last_success_timestamp_seconds", Cmd("backup")), success);
  EXPECT_EQ(Value(samples, "govern_backup_last_backup_bytes", {{"half", "datadir"}}),
            backup.doc["datadir"]["bytes"].get<double>());

  // audit, clean then with a stray file: findings by kind, exit code 3, no new success.
  JsonRun clean = RunJson(config_path_, {"audit", "--quick"});
  ASSERT_EQ(clean.exit_code, 0) << clean.out << clean.err;
  samples = ParseWithPrometheus(textfile_);
  for (const char* kind : {"set", "repository", "lock", "retention", "node", "database", "leftover"})
    EXPECT_EQ(Value(samples, "govern_backup_audit_findings", {{"kind", kind}}), 0) << kind;
  const double audit_success =
      Value(samples, "govern_backup_last_success_timestamp_seconds", Cmd("audit"));
  EXPECT_GE(audit_success, before);
  ASSERT_TRUE(WriteFile(repo_ + "/stray.txt", "not a set").ok());
  JsonRun dirty = RunJson(config_path_, {"audit", "--quick"});
  ASSERT_EQ(dirty.exit_code, 3) << dirty.out << dirty.err;
  samples = ParseWithPrometheus(textfile_);
  EXPECT_EQ(Value(samples, "govern_backup_audit_findings", {{"kind", "leftover"}}), 1);
  EXPECT_EQ(Value(samples, "govern_backup_audit_findings", {{"kind", "set"}}), 0);
  EXPECT_EQ(Value(samples, "govern_backup_last_exit_code", Cmd("audit")), 3);
  EXPECT_EQ(Value(samples, "govern_backup_last_success_timestamp_seconds", Cmd("audit")),
            audit_success);
  fs::remove(repo_ + "/stray.txt");

  // prune (keep_last = 1) after a second, full, backup: the count of sets follows. The
  // sets' times are to the second, so the second backup starts in a later second than the
  // first set's.
  ASSERT_TRUE(WaitUntil([&] { return Now() >= newest + 1; }, std::chrono::seconds(5)));
  BackupOkInItsOwnSecond({"--full"});
  EXPECT_EQ(Of("govern_backup_sets", {{"repository", "main"}}), 2);
  CommandResult prune = Run({"prune"});
  ASSERT_EQ(prune.exit_code, 0) << prune.err;
  samples = ParseWithPrometheus(textfile_);
  EXPECT_EQ(Value(samples, "govern_backup_last_exit_code", Cmd("prune")), 0);
  EXPECT_EQ(Value(samples, "govern_backup_sets", {{"repository", "main"}}), 1);
  EXPECT_GT(Value(samples, "govern_backup_newest_set_timestamp_seconds", {}), newest)
      << "the second set is the one kept";
  for (const char* command : {"backup", "verify", "audit", "prune"})
    EXPECT_FALSE(std::isnan(Value(samples, "govern_backup_last_run_timestamp_seconds", Cmd(command))))
        << command;
}

// check says whether the textfile can be written: a warning (backups still run) when its
// folder is missing.
TEST_F(MetricsTest, CheckSaysWhetherTheTextfileCanBeWritten) {
  JsonRun check = RunJson(config_path_, {"check"});
  std::vector<nlohmann::json> found = FindingsAbout(check.doc, "metrics textfile");
  ASSERT_EQ(found.size(), 1u) << check.out;
  EXPECT_EQ(found[0]["ok"], true) << check.out;
  EXPECT_FALSE(found[0].value("warning", false)) << check.out;

  WriteConfig("[metrics]\ntextfile = \"" + root_ + "/no-such-folder/govern-backup.prom\"\n");
  check = RunJson(config_path_, {"check"});
  found = FindingsAbout(check.doc, "metrics textfile");
  ASSERT_EQ(found.size(), 1u) << check.out;
  EXPECT_EQ(found[0]["ok"], true) << check.out;
  EXPECT_EQ(found[0].value("warning", false), true) << check.out;
  EXPECT_NE(found[0]["message"].get<std::string>().find("does not exist"), std::string::npos)
      << check.out;
}

TEST_F(MetricsTest, AFailedBackupRecordsItsExitCodeAndNoSuccess) {
  WriteConfig("[metrics]\ntextfile = \"" + textfile_ + "\"\n[hooks]\npre_backup = \"exit 1\"\n");
  CommandResult result = Run({"backup"});
  ASSERT_EQ(result.exit_code, 1) << result.err;
  nlohmann::json samples = ParseWithPrometheus(textfile_);
  EXPECT_EQ(Value(samples, "govern_backup_last_exit_code", Cmd("backup")), 1);
  EXPECT_TRUE(std::isnan(Value(samples, "govern_backup_last_success_timestamp_seconds", Cmd("backup"))));
  EXPECT_FALSE(std::isnan(Value(samples, "govern_backup_last_run_timestamp_seconds", Cmd("backup"))));
}

TEST_F(MetricsTest, TheFileIsReplacedByARenameNeverRewrittenInPlace) {
  ASSERT_NE(Run({"verify"}).exit_code, 0);  // no set yet: a failed verify still reports
  struct stat first {};
  ASSERT_EQ(stat(textfile_.c_str(), &first), 0);
  EXPECT_EQ(first.st_mode & 0777, 0644u) << "node_exporter reads it as another user";
  const int exit_code = Run({"verify"}).exit_code;
  struct stat second {};
  ASSERT_EQ(stat(textfile_.c_str(), &second), 0);
  EXPECT_NE(first.st_ino, second.st_ino) << "a new file renamed over the old one";
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(root_ + "/textfiles"))
    names.push_back(entry.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"govern-backup.prom"}) << "no temporary file left";
  EXPECT_EQ(Of("govern_backup_last_exit_code", Cmd("verify")), exit_code);
}

TEST_F(MetricsTest, DryRunsAndOtherCommandsWriteNoMetrics) {
  BackupOk();
  const std::string after_backup = *ReadWholeFile(textfile_);
  // A dry run did nothing: a metric would say it did. list is not one of the four commands.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"backup", "--dry-run"}, {"prune", "--dry-run"}, {"list"}}) {
    CommandResult result = Run(args);
    EXPECT_EQ(result.exit_code, 0) << args[0] << ": " << result.err;
  }
  EXPECT_EQ(*ReadWholeFile(textfile_), after_backup);
}

// Commands of several repositories ending at once: each waits for the textfile's lock (held
// here until all of them wait, so that they then race for it), then adds its figures and
// keeps the others'.
TEST_F(MetricsTest, CommandsEndingAtOnceWaitForTheLockAndEachKeepTheirFigures) {
  constexpr int kRepositories = 4;
  std::string repositories;
  for (int i = 0; i < kRepositories; ++i) {
    fs::create_directories(root_ + "/repo" + std::to_string(i));
    repositories += "[repositories.r" + std::to_string(i) + "]\npath = \"" + root_ + "/repo" +
                    std::to_string(i) + "\"\n";
  }
  WriteConfig("[metrics]\ntextfile = \"" + textfile_ + "\"\n" + repositories);
  const int main_exit_code = Run({"verify"}).exit_code;  // the figures the others must keep
  const std::string before = *ReadWholeFile(textfile_);

  const std::string folder = root_ + "/textfiles";
  struct HeldLock {  // released however the test ends: the next tests write the folder too
    int fd;
    ~HeldLock() {
      if (fd >= 0) close(fd);
    }
  } lock{open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  ASSERT_GE(lock.fd, 0);
  ASSERT_EQ(flock(lock.fd, LOCK_EX), 0);
  const double started = std::floor(Now());
  std::vector<std::unique_ptr<Subprocess>> commands;
  for (int i = 0; i < kRepositories; ++i) {
    // An empty repository: verify fails, and says so in the metrics like any outcome.
    commands.push_back(Start({"--repo", "r" + std::to_string(i), "verify"}));
    ASSERT_NE(commands.back(), nullptr);
  }
  const bool all_wait = WaitUntil(
      [&] { return WaitersForTheLockOf(folder) == kRepositories; }, std::chrono::seconds(30));
  EXPECT_TRUE(all_wait) << WaitersForTheLockOf(folder) << " commands wait for the lock";
  EXPECT_EQ(*ReadWholeFile(textfile_), before) << "written without the lock";
  close(lock.fd);
  lock.fd = -1;
  std::vector<int> exit_codes;
  for (auto& command : commands) exit_codes.push_back(command->Wait().exit_code);

  nlohmann::json samples = ParseWithPrometheus(textfile_);
  EXPECT_EQ(Value(samples, "govern_backup_last_exit_code", Cmd("verify")), main_exit_code);
  for (int i = 0; i < kRepositories; ++i) {
    const std::map<std::string, std::string> labels = {{"repository", "r" + std::to_string(i)},
                                                       {"command", "verify"}};
    EXPECT_NE(exit_codes[i], 0) << "r" << i;
    EXPECT_EQ(Value(samples, "govern_backup_last_exit_code", labels), exit_codes[i]) << "r" << i;
    EXPECT_GE(Value(samples, "govern_backup_last_run_timestamp_seconds", labels), started)
        << "r" << i;
  }
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder))
    names.push_back(entry.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"govern-backup.prom"}) << "no temporary file left";
}

// A line of the textfile that is not a sample (edited by hand) does not fail the backup nor
// cost the other commands' figures: it is dropped with a warning naming it.
TEST_F(MetricsTest, ALineThatIsNotASampleIsDroppedWithAWarningAndTheOtherFiguresKept) {
  const int verify_exit_code = Run({"verify"}).exit_code;  // no set yet: a failure, recorded
  ASSERT_TRUE(WriteFile(textfile_, *ReadWholeFile(textfile_) + "this is { not prometheus\n", 0644)
                  .ok());
  BackupOk();
  EXPECT_NE(last_backup_log_.find("is not a Prometheus sample: this is { not prometheus"),
            std::string::npos)
      << last_backup_log_;
  nlohmann::json samples = ParseWithPrometheus(textfile_);
  EXPECT_EQ(Value(samples, "govern_backup_last_exit_code", Cmd("verify")), verify_exit_code);
  EXPECT_EQ(Value(samples, "govern_backup_last_exit_code", Cmd("backup")), 0);
}

// A textfile that cannot be read at all (here a folder took its name) is a warning, not a
// failed backup: the command's own outcome stands.
TEST_F(MetricsTest, ATextfileThatCannotBeWrittenIsAWarningNotAFailedBackup) {
  fs::create_directories(textfile_ + "/in-the-way");
  BackupOk();
  EXPECT_NE(last_backup_log_.find("the command's own outcome stands"), std::string::npos)
      << last_backup_log_;
  EXPECT_EQ(SetIds().size(), 1u);
}

}  // namespace
}  // namespace testing
}  // namespace gb
