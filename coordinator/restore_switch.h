// The switch: the brief moment a restore changes the live node. DSS stopped, the live data
// dir and database set aside, the staged ones moved in, DSS started again when the restore
// is pristine. Every step records its inverse in an UndoList; any failure replays it
// backwards, so that the node is left as it was. Runs on the restore's one thread.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "coordinator/restore_plan.h"
#include "io/env.h"
#include "io/status.h"

namespace gb {

class UndoList {
 public:
  // `step` says what was done ("renamed A to B"); `undo` takes it back.
  void Push(std::string step, std::function<Status()> undo);
  // Takes every step back, newest first, going on past failures. Returns, per undo that
  // failed, what was left undone and why.
  std::vector<std::string> Replay();
  void Clear() { steps_.clear(); }
  bool empty() const { return steps_.empty(); }

 private:
  struct Step {
    std::string what;
    std::function<Status()> undo;
  };
  std::vector<Step> steps_;
};

struct SwitchOutcome {
  std::string aside_dir;  // the replaced data dir, "" when there was none
  std::string aside_db;   // the replaced database, "" when there was none
  bool dss_was_running = false;
  bool dss_started = false;
};

// Runs the switch with the halves staged by StageHalves. On failure everything is put back,
// the staged halves are removed, DSS runs again if it ran, and the error says so.
Result<SwitchOutcome> SwitchHalves(const RestorePlan& plan, Env* env);

}  // namespace gb
