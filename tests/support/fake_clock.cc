#include "tests/support/fake_clock.h"

#include <signal.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>

namespace gb {
namespace testing {
namespace {

// The pid in "sem.faketime_sem_<pid>" or "faketime_shm_<pid>", or 0.
long FaketimeSegmentPid(const std::string& name) {
  for (const std::string prefix : {"sem.faketime_sem_", "faketime_shm_"}) {
    if (name.rfind(prefix, 0) != 0) continue;
    char* end = nullptr;
    long pid = std::strtol(name.c_str() + prefix.size(), &end, 10);
    return (end != nullptr && *end == '\0' && pid > 0) ? pid : 0;
  }
  return 0;
}

bool ProcessIsAlive(long pid) {
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

}  // namespace

void RemoveStaleFaketimeSegments() {
  namespace fs = std::filesystem;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator("/dev/shm", error)) {
    const long pid = FaketimeSegmentPid(entry.path().filename().string());
    if (pid != 0 && !ProcessIsAlive(pid)) fs::remove(entry.path(), error);
  }
}

std::map<std::string, std::string> FakeClockEnvironment(const std::string& faketime) {
  RemoveStaleFaketimeSegments();
  return {{"LD_PRELOAD", "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"},
          {"FAKETIME", faketime},
          {"TZ", "UTC"},
          {"NO_FAKE_STAT", "1"}};  // file times stay real: archives and audits compare them
}

}  // namespace testing
}  // namespace gb
