// Several writers of one metrics textfile at once (threads of one process, then separate
// processes), and the ways an update can fail: every writer's last figures must be in the
// file at the end, a reader polling it meanwhile must only ever see whole files, and no
// temporary file nor lock may outlive an update, whether it succeeded or not.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "coordinator/metrics.h"
#include "coordinator/metrics_textfile.h"
#include "io/files.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/wait.h"

namespace gb {
namespace testing {
namespace {

namespace fs = std::filesystem;

constexpr int kRounds = 40;
constexpr char kDuration[] = "govern_backup_last_duration_seconds";
constexpr char kExitCode[] = "govern_backup_last_exit_code";
constexpr char kLastRun[] = "govern_backup_last_run_timestamp_seconds";
constexpr char kSets[] = "govern_backup_sets";

std::string WriterName(int writer) { return "writer-" + std::to_string(writer); }

// Round `round` of writer `writer`: figures that grow with the round, so that a reader can
// tell an older file from a newer one and the end can tell the last round from the others.
CommandMetrics RoundMetrics(int writer, int round) {
  CommandMetrics metrics;
  metrics.command = writer % 2 == 0 ? "backup" : "verify";
  metrics.repository = WriterName(writer);
  metrics.exit_code = round % 2;
  metrics.duration_seconds = round;
  metrics.finished_at = std::chrono::system_clock::now();
  metrics.complete_set_ids = std::vector<std::string>(round + 1, "20261130T080000Z-3f9a1c");
  return metrics;
}

std::map<std::string, std::string> Labels(const CommandMetrics& metrics) {
  return {{"repository", metrics.repository}, {"command", metrics.command}};
}

std::optional<double> Find(const std::vector<MetricSample>& samples, const std::string& name,
                           const std::map<std::string, std::string>& labels) {
  for (const MetricSample& sample : samples)
    if (sample.name == name && sample.labels == labels) return sample.value;
  return std::nullopt;
}

// Runs every round of one writer; the first failure, or OK.
Status WriteRounds(const std::string& textfile, int writer) {
  for (int round = 0; round < kRounds; ++round) {
    Status written = UpdateMetricsTextfile(textfile, RoundMetrics(writer, round));
    if (!written.ok()) return written;
  }
  return Status();
}

// Reads the textfile the way node_exporter does while the writers run, and checks each
// version: it parses, it ends with a whole line, each writer in it has all its figures, and
// no writer's figures ever go back to an older round (an update lost to a concurrent one).
class PollingReader {
 public:
  PollingReader(std::string textfile, int writers)
      : textfile_(std::move(textfile)), last_duration_(writers, -1) {}

  void ReadOnce() {
    std::error_code error;
    if (!fs::exists(textfile_, error)) return;  // before the first rename
    Result<std::string> text = ReadWholeFile(textfile_);
    ASSERT_TRUE(text.ok()) << text.status().ToString();
    ++reads_;
    ASSERT_FALSE(text->empty()) << "an empty textfile";
    ASSERT_EQ(text->back(), '\n') << "a torn textfile:\n" << *text;
    Result<std::vector<MetricSample>> samples = ParseMetricSamples(*text);
    ASSERT_TRUE(samples.ok()) << samples.status().ToString() << "\n" << *text;
    for (size_t writer = 0; writer < last_duration_.size(); ++writer) {
      const std::map<std::string, std::string> labels =
          Labels(RoundMetrics(static_cast<int>(writer), 0));
      std::optional<double> duration = Find(*samples, kDuration, labels);
      if (!duration) {
        ASSERT_LT(last_duration_[writer], 0) << WriterName(writer) << "'s figures vanished";
        continue;
      }
      ASSERT_GE(*duration, last_duration_[writer]) << WriterName(writer) << " went back a round";
      last_duration_[writer] = *duration;
      EXPECT_EQ(Find(*samples, kExitCode, labels), static_cast<int>(*duration) % 2);
      EXPECT_TRUE(Find(*samples, kLastRun, labels).has_value());
      EXPECT_EQ(Find(*samples, kSets, {{"repository", WriterName(writer)}}), *duration + 1);
    }
  }

  int reads() const { return reads_; }

 private:
  std::string textfile_;
  std::vector<double> last_duration_;
  int reads_ = 0;
};

class MetricsConcurrencyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = scratch_.path() + "/textfiles";
    fs::create_directories(folder_);
    textfile_ = folder_ + "/govern-backup.prom";
  }

  // Every writer's last round is in the file, and the file is alone in its folder.
  void ExpectEveryWritersLastFigures(int writers) {
    Result<std::string> text = ReadWholeFile(textfile_);
    ASSERT_TRUE(text.ok()) << text.status().ToString();
    Result<std::vector<MetricSample>> samples = ParseMetricSamples(*text);
    ASSERT_TRUE(samples.ok()) << samples.status().ToString();
    for (int writer = 0; writer < writers; ++writer) {
      const CommandMetrics last = RoundMetrics(writer, kRounds - 1);
      EXPECT_EQ(Find(*samples, kDuration, Labels(last)), kRounds - 1) << WriterName(writer);
      EXPECT_EQ(Find(*samples, kExitCode, Labels(last)), last.exit_code) << WriterName(writer);
      EXPECT_EQ(Find(*samples, kSets, {{"repository", last.repository}}), kRounds)
          << WriterName(writer);
    }
    EXPECT_EQ(FolderNames(), std::vector<std::string>{"govern-backup.prom"})
        << "no temporary file left";
  }

  std::vector<std::string> FolderNames() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(folder_))
      names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  // Whether another process could lock the folder now (none of our updates holds it).
  bool FolderIsUnlocked() const {
    int fd = open(folder_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return false;
    const bool locked = flock(fd, LOCK_EX | LOCK_NB) == 0;
    close(fd);
    return locked;
  }

  ScratchDir scratch_{"gb-metrics-", 0755};
  std::string folder_;
  std::string textfile_;
};

TEST_F(MetricsConcurrencyTest, ThreadsUpdatingAtOnceEachKeepTheirLastFigures) {
  constexpr int kWriters = 6;
  std::atomic<int> running{kWriters};
  std::vector<Status> outcomes(kWriters);
  std::vector<std::thread> threads;
  for (int writer = 0; writer < kWriters; ++writer)
    threads.emplace_back([&, writer] {
      outcomes[writer] = WriteRounds(textfile_, writer);
      --running;
    });
  PollingReader reader(textfile_, kWriters);
  while (running > 0 && !::testing::Test::HasFatalFailure()) reader.ReadOnce();
  for (std::thread& thread : threads) thread.join();
  reader.ReadOnce();
  for (int writer = 0; writer < kWriters; ++writer)
    EXPECT_TRUE(outcomes[writer].ok()) << outcomes[writer].ToString();
  EXPECT_GT(reader.reads(), 1);
  ExpectEveryWritersLastFigures(kWriters);
  EXPECT_TRUE(FolderIsUnlocked());
}

TEST_F(MetricsConcurrencyTest, ProcessesUpdatingAtOnceEachKeepTheirLastFigures) {
  constexpr int kWriters = 4;
  std::vector<pid_t> children;
  for (int writer = 0; writer < kWriters; ++writer) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0) << "fork";
    if (pid == 0) _exit(WriteRounds(textfile_, writer).ok() ? 0 : 1);
    children.push_back(pid);
  }
  PollingReader reader(textfile_, kWriters);
  std::vector<int> statuses;
  // Reads while any child runs; reaps them as they end.
  bool killed = false;
  while (statuses.size() < children.size()) {
    if (!killed) reader.ReadOnce();
    if (::testing::Test::HasFatalFailure() && !killed) {
      for (pid_t pid : children) kill(pid, SIGKILL);
      killed = true;
    }
    int status = 0;
    pid_t ended = waitpid(-1, &status, WNOHANG);
    if (ended > 0) statuses.push_back(status);
  }
  for (int status : statuses)
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "a writer failed: " << status;
  EXPECT_GT(reader.reads(), 1);
  ExpectEveryWritersLastFigures(kWriters);
  EXPECT_TRUE(FolderIsUnlocked());
}

// A writer killed between writing its temporary file and renaming it leaves that file; the
// next update (which holds the lock, so no live writer can own one) removes it.
TEST_F(MetricsConcurrencyTest, ATemporaryFileOfAKilledWriterIsRemovedByTheNextUpdate) {
  pid_t dead = fork();
  ASSERT_GE(dead, 0);
  if (dead == 0) _exit(0);
  ASSERT_EQ(waitpid(dead, nullptr, 0), dead);
  const std::string leftover = textfile_ + ".tmp-" + std::to_string(dead);
  ASSERT_TRUE(WriteFile(leftover, "govern_backup_sets{repository=\"main\"} 3\n", 0644).ok());
  ASSERT_TRUE(WriteFile(folder_ + "/node.prom", "node_other 1\n", 0644).ok());

  ASSERT_TRUE(UpdateMetricsTextfile(textfile_, RoundMetrics(0, 0)).ok());
  EXPECT_EQ(FolderNames(), (std::vector<std::string>{"govern-backup.prom", "node.prom"}))
      << "the leftover is gone, another exporter's file stays";
}

// The textfile's folder is not writable: the update fails naming what it could not create,
// the previous file is untouched, and the lock is released.
TEST_F(MetricsConcurrencyTest, AFolderNotWritableFailsAndReleasesTheLock) {
  ASSERT_TRUE(UpdateMetricsTextfile(textfile_, RoundMetrics(0, 0)).ok());
  const std::string before = *ReadWholeFile(textfile_);
  // root writes anywhere: the update runs as nobody in a child process, whose exit code says
  // 0 = refused naming the temporary file, 1 = written, 2 = refused for another reason.
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const bool as_nobody = geteuid() == 0;
    if (as_nobody && setresuid(65534, 65534, 65534) != 0) _exit(3);
    if (!as_nobody && chmod(folder_.c_str(), 0555) != 0) _exit(3);
    Status written = UpdateMetricsTextfile(textfile_, RoundMetrics(1, 0));
    if (written.ok()) _exit(1);
    _exit(written.ToString().find(textfile_ + ".tmp-") != std::string::npos ? 0 : 2);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  chmod(folder_.c_str(), 0755);
  EXPECT_EQ(*ReadWholeFile(textfile_), before);
  EXPECT_EQ(FolderNames(), std::vector<std::string>{"govern-backup.prom"});
  EXPECT_TRUE(FolderIsUnlocked());
}

// The rename fails (the textfile's name is taken by a folder): an error naming it, the
// temporary file removed, the lock released so that the next update of the folder proceeds.
TEST_F(MetricsConcurrencyTest, AFailedRenameRemovesTheTemporaryFileAndReleasesTheLock) {
  fs::create_directories(textfile_ + "/in-the-way");
  Status written = UpdateMetricsTextfile(textfile_, RoundMetrics(0, 0));
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.ToString().find(textfile_), std::string::npos) << written.ToString();
  EXPECT_EQ(FolderNames(), std::vector<std::string>{"govern-backup.prom"});
  EXPECT_TRUE(FolderIsUnlocked());
  const std::string other = folder_ + "/other.prom";
  ASSERT_TRUE(UpdateMetricsTextfile(other, RoundMetrics(1, 0)).ok());
}

TEST_F(MetricsConcurrencyTest, AMissingFolderFailsNamingIt) {
  const std::string missing = scratch_.path() + "/no-such-folder/govern-backup.prom";
  Status written = UpdateMetricsTextfile(missing, RoundMetrics(0, 0));
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.ToString().find(scratch_.path() + "/no-such-folder"), std::string::npos)
      << written.ToString();
  EXPECT_FALSE(fs::exists(scratch_.path() + "/no-such-folder"));
}

}  // namespace
}  // namespace testing
}  // namespace gb
