// The atomic-snapshot procedure of the DSS backup doc, for real: the node's data dir is a
// btrfs subvolume (a file system in a loop-mounted image file), [snapshot] takes a read-only
// btrfs snapshot while DSS is stopped and deletes it afterwards, and the writing DSS double
// (sandbox/counter_writer.h) shows that the set is one instant of the node: counter file ==
// counter row. DSS is stopped for the snapshot only, not for the archive.
// Needs root, a free loop device, btrfs in the kernel and mkfs.btrfs (btrfs-progs): skipped,
// saying which is missing, otherwise.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include <gtest/gtest.h>

#include "coordinator/manifest.h"
#include "io/files.h"
#include "io/subprocess.h"
#include "io/text.h"
#include "sandbox/counter_writer.h"
#include "tests/support/govern_fixture.h"
#include "tests/support/wait.h"

namespace gb {
namespace testing {
namespace {

namespace fs = std::filesystem;

// Runs a command line with /bin/sh; its stdout (trimmed), or the failure.
Result<std::string> Sh(const std::string& command) {
  SubprocessOptions options;
  options.argv = {"/bin/sh", "-c", command};
  options.timeout = std::chrono::minutes(2);
  GB_ASSIGN_OR_RETURN(ExitInfo exit, RunSubprocess(options));
  if (!exit.success()) return Status::Failed("`" + command + "` " + exit.Describe());
  return Trim(exit.stdout_text);
}

// Why this machine cannot run the test, or "" when it can.
std::string WhyNoBtrfs() {
  if (::geteuid() != 0) return "not root: mounting a loop device needs root";
  if (!Sh("command -v mkfs.btrfs && command -v btrfs").ok())
    return "mkfs.btrfs / btrfs not found: install btrfs-progs (scripts/install-deps)";
  auto supported = [] { return Sh("grep -qw btrfs /proc/filesystems").ok(); };
  if (!supported() && !(Sh("modprobe btrfs").ok() && supported()))
    return "the kernel has no btrfs (not in /proc/filesystems; modprobe btrfs failed, as it "
           "does in most containers)";
  if (!Sh("losetup --find").ok()) return "no free loop device (losetup --find failed)";
  return "";
}

class BtrfsSnapshotTest : public GovernNodeTest {
 protected:
  void SetUp() override {
    const std::string why = WhyNoBtrfs();
    if (!why.empty()) GTEST_SKIP() << why;
    GovernNodeTest::SetUp();
    base_set_up_ = true;
    if (HasFatalFailure()) return;
    Status enabled = EnableCounterWriter(node_, db_, SharedCluster().bin_dir() + "/psql");
    ASSERT_TRUE(enabled.ok()) << enabled.ToString();
    Result<ExitInfo> stopped = RunDss("stop");
    ASSERT_TRUE(stopped.ok() && stopped->success());
    ASSERT_NO_FATAL_FAILURE(MoveDataDirOntoBtrfs());
    Result<ExitInfo> started = RunDss("start");
    ASSERT_TRUE(started.ok() && started->success());
    ASSERT_TRUE(WaitUntil([&] { return LiveCounter() > 20; }, std::chrono::seconds(30)))
        << "the counter writer does not run; see " << node_.data_dir << "/run/supervisord.log";
  }

  // The data dir's content into subvolume dss_data of a fresh btrfs, mounted at its path.
  void MoveDataDirOntoBtrfs() {
    const std::string image = root_ + "/btrfs.img";
    top_ = root_ + "/btrfs-top";
    Result<std::string> loop = Sh("truncate -s 512M " + image + " && losetup --find --show " + image);
    ASSERT_TRUE(loop.ok()) << loop.status().ToString();
    loop_ = *loop;
    const std::string data_dir = node_.data_dir;
    struct stat owner {};
    ASSERT_EQ(stat(data_dir.c_str(), &owner), 0);
    for (const std::string& step :
         {"mkfs.btrfs -q " + loop_, "mkdir -p " + top_, "mount " + loop_ + " " + top_,
          "btrfs subvolume create " + top_ + "/dss_data", "cp -a " + data_dir + "/. " + top_ + "/dss_data/",
          "chown " + std::to_string(owner.st_uid) + ":" + std::to_string(owner.st_gid) + " " + top_ +
              "/dss_data",
          "chmod " + Octal(owner.st_mode & 07777) + " " + top_ + "/dss_data",
          "mv " + data_dir + " " + data_dir + ".on-disk", "mkdir " + data_dir,
          "mount -o subvol=dss_data " + loop_ + " " + data_dir}) {
      Result<std::string> done = Sh(step);
      ASSERT_TRUE(done.ok()) << done.status().ToString();
      if (step.rfind("mount " + loop_ + " ", 0) == 0) top_mounted_ = true;
      if (step.rfind("mv ", 0) == 0) moved_ = true;
      if (step.rfind("mount -o", 0) == 0) data_mounted_ = true;
    }
    ASSERT_EQ(*Sh("stat -f -c %T " + data_dir), "btrfs");
  }

  // Whatever happened: DSS stopped, both mounts and the loop device gone, the data dir back.
  void TearDown() override {
    if (!base_set_up_) return;  // skipped before the fixture made anything
    if (data_mounted_) {
      (void)RunDss("stop");
      (void)node_.KillSupervisor();
      Report(Sh("umount " + node_.data_dir + " || umount -l " + node_.data_dir));
    }
    if (top_mounted_) Report(Sh("umount " + top_ + " || umount -l " + top_));
    if (!loop_.empty()) Report(Sh("losetup -d " + loop_));
    if (moved_) Report(Sh("rmdir " + node_.data_dir + " && mv " + node_.data_dir + ".on-disk " + node_.data_dir));
    GovernNodeTest::TearDown();
  }
  static void Report(const Result<std::string>& done) {
    EXPECT_TRUE(done.ok()) << done.status().ToString();
  }
  static std::string Octal(unsigned mode) {
    char text[16];
    std::snprintf(text, sizeof text, "%o", mode);
    return text;
  }

  uint64_t LiveCounter() {
    Result<uint64_t> counter = ReadCounterFile(node_.data_dir);
    return counter.ok() ? *counter : 0;
  }

  std::string loop_;  // /dev/loopN
  std::string top_;   // the file system's top level, where snapshots go
  bool base_set_up_ = false;
  bool top_mounted_ = false;
  bool data_mounted_ = false;
  bool moved_ = false;
};

TEST_F(BtrfsSnapshotTest, TheSetIsOneInstantAndDssStopsOnlyForTheSnapshot) {
  const std::string snapshot = top_ + "/govern-backup-snapshot";
  // create also writes "<time> snapshot" into the fake DSS's event log: the order shows
  // whether DSS was stopped around it, and only around it.
  WriteConfig("[snapshot]\ncreate = \"echo $(date +%s) snapshot >> " + node_.events_log() +
              " && btrfs subvolume snapshot -r " + node_.data_dir + " " + snapshot +
              "\"\npath = \"" + snapshot + "\"\ndestroy = \"btrfs subvolume delete " + snapshot +
              "\"\n");
  const std::string before = *ReadWholeFile(node_.events_log());
  const uint64_t counter_before = LiveCounter();
  const std::string id = BackupOk();
  ASSERT_FALSE(id.empty());
  EXPECT_FALSE(fs::exists(snapshot)) << "destroy must delete the snapshot";
  EXPECT_GT(LiveCounter(), counter_before) << "DSS writes again after the backup";

  Result<Manifest> manifest = Manifest::Load(repo_ + "/" + id + "/manifest.toml");
  ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
  EXPECT_EQ(manifest->consistency, Consistency::kSnapshot);
  EXPECT_TRUE(manifest->window.dss_was_running);
  EXPECT_LT(manifest->window.downtime_seconds, 10.0) << "DSS is down for the snapshot only";
  EXPECT_LT(manifest->window.downtime_seconds, manifest->window.duration_seconds);

  std::vector<std::string> events;
  for (const std::string& line : SplitLines(ReadWholeFile(node_.events_log())->substr(before.size())))
    if (!line.empty()) events.push_back(line.substr(line.find(' ') + 1));
  EXPECT_EQ(events, (std::vector<std::string>{"stop", "snapshot", "start"}))
      << "DSS stopped once, for the snapshot, and started again right after it";

  // Restored elsewhere, both halves hold the same step of the writer.
  const std::string restored_dir = root_ + "/restored";
  const std::string restored_db = dbname_ + "_restored";
  CommandResult restored =
      Run({"restore", id, "--data-dir", restored_dir, "--dbname", restored_db, "--yes"});
  ASSERT_EQ(restored.exit_code, 0) << restored.out << restored.err;
  Result<uint64_t> file = ReadCounterFile(restored_dir);
  Result<uint64_t> row = ReadCounterRow(db_.WithDatabase(restored_db));
  ASSERT_TRUE(file.ok() && row.ok());
  EXPECT_GT(*file, 0u);
  EXPECT_EQ(*file, *row) << "the data dir and the database of set " << id << " disagree";
}

}  // namespace
}  // namespace testing
}  // namespace gb
