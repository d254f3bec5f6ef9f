// `govern-backup audit [--max-age DURATION] [--quick]`: the repository and the live node as
// a monitoring check. Every set is checked as verify checks it (every stored byte hashed,
// unless --quick); then what lies around the sets (incomplete sets, orphan halves, leftovers of
// interrupted backups and restores), retention, the age of the newest set, and whether the
// live node still matches the newest set (audit_node.h); a set that builds on a missing or
// damaged set is a broken chain. One finding per problem with what to do, and an ok finding
// for what is worth knowing (the newest set, what a restore kept aside); exit 3 when there is
// any problem. Audit takes no lock and changes nothing.
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <set>

#include "coordinator/audit_node.h"
#include "coordinator/chain.h"
#include "coordinator/commands.h"
#include "coordinator/findings.h"
#include "coordinator/half_stream.h"
#include "coordinator/manifest_signature.h"
#include "coordinator/node_context.h"
#include "coordinator/pair_identity.h"
#include "coordinator/repository.h"
#include "coordinator/retention.h"
#include "coordinator/set_checks.h"
#include "coordinator/work_leftovers.h"
#include "coordinator/store_lock.h"
#include "io/text.h"
#include "io/zstd_file.h"
#include "store/object_stream.h"

namespace gb {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::system_clock;

class Audit : private FindingList {
 public:
  Audit(const GlobalOptions& global, const AuditOptions& options, Config config,
        RetentionConfig retention, std::unique_ptr<Repository> repository)
      : global_(global), options_(options), config_(std::move(config)),
        retention_(std::move(retention)), repository_(std::move(repository)),
        repo_(*repository_), now_(global.env->Now()) {}

  Status Run() {
    std::optional<std::chrono::seconds> max_age;
    if (!options_.max_age.empty()) {
      Result<std::chrono::seconds> parsed = ParseDuration(options_.max_age);
      if (!parsed.ok())
        return Status::Usage("--max-age " + options_.max_age + ": " + parsed.status().message(),
                             "a duration such as 26h, 2d or 1d12h");
      max_age = *parsed;
    }
    if (!repo_.Exists()) {
      Add("repository", "repository " + repo_.root() + " does not exist: no backup was ever taken",
          "take one: `govern-backup backup`");
    } else {
      repo_exists_ = true;
      CheckLocks();
      CheckSets();
      if (repo_.is_local()) {
        CheckRepositoryRoot();
        CheckWorkLeftovers();
      }
      CheckPendingWrites();
      CheckRetention();
    }
    CheckNewest(max_age);
    LiveNodeAudit live;
    live.config = &config_;
    live.newest = Newest();
    live.sets = &sets_;
    live.running = running_;
    live.backup_leftover = backup_leftover_;
    live.now = now_;
    for (Finding& finding : AuditLiveNode(live)) findings_.push_back(std::move(finding));
    return Report();
  }

 private:
  // A problem: subject is a set id, a path, "node", "database", "repository" or "retention".

  std::string AgeAndSize(const std::string& path) const { return PathAgeAndSize(path, now_); }

  // Step: every set, as verify checks it.
  void CheckSets() {
    Result<std::vector<SetEntry>> listed = repo_.ListSets();
    if (!listed.ok()) {
      Add("repository", listed.status().message(), "check the repository's permissions");
      return;
    }
    sets_ = std::move(listed).value();
    const std::vector<Manifest> complete = CompleteManifests();
    Result<ManifestTrust> trust = ManifestTrust::FromConfig(config_.encryption);
    if (!trust.ok()) Add("keys", trust.status().message(), trust.status().hint());
    for (const auto& set : sets_) {
      if (!set.has_manifest) {
        CheckIncompleteSet(set);
        continue;
      }
      ++sets_checked_;
      SetCheckOptions check;
      check.depth = options_.quick ? CheckDepth::kHeaders : CheckDepth::kStoredBytes;
      check.complete_sets = &complete;
      check.hash_only_without_identity = true;
      SetCheckReport report = CheckSet(repo_, set.id, check);
      for (Finding& finding : report.findings) {
        // A chain that does not load is the set's own finding; CheckChains names the sets
        // that build on a damaged one.
        if (finding.subject != SetSubject(set.id, kChainPart)) damaged_.insert(set.id);
        if (finding.status.hint().empty())
          finding.status = finding.status.WithHint("`govern-backup verify " + set.id + "` for details");
        findings_.push_back(std::move(finding));
      }
      CheckSetDirectory(set);
      if (trust.ok()) CheckSignature(*trust, set);
    }
    CheckChains(complete);
  }

  // A set no trusted key vouches for (when signing is configured) is as bad as a damaged one.
  void CheckSignature(const ManifestTrust& trust, const SetEntry& set) {
    if (!set.manifest.ok()) return;
    Status accepted = trust.Accept(*set.manifest);
    if (accepted.ok()) return;
    damaged_.insert(set.id);
    findings_.push_back(Finding::Problem(SetSubject(set.id, kSignaturePart), accepted));
  }

  std::vector<Manifest> CompleteManifests() const {
    std::vector<Manifest> complete;
    for (const auto& set : sets_)
      if (set.has_manifest && set.manifest.ok()) complete.push_back(*set.manifest);
    return complete;
  }

  // Step: the sets that build on a damaged set (a missing or incomplete one is named in the
  // chain finding of each set that needs it).
  void CheckChains(const std::vector<Manifest>& complete) {
    for (const auto& [id, dependents] : DependentsOf(complete)) {
      if (!damaged_.count(id)) continue;
      Add(SetSubject(id, kChainPart),
          "set " + id + " is damaged, and " + std::to_string(dependents.size()) +
              " set(s) build on it (" + Join(dependents) + "): none of them can be restored",
          "put back an intact copy of set " + id + " (`govern-backup copy` from another "
          "repository); until then the newest sound set is the one to restore, and the next "
          "backup should be full: `govern-backup backup --full`");
    }
  }

  // A backup that runs now writes a set without manifest: only its lock tells it apart from
  // the leftover of one that died.
  bool BackupRunning() const {
    return running_ && running_->operation == LockOperation::kBackup;
  }

  void CheckIncompleteSet(const SetEntry& set) {
    const std::string where = repo_.Locate(repo_.SetPrefix(set.id));
    const std::string what = std::to_string(set.objects.size()) + " object(s), " +
                             FormatBytes(set.bytes());
    if (BackupRunning()) {
      Note(set.id, "set " + where + " has no manifest yet (" + what + "): " +
                       running_->Describe() + " is writing it, or left it");
      return;
    }
    backup_leftover_ = true;
    const std::string dir = repo_.root() + "/" + set.id;
    Add(set.id,
        (repo_.is_local() ? "set directory " + dir : "set " + where) +
            " has no manifest: an incomplete set that can never be restored (" +
            (repo_.is_local() ? AgeAndSize(dir) : what) + ")",
        "an interrupted backup or prune left it; `govern-backup prune` removes it");
  }

  // Objects in a set that are not the set's manifest or halves.
  void CheckSetDirectory(const SetEntry& set) {
    std::set<std::string> expected = {Repository::DatadirFileName(set.id),
                                      Repository::DatabaseFileName(set.id)};
    if (set.manifest.ok()) {
      expected.insert(set.manifest->datadir.file);
      if (set.manifest->database) expected.insert(set.manifest->database->file);
      if (set.manifest->index) expected.insert(set.manifest->index->file);
    }
    const std::string prefix = repo_.SetPrefix(set.id);
    for (const ObjectInfo& object : set.objects)
      if (!expected.count(object.key.substr(prefix.size()))) Orphan(object.key);
  }

  // Who holds the repository's lock: a running operation is worth knowing; a remote lock
  // that nobody refreshes any more is a problem only `unlock --stale` solves.
  void CheckLocks() {
    if (repo_.is_local()) {
      running_ = RunningHolder(repo_);
      if (running_) Note("repository", "an operation is running: " + running_->Describe());
      return;
    }
    Result<std::vector<StoreLockEntry>> locks =
        ListStoreLocks(repo_.store(), now_, StoreLockOptions().stale_after);
    if (!locks.ok()) {
      Add("repository", locks.status().message(), "check the credentials and the bucket");
      return;
    }
    for (const StoreLockEntry& lock : *locks) {
      if (lock.stale) {
        Add("lock", "stale lock " + repo_.Locate(lock.key) + ": " + lock.holder.Describe() +
                        ", not refreshed for " + FormatAge(std::chrono::duration_cast<std::chrono::seconds>(now_ - lock.refreshed)),
            "if that operation is surely gone: `govern-backup unlock --stale`");
        continue;
      }
      running_ = lock.holder;
      Note("repository", "an operation is running: " + lock.holder.Describe());
    }
  }

  // Step: uploads begun and never completed nor aborted (S3): storage that holds nothing.
  void CheckPendingWrites() {
    Result<std::vector<PendingWrite>> pending = repo_.store().ListPendingWrites("");
    if (!pending.ok()) {
      Add("repository", pending.status().message(), "check the credentials and the bucket");
      return;
    }
    for (const PendingWrite& write : *pending) {
      const std::string where = repo_.Locate(write.key);
      if (BackupRunning()) {
        Note(where, "upload in progress (started " + write.initiated + ")");
        continue;
      }
      backup_leftover_ = true;
      Add(where, "unfinished upload " + where + " (started " + write.initiated +
                     "): an interrupted backup left it; its parts take space and hold nothing",
          "`govern-backup prune` aborts it");
    }
  }

  // Step: what lies in the repository besides the sets and its own dot-entries.
  void CheckRepositoryRoot() {
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(repo_.root(), error)) {
      std::string name = entry.path().filename().string();
      if (name == kLockFileName || name == kWorkDirName) continue;
      if (entry.is_directory(error) && Repository::LooksLikeSetId(name)) continue;
      Orphan(name);
    }
  }

  uint64_t ObjectBytes(const std::string& key) const {
    Result<HeadResult> head = repo_.store().Head(key);
    return head.ok() && head->exists ? head->info.size : 0;
  }

  // `key` lies in the repository and belongs to no set.
  void Orphan(const std::string& key) {
    const std::string path = repo_.Locate(key);
    std::string name = fs::path(key).filename().string();
    bool is_half = name.size() > 4 && name.compare(name.size() - 4, 4, ".zst") == 0;
    if (!is_half) {
      std::error_code error;
      Add(path, "unexpected " + std::string(fs::is_directory(path, error) ? "directory " : "file ") +
                    path + " in the repository" +
                    (repo_.is_local() ? " (" + AgeAndSize(path) + ")" : std::string()),
          "it belongs to no set: move it out of the repository or remove it");
      return;
    }
    std::string claims;
    Result<std::string> frame = ReadObjectHeader(repo_, key, name);
    if (frame.ok()) {
      Result<PairIdentity> identity = PairIdentity::Parse(*frame, path);
      if (identity.ok()) claims = "; it carries the " + identity->role + " half of set " + identity->id;
    }
    Add(path, "half " + path + " belongs to no set (" +
                  (repo_.is_local() ? AgeAndSize(path) : FormatBytes(ObjectBytes(key))) + claims + ")",
        "no manifest refers to it, so it can never be restored by govern-backup: put it back into "
        "its set's directory if that set misses it, else remove it");
  }

  // Step: leftovers of interrupted backups (and of verify --deep) in <repo>/.work.
  void CheckWorkLeftovers() {
    Result<std::vector<WorkEntry>> entries = ListWorkEntries(repo_, now_);
    if (!entries.ok()) {
      Add(repo_.WorkRoot(), entries.status().message(), "check the repository's permissions");
      return;
    }
    for (const auto& entry : *entries) {
      if (entry.in_use) {
        Note(entry.path, "in use by " + entry.owner);
        continue;
      }
      if (entry.kind == WorkEntry::Kind::kBackup) backup_leftover_ = true;
      Add(entry.path,
          entry.Describe() + ": " + entry.path + " (age " + FormatAge(entry.age) + ", " +
              FormatBytes(entry.bytes) + ")",
          "`govern-backup prune` removes it (or rm -rf " + entry.path + ")");
    }
  }

  // Step: complete sets that the retention policy no longer keeps.
  void CheckRetention() {
    RetentionPolicy policy = RetentionPolicy::FromConfig(retention_);
    Status valid = ValidateRetention(policy);
    if (!valid.ok()) {
      Add("retention", valid.message(), valid.hint());
      return;
    }
    for (const auto& decision : ApplyRetention(CandidatesOf(sets_), policy))
      if (!decision.keep)
        Add(decision.id,
            "set " + decision.id + " (" + FormatRfc3339(decision.created_at) +
                ") is past retention: `govern-backup prune` would remove it",
            "run `govern-backup prune` (is the nightly prune running?)");
  }

  const Manifest* Newest() const {
    const Manifest* newest = nullptr;
    for (const auto& set : sets_)
      if (set.has_manifest && set.manifest.ok() &&
          (!newest || set.manifest->created_at >= newest->created_at))
        newest = &*set.manifest;
    return newest;
  }

  // Step: the age of the newest complete set.
  void CheckNewest(const std::optional<std::chrono::seconds>& max_age) {
    const Manifest* newest = Newest();
    if (!newest) {
      if (!repo_exists_) return;  // said already
      Add("repository", "no complete backup set in " + repo_.root(), "take one: `govern-backup backup`");
      return;
    }
    auto age = std::chrono::duration_cast<std::chrono::seconds>(now_ - newest->created_at);
    newest_age_ = age;
    Note("newest set", newest->id + " (" + FormatRfc3339(newest->created_at) + ", " +
                           FormatAge(age) + " old)");
    if (max_age && age > *max_age)
      Add(newest->id,
          "the newest complete set " + newest->id + " is " + FormatAge(age) + " old, more than --max-age " +
              options_.max_age,
          "backups have stopped: check the timer (`systemctl status govern-backup.timer`, "
          "`journalctl -u govern-backup`) and take a backup now");
  }

  // Problems first: they are what a monitoring check is read for.
  Status Report() {
    std::stable_partition(findings_.begin(), findings_.end(),
                          [](const Finding& finding) { return !finding.ok(); });
    const size_t problems = CountProblems(findings_);
    if (global_.report) {  // for the metrics textfile: problems by kind
      global_.report->audit_problem_subjects.emplace();
      for (const Finding& finding : findings_)
        if (!finding.ok()) global_.report->audit_problem_subjects->push_back(finding.subject);
    }
    if (global_.json) {
      nlohmann::json document = ReportJson("audit", findings_);
      document["repository"] = repo_.root();
      document["sets_checked"] = sets_checked_;
      document["quick"] = options_.quick;
      if (newest_age_) document["newest_age_seconds"] = newest_age_->count();
      PrintJson(document, std::cout);
    } else {
      PrintFindings(findings_, std::cout);
      if (problems == 0)
        std::cout << "audit: clean (" << sets_checked_ << " set(s) checked"
                  << (options_.quick ? ", quick" : "") << ")\n";
      else
        std::cout << "audit: " << problems << " problem(s)\n";
    }
    std::cout.flush();
    if (problems == 0) return Status::Ok();
    return Status::Problems("audit found " + std::to_string(problems) + " problem(s)");
  }

  const GlobalOptions& global_;
  const AuditOptions& options_;
  Config config_;
  RetentionConfig retention_;
  std::unique_ptr<Repository> repository_;
  const Repository& repo_;
  Clock::time_point now_;
  std::optional<LockHolder> running_;
  std::vector<SetEntry> sets_;
  std::set<std::string> damaged_;  // complete sets whose checks found problems
  int64_t sets_checked_ = 0;
  bool backup_leftover_ = false;
  bool repo_exists_ = false;
  std::optional<std::chrono::seconds> newest_age_;
};

}  // namespace

Status RunAudit(const GlobalOptions& global, const AuditOptions& options) {
  GB_ASSIGN_OR_RETURN(Config config, LoadConfig(global.config_path));
  GB_ASSIGN_OR_RETURN(const RepositoryConfig* repository_config, config.FindRepository(global.repo));
  RetentionConfig retention = config.RetentionFor(*repository_config);
  GB_ASSIGN_OR_RETURN(auto repository, OpenRepository(config, global.repo, global.wrap_store));
  return Audit(global, options, std::move(config), std::move(retention), std::move(repository))
      .Run();
}

}  // namespace gb
