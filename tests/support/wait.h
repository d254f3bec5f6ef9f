// WaitUntil: the tests' one way to wait for something another process does: poll a
// condition until it holds or a deadline passes (never a fixed sleep standing in for it).
// Stateless; safe from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace gb {
namespace testing {

// True as soon as `condition()` is; false if it still is not after `deadline`.
inline bool WaitUntil(const std::function<bool()>& condition, std::chrono::milliseconds deadline) {
  const auto give_up = std::chrono::steady_clock::now() + deadline;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= give_up) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling interval
  }
  return true;
}

}  // namespace testing
}  // namespace gb
