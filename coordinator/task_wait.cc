#include "coordinator/task_wait.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <thread>
#include <vector>

#include "coordinator/interrupt.h"

namespace gb {
namespace {

using Clock = std::chrono::steady_clock;

std::string Describe(const std::vector<DssTask>& tasks) {
  std::string text;
  for (const DssTask& task : tasks) text += (text.empty() ? "" : "; ") + task.description;
  return text;
}

std::string CountOf(const std::vector<DssTask>& tasks) {
  return std::to_string(tasks.size()) + " DSS long task" + (tasks.size() == 1 ? "" : "s");
}

std::vector<std::string> JobIds(const std::vector<DssTask>& tasks) {
  std::vector<std::string> ids;
  for (const DssTask& task : tasks) ids.push_back(task.job_id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

// The wait on the terminal: one line rewritten in place (where the progress line is drawn),
// cleared when the wait ends. Silent when stderr is not a terminal: the log says it all.
class WaitLine {
 public:
  WaitLine() : enabled_(isatty(STDERR_FILENO) == 1) {}
  ~WaitLine() {
    if (enabled_ && drawn_) std::fprintf(stderr, "\r\033[K");
  }
  void Show(const std::vector<DssTask>& tasks, Clock::duration left) {
    if (!enabled_) return;
    long seconds = static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(left).count());
    std::fprintf(stderr, "\r\033[Kwaiting before stopping DSS (%lds left): %s running: %s",
                 seconds, CountOf(tasks).c_str(), Describe(tasks).c_str());
    std::fflush(stderr);
    drawn_ = true;
  }

 private:
  bool enabled_;
  bool drawn_ = false;
};

// Sleeps up to `duration`, waking early on a signal.
Status SleepInterruptibly(Clock::duration duration) {
  const auto until = Clock::now() + duration;
  while (Clock::now() < until) {
    GB_RETURN_IF_ERROR(CheckInterrupted());
    std::this_thread::sleep_for(std::min<Clock::duration>(std::chrono::milliseconds(100),
                                                          until - Clock::now()));
  }
  return CheckInterrupted();
}

// Why backup will not ask the API, or "" when it will.
std::string SkipReason(const Config& config, Consistency consistency,
                       std::optional<DssState> dss_state) {
  if (config.node.api_key_file.empty()) return "[node] api_key_file is not set";
  if (consistency == Consistency::kOnline) return "an online backup does not stop DSS";
  if (dss_state == DssState::kStopped) return "DSS is stopped already";
  return {};
}

}  // namespace

Result<TaskWait> TaskWait::Prepare(const Config& config, Consistency consistency,
                                   std::optional<DssState> dss_state) {
  const NodeConfig& node = config.node;
  std::string skip = SkipReason(config, consistency, dss_state);
  if (!skip.empty()) {
    spdlog::info("running DSS tasks: not asked ({})", skip);
    return TaskWait(std::nullopt, skip, node.wait_for_tasks, node.wait_for_tasks_text);
  }
  GB_ASSIGN_OR_RETURN(DssApiEndpoint endpoint,
                      ResolveDssApiEndpoint(node.data_dir, node.api_url, node.api_key_file));
  GB_ASSIGN_OR_RETURN(DssApiClient client, DssApiClient::Open(std::move(endpoint)));
  return TaskWait(std::move(client), {}, node.wait_for_tasks, node.wait_for_tasks_text);
}

Status TaskWait::FirstAsk() const {
  if (!client_) return Status::Ok();
  Result<std::vector<DssTask>> tasks = client_->RunningTasks();
  if (!tasks.ok()) return tasks.status().WithContext("backup refused, DSS untouched");
  if (tasks->empty())
    spdlog::info("running DSS tasks: none ({})", client_->FuturesUrl());
  else
    spdlog::info("running DSS tasks: {} now ({}); DSS stops only once none runs (waiting up to {})",
                 CountOf(*tasks), Describe(*tasks), wait_text_);
  return Status::Ok();
}

Status TaskWait::WaitUntilIdle() const {
  if (!client_) return Status::Ok();
  const auto deadline = Clock::now() + wait_for_tasks_;
  WaitLine line;
  std::vector<std::string> announced;
  for (;;) {
    Result<std::vector<DssTask>> tasks = client_->RunningTasks();
    if (!tasks.ok()) return tasks.status().WithContext("asking DSS for running tasks before stopping it");
    if (tasks->empty()) {
      spdlog::info("running DSS tasks: none: DSS may stop");
      return Status::Ok();
    }
    const auto left = deadline - Clock::now();
    if (left <= Clock::duration::zero()) {
      return Status::Failed(CountOf(*tasks) + " still running after " + wait_text_ + " (" +
                                Describe(*tasks) + "): backup given up, DSS not stopped",
                            "let the tasks end (or abort them in DSS) and back up again, or "
                            "raise [node] wait_for_tasks");
    }
    if (JobIds(*tasks) != announced) {
      announced = JobIds(*tasks);
      spdlog::info("waiting for {} to end before stopping DSS (up to {}): {}", CountOf(*tasks),
                   wait_text_, Describe(*tasks));
    }
    line.Show(*tasks, left);
    GB_RETURN_IF_ERROR(SleepInterruptibly(std::min<Clock::duration>(kPollInterval, left)));
  }
}

std::string TaskWait::Plan() const {
  if (!client_) return "DSS tasks: not asked (" + skip_reason_ + ")";
  return "DSS tasks: ask " + client_->FuturesUrl() + " (key: " + client_->endpoint().key_file +
         ") before the stop; wait up to " + wait_text_ + " while long tasks run";
}

Finding DssTasksFinding(const Config& config, std::optional<DssState> dss_state) {
  const char* subject = "dss tasks";
  Consistency consistency =
      config.backup.mode == "online" ? Consistency::kOnline : Consistency::kOffline;
  std::string skip = SkipReason(config, consistency, dss_state);
  if (!skip.empty()) return Finding::Ok(subject, "skipped: " + skip);
  Result<DssApiEndpoint> endpoint =
      ResolveDssApiEndpoint(config.node.data_dir, config.node.api_url, config.node.api_key_file);
  if (!endpoint.ok()) return Finding::Problem(subject, endpoint.status());
  Result<DssApiClient> client = DssApiClient::Open(std::move(*endpoint));
  if (!client.ok()) return Finding::Problem(subject, client.status());
  Result<std::vector<DssTask>> tasks = client->RunningTasks();
  if (!tasks.ok()) return Finding::Problem(subject, tasks.status());
  std::string detail = "the API key is accepted at " + client->endpoint().base_url + "; " +
                       (tasks->empty() ? "no DSS long task running"
                                       : CountOf(*tasks) + " running: " + Describe(*tasks));
  return Finding::Ok(subject, detail);
}

}  // namespace gb
