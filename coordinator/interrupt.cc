#include "coordinator/interrupt.h"

#include <signal.h>

#include <atomic>
#include <cstring>
#include <string>

namespace gb {
namespace {

std::atomic<int> received_signal{0};

void OnSignal(int signal) { received_signal.store(signal); }

}  // namespace

void InstallInterruptHandlers() {
  struct sigaction action;
  std::memset(&action, 0, sizeof action);
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGHUP, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

int InterruptSignal() { return received_signal.load(); }

Status CheckInterrupted() {
  int signal = InterruptSignal();
  if (signal == 0) return Status::Ok();
  return Status::Failed(std::string("interrupted by SIG") + sigabbrev_np(signal) +
                        ": nothing was kept");
}

Status InterruptibleSink::Write(const void* data, size_t size) {
  GB_RETURN_IF_ERROR(CheckInterrupted());
  return inner_.Write(data, size);
}

}  // namespace gb
