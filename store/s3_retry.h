// The S3 retry policy: which failed exchanges may succeed if sent again (connection errors,
// stalls, 5xx, 429, SlowDown, RequestTimeout) and how long to wait between attempts
// (exponential backoff with full jitter, within a total time budget); and the one mapping of a
// final failure to a Status whose message names the request and object and whose hint says
// what the admin can fix ("the secret key is wrong (SignatureDoesNotMatch)").
//
// Thread-safety: S3Backoff is per request (one thread); the functions are stateless.
#pragma once

#include <chrono>
#include <random>
#include <string>

#include "io/status.h"
#include "store/s3_config.h"
#include "store/s3_http.h"

namespace gb {

// True when sending the same request again may succeed.
bool IsRetryable(const S3Response& response);

// The error for a failed exchange. `what` is "PUT s3://bucket/key".
Status S3ErrorStatus(const S3Response& response, const std::string& what);

class S3Backoff {
 public:
  explicit S3Backoff(const S3Config& config);
  // Sleeps before the next attempt; false (without sleeping) when that attempt would start
  // after the retry budget is spent.
  bool WaitBeforeRetry();
  int attempts() const { return attempts_; }

 private:
  const S3Config& config_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::milliseconds ceiling_;
  int attempts_ = 1;
  std::minstd_rand random_;
};

}  // namespace gb
