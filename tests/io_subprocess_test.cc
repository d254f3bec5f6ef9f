#include "io/subprocess.h"

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <climits>
#include <chrono>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "io/byte_stream.h"
#include "io_test_util.h"

namespace gb {
namespace {

using testing::Command;
using testing::ScratchDir;

ExitInfo RunOk(SubprocessOptions options) {
  auto result = RunSubprocess(options);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  return result.ok() ? *result : ExitInfo{};
}

TEST(Subprocess, CapturesStdoutStderrAndExitCode) {
  ExitInfo info = RunOk(Command({"sh", "-c", "echo out; echo err >&2; exit 3"}));
  EXPECT_EQ(info.exit_code, 3);
  EXPECT_EQ(info.term_signal, 0);
  EXPECT_FALSE(info.success());
  EXPECT_EQ(info.stdout_text, "out\n");
  EXPECT_EQ(info.stderr_text, "err\n");
  EXPECT_EQ(info.Describe(), "exited with 3: err");

  ExitInfo ok = RunOk(Command({"true"}));
  EXPECT_TRUE(ok.success());
  EXPECT_EQ(ok.Describe(), "exited with 0");
}

TEST(Subprocess, FeedsStdinAndDefaultsToDevNull) {
  SubprocessOptions options = Command({"sh", "-c", "wc -c; cat >/dev/null"});
  options.stdin_text = std::string(1 << 20, 'x');  // more than a pipe holds
  EXPECT_EQ(RunOk(options).stdout_text, "1048576\n");
  EXPECT_EQ(RunOk(Command({"wc", "-c"})).stdout_text, "0\n");
}

TEST(Subprocess, StreamsStdinThroughAPipe) {
  SubprocessOptions options = Command({"sh", "-c", "wc -c; echo done >&2"});
  options.stdin_pipe = true;
  auto process = Subprocess::Start(options);
  ASSERT_TRUE(process.ok()) << process.status().ToString();
  const std::string data(4 << 20, 'z');  // many times what a pipe holds
  FdSink sink((*process)->stdin_fd());
  ASSERT_TRUE(sink.Write(data.data(), data.size()).ok());
  (*process)->CloseStdin();
  (*process)->CloseStdin();  // idempotent
  EXPECT_EQ((*process)->stdin_fd(), -1);
  ExitInfo info = (*process)->Wait();
  EXPECT_TRUE(info.success()) << info.Describe();
  EXPECT_EQ(info.stdout_text, "4194304\n");
  EXPECT_EQ(info.stderr_text, "done\n");
}

TEST(Subprocess, ChildThatIgnoresStdinDoesNotHangUs) {
  SubprocessOptions options = Command({"true"});
  options.stdin_text = std::string(4 << 20, 'x');
  EXPECT_TRUE(RunOk(options).success());
}

TEST(Subprocess, EnvironmentCwdAndPathSearch) {
  ScratchDir dir;
  setenv("GB_TEST_INHERITED", "inherited", 1);
  setenv("GB_TEST_REMOVED", "removed", 1);
  SubprocessOptions options = Command(
      {"sh", "-c", "echo \"$GB_TEST_INHERITED $GB_TEST_EXTRA ${GB_TEST_REMOVED-unset}\"; pwd"});
  options.extra_env["GB_TEST_EXTRA"] = "extra";
  options.unset_env.push_back("GB_TEST_REMOVED");
  options.cwd = dir.path();
  char resolved[PATH_MAX];
  ASSERT_NE(realpath(dir.path().c_str(), resolved), nullptr);
  EXPECT_EQ(RunOk(options).stdout_text, "inherited extra unset\n" + std::string(resolved) + "\n");
}

TEST(Subprocess, ProgramThatCannotRunIsAnErrorFromStart) {
  auto missing = Subprocess::Start(Command({"gb-no-such-program-xyz", "--help"}));
  ASSERT_FALSE(missing.ok());
  // ENOENT, or EACCES when an unreadable directory is on PATH (execvp's rule).
  EXPECT_EQ(missing.status().message().rfind("cannot run gb-no-such-program-xyz: ", 0), 0u)
      << missing.status().message();
  SubprocessOptions by_path = Command({"/nonexistent-gb-dir/program"});
  auto absent = Subprocess::Start(by_path);
  ASSERT_FALSE(absent.ok());
  EXPECT_EQ(absent.status().message(),
            "cannot run /nonexistent-gb-dir/program: No such file or directory");

  SubprocessOptions bad_cwd = Command({"true"});
  bad_cwd.cwd = "/nonexistent-gb-dir";
  auto in_bad_cwd = Subprocess::Start(bad_cwd);
  ASSERT_FALSE(in_bad_cwd.ok());
  EXPECT_NE(in_bad_cwd.status().message().find("/nonexistent-gb-dir"), std::string::npos);

  ScratchDir dir;
  auto not_executable = Subprocess::Start(Command({dir.path()}));
  ASSERT_FALSE(not_executable.ok());
  EXPECT_NE(not_executable.status().message().find("Permission denied"), std::string::npos);

  EXPECT_FALSE(Subprocess::Start(Command({})).ok());
}

TEST(Subprocess, LogsTheCommandLineWithoutPasswords) {
  std::ostringstream log;
  auto previous = spdlog::default_logger();
  auto capture = std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(log));
  capture->set_level(spdlog::level::debug);
  spdlog::set_default_logger(capture);
  ExitInfo info = RunOk(Command({"echo", "--dbname=postgresql://backup:s3cret@db:5432/govern",
                                 "host=db password=hunter2 user=x", "plain"}));
  spdlog::set_default_logger(previous);
  EXPECT_TRUE(info.success());
  const std::string text = log.str();
  EXPECT_NE(text.find("running: echo --dbname=postgresql://backup:***@db:5432/govern "
                      "'host=db password=*** user=x' plain"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("s3cret"), std::string::npos);
  EXPECT_EQ(text.find("hunter2"), std::string::npos);
  EXPECT_NE(info.stdout_text.find("s3cret"), std::string::npos);  // the child got it intact
}

TEST(Subprocess, ReportsTheKillingSignal) {
  ExitInfo info = RunOk(Command({"sh", "-c", "kill -9 $$"}));
  EXPECT_EQ(info.term_signal, 9);
  EXPECT_FALSE(info.success());
  EXPECT_EQ(info.Describe().rfind("killed by signal 9", 0), 0u) << info.Describe();
}

TEST(Subprocess, SignalReachesTheWholeProcessGroup) {
  // The shell waits for a grandchild: both must get the signal for Wait() to return.
  auto process = Subprocess::Start(Command({"sh", "-c", "sleep 30; echo not reached"}));
  ASSERT_TRUE(process.ok());
  EXPECT_EQ(getpgid((*process)->pid()), (*process)->pid());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto start = std::chrono::steady_clock::now();
  (*process)->Signal(SIGTERM);
  ExitInfo info = (*process)->Wait();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(info.term_signal, SIGTERM);
  EXPECT_EQ(info.stdout_text, "");
}

TEST(Subprocess, TimeoutTerminatesThenKills) {
  SubprocessOptions options = Command({"sleep", "30"});
  options.timeout = std::chrono::milliseconds(300);
  auto start = std::chrono::steady_clock::now();
  ExitInfo info = RunOk(options);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_TRUE(info.timed_out);
  EXPECT_FALSE(info.success());
  EXPECT_EQ(info.Describe(), "timed out after 300 ms");

  // A child that ignores SIGTERM is killed after the grace period.
  options = Command({"sh", "-c", "trap '' TERM; echo started; while :; do sleep 0.1; done"});
  options.timeout = std::chrono::seconds(1);
  start = std::chrono::steady_clock::now();
  info = RunOk(options);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(info.timed_out);
  EXPECT_EQ(info.term_signal, SIGKILL);
  EXPECT_EQ(info.stdout_text, "started\n");
  EXPECT_GE(took, std::chrono::seconds(6));
  EXPECT_LT(took, std::chrono::seconds(12));
  EXPECT_EQ(info.Describe(), "timed out after 1 s");
}

TEST(Subprocess, LotsOfStderrWhileStreamingStdoutDoesNotDeadlock) {
  // 4 MiB of stderr interleaved with 8 MiB of stdout: a reader that only drains stdout
  // would block the child forever on a full stderr pipe.
  SubprocessOptions options = Command(
      {"sh", "-c",
       "i=0; while [ $i -lt 64 ]; do head -c 65536 /dev/zero | tr '\\0' e >&2; "
       "head -c 131072 /dev/zero; i=$((i+1)); done; printf '\\nlast-line\\n' >&2"});
  options.stdout_pipe = true;
  options.timeout = std::chrono::seconds(60);
  auto process = Subprocess::Start(options);
  ASSERT_TRUE(process.ok()) << process.status().ToString();
  FdSource source((*process)->stdout_fd());
  uint64_t total = 0;
  std::vector<char> buffer(65536);
  while (true) {
    auto n = source.Read(buffer.data(), buffer.size());
    ASSERT_TRUE(n.ok());
    if (*n == 0) break;
    total += *n;
  }
  ExitInfo info = (*process)->Wait();
  EXPECT_TRUE(info.success()) << info.Describe();
  EXPECT_EQ(total, 64u * 131072);
  EXPECT_EQ(info.stderr_text.size(), 64u << 10);  // only the end is kept
  EXPECT_EQ(info.stderr_text.substr(info.stderr_text.size() - 14), "eee\nlast-line\n");
  EXPECT_EQ(info.Describe(), "exited with 0: last-line");
}

TEST(Subprocess, DestructorKillsARunningChild) {
  pid_t pid;
  {
    auto process = Subprocess::Start(Command({"sleep", "30"}));
    ASSERT_TRUE(process.ok());
    pid = (*process)->pid();
    EXPECT_EQ(kill(pid, 0), 0);
  }
  EXPECT_EQ(kill(pid, 0), -1);  // reaped, not a zombie
  EXPECT_EQ(errno, ESRCH);
}

TEST(Subprocess, RunsAsAnotherUserWhenRoot) {
  if (geteuid() != 0) GTEST_SKIP() << "switching users needs root";
  passwd* nobody = getpwnam("nobody");
  ASSERT_NE(nobody, nullptr);
  SubprocessOptions options = Command({"sh", "-c", "id -u; id -g; id -G; echo $HOME $USER"});
  options.uid = nobody->pw_uid;
  options.cwd = "/";
  ExitInfo info = RunOk(options);
  ASSERT_TRUE(info.success()) << info.Describe();
  std::string gid = std::to_string(nobody->pw_gid);
  EXPECT_EQ(info.stdout_text, std::to_string(nobody->pw_uid) + "\n" + gid + "\n" + gid + "\n" +
                                  nobody->pw_dir + " nobody\n");
}

TEST(Subprocess, SwitchingUserWithoutRootIsAnError) {
  if (geteuid() == 0) GTEST_SKIP() << "root may switch users";
  SubprocessOptions options = Command({"true"});
  options.uid = 0;
  auto process = Subprocess::Start(options);
  ASSERT_FALSE(process.ok());
  EXPECT_NE(process.status().message().find("as uid 0"), std::string::npos);
}

}  // namespace
}  // namespace gb
