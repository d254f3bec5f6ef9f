// TreeWalker and MeasureTree on real trees: order, the counting rule, trees deeper than
// PATH_MAX with a bounded number of open fds, and entries that vanish while they are walked
// (deterministically through the walker's test hook, and with a thread churning files).
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <string>
#include <thread>
#include <vector>

#include "datadir/archive_writer.h"
#include "datadir/tree_stats.h"
#include "datadir/tree_walker.h"
#include "tests/datadir_archive_util.h"

namespace gb {
namespace {

using namespace gb::testing;  // NOLINT: test helpers

// Removes the test hook however a test ends.
class HookGuard {
 public:
  explicit HookGuard(WalkTestHook hook) { SetWalkTestHook(std::move(hook)); }
  ~HookGuard() { SetWalkTestHook({}); }
};

struct Walked {
  std::vector<std::string> relative;
  std::vector<std::string> vanished;
};

Result<Walked> WalkAll(const std::string& root, SkipTopFn skip = {}) {
  GB_ASSIGN_OR_RETURN(std::unique_ptr<TreeWalker> walker, TreeWalker::Open(root, skip));
  Walked walked;
  for (;;) {
    GB_ASSIGN_OR_RETURN(const WalkEntry* entry, walker->Next());
    if (entry == nullptr) break;
    walked.relative.emplace_back(entry->relative);
  }
  walked.vanished = walker->vanished();
  return walked;
}

int OpenFdCount() {
  int count = 0;
  DIR* dir = opendir("/proc/self/fd");
  while (dirent* entry = readdir(dir)) count += entry->d_name[0] != '.';
  closedir(dir);
  return count;
}


// std::filesystem::remove_all stops at PATH_MAX; GNU rm walks with fds too.
void RemoveDeepTree(const std::string& path) {
  ASSERT_EQ(system(("rm -rf -- '" + path + "'").c_str()), 0);
}

TEST(TreeWalker, NameSortedPreOrderWithoutTheRootAndWithoutSkippedTopNames) {
  TempDir temp;
  const std::string root = temp / "root";
  PutFile(root + "/b/z.txt", "z");
  PutFile(root + "/b/a.txt", "a");
  PutFile(root + "/a.txt", "a");
  PutFile(root + "/skipped/inside.txt", "x");
  PutFile(root + "/c/skipped", "not top-level: kept");
  auto walked = WalkAll(root, [](std::string_view name) { return name == "skipped"; });
  ASSERT_TRUE(walked.ok()) << walked.status().ToString();
  EXPECT_EQ(walked->relative, (std::vector<std::string>{"a.txt", "b", "b/a.txt", "b/z.txt", "c",
                                                         "c/skipped"}));
  EXPECT_TRUE(walked->vanished.empty());
}

TEST(TreeWalker, AMissingRootOrAFileIsAnErrorNamingIt) {
  TempDir temp;
  PutFile(temp / "file", "x");
  for (const std::string& root : {temp / "nope", temp / "file"}) {
    auto walked = WalkAll(root);
    ASSERT_FALSE(walked.ok());
    EXPECT_NE(walked.status().message().find(root), std::string::npos)
        << walked.status().message();
    auto measured = MeasureTree(root);
    ASSERT_FALSE(measured.ok());
    EXPECT_NE(measured.status().message().find(root), std::string::npos);
  }
}

TEST(MeasureTree, CountsByTheDocumentedRule) {
  TempDir temp;
  const std::string root = temp / "root";
  PutFile(root + "/config/a.json", std::string(100, 'a'));
  PutFile(root + "/hard/first", std::string(10, 'h'));
  ASSERT_EQ(link((root + "/hard/first").c_str(), (root + "/hard/second").c_str()), 0);
  fs::create_symlink("config/a.json", root + "/link");
  ASSERT_EQ(mkfifo((root + "/fifo").c_str(), 0600), 0);
  {
    const std::string socket_path = root + "/dss.sock";
    int sock = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, socket_path.c_str(), sizeof address.sun_path - 1);
    ASSERT_EQ(bind(sock, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    close(sock);
  }
  PutFile(root + "/.govern-backup/restored-from.toml", std::string(7, 'm'));
  PutFile(root + "/analysis-data/model.bin", std::string(1000, 'x'));

  auto all = MeasureTree(root);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  // config, config/a.json, hard, hard/first, hard/second, link, fifo (no socket),
  // .govern-backup, its file, analysis-data, its file.
  EXPECT_EQ(all->entries, 11u);
  EXPECT_EQ(all->bytes, 100u + 10u + 7u + 1000u);  // the hard-linked file once

  auto data_dir = MeasureDataDir(root, {"analysis_data"});
  ASSERT_TRUE(data_dir.ok()) << data_dir.status().ToString();
  EXPECT_EQ(data_dir->entries, 7u);
  EXPECT_EQ(data_dir->bytes, 110u);

  // The rule is the archive's: what the writer archives is what MeasureDataDir counts.
  TempDir out;
  StringSink sink;
  ArchiveWriteOptions options;
  options.source_dir = root;
  options.exclude = {"analysis_data"};
  auto written = WriteDataDirArchive(options, sink);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_EQ(written->entries, data_dir->entries);
  EXPECT_EQ(written->source_bytes, data_dir->bytes);
  // And so is what extracting the archive gives back.
  const std::string extracted = out / "extracted";
  fs::create_directory(extracted);
  StringSource source(sink.bytes());
  ASSERT_TRUE(ExtractArchive(source, {extracted, true}).ok());
  auto again = MeasureDataDir(extracted);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->entries, data_dir->entries);
  EXPECT_EQ(again->bytes, data_dir->bytes);
}

TEST(MeasureTree, ParallelCountEqualsTheSequentialOne) {
  TempDir temp;
  const std::string root = temp / "root";
  uint64_t files = 0;
  for (int d = 0; d < 30; ++d) {
    for (int f = 0; f < d; ++f) {
      PutFile(root + "/d" + std::to_string(d) + "/sub/f" + std::to_string(f), std::string(f, 'x'));
      ++files;
    }
  }
  auto one = MeasureTree(root, {}, 1);
  auto eight = MeasureTree(root, {}, 8);
  ASSERT_TRUE(one.ok() && eight.ok());
  EXPECT_EQ(one->entries, files + 29 * 2);  // d1..d29 and their sub (d0 has no file)
  EXPECT_EQ(eight->entries, one->entries);
  EXPECT_EQ(eight->bytes, one->bytes);
}

TEST(TreeWalker, WalksATreeDeeperThanPathMaxWithBoundedFds) {
  TempDir temp;
  const std::string root = temp / "root";
  fs::create_directory(root);
  const int depth = 300;
  const std::string name(30, 'd');  // 300 * 31 characters: over twice PATH_MAX
  MakeDeepChain(root, depth, name, 50, /*links=*/false);
  PutFile(root + "/zz-after.txt", "after the deep branch\n");

  const int fds_before = OpenFdCount();
  int max_fds = 0;
  auto walker = TreeWalker::Open(root);
  ASSERT_TRUE(walker.ok()) << walker.status().ToString();
  std::vector<std::string> files;
  size_t longest = 0;
  for (;;) {
    auto entry = (*walker)->Next();
    ASSERT_TRUE(entry.ok()) << entry.status().ToString();
    if (*entry == nullptr) break;
    max_fds = std::max(max_fds, OpenFdCount());
    longest = std::max(longest, (*entry)->relative.size());
    if (S_ISREG((*entry)->st.st_mode)) files.emplace_back((*entry)->name);
  }
  EXPECT_GT(longest, static_cast<size_t>(PATH_MAX));
  EXPECT_EQ(files.size(), 1u + depth / 50 + 1);
  EXPECT_EQ(files.back(), "zz-after.txt");  // back up through the closed levels
  EXPECT_LE(max_fds - fds_before, TreeWalker::kMaxOpenLevels + 4);

  auto measured = MeasureTree(root);
  ASSERT_TRUE(measured.ok()) << measured.status().ToString();
  EXPECT_EQ(measured->entries, static_cast<uint64_t>(depth) + files.size());
  RemoveDeepTree(root);
}

// ---- vanished entries ------------------------------------------------------------------

TEST(TreeWalker, AnEntryRemovedBetweenReaddirAndStatIsSkippedAndReported) {
  TempDir temp;
  const std::string root = temp / "root";
  PutFile(root + "/config/keep.json", "k");
  PutFile(root + "/config/zz-237.json", "gone soon");
  HookGuard hook([](WalkStage stage, int parent_fd, const char* name) {
    if (stage == WalkStage::kListed && std::string(name) == "zz-237.json") {
      ASSERT_EQ(unlinkat(parent_fd, name, 0), 0);
    }
  });
  auto walked = WalkAll(root);
  ASSERT_TRUE(walked.ok()) << walked.status().ToString();
  EXPECT_EQ(walked->relative, (std::vector<std::string>{"config", "config/keep.json"}));
  EXPECT_EQ(walked->vanished, std::vector<std::string>{"config/zz-237.json"});

  PutFile(root + "/config/zz-237.json", "back again");
  auto measured = MeasureTree(root);
  ASSERT_TRUE(measured.ok()) << measured.status().ToString();
  EXPECT_EQ(measured->entries, 2u);
  EXPECT_EQ(measured->bytes, 1u);
  EXPECT_EQ(measured->vanished, std::vector<std::string>{"config/zz-237.json"});
}

TEST(TreeWalker, ADirectoryRemovedOrReplacedBeforeItIsOpenedIsSkippedAndReported) {
  TempDir temp;
  const std::string root = temp / "root";
  PutFile(root + "/removed/file", "x");
  PutFile(root + "/by-file/file", "x");
  PutFile(root + "/by-link/file", "x");
  HookGuard hook([&](WalkStage stage, int parent_fd, const char* name) {
    if (stage != WalkStage::kOpeningDirectory) return;
    const std::string path = root + "/" + name;
    if (std::string(name) == "by-link") {
      fs::remove_all(path);
      fs::create_symlink("/", path);
    } else {
      fs::remove_all(path);
      if (std::string(name) == "by-file") PutFile(path, "now a file");
    }
  });
  auto walked = WalkAll(root);
  ASSERT_TRUE(walked.ok()) << walked.status().ToString();
  EXPECT_TRUE(walked->relative.empty());
  EXPECT_EQ(walked->vanished, (std::vector<std::string>{"by-file", "by-link", "removed"}));
}

// The busy DSS: a process creating and deleting files (and folders) in config/
// while the pre-flight measures and an online backup archives. Neither ever fails.
TEST(TreeWalker, AChurningFolderNeverFailsTheWalk) {
  TempDir temp;
  const std::string root = temp / "root";
  for (int i = 0; i < 200; ++i) PutFile(root + "/config/stable-" + std::to_string(i), "s");
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> churned{0};
  std::thread churn([&] {
    for (uint64_t n = 0; !stop; ++n) {
      const std::string file = root + "/config/zz-" + std::to_string(n % 64) + ".json";
      const std::string dir = root + "/config/dir-" + std::to_string(n % 16);
      int fd = open(file.c_str(), O_CREAT | O_WRONLY, 0644);
      if (fd >= 0) close(fd);
      mkdir(dir.c_str(), 0755);
      unlink((root + "/config/zz-" + std::to_string((n + 32) % 64) + ".json").c_str());
      rmdir((root + "/config/dir-" + std::to_string((n + 8) % 16)).c_str());
      ++churned;
    }
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  uint64_t vanished = 0;
  int runs = 0;
  for (; runs < 300 && std::chrono::steady_clock::now() < deadline; ++runs) {
    auto measured = MeasureDataDir(root);
    ASSERT_TRUE(measured.ok()) << "run " << runs << ": " << measured.status().ToString();
    vanished += measured->vanished.size();
    auto estimate = EstimateDataDir(root, {"tmp"});
    ASSERT_TRUE(estimate.ok()) << "run " << runs << ": " << estimate.status().ToString();
    if (runs % 10 == 0) {
      StringSink sink;
      ArchiveWriteOptions options;
      options.source_dir = root;
      options.online = true;
      auto written = WriteDataDirArchive(options, sink);
      ASSERT_TRUE(written.ok()) << "run " << runs << ": " << written.status().ToString();
      vanished += written->vanished_while_read.size();
    }
  }
  stop = true;
  churn.join();
  EXPECT_GE(runs, 50);
  EXPECT_GT(churned.load(), 100u);
  std::cout << runs << " walks, " << churned.load() << " churn rounds, " << vanished
            << " entries vanished while walked\n";
}

}  // namespace
}  // namespace gb
