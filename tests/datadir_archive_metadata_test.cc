// What the archive keeps beyond names and bytes, through our extraction and GNU tar's:
// extended attributes and POSIX ACLs, holes of sparse files, paths deeper than PATH_MAX;
// and an extraction that runs out of space says so.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <climits>
#include <string>
#include <vector>

#include "datadir/archive_reader.h"
#include "datadir/archive_writer.h"
#include "datadir/tree_stats.h"
#include "datadir/tree_walker.h"
#include "tests/datadir_archive_util.h"

namespace gb {
namespace {

using namespace gb::testing;  // NOLINT: test helpers

std::string Archive(const std::string& source, const std::string& path) {
  ArchiveWriteOptions options;
  options.source_dir = source;
  options.pair_member = kPair;
  StringSink sink;
  auto stats = WriteDataDirArchive(options, sink);
  EXPECT_TRUE(stats.ok()) << stats.status().ToString();
  std::ofstream(path, std::ios::binary) << sink.bytes();
  return sink.bytes();
}

Status Extract(const std::string& archive, const std::string& destination) {
  fs::create_directories(destination);
  ShortReadSource source(archive);
  Result<ArchiveScan> scan = ExtractArchive(source, {destination, true});
  return scan.ok() ? Status::Ok() : scan.status();
}

// ---- extended attributes and POSIX ACLs --------------------------------------------------

std::string Xattr(const std::string& path, const std::string& name) {
  char value[256];
  const ssize_t n = getxattr(path.c_str(), name.c_str(), value, sizeof value);
  return n < 0 ? "" : std::string(value, static_cast<size_t>(n));
}

// `getfacl` without the header, e.g. "user::rwx\nuser:nobody:r-x\n...".
std::string Acl(const std::string& path, bool default_acl = false) {
  return RunCommand(std::string("getfacl --omit-header --absolute-names ") +
                    (default_acl ? "--default " : "") + "'" + path + "'");
}

class XattrAclTest : public ::testing::Test {
 protected:
  void SetUp() override {
    source_ = temp_ / "source";
    PutFile(source_ + "/managed_folders/project/data.csv", "a,b\n");
    const std::string probe = source_ + "/managed_folders/project/data.csv";
    if (setxattr(probe.c_str(), "user.gb.probe", "1", 1, 0) != 0) {
      GTEST_SKIP() << "the file system of " << temp_.path() << " has no user xattrs";
    }
    if (system("command -v setfacl >/dev/null && command -v getfacl >/dev/null") != 0) {
      GTEST_SKIP() << "setfacl/getfacl missing: apt-get install acl attr";
    }
    // As DSS user isolation sets them up: an access ACL on a file, access and default
    // ACLs on a folder, and user xattrs on both.
    ASSERT_EQ(setxattr(probe.c_str(), "user.dss.origin", "upload", 6, 0), 0);
    const std::string folder = source_ + "/managed_folders/project";
    ASSERT_EQ(setxattr(folder.c_str(), "user.dss.owner", "team-a", 6, 0), 0);
    RunCommand("setfacl -m u:nobody:rw '" + probe + "'");
    RunCommand("setfacl -m u:nobody:rwx -m d:u:nobody:rx '" + folder + "'");
    // An ACL alone, no other attribute: the writer looks for ACLs only where the entry lists
    // one, so the kernel must list it.
    PutFile(source_ + "/managed_folders/acl-only/data.csv", "c,d\n");
    RunCommand("setfacl -m u:nobody:r '" + source_ + "/managed_folders/acl-only/data.csv'");
    RunCommand("setfacl -m d:u:nobody:rwx '" + source_ + "/managed_folders/acl-only'");
  }

  void ExpectKept(const std::string& root) {
    const std::string file = root + "/managed_folders/project/data.csv";
    const std::string folder = root + "/managed_folders/project";
    EXPECT_EQ(Xattr(file, "user.dss.origin"), "upload");
    EXPECT_EQ(Xattr(folder, "user.dss.owner"), "team-a");
    EXPECT_EQ(Acl(file), Acl(source_ + "/managed_folders/project/data.csv"));
    EXPECT_NE(Acl(file).find("user:nobody:rw-"), std::string::npos) << Acl(file);
    EXPECT_EQ(Acl(folder), Acl(source_ + "/managed_folders/project"));
    EXPECT_NE(Acl(folder, true).find("user:nobody:r-x"), std::string::npos)
        << Acl(folder, true);
    const std::string acl_only = root + "/managed_folders/acl-only";
    EXPECT_NE(Acl(acl_only + "/data.csv").find("user:nobody:r--"), std::string::npos)
        << Acl(acl_only + "/data.csv");
    EXPECT_NE(Acl(acl_only, true).find("user:nobody:rwx"), std::string::npos)
        << Acl(acl_only, true);
  }

  TempDir temp_;
  std::string source_;
};

TEST_F(XattrAclTest, OurExtractionRestoresThem) {
  const std::string archive = Archive(source_, temp_ / "data.tar");
  const std::string destination = temp_ / "restored";
  ASSERT_TRUE(Extract(archive, destination).ok());
  ExpectKept(destination);
}

TEST_F(XattrAclTest, GnuTarRestoresThemByHand) {
  const std::string tar = temp_ / "data.tar";
  Archive(source_, tar);
  RunCommand("zstd -q " + tar);  // the set's form, as the by-hand restore finds it
  const std::string destination = temp_ / "by-tar";
  fs::create_directory(destination);
  RunCommand("zstd -dc " + tar + ".zst | tar --xattrs --xattrs-include='*' --acls -xpf - -C " +
             destination);
  ExpectKept(destination);
}

// ---- sparse files -----------------------------------------------------------------------

// Whether two files of the same size hold the same bytes, reading only where either has
// data (SEEK_DATA / SEEK_HOLE): a hole of both reads as zeros in both. Reading 1 GiB of
// holes twice would take seconds on a busy machine.
bool SameSparseContent(const std::string& a, const std::string& b) {
  const int fd_a = open(a.c_str(), O_RDONLY);
  const int fd_b = open(b.c_str(), O_RDONLY);
  const off_t size = lseek(fd_a, 0, SEEK_END);
  bool same = fd_a >= 0 && fd_b >= 0 && size == lseek(fd_b, 0, SEEK_END);
  std::vector<char> block_a(1 << 16);
  std::vector<char> block_b(1 << 16);
  for (int fd : {fd_a, fd_b}) {
    for (off_t data = lseek(fd, 0, SEEK_DATA); same && data >= 0 && data < size;
         data = lseek(fd, data, SEEK_DATA)) {
      const off_t hole = lseek(fd, data, SEEK_HOLE);
      for (; same && data < hole; data += static_cast<off_t>(block_a.size())) {
        const size_t n = static_cast<size_t>(std::min<off_t>(block_a.size(), hole - data));
        same = pread(fd_a, block_a.data(), n, data) == static_cast<ssize_t>(n) &&
               pread(fd_b, block_b.data(), n, data) == static_cast<ssize_t>(n) &&
               std::memcmp(block_a.data(), block_b.data(), n) == 0;
      }
      data = hole;
    }
  }
  close(fd_a);
  close(fd_b);
  return same;
}

TEST(SparseFiles, HolesStayHolesInTheSetAndAfterExtraction) {
  TempDir temp;
  const std::string source = temp / "source";
  fs::create_directory(source);
  const std::string file = source + "/sparse.bin";
  const uint64_t size = 1ull << 30;
  const std::string head = Pattern(3000, 7);
  const std::string tail = Pattern(5000, 8);
  {
    int fd = open(file.c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(pwrite(fd, head.data(), head.size(), 4096 * 10), (ssize_t)head.size());
    ASSERT_EQ(pwrite(fd, tail.data(), tail.size(), size - tail.size()), (ssize_t)tail.size());
    close(fd);
  }
  const std::string archive = Archive(source, temp / "data.tar");
  EXPECT_LT(archive.size(), 100u * 1024) << "the holes were archived as data";

  const std::string destination = temp / "restored";
  ASSERT_TRUE(Extract(archive, destination).ok());
  const std::string restored = destination + "/sparse.bin";
  struct stat st;
  ASSERT_EQ(stat(restored.c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), size);
  EXPECT_LT(static_cast<uint64_t>(st.st_blocks) * 512, 1024u * 1024) << "holes were filled";
  EXPECT_TRUE(SameSparseContent(file, restored));

  // The counts of the set are the apparent size, on both sides.
  auto measured = MeasureDataDir(destination);
  ASSERT_TRUE(measured.ok());
  EXPECT_EQ(measured->bytes, size);
  ShortReadSource source_again(archive);
  auto scan = ScanArchive(source_again);
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  EXPECT_EQ(scan->source_bytes, size);
}

// ---- paths longer than PATH_MAX ----------------------------------------------------------


// What an entry's name reaches: file content or symlink target, through the walk's fds
// (diff -r stops at PATH_MAX).
std::string ContentAt(const WalkEntry& entry) {
  std::string content(static_cast<size_t>(entry.st.st_size), '\0');
  const std::string name(entry.name);
  if (S_ISLNK(entry.st.st_mode)) {
    EXPECT_EQ(readlinkat(entry.parent_fd, name.c_str(), content.data(), content.size()),
              entry.st.st_size);
  } else if (S_ISREG(entry.st.st_mode)) {
    int fd = openat(entry.parent_fd, name.c_str(), O_RDONLY);
    EXPECT_EQ(read(fd, content.data(), content.size()), entry.st.st_size);
    close(fd);
  } else {
    content.clear();
  }
  return content;
}

// Same names, types, modes, owners, mtimes (but of symlinks) and contents.
void ExpectSameDeepTree(const std::string& expected, const std::string& actual) {
  auto left = TreeWalker::Open(expected);
  auto right = TreeWalker::Open(actual);
  ASSERT_TRUE(left.ok() && right.ok());
  size_t compared = 0;
  for (;;) {
    auto a = (*left)->Next();
    auto b = (*right)->Next();
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_EQ(*a == nullptr, *b == nullptr) << "the trees end at different entries";
    if (*a == nullptr) break;
    const WalkEntry& x = **a;
    const WalkEntry& y = **b;
    ASSERT_EQ(x.relative, y.relative);
    EXPECT_EQ(x.st.st_mode, y.st.st_mode) << x.relative;
    EXPECT_EQ(x.st.st_uid, y.st.st_uid) << x.relative;
    if (!S_ISLNK(x.st.st_mode)) {
      EXPECT_EQ(x.st.st_mtime, y.st.st_mtime) << x.relative;
    }
    EXPECT_EQ(ContentAt(x), ContentAt(y)) << x.relative;
    ++compared;
  }
  EXPECT_GT(compared, 0u);
}

TEST(DeepPaths, ATreeDeeperThanPathMaxArchivesAndExtractsIdentically) {
  TempDir temp;
  const std::string source = temp / "source";
  fs::create_directory(source);
  const int depth = 200;
  PutFile(source + "/a-top", "linked from the bottom\n");
  MakeDeepChain(source, depth, std::string(40, 'p'), 40, /*links=*/true);  // 200 * 41 characters
  PutFile(source + "/zz-after", "after the deep branch\n");

  ArchiveWriteOptions options;
  options.source_dir = source;
  options.pair_member = kPair;
  StringSink sink;
  auto stats = WriteDataDirArchive(options, sink);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  // The chain, the side files, leaf.txt, leaf.link, leaf.hard, top.hard, a-top, zz-after.
  EXPECT_EQ(stats->entries, static_cast<uint64_t>(depth) + depth / 40 + 6);

  const std::string destination = temp / "restored";
  fs::create_directory(destination);
  ShortReadSource source_stream(sink.bytes());
  auto scan = ExtractArchive(source_stream, {destination, true});
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  EXPECT_EQ(scan->entries, stats->entries);

  auto measured = MeasureDataDir(destination);
  ASSERT_TRUE(measured.ok()) << measured.status().ToString();
  EXPECT_EQ(measured->entries, stats->entries);
  EXPECT_EQ(measured->bytes, stats->source_bytes);
  ExpectSameDeepTree(source, destination);
  // The hard links came back as links: fewer inodes than names.
  auto walker = TreeWalker::Open(destination);
  ASSERT_TRUE(walker.ok());
  for (;;) {
    auto entry = (*walker)->Next();
    ASSERT_TRUE(entry.ok());
    if (*entry == nullptr) break;
    const std::string name((*entry)->name);
    if (name == "leaf.hard" || name == "top.hard" || name == "a-top") {
      EXPECT_EQ((*entry)->st.st_nlink, 2u) << name;
    }
  }
  EXPECT_EQ(system(("rm -rf -- '" + source + "' '" + destination + "'").c_str()), 0);
}

// ---- I/O errors name their cause --------------------------------------------------------

// A 1 MiB tmpfs mounted for the test, unmounted at the end.
class SmallFileSystem {
 public:
  explicit SmallFileSystem(const std::string& path) : path_(path) {
    fs::create_directories(path);
    mounted_ = mount("tmpfs", path.c_str(), "tmpfs", 0, "size=1m") == 0;
  }
  ~SmallFileSystem() {
    if (mounted_) umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }

 private:
  std::string path_;
  bool mounted_ = false;
};

TEST(ExtractionErrors, AFullFileSystemSaysNoSpaceLeftOnDevice) {
  if (geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root";
  TempDir temp;
  const std::string source = temp / "source";
  PutFile(source + "/big.bin", Pattern(3 << 20, 9));
  const std::string archive = Archive(source, temp / "data.tar");
  SmallFileSystem small(temp / "small");
  if (!small.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (no CAP_SYS_ADMIN?)";
  const std::string destination = temp / "small/restored";
  Status extracted = Extract(archive, destination);
  ASSERT_FALSE(extracted.ok());
  EXPECT_NE(extracted.message().find("No space left on device"), std::string::npos)
      << extracted.ToString();
  EXPECT_NE(extracted.message().find("big.bin"), std::string::npos) << extracted.ToString();
}

}  // namespace
}  // namespace gb
