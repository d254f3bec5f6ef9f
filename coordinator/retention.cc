#include "coordinator/retention.h"

#include <algorithm>
#include <ctime>
#include <map>
#include <set>

namespace gb {
namespace {

// keep_daily/weekly/monthly: walking newest first, the first set met in a bucket is the
// newest of that bucket; it is kept while fewer than `count` buckets have been kept.
void KeepNewestPerBucket(std::vector<RetentionDecision>& decisions, int count, const char* rule,
                         std::string (*bucket_of)(TimePoint)) {
  std::set<std::string> kept_buckets;
  for (auto& decision : decisions) {
    if (static_cast<int>(kept_buckets.size()) >= count) break;
    std::string bucket = bucket_of(decision.created_at);
    if (!kept_buckets.insert(bucket).second) continue;
    decision.keep = true;
    decision.reasons.push_back(std::string(rule) + " " + bucket);
  }
}

// Every set that a kept set builds on is kept, for each kept set that builds on it directly.
void KeepWhatKeptSetsBuildOn(std::vector<RetentionDecision>& decisions,
                             const std::map<std::string, std::string>& parent_of) {
  std::map<std::string, RetentionDecision*> by_id;
  std::vector<std::string> to_visit;
  for (auto& decision : decisions) {
    by_id[decision.id] = &decision;
    if (decision.keep) to_visit.push_back(decision.id);
  }
  while (!to_visit.empty()) {
    const std::string child = std::move(to_visit.back());
    to_visit.pop_back();
    auto parent = parent_of.find(child);
    if (parent == parent_of.end() || parent->second.empty()) continue;
    auto found = by_id.find(parent->second);
    if (found == by_id.end()) continue;  // missing: audit reports the broken chain
    RetentionDecision& needed = *found->second;
    needed.reasons.push_back("needed by " + child);
    if (!needed.keep) to_visit.push_back(needed.id);
    needed.keep = true;
  }
}

}  // namespace

std::string DayBucket(TimePoint time) { return FormatUtc(time, "%Y-%m-%d"); }
std::string IsoWeekBucket(TimePoint time) { return FormatUtc(time, "%G-W%V"); }
std::string MonthBucket(TimePoint time) { return FormatUtc(time, "%Y-%m"); }

RetentionPolicy RetentionPolicy::FromConfig(const RetentionConfig& config) {
  RetentionPolicy policy;
  policy.keep_last = config.keep_last;
  policy.keep_daily = config.keep_daily;
  policy.keep_weekly = config.keep_weekly;
  policy.keep_monthly = config.keep_monthly;
  policy.keep_within = config.keep_within;
  policy.keep_within_text = config.keep_within_text;
  return policy;
}

Status ValidateRetention(const RetentionPolicy& policy) {
  const std::pair<const char*, int> counts[] = {{"keep_last", policy.keep_last},
                                                {"keep_daily", policy.keep_daily},
                                                {"keep_weekly", policy.keep_weekly},
                                                {"keep_monthly", policy.keep_monthly}};
  for (const auto& [key, value] : counts)
    if (value < 0)
      return Status::Usage("[retention] " + std::string(key) + " = " + std::to_string(value) +
                           " is negative");
  if (policy.keep_within.count() < 0)
    return Status::Usage("[retention] keep_within is negative");
  bool keeps_something = policy.keep_last > 0 || policy.keep_daily > 0 ||
                         policy.keep_weekly > 0 || policy.keep_monthly > 0 ||
                         policy.keep_within.count() > 0;
  if (!keeps_something)
    return Status::Usage(
        "[retention] keeps nothing: keep_last, keep_daily, keep_weekly, keep_monthly and "
        "keep_within are all zero, so every set but the newest would be removed; a policy "
        "that keeps nothing is refused",
        "set at least one [retention] rule, e.g. keep_last = 7");
  return Status::Ok();
}

std::vector<RetentionCandidate> CandidatesOf(const std::vector<SetEntry>& sets) {
  std::vector<RetentionCandidate> candidates;
  for (const auto& set : sets)
    if (set.has_manifest && set.manifest.ok())
      candidates.push_back({set.id, set.manifest->created_at, set.manifest->parent});
  return candidates;
}

std::vector<RetentionDecision> ApplyRetention(const std::vector<RetentionCandidate>& sets,
                                              const RetentionPolicy& policy) {
  std::vector<RetentionDecision> decisions;
  decisions.reserve(sets.size());
  for (const auto& set : sets) decisions.push_back({set.id, set.created_at, false, {}});
  std::sort(decisions.begin(), decisions.end(),
            [](const RetentionDecision& a, const RetentionDecision& b) {
              if (a.created_at != b.created_at) return a.created_at > b.created_at;
              return a.id > b.id;
            });
  if (decisions.empty()) return decisions;

  decisions.front().keep = true;
  decisions.front().reasons.push_back("newest");

  for (size_t i = 0; i < decisions.size() && static_cast<int>(i) < policy.keep_last; ++i) {
    decisions[i].keep = true;
    decisions[i].reasons.push_back("keep_last");
  }
  KeepNewestPerBucket(decisions, policy.keep_daily, "keep_daily", &DayBucket);
  KeepNewestPerBucket(decisions, policy.keep_weekly, "keep_weekly", &IsoWeekBucket);
  KeepNewestPerBucket(decisions, policy.keep_monthly, "keep_monthly", &MonthBucket);

  if (policy.keep_within.count() > 0) {
    TimePoint newest = decisions.front().created_at;
    std::string text = policy.keep_within_text.empty()
                           ? std::to_string(policy.keep_within.count()) + "s"
                           : policy.keep_within_text;
    for (auto& decision : decisions)
      if (newest - decision.created_at < policy.keep_within) {
        decision.keep = true;
        decision.reasons.push_back("keep_within " + text);
      }
  }
  std::map<std::string, std::string> parent_of;
  for (const auto& set : sets) parent_of[set.id] = set.parent;
  KeepWhatKeptSetsBuildOn(decisions, parent_of);
  return decisions;
}

}  // namespace gb
