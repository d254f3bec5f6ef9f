// The retention rules of CONTRACT.md over (id, created_at) lists: calendar buckets (UTC days,
// ISO weeks across a year boundary, months), keep_within from the newest set, the newest
// set always kept, every set a kept set builds on kept ("needed by"), and a policy that keeps
// nothing refused.
#include "coordinator/retention.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

namespace gb {
namespace {

TimePoint At(const std::string& rfc3339) {
  std::optional<TimePoint> time = ParseRfc3339(rfc3339);
  EXPECT_TRUE(time.has_value()) << rfc3339;
  return time.value_or(TimePoint{});
}

// Sets named by their time, so that a failure message reads by itself.
std::vector<RetentionCandidate> Sets(const std::vector<std::string>& times) {
  std::vector<RetentionCandidate> sets;
  for (const auto& time : times) sets.push_back({time, At(time), ""});
  return sets;
}

RetentionPolicy Only(int last, int daily, int weekly, int monthly, std::chrono::seconds within = {}) {
  RetentionPolicy policy;
  policy.keep_last = last;
  policy.keep_daily = daily;
  policy.keep_weekly = weekly;
  policy.keep_monthly = monthly;
  policy.keep_within = within;
  policy.keep_within_text = std::to_string(within.count()) + "s";
  return policy;
}

std::vector<std::string> Kept(const std::vector<RetentionDecision>& decisions) {
  std::vector<std::string> kept;
  for (const auto& decision : decisions)
    if (decision.keep) kept.push_back(decision.id);
  std::sort(kept.begin(), kept.end());
  return kept;
}

std::map<std::string, std::vector<std::string>> Reasons(const std::vector<RetentionDecision>& decisions) {
  std::map<std::string, std::vector<std::string>> reasons;
  for (const auto& decision : decisions) reasons[decision.id] = decision.reasons;
  return reasons;
}

TEST(RetentionBuckets, DaysAreUtc) {
  EXPECT_EQ(DayBucket(At("2026-11-23T23:59:59Z")), "2026-11-23");
  EXPECT_EQ(DayBucket(At("2026-11-24T00:00:00Z")), "2026-11-24");
}

TEST(RetentionBuckets, IsoWeeksAcrossTheYearBoundary) {
  // 2026 begins on a Thursday, so it has an ISO week 53 that runs into January 2027.
  EXPECT_EQ(IsoWeekBucket(At("2026-12-28T00:00:00Z")), "2026-W53");  // Monday
  EXPECT_EQ(IsoWeekBucket(At("2026-12-31T12:00:00Z")), "2026-W53");
  EXPECT_EQ(IsoWeekBucket(At("2027-01-01T12:00:00Z")), "2026-W53");
  EXPECT_EQ(IsoWeekBucket(At("2027-01-03T23:59:59Z")), "2026-W53");  // Sunday
  EXPECT_EQ(IsoWeekBucket(At("2027-01-04T00:00:00Z")), "2027-W01");  // Monday
  // And the other way round: the last days of December 2024 are in 2025-W01.
  EXPECT_EQ(IsoWeekBucket(At("2024-12-30T00:00:00Z")), "2025-W01");
  EXPECT_EQ(IsoWeekBucket(At("2024-12-29T23:59:59Z")), "2024-W52");
}

TEST(RetentionBuckets, Months) {
  EXPECT_EQ(MonthBucket(At("2026-10-31T23:59:59Z")), "2026-10");
  EXPECT_EQ(MonthBucket(At("2026-11-01T00:00:00Z")), "2026-11");
}

TEST(Retention, NoSetsNoDecisions) {
  EXPECT_TRUE(ApplyRetention({}, Only(7, 7, 4, 6)).empty());
}

TEST(Retention, DecisionsComeNewestFirst) {
  auto decisions = ApplyRetention(Sets({"2026-01-01T00:00:00Z", "2026-03-01T00:00:00Z",
                                        "2026-02-01T00:00:00Z"}),
                                  Only(1, 0, 0, 0));
  ASSERT_EQ(decisions.size(), 3u);
  EXPECT_EQ(decisions[0].id, "2026-03-01T00:00:00Z");
  EXPECT_EQ(decisions[1].id, "2026-02-01T00:00:00Z");
  EXPECT_EQ(decisions[2].id, "2026-01-01T00:00:00Z");
}

TEST(Retention, KeepLastKeepsTheNewestN) {
  auto decisions = ApplyRetention(Sets({"2026-05-01T10:00:00Z", "2026-05-02T10:00:00Z",
                                        "2026-05-03T10:00:00Z", "2026-05-04T10:00:00Z",
                                        "2026-05-05T10:00:00Z"}),
                                  Only(3, 0, 0, 0));
  EXPECT_EQ(Kept(decisions), (std::vector<std::string>{"2026-05-03T10:00:00Z", "2026-05-04T10:00:00Z",
                                                       "2026-05-05T10:00:00Z"}));
  EXPECT_EQ(Reasons(decisions)["2026-05-03T10:00:00Z"], (std::vector<std::string>{"keep_last"}));
  EXPECT_EQ(Reasons(decisions)["2026-05-05T10:00:00Z"],
            (std::vector<std::string>{"newest", "keep_last"}));
}

TEST(Retention, NewestIsAlwaysKept) {
  // Only keep_within, far too short to reach any set but the newest; and keep_monthly for a
  // month that is not the newest one's... the newest is kept regardless of the rules.
  auto decisions = ApplyRetention(Sets({"2026-05-01T10:00:00Z", "2026-05-02T10:00:00Z"}),
                                  Only(0, 0, 0, 0, std::chrono::seconds(1)));
  EXPECT_EQ(Kept(decisions), (std::vector<std::string>{"2026-05-02T10:00:00Z"}));
  EXPECT_EQ(Reasons(decisions)["2026-05-02T10:00:00Z"].front(), "newest");
}

TEST(Retention, KeepDailyTakesTheNewestOfEachDayThatHasASet) {
  // Three sets on the 10th, none on the 9th, two on the 8th, one on the 7th.
  auto decisions = ApplyRetention(
      Sets({"2026-06-07T12:00:00Z", "2026-06-08T01:00:00Z", "2026-06-08T23:00:00Z",
            "2026-06-10T01:00:00Z", "2026-06-10T12:00:00Z", "2026-06-10T23:59:59Z"}),
      Only(0, 2, 0, 0));
  // The 2 most recent days that have a set are the 10th and the 8th (the 9th has none).
  EXPECT_EQ(Kept(decisions), (std::vector<std::string>{"2026-06-08T23:00:00Z", "2026-06-10T23:59:59Z"}));
  EXPECT_EQ(Reasons(decisions)["2026-06-08T23:00:00Z"],
            (std::vector<std::string>{"keep_daily 2026-06-08"}));
}

TEST(Retention, KeepWeeklyAcrossTheIsoYearBoundary) {
  auto decisions = ApplyRetention(Sets({"2026-12-24T08:00:00Z",    // 2026-W52
                                        "2026-12-31T08:00:00Z",    // 2026-W53
                                        "2027-01-01T08:00:00Z",    // 2026-W53, newer
                                        "2027-01-04T08:00:00Z"}),  // 2027-W01
                                  Only(0, 0, 2, 0));
  // Two weeks: 2027-W01 and 2026-W53, whose newest set is January 1st, not December 31st.
  EXPECT_EQ(Kept(decisions), (std::vector<std::string>{"2027-01-01T08:00:00Z", "2027-01-04T08:00:00Z"}));
  EXPECT_EQ(Reasons(decisions)["2027-01-01T08:00:00Z"],
            (std::vector<std::string>{"keep_weekly 2026-W53"}));
  EXPECT_EQ(Reasons(decisions)["2027-01-04T08:00:00Z"],
            (std::vector<std::string>{"newest", "keep_weekly 2027-W01"}));

  // A third week reaches back to 2026-W52.
  decisions = ApplyRetention(Sets({"2026-12-24T08:00:00Z", "2026-12-31T08:00:00Z",
                                   "2027-01-01T08:00:00Z", "2027-01-04T08:00:00Z"}),
                             Only(0, 0, 3, 0));
  EXPECT_EQ(Kept(decisions), (std::vector<std::string>{"2026-12-24T08:00:00Z", "2027-01-01T08:00:00Z",
                                                       "2027-01-04T08:00:00Z"}));
}

TEST(Retention, KeepMonthlyAtTheMonthBoundary) {
  auto decisions = ApplyRetention(Sets({"2026-09-30T23:59:59Z", "2026-10-15T00:00:00Z",
                                        "2026-10-31T23:59:59Z", "2026-11-01T00:00:00Z",
                                        "2026-11-20T00:00:00Z"}),
                                  Only(0, 0, 0, 2));
  EXPECT_EQ(Kept(decisions), (std::vector<std::string>{"2026-10-31T23:59:59Z", "2026-11-20T00:00:00Z"}));
  EXPECT_EQ(Reasons(decisions)["2026-10-31T23:59:59Z"],
            (std::vector<std::string>{"keep_monthly 2026-10"}));
}

TEST(Retention, KeepWithinIsMeasuredFromTheNewestSetNotFromNow) {
  // Backups stopped long ago (these dates are in the past of any clock running this test);
  // keep_within still keeps the sets within 4 days of the newest one.
  auto decisions = ApplyRetention(Sets({"2020-06-01T00:00:00Z", "2020-06-06T00:00:00Z",
                                        "2020-06-06T00:00:01Z", "2020-06-07T00:00:00Z",
                                        "2020-06-10T00:00:00Z"}),
                                  Only(0, 0, 0, 0, std::chrono::hours(96)));
  // 2020-06-06T00:00:00Z is exactly 4 days older than the newest: not younger than 4 days.
  EXPECT_EQ(Kept(decisions), (std::vector<std::string>{"2020-06-06T00:00:01Z", "2020-06-07T00:00:00Z",
                                                       "2020-06-10T00:00:00Z"}));
  EXPECT_EQ(Reasons(decisions)["2020-06-07T00:00:00Z"],
            (std::vector<std::string>{"keep_within 345600s"}));
}

TEST(Retention, ASetKeptByAnyRuleIsKeptAndEveryRuleIsNamed) {
  auto decisions = ApplyRetention(Sets({"2026-03-31T10:00:00Z", "2026-04-01T10:00:00Z",
                                        "2026-04-02T10:00:00Z", "2026-04-03T10:00:00Z"}),
                                  Only(1, 1, 0, 2));
  // keep_last: 04-03; keep_daily: 04-03; keep_monthly: 04-03 (April) and 03-31 (March).
  EXPECT_EQ(Kept(decisions), (std::vector<std::string>{"2026-03-31T10:00:00Z", "2026-04-03T10:00:00Z"}));
  EXPECT_EQ(Reasons(decisions)["2026-04-03T10:00:00Z"],
            (std::vector<std::string>{"newest", "keep_last", "keep_daily 2026-04-03",
                                      "keep_monthly 2026-04"}));
  EXPECT_TRUE(Reasons(decisions)["2026-04-01T10:00:00Z"].empty());
}

// Two chains: full 01 <- 02 <- 03, full 04 <- 05; a full set 06 after them.
std::vector<RetentionCandidate> TwoChains() {
  std::vector<RetentionCandidate> sets = Sets({"2026-05-01T10:00:00Z", "2026-05-02T10:00:00Z",
                                               "2026-05-03T10:00:00Z", "2026-05-04T10:00:00Z",
                                               "2026-05-05T10:00:00Z", "2026-05-06T10:00:00Z"});
  sets[1].parent = sets[0].id;
  sets[2].parent = sets[1].id;
  sets[4].parent = sets[3].id;
  return sets;
}

TEST(Retention, WhatAKeptSetBuildsOnIsKeptAndSaysByWhom) {
  std::vector<RetentionCandidate> sets = TwoChains();
  sets[5].parent = sets[2].id;  // the newest set ends the first chain
  auto decisions = ApplyRetention(sets, Only(1, 0, 0, 0));
  EXPECT_EQ(Kept(decisions), (std::vector<std::string>{"2026-05-01T10:00:00Z", "2026-05-02T10:00:00Z",
                                                      "2026-05-03T10:00:00Z", "2026-05-06T10:00:00Z"}));
  auto reasons = Reasons(decisions);
  EXPECT_EQ(reasons["2026-05-03T10:00:00Z"], (std::vector<std::string>{"needed by 2026-05-06T10:00:00Z"}));
  EXPECT_EQ(reasons["2026-05-01T10:00:00Z"], (std::vector<std::string>{"needed by 2026-05-02T10:00:00Z"}));
  EXPECT_TRUE(reasons["2026-05-05T10:00:00Z"].empty());
}

TEST(Retention, ASetKeptByARuleAndNeededSaysBoth) {
  std::vector<RetentionCandidate> sets = TwoChains();
  // keep_last 2: 06 and 05; 05 needs 04.
  auto decisions = ApplyRetention(sets, Only(2, 0, 0, 0));
  EXPECT_EQ(Kept(decisions), (std::vector<std::string>{"2026-05-04T10:00:00Z", "2026-05-05T10:00:00Z",
                                                      "2026-05-06T10:00:00Z"}));
  // keep_last 3: 04 by the rule and because 05 needs it; 01-03 go (no kept set needs them).
  decisions = ApplyRetention(sets, Only(3, 0, 0, 0));
  EXPECT_EQ(Reasons(decisions)["2026-05-04T10:00:00Z"],
            (std::vector<std::string>{"keep_last", "needed by 2026-05-05T10:00:00Z"}));
  EXPECT_EQ(Kept(decisions).size(), 3u);
}

TEST(Retention, AMissingParentIsNoCandidateAndStopsTheClosure) {
  std::vector<RetentionCandidate> sets = TwoChains();
  sets.erase(sets.begin() + 1);  // 02 is gone: 03 builds on a set prune cannot see
  sets.back().parent = sets[1].id;  // 06 builds on 03
  auto decisions = ApplyRetention(sets, Only(1, 0, 0, 0));
  EXPECT_EQ(Kept(decisions), (std::vector<std::string>{"2026-05-03T10:00:00Z", "2026-05-06T10:00:00Z"}));
}

TEST(Retention, EqualTimesAreOrderedById) {
  std::vector<RetentionCandidate> sets = {{"20260101T000000Z-aaaaaa", At("2026-01-01T00:00:00Z"), ""},
                                          {"20260101T000000Z-bbbbbb", At("2026-01-01T00:00:00Z"), ""}};
  auto decisions = ApplyRetention(sets, Only(0, 1, 0, 0));
  EXPECT_EQ(Kept(decisions), (std::vector<std::string>{"20260101T000000Z-bbbbbb"}));
}

TEST(Retention, TheContractDefaultsOverAYearOfNightlyBackups) {
  RetentionConfig defaults;  // keep_last 7, daily 7, weekly 4, monthly 6, within 4d
  std::vector<RetentionCandidate> sets;
  TimePoint first = At("2026-01-01T02:00:00Z");
  for (int day = 0; day < 365; ++day) {
    TimePoint time = first + std::chrono::hours(24 * day);
    sets.push_back({FormatRfc3339(time), time, ""});
  }
  auto decisions = ApplyRetention(sets, RetentionPolicy::FromConfig(defaults));
  std::vector<std::string> kept = Kept(decisions);
  // The 7 last days (12-25..12-31, which also cover keep_daily and keep_within); 4 ISO weeks:
  // W53 (12-31) and W52 (12-27) are among those, W51 adds Sunday 12-20 and W50 Sunday 12-13;
  // 6 months: December's is 12-31, and the month ends of July to November add 5.
  EXPECT_EQ(kept.front(), "2026-07-31T02:00:00Z");
  EXPECT_EQ(kept.back(), "2026-12-31T02:00:00Z");
  EXPECT_NE(std::find(kept.begin(), kept.end(), "2026-11-30T02:00:00Z"), kept.end());
  EXPECT_NE(std::find(kept.begin(), kept.end(), "2026-12-20T02:00:00Z"), kept.end());  // Sunday
  EXPECT_NE(std::find(kept.begin(), kept.end(), "2026-12-13T02:00:00Z"), kept.end());  // Sunday
  EXPECT_EQ(std::find(kept.begin(), kept.end(), "2026-12-21T02:00:00Z"), kept.end());
  EXPECT_EQ(std::find(kept.begin(), kept.end(), "2026-12-06T02:00:00Z"), kept.end());
  EXPECT_EQ(kept.size(), 7u + 2u + 5u);
}

TEST(RetentionPolicyCheck, APolicyThatKeepsNothingIsRefused) {
  Status status = ValidateRetention(Only(0, 0, 0, 0));
  EXPECT_EQ(status.code(), Code::kUsage);
  EXPECT_NE(status.message().find("[retention]"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("keeps nothing"), std::string::npos) << status.message();
}

TEST(RetentionPolicyCheck, AnySingleRuleIsEnough) {
  EXPECT_TRUE(ValidateRetention(Only(1, 0, 0, 0)).ok());
  EXPECT_TRUE(ValidateRetention(Only(0, 1, 0, 0)).ok());
  EXPECT_TRUE(ValidateRetention(Only(0, 0, 1, 0)).ok());
  EXPECT_TRUE(ValidateRetention(Only(0, 0, 0, 1)).ok());
  EXPECT_TRUE(ValidateRetention(Only(0, 0, 0, 0, std::chrono::hours(1))).ok());
  EXPECT_TRUE(ValidateRetention(RetentionPolicy::FromConfig(RetentionConfig{})).ok());
}

TEST(RetentionPolicyCheck, NegativeCountsAreRefused) {
  EXPECT_EQ(ValidateRetention(Only(-1, 7, 0, 0)).code(), Code::kUsage);
}

}  // namespace
}  // namespace gb
