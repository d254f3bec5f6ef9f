// SIGINT/SIGTERM during an operation: the handler only records the signal; the operation
// notices at its next write or step, unwinds (DSS started again, work removed) and fails.
// CheckInterrupted is safe from any thread (it reads one atomic flag).
#pragma once

#include "io/byte_stream.h"
#include "io/status.h"

namespace gb {

void InstallInterruptHandlers();
// The signal received (SIGINT or SIGTERM), or 0.
int InterruptSignal();
// An error if a signal arrived.
Status CheckInterrupted();

// Passes writes through to `inner` until a signal arrives, then fails them.
class InterruptibleSink : public ByteSink {
 public:
  explicit InterruptibleSink(ByteSink& inner) : inner_(inner) {}
  Status Write(const void* data, size_t size) override;

 private:
  ByteSink& inner_;
};

}  // namespace gb
