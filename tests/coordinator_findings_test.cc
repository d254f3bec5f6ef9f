// The one reporter of check, verify, audit and restore's pre-flight: its fixed text layout,
// and the same JSON keys for a passed check and a problem.
#include "coordinator/findings.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

namespace gb {
namespace {

std::vector<Finding> Mixed() {
  return {Finding::Ok("config", "/etc/govern-backup/config.toml"),
          Finding::Problem("space", "not enough space in /backup: 1 GiB free", "prune old sets"),
          Finding::Problem("node", Status::Failed("cannot read dip.properties")),
          Finding::Ok("dss", "running")};
}

TEST(FindingsTest, TextLayoutIsFixed) {
  std::ostringstream out;
  PrintFindings(Mixed(), out);
  EXPECT_EQ(out.str(),
            "ok    config: /etc/govern-backup/config.toml\n"
            "FAIL  space: not enough space in /backup: 1 GiB free\n"
            "      hint: prune old sets\n"
            "FAIL  node: cannot read dip.properties\n"
            "ok    dss: running\n");
}

TEST(FindingsTest, JsonHasTheSameKeysForEveryFinding) {
  nlohmann::json report = ReportJson("check", Mixed());
  EXPECT_EQ(report["command"], "check");
  EXPECT_EQ(report["ok"], false);
  ASSERT_EQ(report["findings"].size(), 4u);
  for (const auto& finding : report["findings"]) {
    EXPECT_EQ(finding.size(), 4u) << finding.dump();
    for (const char* key : {"subject", "ok", "message", "hint"}) EXPECT_TRUE(finding.contains(key)) << key;
  }
  EXPECT_EQ(report["findings"][0],
            (nlohmann::json{{"subject", "config"}, {"ok", true},
                            {"message", "/etc/govern-backup/config.toml"}, {"hint", ""}}));
  EXPECT_EQ(report["findings"][1],
            (nlohmann::json{{"subject", "space"}, {"ok", false},
                            {"message", "not enough space in /backup: 1 GiB free"},
                            {"hint", "prune old sets"}}));
}

TEST(FindingsTest, CountsAndNamesTheProblems) {
  EXPECT_EQ(CountProblems(Mixed()), 2u);
  EXPECT_FALSE(AllOk(Mixed()));
  EXPECT_TRUE(AllOk({Finding::Ok("config", "x")}));
  EXPECT_TRUE(AllOk({}));
  EXPECT_EQ(ProblemSubjects(Mixed()), "space, node");
  EXPECT_EQ(ReportJson("audit", {})["ok"], true);
}

TEST(FindingsTest, InvalidUtf8InAPathDoesNotAbortTheReport) {
  std::ostringstream out;
  PrintJson(ReportJson("audit", {Finding::Problem("/repo/\xff\xfe", "unexpected file", "")}), out);
  nlohmann::json parsed = nlohmann::json::parse(out.str());
  EXPECT_EQ(parsed["findings"][0]["ok"], false);
}

}  // namespace
}  // namespace gb
