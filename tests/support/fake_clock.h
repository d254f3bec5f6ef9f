// FakeClockEnvironment: the environment that runs the real binary (and the processes it
// starts) with a faked clock, through libfaketime preloaded directly (the `faketime` wrapper's
// own semaphore can collide with one left by an earlier run).
//
// libfaketime gives every process it runs in a POSIX semaphore and shared memory named after
// its pid (/dev/shm/sem.faketime_sem_<pid>, faketime_shm_<pid>) and leaves them behind when
// the process is killed or runs as another user (bin/dss runs as the DSS user). With
// pid_max at 32768, a later process with the same pid finds them, cannot take them, and
// exits 1 ("sem_name was /faketime_sem_N, created locally: false"): the cause of the prune
// test's rare failures. So the stale ones, whose process is gone, are removed first.
// Not thread-safe with another test process starting faked processes at the same instant:
// it only removes segments of pids that are not alive.
#pragma once

#include <map>
#include <string>

namespace gb {
namespace testing {

// `faketime` in libfaketime's FAKETIME syntax: "@2021-03-01 10:00:00" (absolute, UTC when
// TZ=UTC is also set) or "+10800" (seconds ahead). File times stay real (NO_FAKE_STAT).
std::map<std::string, std::string> FakeClockEnvironment(const std::string& faketime);

// Removes libfaketime's semaphores and shared memory left by processes that are gone.
void RemoveStaleFaketimeSegments();

}  // namespace testing
}  // namespace gb
