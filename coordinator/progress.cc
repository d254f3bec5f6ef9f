#include "coordinator/progress.h"

#include <unistd.h>

#include <cstdio>

#include "coordinator/format_bytes.h"

namespace gb {

Progress::Progress(std::string label, uint64_t estimated_total)
    : label_(std::move(label)),
      total_(estimated_total),
      enabled_(isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

Progress::~Progress() { Finish(); }

void Progress::Set(int stream, uint64_t bytes_done) {
  if (!enabled_) return;
  done_[stream & 1].store(bytes_done);
  Draw(false);
}

void Progress::Draw(bool force) {
  std::unique_lock<std::mutex> lock(draw_mutex_, std::try_to_lock);
  if (!lock.owns_lock()) return;
  auto now = std::chrono::steady_clock::now();
  if (!force && now - last_draw_ < std::chrono::milliseconds(200)) return;
  last_draw_ = now;
  uint64_t done = done_[0].load() + done_[1].load();
  double seconds = std::chrono::duration<double>(now - start_).count();
  double rate = seconds > 0 ? done / seconds : 0;
  std::fprintf(stderr, "\r%s: %s of ~%s  %s/s   ", label_.c_str(), FormatBytes(done).c_str(),
               FormatBytes(total_).c_str(), FormatBytes(static_cast<uint64_t>(rate)).c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::Finish() {
  if (!enabled_ || !drawn_) return;
  Draw(true);
  std::fprintf(stderr, "\n");
  drawn_ = false;
}

}  // namespace gb
