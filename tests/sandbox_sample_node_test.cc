// The sandbox's sample Govern node generator: the layout it writes (modes, owners, links,
// excluded folders) and its fake bin/dss and installer.sh being the tree's shell files.
#include "sandbox/sample_node.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "io/text.h"
#include "tests/datadir_test_util.h"

namespace gb {
namespace {

using testing::NodeScratchDir;
using testing::ReadText;

class SampleNodeTest : public ::testing::Test {
 protected:
  SampleNode Generate(SampleNodeOptions options = {}) {
    const std::string root = scratch_ / ("node" + std::to_string(counter_++));
    return testing::MakeStoppedNode(std::move(options), root);
  }

  NodeScratchDir scratch_;
  int counter_ = 0;
};

// The programs are embedded at build time from sandbox/*.sh: what a node gets is the file
// in the tree, the control directory filled in.
TEST_F(SampleNodeTest, ScriptsAreTheTreeFiles) {
  SampleNode sample = Generate();
  const std::string source = GOVERN_SOURCE_DIR;
  std::string dss = ReadText(source + "/sandbox/fake_dss.sh");
  const std::string placeholder = "CONTROL_DIR=@CONTROL_DIR@\n";
  ASSERT_NE(dss.find(placeholder), std::string::npos);
  dss.replace(dss.find(placeholder), placeholder.size(),
              "CONTROL_DIR=" + ShellQuote(sample.control_dir) + "\n");
  EXPECT_EQ(ReadText(sample.data_dir + "/bin/dss"), dss);
  EXPECT_EQ(ReadText(sample.install_dir + "/installer.sh"),
            ReadText(source + "/sandbox/fake_installer.sh"));
}

TEST_F(SampleNodeTest, GeneratedLayout) {
  SampleNodeOptions options;
  options.small_files = 50;
  SampleNode sample = Generate(options);
  namespace fs = std::filesystem;
  const std::string& d = sample.data_dir;
  for (const char* name :
       {"config", "bin", "databases", "install-support", "lib", "local", "plugins", "R.lib",
        "analysis-data", "saved_models", "uploads", "timelines", "pyenv", "code-envs", "tmp",
        "caches", "data-catalog", "run", "jobs", "scenarios", "diagnosis", "exports",
        "prepared_bundles", "apinode-packages"}) {
    EXPECT_TRUE(fs::is_directory(d + "/" + name)) << name;
  }
  EXPECT_TRUE(fs::is_regular_file(d + "/config/configkey.json"));
  EXPECT_EQ(ReadText(d + "/install-support/expected-dip-home.txt"), d + "\n");
  EXPECT_NE(ReadText(d + "/bin/env-default.sh")
                .find("export DKUINSTALLDIR=\"" + sample.install_dir + "\""),
            std::string::npos);
  EXPECT_EQ(ReadText(d + "/dss-version.json"), ReadText(sample.install_dir + "/dss-version.json"));
  EXPECT_TRUE(fs::is_regular_file(sample.events_log()));
  EXPECT_FALSE(sample.IsRunning());

  size_t project_files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(d + "/config/projects")) {
    if (entry.is_regular_file()) ++project_files;
  }
  EXPECT_EQ(project_files, 50u);

  struct stat st;
  auto mode_of = [&](const std::string& relative) {
    EXPECT_EQ(::lstat((d + "/" + relative).c_str(), &st), 0) << relative;
    return st.st_mode;
  };
  EXPECT_EQ(mode_of("bin/dss") & 07777, 0755u);
  EXPECT_EQ(mode_of("config/configkey.json") & 07777, 0600u);
  EXPECT_EQ(mode_of("config/general-settings.json") & 07777, 0644u);
  EXPECT_EQ(mode_of("local/private") & 07777, 0700u);
  EXPECT_TRUE(S_ISDIR(mode_of("local/empty-dir")));
  EXPECT_TRUE(fs::is_empty(d + "/local/empty-dir"));
  EXPECT_TRUE(fs::is_regular_file(d + "/uploads/Quarterly report été 2026.csv"));

  EXPECT_TRUE(S_ISLNK(mode_of("config/current-settings.json")));
  EXPECT_EQ(fs::read_symlink(d + "/config/current-settings.json"), "general-settings.json");
  EXPECT_EQ(fs::read_symlink(d + "/local/static/settings-link.json"),
            d + "/config/general-settings.json");
  EXPECT_TRUE(S_ISLNK(mode_of("local/dangling-link")));
  EXPECT_FALSE(fs::exists(d + "/local/dangling-link"));  // follows the link: dangling

  struct stat a;
  struct stat b;
  ASSERT_EQ(::stat((d + "/plugins/installed/sample-plugin/python-lib/shared.py").c_str(), &a), 0);
  ASSERT_EQ(::stat((d + "/plugins/installed/sample-plugin/python-lib/shared_alias.py").c_str(), &b),
            0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_nlink, 2u);

  uintmax_t large = fs::file_size(d + "/managed_folders/P00000/Xy7Qa2/blob-0.bin");
  EXPECT_EQ(large, 256u * 1024u);

  if (::geteuid() == 0) {
    struct passwd* pw = ::getpwnam(kSampleNodeUser);
    ASSERT_NE(pw, nullptr);
    EXPECT_EQ(sample.owner_uid, pw->pw_uid);
    for (const auto& entry : fs::recursive_directory_iterator(sample.root)) {
      ASSERT_EQ(::lstat(entry.path().c_str(), &st), 0);
      EXPECT_EQ(st.st_uid, pw->pw_uid) << entry.path();
    }
  } else {
    EXPECT_EQ(sample.owner_uid, ::geteuid());
  }
}

}  // namespace
}  // namespace gb
