#include "coordinator/restore_switch.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <optional>

#include "coordinator/interrupt.h"
#include "coordinator/restore_staging.h"
#include "datadir/dss_control.h"
#include "io/atomic_file.h"
#include "io/text.h"
#include "pg/server.h"

namespace gb {

void UndoList::Push(std::string step, std::function<Status()> undo) {
  spdlog::info("switch: {}", step);
  steps_.push_back({std::move(step), std::move(undo)});
}

std::vector<std::string> UndoList::Replay() {
  std::vector<std::string> left;
  for (auto it = steps_.rbegin(); it != steps_.rend(); ++it) {
    Status undone = it->undo();
    if (undone.ok()) {
      spdlog::info("rolled back: {}", it->what);
    } else {
      spdlog::error("could not roll back \"{}\": {}", it->what, undone.ToString());
      left.push_back(it->what + " (" + undone.message() + ")");
    }
  }
  steps_.clear();
  return left;
}

namespace {

class Switch {
 public:
  Switch(const RestorePlan& plan, Env* env) : plan_(plan), env_(env) {
    if (plan.dss) dss_.emplace(*plan.dss);
  }

  Result<SwitchOutcome> Run() {
    GB_RETURN_IF_ERROR(StopDss());
    Status switched = MoveHalves();
    if (!switched.ok()) return switched;
    GB_RETURN_IF_ERROR(StartDssIfPristine());
    undo_.Clear();
    return outcome_;
  }

 private:
  // Step: stop DSS, as it runs now (it may have changed since the pre-flight).
  Status StopDss() {
    if (!dss_) return Status::Ok();
    Result<DssState> state = dss_->Query();
    if (!state.ok()) return Abort("checking whether DSS runs", state.status());
    outcome_.dss_was_running = *state == DssState::kRunning;
    if (!outcome_.dss_was_running) return Status::Ok();
    spdlog::info("stopping DSS for the switch");
    Status stopped = dss_->Stop();
    if (!stopped.ok()) {
      // A stop that half happened leaves DSS down: bring it back.
      Result<DssState> after = dss_->Query();
      if (after.ok() && *after == DssState::kStopped) {
        undo_.Push("DSS stopped", [this] { return dss_->Start(); });
      }
      return Abort("stopping DSS", stopped);
    }
    undo_.Push("stopped DSS", [this] { return dss_->Start(); });
    return Status::Ok();
  }

  Status MoveHalves() {
    GB_RETURN_IF_ERROR(Check("checking for a signal", CheckInterrupted()));
    // Step: nobody else on the database about to be replaced.
    if (plan_.has_database && plan_.database_exists) {
      Result<std::vector<std::string>> sessions =
          OtherSessions(plan_.database, plan_.database.dbname);
      if (!sessions.ok()) return Abort("listing the sessions on the database", sessions.status());
      if (!sessions->empty()) {
        return Abort("checking the database is free",
                     Status::Failed("database " + plan_.database.dbname +
                                        " is still in use with DSS stopped: " + Join(*sessions),
                                    "close those sessions and run the restore again"));
      }
    }

    // Step: the live data dir aside.
    const std::string& live = plan_.data_dir;
    if (plan_.target_state == TargetDirState::kDataDir) {
      GB_RETURN_IF_ERROR(Check("moving the live data dir aside",
                               env_->Rename(live, plan_.aside_dir)));
      outcome_.aside_dir = plan_.aside_dir;
      undo_.Push("renamed " + live + " to " + plan_.aside_dir,
                 [this, live] { return env_->Rename(plan_.aside_dir, live); });
    }

    // Step: the staged data dir in (over an empty target directory, if that is there).
    GB_RETURN_IF_ERROR(Check("moving the staged data dir into place",
                             env_->Rename(plan_.staging_dir, live)));
    undo_.Push("renamed " + plan_.staging_dir + " to " + live, [this, live] {
      GB_RETURN_IF_ERROR(env_->Rename(live, plan_.staging_dir));
      if (plan_.target_state != TargetDirState::kEmpty) return Status::Ok();
      GB_RETURN_IF_ERROR(env_->CreateDirectory(live, plan_.target_mode));
      if (plan_.target_uid && ::geteuid() == 0 &&
          ::lchown(live.c_str(), *plan_.target_uid, *plan_.target_gid) != 0)
        return Status::FromErrno("cannot set the owner of " + live, errno);
      return Status::Ok();
    });

    if (plan_.has_database) {
      const std::string& db = plan_.database.dbname;
      // Step: the live database aside.
      if (plan_.database_exists) {
        GB_RETURN_IF_ERROR(Check("renaming the live database aside",
                                 RenameDatabase(plan_.database, db, plan_.aside_db)));
        outcome_.aside_db = plan_.aside_db;
        undo_.Push("renamed database " + db + " to " + plan_.aside_db,
                   [this, db] { return RenameDatabase(plan_.database, plan_.aside_db, db); });
      }
      // Step: the staging database in.
      GB_RETURN_IF_ERROR(Check("renaming the staging database into place",
                               RenameDatabase(plan_.database, plan_.staging_db, db)));
      undo_.Push("renamed database " + plan_.staging_db + " to " + db,
                 [this, db] { return RenameDatabase(plan_.database, db, plan_.staging_db); });
    }

    Status synced = FsyncParentDirectory(live);
    if (!synced.ok()) spdlog::warn("{}", synced.message());
    return Status::Ok();
  }

  // Step: DSS again, only when the restored node is the one that ran (same path, version
  // and database); a DSS that does not come up is a failed restore: everything goes back.
  Status StartDssIfPristine() {
    if (!dss_ || !outcome_.dss_was_running || !plan_.pristine()) return Status::Ok();
    GB_RETURN_IF_ERROR(Check("checking for a signal", CheckInterrupted()));
    spdlog::info("starting DSS on the restored data dir");
    Status started = dss_->Start();
    if (!started.ok()) {
      Status stopped = dss_->Stop();  // whatever part of it came up
      if (!stopped.ok()) spdlog::warn("stopping the restored DSS: {}", stopped.message());
      return Abort("starting DSS on the restored node", started);
    }
    outcome_.dss_started = true;
    return Status::Ok();
  }

  Status Check(const std::string& step, const Status& status) {
    return status.ok() ? status : Abort(step, status);
  }

  // Puts everything back, removes the staged halves, and says what happened.
  Status Abort(const std::string& step, const Status& error) {
    spdlog::error("restore switch failed while {}: {}; rolling back", step, error.message());
    std::vector<std::string> left = undo_.Replay();
    Status discarded = DiscardStaged(plan_, env_);
    if (!discarded.ok()) spdlog::warn("removing the staged halves: {}", discarded.message());

    std::string message = "restore of set " + plan_.manifest.id + " failed while " + step + ": " +
                          error.message();
    if (!left.empty()) {
      std::string list;
      for (const auto& item : left) list += "\n  - " + item;
      return Status::Failed(message + "\nthe rollback could not undo these steps; the node is "
                                      "NOT as before:" + list,
                            "undo them by hand (rename back), then start DSS");
    }
    message += "; rolled back: the data dir " + plan_.data_dir;
    if (plan_.has_database) message += " and the database " + plan_.database.dbname;
    message += " are as they were";
    if (outcome_.dss_was_running) message += ", DSS runs again";
    return Status::Failed(message, error.hint());
  }

  const RestorePlan& plan_;
  Env* env_;
  std::optional<DssControl> dss_;
  UndoList undo_;
  SwitchOutcome outcome_;
};

}  // namespace

Result<SwitchOutcome> SwitchHalves(const RestorePlan& plan, Env* env) {
  Switch step(plan, env);
  return step.Run();
}

}  // namespace gb
