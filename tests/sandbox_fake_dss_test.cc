// The sandbox's fake bin/dss beyond what DssControl relies on (datadir_dss_control_test.cc):
// its churn switch, which the online-backup tests use to change files during a capture.
#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "sandbox/sample_node.h"
#include "tests/datadir_test_util.h"
#include "tests/support/wait.h"

namespace gb {
namespace {

using testing::NodeScratchDir;
using testing::ReadText;
using testing::WaitUntil;
using testing::WriteText;

class FakeDssTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<SampleNode> node = testing::MakeRunningSmallNode(scratch_ / "node");
    ASSERT_TRUE(node.ok()) << node.status().ToString();
    node_ = *node;
  }

  void TearDown() override {
    Status killed = node_.KillSupervisor();
    EXPECT_TRUE(killed.ok()) << killed.ToString();
  }

  NodeScratchDir scratch_;
  SampleNode node_;
};

TEST_F(FakeDssTest, ChurnRewritesConfigWhileRunning) {
  ASSERT_TRUE(node_.IsRunning());
  const std::string churn = node_.data_dir + "/config/churn.json";
  WriteText(node_.switch_path("churn"), "");
  std::string first;
  ASSERT_TRUE(WaitUntil(
      [&] {
        first = ReadText(churn);
        return first.find("generation") != std::string::npos;
      },
      std::chrono::seconds(10)))
      << "no " << churn << " 10 s after the churn switch";
  EXPECT_TRUE(WaitUntil([&] { return ReadText(churn) != first; }, std::chrono::seconds(10)))
      << churn << " was not rewritten within 10 s";
}

}  // namespace
}  // namespace gb
