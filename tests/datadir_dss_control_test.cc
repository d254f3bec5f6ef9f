// DssControl against the generated node's bin/dss, run for real as the node's owner:
// status, stop, start, faults, timeouts and the refusal of root.
#include "datadir/dss_control.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "sandbox/sample_node.h"
#include "io/subprocess.h"
#include "tests/datadir_test_util.h"

namespace gb {
namespace {

using testing::Lines;
using testing::NodeScratchDir;
using testing::ReadText;
using testing::WriteText;

class DssControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<SampleNode> node = testing::MakeRunningSmallNode(scratch_ / "node");
    ASSERT_TRUE(node.ok()) << node.status().ToString();
    node_ = *node;
    nodes_to_clean_.push_back(node_);
  }

  void TearDown() override {
    // Whatever the fault switches say, no supervisor outlives the test.
    for (const SampleNode& node : nodes_to_clean_) {
      Status killed = node.KillSupervisor();
      EXPECT_TRUE(killed.ok()) << killed.ToString();
      EXPECT_FALSE(node.IsRunning());
    }
  }

  DssControl Control(const std::string& data_dir = "") {
    Result<DssControlOptions> options =
        MakeDssControlOptions(data_dir.empty() ? node_.data_dir : data_dir, "", "");
    EXPECT_TRUE(options.ok()) << options.status().ToString();
    DssControlOptions o = options.ok() ? *options : DssControlOptions{};
    o.status_timeout = std::chrono::seconds(20);
    o.stop_timeout = std::chrono::seconds(40);
    o.start_timeout = std::chrono::seconds(40);
    return DssControl(o);
  }

  void Touch(const std::string& name) { WriteText(node_.switch_path(name), ""); }

  std::vector<std::string> Events() {
    std::vector<std::string> verbs;
    for (const std::string& line : Lines(ReadText(node_.events_log()))) {
      verbs.push_back(line.substr(line.find(' ') + 1));
    }
    return verbs;
  }

  // Runs a program as the node's owner (as ourselves when not root).
  Result<ExitInfo> RunAsOwner(std::vector<std::string> argv) {
    SubprocessOptions options;
    options.argv = std::move(argv);
    if (::geteuid() == 0) {
      options.uid = node_.owner_uid;
      options.gid = node_.owner_gid;
    }
    options.cwd = "/";
    options.timeout = std::chrono::seconds(30);
    return RunSubprocess(options);
  }

  NodeScratchDir scratch_;
  SampleNode node_;
  std::vector<SampleNode> nodes_to_clean_;
};

TEST_F(DssControlTest, GeneratedNodeIsRunning) {
  EXPECT_TRUE(node_.IsRunning());
  Result<DssState> state = Control().Query();
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  EXPECT_EQ(*state, DssState::kRunning);
  EXPECT_EQ(Events(), std::vector<std::string>{"start"});

  Result<ExitInfo> status = RunAsOwner({node_.data_dir + "/bin/dss", "status"});
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->exit_code, 0);
  EXPECT_NE(status->stdout_text.find("governserver"), std::string::npos);
  EXPECT_NE(status->stdout_text.find("RUNNING"), std::string::npos);
}

TEST_F(DssControlTest, StopStartRoundTrip) {
  DssControl control = Control();
  Status stopped = control.Stop();
  ASSERT_TRUE(stopped.ok()) << stopped.ToString();
  EXPECT_FALSE(node_.IsRunning());
  Result<DssState> state = control.Query();
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  EXPECT_EQ(*state, DssState::kStopped);
  EXPECT_EQ(Events(), (std::vector<std::string>{"start", "stop"}));

  Status started = control.Start();
  ASSERT_TRUE(started.ok()) << started.ToString();
  EXPECT_TRUE(node_.IsRunning());
  EXPECT_EQ(Events(), (std::vector<std::string>{"start", "stop", "start"}));

  // Times in events.log are increasing unix times with a fraction.
  std::vector<std::string> lines = Lines(ReadText(node_.events_log()));
  ASSERT_EQ(lines.size(), 3u);
  double previous = 0;
  for (const std::string& line : lines) {
    double time = std::stod(line.substr(0, line.find(' ')));
    EXPECT_GT(time, 1.7e9);
    EXPECT_GE(time, previous);
    previous = time;
  }
}

TEST_F(DssControlTest, StopOfAStoppedNodeAndStartOfARunningOneAreNoOps) {
  DssControl control = Control();
  ASSERT_TRUE(control.Stop().ok());
  Status again = control.Stop();
  EXPECT_TRUE(again.ok()) << again.ToString();
  EXPECT_EQ(Events(), (std::vector<std::string>{"start", "stop"}));

  // bin/dss itself refuses to stop a stopped DSS, as the real one does.
  Result<ExitInfo> raw = RunAsOwner({node_.data_dir + "/bin/dss", "stop"});
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->exit_code, 1);
  EXPECT_NE(raw->stderr_text.find("not running"), std::string::npos);

  ASSERT_TRUE(control.Start().ok());
  EXPECT_TRUE(control.Start().ok());
  EXPECT_EQ(Events(), (std::vector<std::string>{"start", "stop", "start"}));
  raw = RunAsOwner({node_.data_dir + "/bin/dss", "start"});
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->exit_code, 1);
  EXPECT_NE(raw->stderr_text.find("already running"), std::string::npos);
}

TEST_F(DssControlTest, FailedStopLeavesDssRunning) {
  Touch("fail-stop");
  Status stopped = Control().Stop();
  ASSERT_FALSE(stopped.ok());
  EXPECT_NE(stopped.message().find("bin/dss stop failed"), std::string::npos) << stopped.ToString();
  EXPECT_NE(stopped.message().find("refused to shut down"), std::string::npos)
      << stopped.ToString();
  EXPECT_TRUE(node_.IsRunning());
  EXPECT_EQ(Events(), std::vector<std::string>{"start"});
}

TEST_F(DssControlTest, FailedStartNamesTheLog) {
  DssControl control = Control();
  ASSERT_TRUE(control.Stop().ok());
  Touch("fail-start");
  Status started = control.Start();
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.message().find("backend did not start"), std::string::npos)
      << started.ToString();
  EXPECT_NE(started.hint().find(node_.data_dir + "/run/backend.log"), std::string::npos)
      << started.ToString();
  EXPECT_FALSE(node_.IsRunning());
}

TEST_F(DssControlTest, HangingStopTimesOut) {
  Touch("hang-stop");
  DssControl control = Control();
  DssControlOptions options = control.options();
  options.stop_timeout = std::chrono::seconds(2);
  auto begin = std::chrono::steady_clock::now();
  Status stopped = DssControl(options).Stop();
  auto elapsed = std::chrono::steady_clock::now() - begin;
  ASSERT_FALSE(stopped.ok());
  EXPECT_NE(stopped.message().find("bin/dss stop timed out after 2 s"), std::string::npos)
      << stopped.ToString();
  EXPECT_LT(elapsed, std::chrono::seconds(15));
  EXPECT_TRUE(node_.IsRunning());
}

TEST_F(DssControlTest, HangingStartTimesOut) {
  DssControl control = Control();
  ASSERT_TRUE(control.Stop().ok());
  Touch("hang-start");
  DssControlOptions options = control.options();
  options.start_timeout = std::chrono::seconds(1);
  Status started = DssControl(options).Start();
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.message().find("bin/dss start timed out after 1 s"), std::string::npos)
      << started.ToString();
}

TEST_F(DssControlTest, CopiedDataDirRefusesToStartUntilTheInstallerRuns) {
  ASSERT_TRUE(Control().Stop().ok());
  const std::string moved = node_.root + "/moved_data_dir";
  ASSERT_EQ(::rename(node_.data_dir.c_str(), moved.c_str()), 0);
  SampleNode moved_node = node_;
  moved_node.data_dir = moved;
  nodes_to_clean_.push_back(moved_node);

  DssControl control = Control(moved);
  Status started = control.Start();
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.message().find("appears to a copy from " + node_.data_dir),
            std::string::npos)
      << started.ToString();

  Result<ExitInfo> installed = RunAsOwner({node_.install_dir + "/installer.sh", "-d", moved, "-u"});
  ASSERT_TRUE(installed.ok());
  ASSERT_EQ(installed->exit_code, 0) << installed->stderr_text;
  EXPECT_EQ(ReadText(moved + "/install-support/expected-dip-home.txt"), moved + "\n");

  started = control.Start();
  ASSERT_TRUE(started.ok()) << started.ToString();
  EXPECT_TRUE(moved_node.IsRunning());
  EXPECT_FALSE(node_.IsRunning());  // no supervisor for the old path
  ASSERT_TRUE(control.Stop().ok());
}

TEST_F(DssControlTest, StalePidFileAndMissingRunDir) {
  DssControl control = Control();
  ASSERT_TRUE(control.Stop().ok());
  // A pid file naming a live process that is not this node's supervisor (ours).
  WriteText(node_.data_dir + "/run/supervisord.pid", std::to_string(::getpid()) + "\n");
  EXPECT_FALSE(node_.IsRunning());
  Result<DssState> state = control.Query();
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  EXPECT_EQ(*state, DssState::kStopped);

  // A restore without run/ (excluded) still starts.
  std::filesystem::remove_all(node_.data_dir + "/run");
  Status started = control.Start();
  ASSERT_TRUE(started.ok()) << started.ToString();
  EXPECT_TRUE(node_.IsRunning());
}

TEST_F(DssControlTest, UnexpectedStatusExitIsAnErrorWithTheLastLine) {
  const std::string script = node_.root + "/odd-dss";
  WriteText(script,
            "#!/bin/sh\n"
            "if [ \"$1\" = status ] && [ -e \"$0.partial\" ]; then echo 'nginx STOPPED'; exit 3; fi\n"
            "echo 'starting checks'\necho 'supervisor socket unreachable' >&2\nexit 2\n");
  ASSERT_EQ(::chmod(script.c_str(), 0755), 0);
  Result<DssControlOptions> options = MakeDssControlOptions(node_.data_dir, script, "");
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  Result<DssState> state = DssControl(*options).Query();
  ASSERT_FALSE(state.ok());
  EXPECT_NE(state.status().message().find("exited with 2: supervisor socket unreachable"),
            std::string::npos)
      << state.status().ToString();

  WriteText(script + ".partial", "");
  state = DssControl(*options).Query();
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  EXPECT_EQ(*state, DssState::kRunning);  // exit 3: running, some program stopped
}

TEST_F(DssControlTest, RootIsRefused) {
  if (::geteuid() != 0) {
    // As a normal user, bin/dss runs as ourselves and dss_user cannot name another user.
    Result<DssControlOptions> options = MakeDssControlOptions(node_.data_dir, "", "");
    ASSERT_TRUE(options.ok());
    EXPECT_FALSE(options->run_as_uid.has_value());
    EXPECT_FALSE(MakeDssControlOptions(node_.data_dir, "", "root").ok());
    return;
  }
  // bin/dss itself refuses root.
  SubprocessOptions as_root;
  as_root.argv = {node_.data_dir + "/bin/dss", "status"};
  as_root.timeout = std::chrono::seconds(20);
  Result<ExitInfo> exit = RunSubprocess(as_root);
  ASSERT_TRUE(exit.ok());
  EXPECT_EQ(exit->exit_code, 1);
  EXPECT_NE(exit->stderr_text.find("Running DSS under superuser account is not supported"),
            std::string::npos)
      << exit->stderr_text;

  // The owner of the data dir is the DSS user by default.
  Result<DssControlOptions> options = MakeDssControlOptions(node_.data_dir, "", "");
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  EXPECT_EQ(options->run_as_name, kSampleNodeUser);
  EXPECT_EQ(options->run_as_uid, node_.owner_uid);
  EXPECT_EQ(options->dss_command, node_.data_dir + "/bin/dss");

  Result<DssControlOptions> root_user = MakeDssControlOptions(node_.data_dir, "", "root");
  ASSERT_FALSE(root_user.ok());
  EXPECT_NE(root_user.status().message().find("bin/dss refuses to run as root"), std::string::npos);

  Result<DssControlOptions> unknown =
      MakeDssControlOptions(node_.data_dir, "", "no-such-dss-user");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("no-such-dss-user"), std::string::npos);

  const std::string root_owned = scratch_ / "root-owned";
  ASSERT_EQ(::mkdir(root_owned.c_str(), 0755), 0);
  Result<DssControlOptions> owned_by_root = MakeDssControlOptions(root_owned, "", "");
  ASSERT_FALSE(owned_by_root.ok());
  EXPECT_NE(owned_by_root.status().message().find("[node].dss_user"), std::string::npos);
}

}  // namespace
}  // namespace gb
