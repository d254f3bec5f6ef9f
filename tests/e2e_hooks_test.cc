// End-to-end tests of [hooks] (pre_backup, post_backup, on_failure) around the real binary on
// a generated Govern node: what they are told, when they run, and what their failure does.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <map>

#include <gtest/gtest.h>

#include "io/files.h"
#include "io/text.h"
#include "tests/support/cli_json.h"
#include "tests/support/govern_fixture.h"
#include "tests/support/wait.h"

namespace gb {
namespace testing {
namespace {

namespace fs = std::filesystem;

std::string ReadText(const std::string& path) {
  Result<std::string> text = ReadWholeFile(path);
  return text.ok() ? *text : "";
}

class HooksTest : public GovernNodeTest {
 protected:
  // A hook that records its GOVERN_BACKUP_* environment in <root>/<name>.env.
  std::string Recorder(const std::string& name) {
    return "env | grep ^GOVERN_BACKUP_ > " + root_ + "/" + name + ".env";
  }
  // The variables a Recorder hook saw; empty when it did not run.
  std::map<std::string, std::string> Recorded(const std::string& name) {
    std::map<std::string, std::string> variables;
    for (const std::string& line : SplitLines(ReadText(root_ + "/" + name + ".env"))) {
      size_t equals = line.find('=');
      if (equals != std::string::npos) variables[line.substr(0, equals)] = line.substr(equals + 1);
    }
    return variables;
  }
  bool Ran(const std::string& name) { return fs::exists(root_ + "/" + name + ".env"); }
  void WriteHooks(const std::string& hooks_toml) { WriteConfig("[hooks]\n" + hooks_toml); }
  static std::string Toml(const std::string& text) {
    std::string quoted = "\"";
    for (char c : text) {
      if (c == '"' || c == '\\') quoted.push_back('\\');
      quoted.push_back(c);
    }
    return quoted + "\"";
  }
  bool RepositoryEmpty() { return !fs::exists(repo_) || fs::is_empty(repo_); }
};

TEST_F(HooksTest, FailingPreBackupLeavesDssUntouchedAndTheRepositoryEmpty) {
  WriteHooks("pre_backup = " + Toml("echo disk not mounted; echo on stderr >&2; exit 3") +
             "\non_failure = " + Toml(Recorder("on_failure")) + "\n");
  const std::string events_before = ReadText(node_.events_log());
  CommandResult result = Run({"backup"});
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_NE(result.err.find("pre_backup hook: disk not mounted"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("pre_backup hook (stderr): on stderr"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("exited with 3"), std::string::npos) << result.err;
  EXPECT_EQ(ReadText(node_.events_log()), events_before) << "DSS must not be stopped or started";
  EXPECT_TRUE(node_.IsRunning());
  EXPECT_TRUE(RepositoryEmpty()) << "nothing may be written to the repository";
  auto seen = Recorded("on_failure");
  EXPECT_EQ(seen["GOVERN_BACKUP_COMMAND"], "backup");
  EXPECT_EQ(seen["GOVERN_BACKUP_STATUS"], "failure");
  EXPECT_EQ(seen["GOVERN_BACKUP_EXIT_CODE"], "1");
  EXPECT_EQ(seen.count("GOVERN_BACKUP_SET_ID"), 0u) << "no set was started";
}

TEST_F(HooksTest, HooksAroundAGoodBackupSeeTheRunAndTheSet) {
  WriteHooks("pre_backup = " + Toml(Recorder("pre_backup")) + "\npost_backup = " +
             Toml(Recorder("post_backup")) + "\non_failure = " + Toml(Recorder("on_failure")) + "\n");
  JsonRun run = RunJson(config_path_, {"backup"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string id = run.doc.value("id", "");
  ASSERT_FALSE(id.empty());
  auto pre = Recorded("pre_backup");
  EXPECT_EQ(pre["GOVERN_BACKUP_COMMAND"], "backup");
  EXPECT_EQ(pre["GOVERN_BACKUP_REPOSITORY"], "main");
  EXPECT_EQ(pre["GOVERN_BACKUP_REPOSITORY_LOCATION"], repo_);
  EXPECT_EQ(pre.count("GOVERN_BACKUP_SET_ID"), 0u);
  EXPECT_EQ(pre.count("GOVERN_BACKUP_STATUS"), 0u) << "nothing has run yet";
  auto post = Recorded("post_backup");
  EXPECT_EQ(post["GOVERN_BACKUP_COMMAND"], "backup");
  EXPECT_EQ(post["GOVERN_BACKUP_SET_ID"], id);
  EXPECT_EQ(post["GOVERN_BACKUP_STATUS"], "success");
  EXPECT_EQ(post["GOVERN_BACKUP_EXIT_CODE"], "0");
  EXPECT_EQ(post["GOVERN_BACKUP_REPOSITORY_LOCATION"], repo_);
  EXPECT_TRUE(fs::exists(repo_ + "/" + id + "/manifest.toml")) << "post_backup runs on a complete set";
  EXPECT_FALSE(Ran("on_failure"));
}

TEST_F(HooksTest, FailingPostBackupIsExitSixWithTheSetComplete) {
  WriteHooks("post_backup = \"exit 7\"\non_failure = " + Toml(Recorder("on_failure")) + "\n");
  CommandResult result = Run({"backup"});
  EXPECT_EQ(result.exit_code, 6) << result.err;
  std::vector<std::string> sets = SetIds();
  ASSERT_EQ(sets.size(), 1u);
  EXPECT_TRUE(fs::exists(repo_ + "/" + sets[0] + "/manifest.toml"));
  EXPECT_NE(result.err.find("set " + sets[0] + " is complete, but the post_backup hook"),
            std::string::npos)
      << result.err;
  EXPECT_EQ(Trim(result.out), sets[0]) << "the set id is still printed";
  auto seen = Recorded("on_failure");
  EXPECT_EQ(seen["GOVERN_BACKUP_EXIT_CODE"], "6");
  EXPECT_EQ(seen["GOVERN_BACKUP_SET_ID"], sets[0]);
}

TEST_F(HooksTest, AHookPastItsTimeoutIsKilledAndFails) {
  WriteHooks("timeout = \"1s\"\npre_backup = \"sleep 60\"\n");
  const auto started = std::chrono::steady_clock::now();
  CommandResult result = Run({"backup"});
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30));
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_NE(result.err.find("timed out after"), std::string::npos) << result.err;
  EXPECT_TRUE(RepositoryEmpty());
  EXPECT_TRUE(node_.IsRunning());
}

TEST_F(HooksTest, OnFailureRunsAfterSigtermOnceDssRunsAgain) {
  // A big, incompressible file at the highest level: the capture lasts long enough to signal.
  ASSERT_EQ(std::system(("head -c 48000000 /dev/urandom > " + node_.data_dir +
                         "/managed_folders/slow.bin && chown " + std::to_string(node_.owner_uid) +
                         " " + node_.data_dir + "/managed_folders/slow.bin")
                            .c_str()),
            0);
  // on_failure also copies the DSS event log: DSS must be back before it runs.
  WriteConfig("[backup]\ncompression_level = 19\nthreads = 1\n[hooks]\non_failure = " +
              Toml(Recorder("on_failure") + "; cp " + node_.events_log() + " " + root_ +
                   "/events-at-hook") +
              "\n");
  auto backup = Start({"backup"});
  ASSERT_NE(backup, nullptr);
  ASSERT_TRUE(WaitUntil(
      [&] {
        std::error_code error;
        for (const auto& set : fs::directory_iterator(repo_, error))
          for (const auto& file : fs::directory_iterator(set.path(), error))
            if (IsHalfBeingWritten(file.path())) return true;
        return false;
      },
      std::chrono::seconds(60)));
  ::kill(backup->pid(), SIGTERM);
  ExitInfo exit = backup->Wait();
  EXPECT_EQ(exit.exit_code, 1) << exit.stderr_text;
  auto seen = Recorded("on_failure");
  EXPECT_EQ(seen["GOVERN_BACKUP_STATUS"], "failure");
  EXPECT_EQ(seen["GOVERN_BACKUP_EXIT_CODE"], "1");
  EXPECT_FALSE(seen["GOVERN_BACKUP_SET_ID"].empty()) << "the set that was being made";
  std::vector<std::string> events = SplitLines(Trim(ReadText(root_ + "/events-at-hook")));
  ASSERT_FALSE(events.empty());
  EXPECT_NE(events.back().find(" start"), std::string::npos)
      << "on_failure ran before DSS was started again: " << events.back();
  EXPECT_TRUE(node_.IsRunning());
}

TEST_F(HooksTest, AHooksOutputIsLoggedWhileItRuns) {
  // The hook says a line, then waits for the test to have seen it in the log.
  const std::string go = root_ + "/go";
  WriteHooks("pre_backup = " +
             Toml("echo mounting the backup disk; while [ ! -e " + go + " ]; do sleep 0.05; done") +
             "\n");
  const std::string log = root_ + "/backup.log";
  SubprocessOptions options;
  options.argv = {"/bin/sh", "-c",
                  std::string(GOVERN_BACKUP_BINARY) + " --config " + config_path_ + " backup 2> " + log};
  options.timeout = std::chrono::minutes(5);
  Result<std::unique_ptr<Subprocess>> backup = Subprocess::Start(options);
  ASSERT_TRUE(backup.ok()) << backup.status().ToString();
  const bool seen = WaitUntil(
      [&] { return ReadText(log).find("pre_backup hook: mounting the backup disk") != std::string::npos; },
      std::chrono::seconds(30));
  ASSERT_TRUE(WriteFile(go, "").ok());
  EXPECT_TRUE(seen) << "the hook's line was not logged while it ran:\n" << ReadText(log);
  ExitInfo exit = (*backup)->Wait();
  EXPECT_EQ(exit.exit_code, 0) << ReadText(log);
}

TEST_F(HooksTest, OnFailureRunsAfterAnyFailedCommand) {
  WriteHooks("on_failure = " + Toml(Recorder("on_failure")) + "\n");
  CommandResult result = Run({"verify", "20200101T000000Z-000000"});
  EXPECT_NE(result.exit_code, 0);
  auto seen = Recorded("on_failure");
  EXPECT_EQ(seen["GOVERN_BACKUP_COMMAND"], "verify");
  EXPECT_EQ(seen["GOVERN_BACKUP_EXIT_CODE"], std::to_string(result.exit_code));
}

TEST_F(HooksTest, ADryRunRunsNoHook) {
  WriteHooks("pre_backup = " + Toml(Recorder("pre_backup")) + "\npost_backup = " +
             Toml(Recorder("post_backup")) + "\n");
  CommandResult result = Run({"backup", "--dry-run"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_FALSE(Ran("pre_backup"));
  EXPECT_FALSE(Ran("post_backup"));
  EXPECT_NE(result.out.find("not run by a dry run"), std::string::npos) << result.out;
}

}  // namespace
}  // namespace testing
}  // namespace gb
