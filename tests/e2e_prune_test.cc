// End-to-end tests of `govern-backup prune` over real sets made at different dates (libfaketime
// around the real binary): the retention rules across the ISO-week year boundary, --dry-run
// removing nothing, the newest set never removed, a policy that keeps nothing refused, and an
// interrupted prune (a removal failing at every step in turn) never leaving a set that looks
// complete with a half missing.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "coordinator/commands.h"
#include "coordinator/manifest.h"
#include "io/env.h"
#include "tests/support/fake_clock.h"
#include "tests/support/faulty_store.h"
#include "tests/support/faulty_store.h"
#include "tests/support/govern_fixture.h"

namespace gb {
namespace testing {
namespace {

namespace fs = std::filesystem;

// The real Env, except that the Nth RemoveAll fails: a prune interrupted at that step.
// Fails the Nth removal, whether it goes through the store (objects) or the Env (a set's
// directory, a leftover).
class FailingRemoveEnv : public Env {
 public:
  explicit FailingRemoveEnv(int fail_at) : fail_at_(fail_at) {}
  Status RemoveAll(const std::string& path) override {
    if (FailsNow()) return Status::Failed("injected failure removing " + path);
    return Env::RemoveAll(path);
  }
  StoreWrapper StoreFaults() {
    return FaultyStore::Wrapper([this](FaultyStore& store) {
      store.fail_delete = [this](const std::string&) { return FailsNow(); };
    });
  }

 private:
  bool FailsNow() { return ++calls_ == fail_at_; }
  int fail_at_;
  int calls_ = 0;
};

class PruneTest : public GovernNodeTest {
 protected:
  // The faked clock must not reach DSS: with DSS stopped, a backup neither stops nor
  // starts it, so no supervisor runs under libfaketime.
  void StopDss() {
    Result<ExitInfo> stopped = RunDss("stop");
    ASSERT_TRUE(stopped.ok() && stopped->success()) << (stopped.ok() ? stopped->Describe() : "");
  }

  // A real backup whose clock (and so created_at and id) starts at `when` (UTC).
  std::string BackupAt(const std::string& when) {
    SubprocessOptions options;
    // Full sets: these tests are about the calendar; what a kept set builds on is kept too
    // (e2e_chain_test).
    options.argv = {GOVERN_BACKUP_BINARY, "--config", config_path_, "backup", "--full"};
    options.extra_env = FakeClockEnvironment("@" + when);
    options.timeout = std::chrono::minutes(2);
    Result<ExitInfo> exit = RunSubprocess(options);
    EXPECT_TRUE(exit.ok()) << exit.status().ToString();
    if (!exit.ok()) return "";
    EXPECT_TRUE(exit->success()) << exit->Describe() << "\n" << exit->stderr_text;
    std::string id = exit->stdout_text;
    while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
    return id;
  }

  // Every directory that has a manifest has a valid one and both halves at their sizes.
  void ExpectEverySetThatLooksCompleteIsWhole() {
    for (const auto& id : SetIds()) {
      std::string dir = repo_ + "/" + id;
      if (!fs::exists(dir + "/manifest.toml")) continue;
      Result<Manifest> manifest = Manifest::Load(dir + "/manifest.toml");
      ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
      std::error_code error;
      EXPECT_EQ(fs::file_size(dir + "/" + manifest->datadir.file, error), manifest->datadir.bytes) << id;
      EXPECT_FALSE(error) << id << ": data-dir half missing";
      ASSERT_TRUE(manifest->database.has_value());
      EXPECT_EQ(fs::file_size(dir + "/" + manifest->database->file, error), manifest->database->bytes) << id;
      EXPECT_FALSE(error) << id << ": database half missing";
    }
  }
};

TEST_F(PruneTest, RetentionAcrossTheIsoYearBoundaryDryRunAndNewestKept) {
  // 2020 has an ISO week 53: Monday 2020-12-28 to Sunday 2021-01-03.
  WriteConfig("[retention]\nkeep_last = 1\nkeep_daily = 0\nkeep_weekly = 2\nkeep_monthly = 0\n"
              "keep_within = \"0s\"\n");
  StopDss();
  std::string tuesday = BackupAt("2020-12-29 10:00:00");  // 2020-W53
  std::string thursday = BackupAt("2020-12-31 10:00:00");  // 2020-W53
  std::string friday = BackupAt("2021-01-01 10:00:00");    // 2020-W53, its newest
  std::string monday = BackupAt("2021-01-04 10:00:00");    // 2021-W01, the newest set
  ASSERT_EQ(tuesday.rfind("20201229T10", 0), 0u) << tuesday;
  ASSERT_EQ(monday.rfind("20210104T10", 0), 0u) << monday;
  std::vector<std::string> before = SetIds();
  ASSERT_EQ(before.size(), 4u);

  CommandResult audit = Run({"audit"});
  EXPECT_EQ(audit.exit_code, 3) << audit.out << audit.err;
  EXPECT_NE(audit.out.find("set " + tuesday + " (2020-12-29T10:00:"), std::string::npos) << audit.out;
  EXPECT_NE(audit.out.find("is past retention: `govern-backup prune` would remove it"), std::string::npos)
      << audit.out;
  EXPECT_EQ(audit.out.find("set " + friday + " ("), std::string::npos) << audit.out;

  CommandResult dry = Run({"prune", "--dry-run"});
  EXPECT_EQ(dry.exit_code, 0) << dry.out << dry.err;
  EXPECT_NE(dry.out.find("dry run: nothing is removed"), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("remove " + tuesday + "\n"), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("remove " + thursday + "\n"), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("keep   " + friday + "  (keep_weekly 2020-W53)"), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("keep   " + monday + "  (newest, keep_last, keep_weekly 2021-W01)"),
            std::string::npos)
      << dry.out;
  EXPECT_EQ(SetIds(), before);

  CommandResult dry_json = Run({"--json", "prune", "--dry-run"});
  ASSERT_EQ(dry_json.exit_code, 0) << dry_json.out << dry_json.err;
  nlohmann::json plan = nlohmann::json::parse(dry_json.out);
  EXPECT_EQ(plan["dry_run"], true);
  EXPECT_EQ(plan["completed"], true);
  std::map<std::string, std::string> actions;
  for (const auto& set : plan["sets"]) actions[set["id"]] = set["action"];
  EXPECT_EQ(actions, (std::map<std::string, std::string>{
                         {tuesday, "remove"}, {thursday, "remove"}, {friday, "keep"}, {monday, "keep"}}));
  EXPECT_EQ(SetIds(), before);

  CommandResult pruned = Run({"prune"});
  EXPECT_EQ(pruned.exit_code, 0) << pruned.out << pruned.err;
  EXPECT_NE(pruned.out.find("prune: kept 2 set(s), removed 2 set(s)"), std::string::npos) << pruned.out;
  EXPECT_EQ(SetIds(), (std::vector<std::string>{friday, monday}));
  ExpectEverySetThatLooksCompleteIsWhole();
  CommandResult verify = Run({"verify", "--all"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  CommandResult clean = Run({"audit"});
  EXPECT_EQ(clean.exit_code, 0) << clean.out << clean.err;

  // The tightest policy still never removes the newest set.
  WriteConfig("[retention]\nkeep_last = 0\nkeep_daily = 0\nkeep_weekly = 0\nkeep_monthly = 0\n"
              "keep_within = \"1s\"\n");
  CommandResult tight = Run({"prune"});
  EXPECT_EQ(tight.exit_code, 0) << tight.out << tight.err;
  EXPECT_EQ(SetIds(), (std::vector<std::string>{monday}));
}

TEST_F(PruneTest, APolicyThatKeepsNothingIsRefused) {
  std::string id = BackupOk();
  WriteConfig("[retention]\nkeep_last = 0\nkeep_daily = 0\nkeep_weekly = 0\nkeep_monthly = 0\n"
              "keep_within = \"0s\"\n");
  CommandResult result = Run({"prune"});
  EXPECT_EQ(result.exit_code, 2) << result.out << result.err;
  EXPECT_NE(result.err.find("[retention] keeps nothing"), std::string::npos) << result.err;
  EXPECT_EQ(SetIds(), (std::vector<std::string>{id}));
}

TEST_F(PruneTest, AnInterruptedPruneNeverLeavesAHalfSetThatLooksComplete) {
  WriteConfig("[retention]\nkeep_last = 1\nkeep_daily = 0\nkeep_weekly = 0\nkeep_monthly = 0\n"
              "keep_within = \"0s\"\n");
  StopDss();
  BackupAt("2021-03-01 10:00:00");
  BackupAt("2021-03-02 10:00:00");
  std::string newest = BackupAt("2021-03-03 10:00:00");
  // A leftover of an interrupted backup, which prune removes too.
  fs::create_directories(repo_ + "/.work/20210302T230000Z-abcdef");

  // Every run starts from the same repository and fails at its Nth removal, N = 1, 2, ...
  std::string pristine = root_ + "/pristine-repo";
  fs::copy(repo_, pristine, fs::copy_options::recursive);
  GlobalOptions global;
  global.config_path = config_path_;
  int failures = 0;
  for (int fail_at = 1; fail_at < 20; ++fail_at) {
    fs::remove_all(repo_);
    fs::copy(pristine, repo_, fs::copy_options::recursive);
    FailingRemoveEnv env(fail_at);
    global.env = &env;
    global.wrap_store = env.StoreFaults();
    Status status = RunPrune(global, PruneOptions{});
    ExpectEverySetThatLooksCompleteIsWhole();
    if (status.ok()) break;
    ++failures;
    EXPECT_NE(status.message().find("injected failure"), std::string::npos) << status.ToString();
    // Whatever step failed, the next prune finishes the job.
    global.env = Env::Default();
    global.wrap_store = nullptr;
    Status again = RunPrune(global, PruneOptions{});
    EXPECT_TRUE(again.ok()) << again.ToString();
    EXPECT_EQ(SetIds(), (std::vector<std::string>{newest})) << "after failing at step " << fail_at;
    std::error_code error;
    EXPECT_TRUE(fs::is_empty(repo_ + "/.work", error));
  }
  // Two sets (manifest, two halves, index, directory each) and a leftover: 11 steps that can
  // fail.
  EXPECT_EQ(failures, 11);
  EXPECT_EQ(SetIds(), (std::vector<std::string>{newest}));
}

}  // namespace
}  // namespace testing
}  // namespace gb
