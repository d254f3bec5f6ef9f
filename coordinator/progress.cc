#include "coordinator/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "coordinator/format_bytes.h"

namespace gb {
namespace {

// A terminal line is redrawn often; a machine reading JSON lines wants fewer.
constexpr auto kTerminalEvery = std::chrono::milliseconds(200);
constexpr auto kJsonEvery = std::chrono::seconds(1);

}  // namespace

Progress::Progress(std::string label, uint64_t estimated_total, ProgressOutput output)
    : label_(std::move(label)),
      total_(estimated_total),
      output_(output),
      enabled_(output == ProgressOutput::kJsonLines || isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

Progress::~Progress() { Finish(); }

void Progress::SetLabel(std::string label, uint64_t estimated_total) {
  std::lock_guard<std::mutex> lock(draw_mutex_);
  label_ = std::move(label);
  total_ = estimated_total;
}

double Progress::Elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::EmitJson(const std::string& line) {
  // One write(2) per line: log lines written at the same time never cut into it.
  const std::string whole = line + "\n";
  ssize_t written = write(STDERR_FILENO, whole.data(), whole.size());
  (void)written;  // stderr gone: nothing better to do
}

void Progress::Phase(const std::string& phase, const std::string& set_id) {
  if (output_ != ProgressOutput::kJsonLines) return;
  std::lock_guard<std::mutex> lock(draw_mutex_);
  phase_ = phase;
  nlohmann::json event = {{"event", "phase"}, {"phase", phase}, {"elapsed_seconds", Elapsed()}};
  if (!set_id.empty()) event["set_id"] = set_id;
  EmitJson(event.dump());
}

void Progress::Dss(const std::string& state) {
  if (output_ != ProgressOutput::kJsonLines) return;
  std::lock_guard<std::mutex> lock(draw_mutex_);
  EmitJson(nlohmann::json{{"event", "dss"}, {"state", state}, {"elapsed_seconds", Elapsed()}}
               .dump());
}

void Progress::Set(int stream, uint64_t bytes_done) {
  if (!enabled_) return;
  // A stream that starts over (an incremental set that falls back to a full one) does not
  // take the count back: a reader sees bytes done only grow.
  std::atomic<uint64_t>& done = done_[stream & 1];
  uint64_t previous = done.load();
  while (bytes_done > previous && !done.compare_exchange_weak(previous, bytes_done)) {
  }
  Draw(false);
}

void Progress::Draw(bool force) {
  std::unique_lock<std::mutex> lock(draw_mutex_, std::defer_lock);
  if (force) lock.lock();
  else if (!lock.try_lock()) return;
  auto now = std::chrono::steady_clock::now();
  const bool json = output_ == ProgressOutput::kJsonLines;
  if (!force && now - last_draw_ < (json ? std::chrono::milliseconds(kJsonEvery) : kTerminalEvery))
    return;
  last_draw_ = now;
  const uint64_t datadir = done_[0].load();
  const uint64_t database = done_[1].load();
  // Under the lock: the sum read now is at least the one drawn before.
  const uint64_t done = std::max(datadir + database, last_drawn_.load());
  last_drawn_.store(done);
  double seconds = std::chrono::duration<double>(now - start_).count();
  double rate = seconds > 0 ? done / seconds : 0;
  drawn_ = true;
  if (!json) return DrawTerminal(done, rate);
  EmitJson(nlohmann::json{{"event", "progress"},
                          {"phase", phase_},
                          {"bytes_done", done},
                          {"datadir_bytes", datadir},
                          {"database_bytes", database},
                          {"estimated_total_bytes", total_},
                          {"rate_bytes_per_second", static_cast<uint64_t>(rate)},
                          {"elapsed_seconds", seconds}}
               .dump());
}

void Progress::DrawTerminal(uint64_t done, double rate) {
  std::fprintf(stderr, "\r%s: %s of ~%s  %s/s   ", label_.c_str(), FormatBytes(done).c_str(),
               FormatBytes(total_).c_str(), FormatBytes(static_cast<uint64_t>(rate)).c_str());
  std::fflush(stderr);
}

void Progress::Finish() {
  if (!enabled_) return;
  // Nothing new since the last line ended (or nothing at all): no line.
  if (!drawn_ && done_[0].load() + done_[1].load() == last_drawn_.load()) return;
  Draw(true);
  if (output_ == ProgressOutput::kTerminal) std::fprintf(stderr, "\n");
  drawn_ = false;
}

}  // namespace gb
