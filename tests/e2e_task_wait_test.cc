// End to end: "make sure you don't have any job running, then stop DSS". The real binary asks
// the sample node's DSS API double (real HTTP on loopback) for running long tasks: a task that
// runs on makes the backup wait and give up with DSS never stopped and nothing stored; a task
// that ends during the wait lets the backup go on; a refused key, an unreachable API and a
// non-JSON answer fail before DSS is touched; `check` tests the key.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "io/files.h"
#include "sandbox/dss_api_server.h"
#include "tests/support/cli_json.h"
#include "tests/support/govern_fixture.h"
#include "tests/support/s3_node_fixture.h"
#include "tests/support/wait.h"

namespace gb {
namespace testing {
namespace {

namespace fs = std::filesystem;

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool Contains(const std::string& text, const std::string& words) {
  return text.find(words) != std::string::npos;
}

// What both repositories' tests share: the API double, the config with the DSS API keys, the
// fake DSS's record. `Base` is GovernNodeTest (local repository) or S3NodeTest (a bucket).
template <class Base>
class TaskWaitFixture : public Base {
 protected:
  void SetUp() override {
    Base::SetUp();
    if (this->HasFatalFailure()) return;
    WriteNodeConfig(this->node_.api_key_file(), "3s");
    events_before_ = ReadText(this->node_.events_log());
  }
  void TearDown() override {
    server_.reset();
    Base::TearDown();
  }

  // A backup started while DSS reports one running scenario, once it is waiting on it (the
  // first ask and the decisive one made); null when it never got there.
  std::unique_ptr<Subprocess> StartBackupWaitingOnATask() {
    StartApi();
    if (server_ == nullptr) return nullptr;
    server_->SetRunningTasks({DssApiServer::ScenarioFuture("x8Kq2", "SALES", "BUILD_ALL")});
    auto backup = this->Start({"backup"});
    if (backup == nullptr ||
        !WaitUntil([&] { return server_->futures_requests() >= 2; }, std::chrono::seconds(60)))
      return nullptr;
    return backup;
  }

  void StartApi() {
    Result<std::unique_ptr<DssApiServer>> server = DssApiServer::Start(this->node_);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
  }

  // The fixture's config with the DSS API keys in [node] ("" key file: none).
  void WriteNodeConfig(const std::string& key_file, const std::string& wait_for_tasks) {
    std::ofstream out(this->config_path_, std::ios::trunc);
    out << "[node]\ndata_dir = \"" << this->node_.data_dir << "\"\n";
    if (!key_file.empty()) out << "api_key_file = \"" << key_file << "\"\n";
    out << "wait_for_tasks = \"" << wait_for_tasks << "\"\n\n"
        << "[database]\npassword_file = \"" << SharedCluster().password_file() << "\"\n"
        << "pg_bin_dir = \"" << SharedCluster().bin_dir() << "\"\n\n"
        << (this->repository_toml_.empty() ? "[repository]\npath = \"" + this->repo_ + "\"\n"
                                           : this->repository_toml_);
  }

  std::string WrongKeyFile(const std::string& key) {
    std::string path = this->root_ + "/wrong-api-key";
    std::ofstream(path) << key << "\n";
    fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
    return path;
  }

  // bin/dss stop / start since the test began.
  std::string NewEvents() {
    return ReadText(this->node_.events_log()).substr(events_before_.size());
  }

  void ExpectDssNeverStopped() {
    EXPECT_FALSE(Contains(NewEvents(), " stop")) << NewEvents();
    EXPECT_TRUE(this->node_.IsRunning());
  }

  std::unique_ptr<DssApiServer> server_;
  std::string events_before_;
};

class TaskWaitTest : public TaskWaitFixture<GovernNodeTest> {
 protected:
  // Every file of the repository that belongs to a set, finished or not.
  std::vector<std::string> SetFiles() {
    std::vector<std::string> files;
    std::error_code error;
    for (auto it = fs::recursive_directory_iterator(repo_, error);
         !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
      const std::string name = it->path().filename().string();
      if (it->is_regular_file() && (Contains(name, "datadir") || Contains(name, "database") ||
                                    Contains(name, "manifest") || IsHalfBeingWritten(it->path())))
        files.push_back(it->path().string());
    }
    return files;
  }

  std::string Listing() {
    std::string text;
    std::error_code error;
    for (auto it = fs::recursive_directory_iterator(repo_, error);
         !error && it != fs::recursive_directory_iterator(); it.increment(error))
      text += it->path().string() + "\n";
    return text;
  }

  bool HalfBeingWritten() {
    std::error_code error;
    for (auto it = fs::recursive_directory_iterator(repo_, error);
         !error && it != fs::recursive_directory_iterator(); it.increment(error))
      if (IsHalfBeingWritten(it->path())) return true;
    return false;
  }

  void ExpectDssNeverStoppedAndNothingStored() {
    ExpectDssNeverStopped();
    EXPECT_TRUE(SetIds().empty());
    EXPECT_TRUE(SetFiles().empty()) << ::testing::PrintToString(SetFiles());
  }
};

TEST_F(TaskWaitTest, ARunningTaskMakesTheBackupWaitThenGiveUpWithDssNeverStopped) {
  WriteNodeConfig(node_.api_key_file(), "6s");
  StartApi();
  server_->SetRunningTasks({DssApiServer::ScenarioFuture("x8Kq2", "SALES", "BUILD_ALL")});
  const auto started = std::chrono::steady_clock::now();
  auto backup = Start({"backup"});
  ASSERT_NE(backup, nullptr);
  // The first pass ran before the decisive ask: its half is in the repository during the wait
  // (its upload thread may open the file a moment later).
  ASSERT_TRUE(WaitUntil([&] { return server_->futures_requests() >= 2; }, std::chrono::seconds(60)));
  EXPECT_TRUE(WaitUntil([&] { return HalfBeingWritten(); }, std::chrono::seconds(5))) << Listing();
  ExitInfo exit = backup->Wait();
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  EXPECT_EQ(exit.exit_code, 1) << exit.stderr_text;
  EXPECT_TRUE(Contains(exit.stderr_text,
                       "waiting for 1 DSS long task to end before stopping DSS (up to 6s): "
                       "Scenario BUILD_ALL of project SALES (jobId x8Kq2"))
      << exit.stderr_text;
  EXPECT_TRUE(Contains(exit.stderr_text, "1 DSS long task still running after 6s"))
      << exit.stderr_text;
  EXPECT_TRUE(Contains(exit.stderr_text, "backup given up, DSS not stopped")) << exit.stderr_text;
  EXPECT_GE(waited, 6.0);
  EXPECT_GE(server_->futures_requests(), 3);  // first ask, decisive ask, at least one poll
  ExpectDssNeverStoppedAndNothingStored();
}

TEST_F(TaskWaitTest, ATaskThatEndsDuringTheWaitLetsTheBackupGoOn) {
  WriteNodeConfig(node_.api_key_file(), "60s");
  auto backup = StartBackupWaitingOnATask();
  ASSERT_NE(backup, nullptr);
  EXPECT_FALSE(Contains(NewEvents(), " stop"));
  server_->SetRunningTasks(nlohmann::json::array());
  ExitInfo exit = backup->Wait();

  EXPECT_EQ(exit.exit_code, 0) << exit.stderr_text;
  EXPECT_TRUE(Contains(exit.stderr_text, "waiting for 1 DSS long task")) << exit.stderr_text;
  EXPECT_TRUE(Contains(exit.stderr_text, "running DSS tasks: none: DSS may stop"))
      << exit.stderr_text;
  EXPECT_EQ(SetIds().size(), 1u);
  const std::string events = NewEvents();
  EXPECT_TRUE(Contains(events, " stop")) << events;
  EXPECT_LT(events.find(" stop"), events.find(" start")) << events;
  EXPECT_TRUE(node_.IsRunning());
}

// A signal while the backup waits: it ends at once, DSS untouched, the first pass's half gone.
TEST_F(TaskWaitTest, ASignalDuringTheWaitEndsTheBackupWithDssNeverStopped) {
  WriteNodeConfig(node_.api_key_file(), "10m");
  auto backup = StartBackupWaitingOnATask();
  ASSERT_NE(backup, nullptr);
  const auto signalled = std::chrono::steady_clock::now();
  backup->Signal(SIGTERM);
  ExitInfo exit = backup->Wait();
  EXPECT_LT(std::chrono::steady_clock::now() - signalled, std::chrono::seconds(30));
  EXPECT_NE(exit.exit_code, 0) << exit.stderr_text;
  EXPECT_TRUE(Contains(exit.stderr_text, "interrupted")) << exit.stderr_text;
  ExpectDssNeverStoppedAndNothingStored();
}

// The API failing during the wait is an error too (never a stop on a guess).
TEST_F(TaskWaitTest, TheApiFailingDuringTheWaitEndsTheBackupWithDssNeverStopped) {
  WriteNodeConfig(node_.api_key_file(), "10m");
  auto backup = StartBackupWaitingOnATask();
  ASSERT_NE(backup, nullptr);
  server_->SetAnswerGarbage(true);
  ExitInfo exit = backup->Wait();
  EXPECT_EQ(exit.exit_code, 1) << exit.stderr_text;
  EXPECT_TRUE(Contains(exit.stderr_text, "asking DSS for running tasks before stopping it"))
      << exit.stderr_text;
  EXPECT_TRUE(Contains(exit.stderr_text, "not JSON")) << exit.stderr_text;
  ExpectDssNeverStoppedAndNothingStored();
}

TEST_F(TaskWaitTest, ARefusedKeyFailsBeforeDssIsTouchedNamingTheFileNotTheKey) {
  const std::string secret = "wrong-key-5c1d7e";
  const std::string key_file = WrongKeyFile(secret);
  WriteNodeConfig(key_file, "3s");
  StartApi();
  CommandResult result = Run({"backup"});
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_TRUE(Contains(result.err, "the API key in " + key_file + " was refused by DSS (HTTP 401"))
      << result.err;
  EXPECT_FALSE(Contains(result.err + result.out, secret));
  EXPECT_EQ(server_->futures_requests(), 1);  // the first ask: before any work
  ExpectDssNeverStoppedAndNothingStored();
}

TEST_F(TaskWaitTest, AnUnreachableApiFailsBeforeDssIsTouched) {
  // No API double: nothing listens on the node's port.
  CommandResult result = Run({"backup"});
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_TRUE(Contains(result.err, "the DSS public API at http://127.0.0.1:" +
                                       std::to_string(node_.server_port) +
                                       "/dip/publicapi/futures/"))
      << result.err;
  EXPECT_TRUE(Contains(result.err, "is unreachable")) << result.err;
  ExpectDssNeverStoppedAndNothingStored();
}

TEST_F(TaskWaitTest, ANonJsonAnswerFailsBeforeDssIsTouched) {
  StartApi();
  server_->SetAnswerGarbage(true);
  CommandResult result = Run({"backup"});
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_TRUE(Contains(result.err, "answered something that is not JSON")) << result.err;
  ExpectDssNeverStoppedAndNothingStored();
}

TEST_F(TaskWaitTest, AnOnlineBackupDoesNotAskAndSaysSo) {
  StartApi();
  server_->SetRunningTasks({DssApiServer::ScenarioFuture("x8Kq2", "SALES", "BUILD_ALL")});
  CommandResult result = Run({"backup", "--online"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(Contains(result.err, "running DSS tasks: not asked (an online backup does not stop DSS)"))
      << result.err;
  EXPECT_EQ(server_->futures_requests(), 0);
  EXPECT_EQ(SetIds().size(), 1u);
}

TEST_F(TaskWaitTest, DryRunSaysWhatItWouldAsk) {
  CommandResult result = Run({"backup", "--dry-run"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(Contains(result.out, "DSS tasks: ask http://127.0.0.1:" +
                                       std::to_string(node_.server_port) +
                                       "/dip/publicapi/futures/?withScenarios=true&"
                                       "withNotScenarios=true&allUsers=true (key: " +
                                       node_.api_key_file() + ") before the stop; wait up to 3s"))
      << result.out;
  WriteNodeConfig("", "3s");
  result = Run({"backup", "--dry-run"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(Contains(result.out, "DSS tasks: not asked ([node] api_key_file is not set)"))
      << result.out;
}

TEST_F(TaskWaitTest, CheckTestsTheKey) {
  StartApi();
  JsonRun good = RunJson(config_path_, {"check"});
  EXPECT_EQ(good.exit_code, 0) << good.out << good.err;
  EXPECT_TRUE(HasOk(good.doc, "dss tasks", "the API key is accepted at http://127.0.0.1:" +
                                               std::to_string(node_.server_port) +
                                               "; no DSS long task running"))
      << good.out;

  server_->SetRunningTasks({DssApiServer::ScenarioFuture("x8Kq2", "SALES", "BUILD_ALL"),
                            {{"jobId", "other"}}});
  JsonRun busy = RunJson(config_path_, {"check"});
  EXPECT_EQ(busy.exit_code, 0) << busy.out << busy.err;
  EXPECT_TRUE(HasOk(busy.doc, "dss tasks", "2 DSS long tasks running: Scenario BUILD_ALL"))
      << busy.out;

  const std::string key_file = WrongKeyFile("wrong-key-5c1d7e");
  WriteNodeConfig(key_file, "3s");
  JsonRun bad = RunJson(config_path_, {"check"});
  EXPECT_EQ(bad.exit_code, 1) << bad.out << bad.err;
  EXPECT_TRUE(HasProblem(bad.doc, "dss tasks", "the API key in " + key_file + " was refused",
                         "Global API keys"))
      << bad.out;
  EXPECT_FALSE(Contains(bad.out + bad.err, "wrong-key-5c1d7e"));

  // A stopped DSS is not asked (backup would not stop it): nothing listens anyway.
  WriteNodeConfig(node_.api_key_file(), "3s");
  ASSERT_TRUE(RunDss("stop").ok());
  JsonRun stopped = RunJson(config_path_, {"check"});
  EXPECT_TRUE(HasOk(stopped.doc, "dss tasks", "skipped: DSS is stopped already")) << stopped.out;

  WriteNodeConfig("", "3s");
  JsonRun none = RunJson(config_path_, {"check"});
  EXPECT_EQ(none.exit_code, 0) << none.out << none.err;
  EXPECT_TRUE(HasOk(none.doc, "dss tasks", "skipped: [node] api_key_file is not set")) << none.out;
}

// On S3 the first pass's half is a multipart upload under way during the wait: giving up
// aborts it, and the bucket keeps nothing of the set.
class S3TaskWaitTest : public TaskWaitFixture<S3NodeTest> {
 protected:
  std::vector<PendingWrite> Pending() {
    Result<std::vector<PendingWrite>> pending = bucket_->ListPendingWrites("");
    EXPECT_TRUE(pending.ok()) << pending.status().ToString();
    return pending.ok() ? *pending : std::vector<PendingWrite>{};
  }
};

TEST_F(S3TaskWaitTest, GivingUpLeavesNothingInTheBucket) {
  S3_NODE_TEST_OR_SKIP();
  // Parts of 5 MiB go up during the first pass (random bytes do not compress).
  const std::string large = node_.data_dir + "/managed_folders/large.bin";
  std::string bytes(24 << 20, '\0');
  std::ifstream("/dev/urandom", std::ios::binary).read(bytes.data(), bytes.size());
  ASSERT_TRUE(WriteFile(large, bytes, 0644).ok());
  ASSERT_EQ(::chown(large.c_str(), node_.owner_uid, node_.owner_gid), 0);
  WriteNodeConfig(node_.api_key_file(), "6s");
  auto backup = StartBackupWaitingOnATask();
  ASSERT_NE(backup, nullptr);
  EXPECT_TRUE(WaitUntil([&] { return !Pending().empty(); }, std::chrono::seconds(5)))
      << ::testing::PrintToString(Keys(""));
  ExitInfo exit = backup->Wait();
  EXPECT_EQ(exit.exit_code, 1) << exit.stderr_text;
  EXPECT_TRUE(Contains(exit.stderr_text, "1 DSS long task still running after 6s")) << exit.stderr_text;
  ExpectDssNeverStopped();
  EXPECT_TRUE(RemoteSetIds().empty());
  EXPECT_TRUE(Keys("sets/").empty()) << ::testing::PrintToString(Keys("sets/"));
  EXPECT_TRUE(Keys("locks/").empty());
  EXPECT_TRUE(Pending().empty());
}

}  // namespace
}  // namespace testing
}  // namespace gb
