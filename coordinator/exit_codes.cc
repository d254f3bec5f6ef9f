#include "coordinator/exit_codes.h"

#include <spdlog/spdlog.h>

namespace gb {

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case Code::kOk: return kExitOk;
    case Code::kFailed: return kExitFailed;
    case Code::kUsage: return kExitUsage;
    case Code::kProblems: return kExitProblems;
    case Code::kRefused: return kExitRefused;
    case Code::kLocked: return kExitLocked;
    case Code::kCopyFailed: return kExitCopyFailed;
  }
  return kExitFailed;
}

int ReportAndExit(const Status& status) {
  if (!status.ok()) {
    spdlog::error("{}", status.message());
    if (!status.hint().empty()) spdlog::error("hint: {}", status.hint());
  }
  return ExitCodeFor(status);
}

}  // namespace gb
