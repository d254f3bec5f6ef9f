// S3Client: sends S3 requests for one bucket with the retry policy of s3_retry.h over a pool
// of reusable connections (one per thread in flight, kept for the next request).
//
// Thread-safety: Send may be called from several threads at once.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "store/s3_config.h"
#include "store/s3_credentials.h"
#include "store/s3_http.h"

namespace gb {

class S3Client {
 public:
  S3Client(S3Config config, S3Credentials credentials);
  ~S3Client();

  const S3Config& config() const { return config_; }

  // Sends `request` until it succeeds, fails for good or the retry budget is spent. A 2xx
  // answer, or one whose status is in `accepted` (404 for a HEAD, 412 for a conditional PUT),
  // is returned; anything else becomes an error naming the method and object.
  // `before_attempt` may adjust the request before each attempt (a resumed GET's Range).
  Result<S3Response> Send(S3Request request, const std::set<long>& accepted = {},
                          const std::function<void(S3Request&)>& before_attempt = nullptr);

 private:
  std::unique_ptr<S3Http> Acquire();
  void Release(std::unique_ptr<S3Http> connection);

  const S3Config config_;
  const S3Credentials credentials_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<S3Http>> idle_;  // guarded by mutex_
};

}  // namespace gb
