// The metrics textfile's own reading and writing of the Prometheus text format: what it
// writes it reads back (escapes included), and what is not a sample is refused.
#include <chrono>
#include <cmath>
#include <filesystem>

#include <gtest/gtest.h>

#include "coordinator/metrics.h"
#include "coordinator/metrics_textfile.h"
#include "io/files.h"
#include "tests/support/scratch_dir.h"

namespace gb {
namespace {

TEST(MetricsTextfileTest, WrittenSamplesReadBackWithTheirEscapedLabels) {
  const std::vector<MetricFamily> families = {{"a_total", "counter", "As."}, {"b", "gauge", "Bs."},
                                              {"unused", "gauge", "Never written."}};
  const std::vector<MetricSample> samples = {
      {"b", {{"repository", "odd \"name\" with \\ and\nnewline"}}, 0.137},
      {"a_total", {}, 1764460800},
      {"b", {{"repository", "main"}, {"kind", "set"}}, 0}};
  const std::string text = FormatMetrics(families, samples);
  EXPECT_EQ(text,
            "# HELP a_total As.\n# TYPE a_total counter\na_total 1764460800\n"
            "# HELP b Bs.\n# TYPE b gauge\n"
            "b{repository=\"odd \\\"name\\\" with \\\\ and\\nnewline\"} 0.137\n"
            "b{kind=\"set\",repository=\"main\"} 0\n");
  Result<std::vector<MetricSample>> read = ParseMetricSamples(text);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_EQ(read->size(), 3u);
  EXPECT_EQ((*read)[0].name, "a_total");
  EXPECT_EQ((*read)[0].value, 1764460800);
  EXPECT_EQ((*read)[1].labels, samples[0].labels);
  EXPECT_EQ((*read)[1].value, 0.137);
  EXPECT_EQ((*read)[2].labels, samples[2].labels);
}

TEST(MetricsTextfileTest, ReadsTimestampsSpecialValuesAndComments) {
  Result<std::vector<MetricSample>> read = ParseMetricSamples(
      "# a comment\n\nx{a=\"1\",} 2 1700000000000\ny +Inf\nz NaN\nw -3.25e2\n");
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_EQ(read->size(), 4u);
  EXPECT_EQ((*read)[0].labels.at("a"), "1");
  EXPECT_EQ((*read)[0].value, 2);
  EXPECT_TRUE(std::isinf((*read)[1].value));
  EXPECT_TRUE(std::isnan((*read)[2].value));
  EXPECT_EQ((*read)[3].value, -325);
}

TEST(MetricsTextfileTest, RefusesWhatIsNotASampleNamingTheLine) {
  for (const char* bad : {"x{a=\"1\" 2\n", "x{a=1} 2\n", "x\n", "x two\n", "{a=\"1\"} 2\n",
                          "x{a=\"unterminated} 2\n"}) {
    Result<std::vector<MetricSample>> read = ParseMetricSamples(std::string("ok 1\n") + bad);
    ASSERT_FALSE(read.ok()) << bad;
    EXPECT_NE(read.status().message().find("line 2"), std::string::npos) << read.status().message();
  }
}

TEST(MetricsTextfileTest, SalvageKeepsTheLinesThatParseAndNamesTheOthers) {
  SalvagedMetricSamples read =
      SalvageMetricSamples("# HELP x X.\nx{a=\"1\"} 2\nnot a sample\ny 3\nz{a=\"} 4\n");
  ASSERT_EQ(read.samples.size(), 2u);
  EXPECT_EQ(read.samples[0].name, "x");
  EXPECT_EQ(read.samples[1].name, "y");
  ASSERT_EQ(read.refused_lines.size(), 2u);
  EXPECT_EQ(read.refused_lines[0], "line 3 is not a Prometheus sample: not a sample");
  EXPECT_EQ(read.refused_lines[1].rfind("line 5 ", 0), 0u) << read.refused_lines[1];
}

// A line of the previous file that is not a sample (an edit by hand) costs that line only:
// the other commands' figures stay, the update succeeds, and the new file parses.
TEST(MetricsTextfileTest, AnUpdateKeepsTheFiguresAroundALineThatIsNotASample) {
  testing::ScratchDir scratch("gb-metrics-");
  const std::string textfile = scratch.path() + "/govern-backup.prom";
  CommandMetrics verify;
  verify.command = "verify";
  verify.repository = "main";
  verify.exit_code = 4;
  verify.finished_at = std::chrono::system_clock::now();
  ASSERT_TRUE(UpdateMetricsTextfile(textfile, verify).ok());
  std::string text = *ReadWholeFile(textfile);
  ASSERT_TRUE(WriteFile(textfile, "edited by hand\n" + text, 0644).ok());

  CommandMetrics backup = verify;
  backup.command = "backup";
  backup.exit_code = 0;
  ASSERT_TRUE(UpdateMetricsTextfile(textfile, backup).ok());
  Result<std::vector<MetricSample>> read = ParseMetricSamples(*ReadWholeFile(textfile));
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  std::map<std::string, double> exit_codes;
  for (const MetricSample& sample : *read)
    if (sample.name == "govern_backup_last_exit_code")
      exit_codes[sample.labels.at("command")] = sample.value;
  EXPECT_EQ(exit_codes, (std::map<std::string, double>{{"backup", 0}, {"verify", 4}}));
}

TEST(MetricsTextfileTest, AuditProblemsAreCountedByKind) {
  EXPECT_EQ(AuditFindingKind("set 20261124T081500Z-3f9a1c database half"), "set");
  EXPECT_EQ(AuditFindingKind("20261124T081500Z-3f9a1c"), "set");
  EXPECT_EQ(AuditFindingKind("repository"), "repository");
  EXPECT_EQ(AuditFindingKind("lock"), "lock");
  EXPECT_EQ(AuditFindingKind("retention"), "retention");
  EXPECT_EQ(AuditFindingKind("node"), "node");
  EXPECT_EQ(AuditFindingKind("database"), "database");
  EXPECT_EQ(AuditFindingKind("/var/backups/govern-backup/stray.txt"), "leftover");
}

}  // namespace
}  // namespace gb
