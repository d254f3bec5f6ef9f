#include "coordinator/metrics.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <cmath>
#include <filesystem>
#include <map>
#include <tuple>
#include <vector>

#include "coordinator/metrics_textfile.h"
#include "coordinator/repository.h"
#include "io/atomic_file.h"
#include "io/files.h"

namespace gb {
namespace {

constexpr char kLastRun[] = "govern_backup_last_run_timestamp_seconds";
constexpr char kLastSuccess[] = "govern_backup_last_success_timestamp_seconds";
constexpr char kLastExitCode[] = "govern_backup_last_exit_code";
constexpr char kLastDuration[] = "govern_backup_last_duration_seconds";
constexpr char kBackupBytes[] = "govern_backup_last_backup_bytes";
constexpr char kDowntime[] = "govern_backup_last_backup_dss_downtime_seconds";
constexpr char kSets[] = "govern_backup_sets";
constexpr char kNewestSet[] = "govern_backup_newest_set_timestamp_seconds";
constexpr char kAuditFindings[] = "govern_backup_audit_findings";

const std::vector<MetricFamily>& Families() {
  static const std::vector<MetricFamily> families = {
      {kLastRun, "gauge", "Unix time when the command last finished, whatever its outcome."},
      {kLastSuccess, "gauge", "Unix time when the command last finished with exit code 0."},
      {kLastExitCode, "gauge", "Exit code of the command's last run (0 = success)."},
      {kLastDuration, "gauge", "Duration of the command's last run, in seconds."},
      {kBackupBytes, "gauge", "Stored bytes of each half of the last complete backup set."},
      {kDowntime, "gauge", "Seconds DSS was stopped during the last complete backup set."},
      {kSets, "gauge", "Complete backup sets in the repository."},
      {kNewestSet, "gauge", "Unix time of the newest complete set in the repository."},
      {kAuditFindings, "gauge", "Problems found by the last audit, by kind."},
  };
  return families;
}

const std::vector<std::string>& AuditKinds() {
  static const std::vector<std::string> kinds = {"set",  "repository", "lock",    "retention",
                                                 "node", "database",   "leftover"};
  return kinds;
}

bool IsOurs(const MetricSample& sample) {
  const auto& families = Families();
  return std::any_of(families.begin(), families.end(),
                     [&](const MetricFamily& family) { return family.name == sample.name; });
}

// The samples of the previous file that are ours. A line that does not parse (an edit by
// hand, another tool's) is dropped with a warning, keeping the figures of the lines that do:
// a figure gone silently would also silence the alerts computed from it.
std::vector<MetricSample> PreviousSamples(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::exists(path, error)) return {};
  Result<std::string> text = ReadWholeFile(path);
  if (!text.ok()) {
    spdlog::warn("metrics textfile {}: {}; writing it anew (the other commands' figures are lost "
                 "until they run again)",
                 path, text.status().message());
    return {};
  }
  SalvagedMetricSamples read = SalvageMetricSamples(*text);
  if (!read.refused_lines.empty()) {
    const size_t more = read.refused_lines.size() - 1;
    spdlog::warn("metrics textfile {}: {}{}; left out of the rewritten file, the figures of the "
                 "other lines are kept",
                 path, read.refused_lines.front(),
                 more ? " (and " + std::to_string(more) + " more such lines)" : "");
  }
  std::vector<MetricSample> samples;
  for (MetricSample& sample : read.samples)
    if (IsOurs(sample)) samples.push_back(std::move(sample));
  return samples;
}

// The samples, where this run's figures replace the ones with the same name and labels.
class SampleSet {
 public:
  explicit SampleSet(std::vector<MetricSample> samples) : samples_(std::move(samples)) {}

  void Put(const std::string& name, std::map<std::string, std::string> labels, double value) {
    for (MetricSample& sample : samples_)
      if (sample.name == name && sample.labels == labels) {
        sample.value = value;
        return;
      }
    samples_.push_back({name, std::move(labels), value});
  }

  // Removes a family's samples of one repository (e.g. an audit's kinds, all replaced).
  void Clear(const std::string& name, const std::string& repository) {
    samples_.erase(std::remove_if(samples_.begin(), samples_.end(),
                                  [&](const MetricSample& sample) {
                                    return sample.name == name &&
                                           sample.labels.count("repository") &&
                                           sample.labels.at("repository") == repository;
                                  }),
                   samples_.end());
  }

  // Stable order: by name, then labels, so that a diff of two files shows changed values only.
  std::vector<MetricSample> Sorted() const {
    std::vector<MetricSample> sorted = samples_;
    std::sort(sorted.begin(), sorted.end(), [](const MetricSample& a, const MetricSample& b) {
      return std::tie(a.name, a.labels) < std::tie(b.name, b.labels);
    });
    return sorted;
  }

 private:
  std::vector<MetricSample> samples_;
};

// The second a set id names ("20261124T081500Z-3f9a1c": UTC), in unix seconds.
std::optional<int64_t> SetIdTime(const std::string& id) {
  std::tm parts{};
  const char* end = strptime(id.c_str(), "%Y%m%dT%H%M%SZ", &parts);
  if (end == nullptr) return std::nullopt;
  return static_cast<int64_t>(timegm(&parts));
}

void PutReport(SampleSet& samples, const CommandMetrics& metrics) {
  const std::string& repository = metrics.repository;
  const CommandReport* report = metrics.report;
  if (report && report->backup) {
    const BackupFigures& backup = *report->backup;
    samples.Put(kBackupBytes, {{"repository", repository}, {"half", "datadir"}},
                static_cast<double>(backup.datadir_bytes));
    samples.Put(kBackupBytes, {{"repository", repository}, {"half", "database"}},
                static_cast<double>(backup.database_bytes));
    samples.Put(kDowntime, {{"repository", repository}}, backup.dss_downtime_seconds);
  }
  if (report && report->audit_problem_subjects) {
    std::map<std::string, int> by_kind;
    for (const std::string& kind : AuditKinds()) by_kind[kind] = 0;
    for (const std::string& subject : *report->audit_problem_subjects)
      ++by_kind[AuditFindingKind(subject)];
    samples.Clear(kAuditFindings, repository);
    for (const auto& [kind, count] : by_kind)
      samples.Put(kAuditFindings, {{"repository", repository}, {"kind", kind}}, count);
  }
  if (metrics.complete_set_ids) {
    const std::vector<std::string>& ids = *metrics.complete_set_ids;
    samples.Put(kSets, {{"repository", repository}}, static_cast<double>(ids.size()));
    samples.Clear(kNewestSet, repository);
    std::optional<int64_t> newest;
    for (const std::string& id : ids) {
      std::optional<int64_t> time = SetIdTime(id);
      if (time && (!newest || *time > *newest)) newest = time;
    }
    if (newest) samples.Put(kNewestSet, {{"repository", repository}}, static_cast<double>(*newest));
  }
}

// Holds an exclusive lock on the textfile's directory while it lives: two commands that end
// at once would otherwise each read the old file and one's figures would be lost.
class DirectoryLock {
 public:
  static Result<DirectoryLock> Acquire(const std::string& directory) {
    int fd = open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno("metrics directory " + directory, errno);
    while (flock(fd, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      Status error = Status::FromErrno("locking metrics directory " + directory, errno);
      close(fd);
      return error;
    }
    return DirectoryLock(fd);
  }
  DirectoryLock(DirectoryLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  DirectoryLock(const DirectoryLock&) = delete;
  ~DirectoryLock() {
    if (fd_ >= 0) close(fd_);  // closing releases the lock
  }

 private:
  explicit DirectoryLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace

std::string AuditFindingKind(const std::string& subject) {
  if (subject.rfind("set ", 0) == 0 || Repository::LooksLikeSetId(subject)) return "set";
  for (const std::string& kind : AuditKinds())
    if (subject == kind) return kind;
  return "leftover";
}

Status UpdateMetricsTextfile(const std::string& path, const CommandMetrics& metrics) {
  const std::string directory = std::filesystem::path(path).parent_path().string();
  GB_ASSIGN_OR_RETURN(DirectoryLock lock, DirectoryLock::Acquire(directory));
  // Under the lock no other writer is at work: a temporary file is a killed writer's.
  Status cleaned = RemoveAtomicWriteLeftovers(path);
  if (!cleaned.ok()) spdlog::warn("metrics textfile: {}", cleaned.ToString());
  SampleSet samples(PreviousSamples(path));
  const std::map<std::string, std::string> labels = {{"repository", metrics.repository},
                                                     {"command", metrics.command}};
  const double finished =
      std::chrono::duration<double>(metrics.finished_at.time_since_epoch()).count();
  samples.Put(kLastRun, labels, std::floor(finished));
  if (metrics.exit_code == 0) samples.Put(kLastSuccess, labels, std::floor(finished));
  samples.Put(kLastExitCode, labels, metrics.exit_code);
  samples.Put(kLastDuration, labels, std::round(metrics.duration_seconds * 1000) / 1000);
  PutReport(samples, metrics);
  // node_exporter runs as its own user: the file is world-readable (it holds no secret).
  return WriteFileAtomically(path, FormatMetrics(Families(), samples.Sorted()), 0644)
      .WithContext("metrics textfile");
}

Finding MetricsTextfileFinding(const std::string& path) {
  const char* subject = "metrics textfile";
  if (path.empty()) return Finding::Ok(subject, "not configured ([metrics] textfile)");
  const std::string folder = std::filesystem::path(path).parent_path().string();
  std::error_code error;
  if (!std::filesystem::is_directory(folder, error))
    return Finding::Warning(subject, "cannot be written: its folder " + folder +
                                         " does not exist (create it, e.g. node_exporter's "
                                         "textfile directory)");
  if (::access(folder.c_str(), W_OK | X_OK) != 0)
    return Finding::Warning(subject, "cannot be written: its folder " + folder +
                                         " is not writable by this user");
  if (std::filesystem::exists(path, error) && !std::filesystem::is_regular_file(path, error))
    return Finding::Warning(subject, "cannot be written: " + path + " is not a regular file");
  return Finding::Ok(subject, path + " (rewritten after backup, verify, audit and prune)");
}

}  // namespace gb
