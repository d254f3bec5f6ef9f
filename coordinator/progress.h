// Progress of a long command, in one of two forms:
//   terminal: one line on stderr, rewritten in place, when stderr is a terminal: bytes done
//     of the estimated total and the rate. Silent otherwise.
//   JSON lines (backup --json): one JSON object per line on stderr, for a wrapper to show;
//     log lines on stderr are plain text, never starting with "{". Each object has "event"
//     and "elapsed_seconds" (since the command started):
//     {"event":"phase","phase":P}           P: preflight, capture, commit, complete (backup),
//                                            in that order; "set_id" once it is known
//     {"event":"progress","phase":P,"bytes_done":N,"datadir_bytes":N,"database_bytes":N,
//      "estimated_total_bytes":N,"rate_bytes_per_second":R}
//                                            at most once a second while bytes move, and
//                                            once when the counting ends; bytes_done never
//                                            decreases
//     {"event":"dss","state":S}              S: stopping, stopped, starting, running,
//                                            start_failed: DSS as the backup changes it
// Safe to update from any thread; lines are written whole, one write each.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace gb {

enum class ProgressOutput { kTerminal, kJsonLines };

class Progress {
 public:
  Progress(std::string label, uint64_t estimated_total,
           ProgressOutput output = ProgressOutput::kTerminal);
  ~Progress();  // ends the line

  // Known once the pre-flight ran; call before the streams count.
  void SetLabel(std::string label, uint64_t estimated_total);
  // A new phase (JSON lines only); `set_id` is added when not empty.
  void Phase(const std::string& phase, const std::string& set_id = {});
  // DSS changed state (JSON lines only).
  void Dss(const std::string& state);

  // Counters of independent streams (0: data dir, 1: database) add up.
  void Set(int stream, uint64_t bytes_done);
  void Finish();

 private:
  void Draw(bool force);
  void DrawTerminal(uint64_t done, double rate);
  void EmitJson(const std::string& line);
  double Elapsed() const;

  std::string label_;
  uint64_t total_;
  const ProgressOutput output_;
  bool enabled_;
  std::atomic<uint64_t> done_[2] = {0, 0};
  std::mutex draw_mutex_;
  std::string phase_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  std::atomic<uint64_t> last_drawn_{0};
  bool drawn_ = false;
};

}  // namespace gb
