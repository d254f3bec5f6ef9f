// End-to-end test of `backup --json`'s progress for machines: JSON lines on stderr (phase,
// bytes done, estimated total, rate, DSS state changes) beside the one JSON document on stdout.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "io/files.h"
#include "io/text.h"
#include "tests/support/cli_json.h"
#include "tests/support/govern_fixture.h"

namespace gb {
namespace testing {
namespace {

// The progress events of stderr: its lines that start with "{"; each must parse.
std::vector<nlohmann::json> ProgressEvents(const std::string& err) {
  std::vector<nlohmann::json> events;
  for (const std::string& line : SplitLines(err)) {
    if (line.empty() || line[0] != '{') continue;
    nlohmann::json event = nlohmann::json::parse(line, nullptr, false);
    EXPECT_FALSE(event.is_discarded()) << "not JSON: " << line;
    if (!event.is_discarded()) events.push_back(event);
  }
  return events;
}

std::vector<std::string> ValuesOf(const std::vector<nlohmann::json>& events, const std::string& kind,
                                  const std::string& key) {
  std::vector<std::string> values;
  for (const auto& event : events)
    if (event.value("event", "") == kind) values.push_back(event.value(key, ""));
  return values;
}

class ProgressTest : public GovernNodeTest {};

TEST_F(ProgressTest, BackupJsonStreamsPhasesBytesAndDssStatesOnStderr) {
  JsonRun run = RunJson(config_path_, {"backup"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string id = run.doc.value("id", "");
  ASSERT_FALSE(id.empty()) << "stdout stays one JSON document";

  std::vector<nlohmann::json> events = ProgressEvents(run.err);
  EXPECT_EQ(ValuesOf(events, "phase", "phase"),
            (std::vector<std::string>{"preflight", "capture", "commit", "complete"}));
  EXPECT_EQ(ValuesOf(events, "dss", "state"),
            (std::vector<std::string>{"stopping", "stopped", "starting", "running"}));
  for (const auto& event : events) {
    if (event["event"] == "phase" && event["phase"] != "preflight" && event["phase"] != "commit") {
      EXPECT_EQ(event.value("set_id", ""), id) << event.dump();
    }
  }

  uint64_t previous = 0;
  double previous_elapsed = 0;
  int progress_lines = 0;
  for (const auto& event : events) {
    const double elapsed = event.at("elapsed_seconds").get<double>();
    EXPECT_GE(elapsed, previous_elapsed) << event.dump();
    previous_elapsed = elapsed;
    if (event["event"] != "progress") continue;
    ++progress_lines;
    const uint64_t done = event.at("bytes_done").get<uint64_t>();
    EXPECT_GE(done, previous) << "bytes done never decrease: " << event.dump();
    previous = done;
    EXPECT_EQ(done, event.at("datadir_bytes").get<uint64_t>() + event.at("database_bytes").get<uint64_t>());
    EXPECT_GT(event.at("estimated_total_bytes").get<uint64_t>(), 0u);
    EXPECT_TRUE(event.at("rate_bytes_per_second").is_number());
    EXPECT_EQ(event.value("phase", ""), "capture");
  }
  EXPECT_GE(progress_lines, 1);
  EXPECT_GT(previous, 0u) << "the last progress line counts the captured bytes";
}

// The estimated total of a backup's progress lines; 0 when it printed none.
uint64_t EstimatedTotal(const std::string& err) {
  for (const auto& event : ProgressEvents(err))
    if (event.value("event", "") == "progress") return event.at("estimated_total_bytes").get<uint64_t>();
  return 0;
}

// A nightly set must not walk the whole data dir for its size: the newest set of the node
// and its chain recorded it. So a file written after the last set is not in the estimate (a
// walk would count it), and once a set has archived it, it is.
TEST_F(ProgressTest, TheDataDirSizeComesFromTheChainOnceThereIsASet) {
  JsonRun first = RunJson(config_path_, {"backup"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const uint64_t walked = EstimatedTotal(first.err);
  ASSERT_GT(walked, 0u) << first.err;

  constexpr size_t kNewBytes = 3 << 20;
  ASSERT_TRUE(WriteFile(node_.data_dir + "/config/grown.bin", std::string(kNewBytes, 'g'), 0644).ok());
  JsonRun second = RunJson(config_path_, {"backup"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  ASSERT_EQ(second.doc.value("type", ""), "incremental") << second.doc.dump();
  const uint64_t recorded = EstimatedTotal(second.err);
  EXPECT_LT(recorded, walked + kNewBytes / 3) << "the new file was counted: the data dir was walked";

  JsonRun third = RunJson(config_path_, {"backup"});
  ASSERT_EQ(third.exit_code, 0) << third.err;
  EXPECT_GE(EstimatedTotal(third.err), recorded + kNewBytes)
      << "the second set's archived bytes are part of its chain's size";
}

TEST_F(ProgressTest, WithoutJsonStderrHasNoProgressLines) {
  CommandResult result = Run({"backup"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(ProgressEvents(result.err).empty()) << result.err;
}

}  // namespace
}  // namespace testing
}  // namespace gb
