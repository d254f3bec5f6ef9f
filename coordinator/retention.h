// Retention: which complete sets a [retention] policy keeps, and by which rule. Pure
// functions over (id, created_at) lists, so prune and audit decide alike and tests can
// cover the calendar without making backups. Stateless; safe from any thread.
//
// A set is kept if ANY rule keeps it:
//   keep_last N     the N newest sets
//   keep_daily N    the newest set of each of the N most recent UTC days that have a set
//   keep_weekly N   the same per ISO 8601 week (Monday-based; 2026-12-31 is in 2026-W53,
//                   2027-01-04 in 2027-W01)
//   keep_monthly N  the same per UTC calendar month
//   keep_within D   sets younger than D, measured back from the newest set (not from now:
//                   a node whose backups stopped does not lose its last sets to the clock)
// The newest set is always kept, and so is every set that a kept set builds on ("needed by",
// whatever the rules say: a set cannot be restored without its parent).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "config/config.h"
#include "coordinator/repository.h"
#include "coordinator/time_format.h"
#include "io/status.h"

namespace gb {

struct RetentionPolicy {
  int keep_last = 0;
  int keep_daily = 0;
  int keep_weekly = 0;
  int keep_monthly = 0;
  std::chrono::seconds keep_within{0};
  std::string keep_within_text;  // as configured, for the reasons printed

  static RetentionPolicy FromConfig(const RetentionConfig& config);
};

// A policy whose every rule is zero keeps nothing but the newest set: refused (Code::kUsage,
// naming [retention]), as are negative counts.
Status ValidateRetention(const RetentionPolicy& policy);

struct RetentionCandidate {
  std::string id;
  TimePoint created_at;
  std::string parent;  // the set it builds on; "" for a full set
};

struct RetentionDecision {
  std::string id;
  TimePoint created_at;
  bool keep = false;
  // Every rule that keeps the set: "newest", "keep_last", "keep_daily 2026-11-23",
  // "keep_weekly 2026-W48", "keep_monthly 2026-11", "keep_within 4d", "needed by <id>".
  std::vector<std::string> reasons;
};

// The candidates of a repository: its complete sets whose manifest reads (a set with a damaged
// manifest is not judged: a person decides).
std::vector<RetentionCandidate> CandidatesOf(const std::vector<SetEntry>& sets);

// One decision per candidate, newest first (created_at, then id, descending).
std::vector<RetentionDecision> ApplyRetention(const std::vector<RetentionCandidate>& sets,
                                              const RetentionPolicy& policy);

// The calendar buckets the rules use (UTC).
std::string DayBucket(TimePoint time);      // "2026-11-23"
std::string IsoWeekBucket(TimePoint time);  // "2026-W48"
std::string MonthBucket(TimePoint time);    // "2026-11"

}  // namespace gb
