// What the sandbox changes on the machine is announced once, before the change, and not at
// all when there is nothing to change.
#include "sandbox/system_changes.h"

#include <sys/stat.h>
#include <unistd.h>

#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "tests/datadir_test_util.h"

namespace gb {
namespace {

using testing::NodeScratchDir;

mode_t ModeOf(const std::string& path) {
  struct stat info {};
  EXPECT_EQ(::stat(path.c_str(), &info), 0) << path;
  return info.st_mode & 07777;
}

TEST(SystemChangesTest, AncestorsGetOtherExecuteOnceAndAnnounced) {
  NodeScratchDir scratch;
  const std::string closed = scratch / "closed";
  const std::string open = closed + "/open";
  const std::string target = open + "/cluster";
  ASSERT_EQ(::mkdir(closed.c_str(), 0700), 0);
  ASSERT_EQ(::mkdir(open.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(target.c_str(), 0700), 0);

  std::ostringstream announced;
  Status changed = MakeAncestorsTraversable(target, "the postgres user", announced);
  ASSERT_TRUE(changed.ok()) << changed.ToString();
  EXPECT_EQ(ModeOf(closed), 0701u);
  EXPECT_EQ(ModeOf(open), 0755u);    // had o+x: untouched
  EXPECT_EQ(ModeOf(target), 0700u);  // the directory itself is the caller's business
  EXPECT_EQ(announced.str(), "govern-backup sandbox: adding o+x to " + closed +
                                 " so that the postgres user can reach " + target + "\n");

  std::ostringstream again;
  ASSERT_TRUE(MakeAncestorsTraversable(target, "the postgres user", again).ok());
  EXPECT_EQ(again.str(), "");
}

TEST(SystemChangesTest, ExistingUserIsNotAnnounced) {
  std::ostringstream announced;
  Result<SystemUser> root = EnsureSystemUser("root", "to test", announced);
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  EXPECT_EQ(root->uid, 0u);
  EXPECT_EQ(root->name, "root");
  EXPECT_EQ(announced.str(), "");
}

}  // namespace
}  // namespace gb
