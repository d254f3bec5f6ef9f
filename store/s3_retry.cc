#include "store/s3_retry.h"

#include <algorithm>
#include <thread>

#include "store/s3_xml.h"

namespace gb {
namespace {

// What the admin can do about an S3 error code.
std::string HintFor(const std::string& code, long status) {
  if (code == "SignatureDoesNotMatch") return "the secret key is wrong (SignatureDoesNotMatch)";
  if (code == "InvalidAccessKeyId") return "the access key is unknown to this endpoint";
  if (code == "AccessDenied") return "the key is not allowed this operation on this bucket";
  if (code == "NoSuchBucket") return "the bucket does not exist: create it, or fix bucket";
  if (code == "RequestTimeTooSkewed") return "this machine's clock is wrong: sync it (NTP)";
  if (code == "EntityTooSmall") return "every part but the last must be at least 5 MiB";
  if (code == "BadDigest" || code == "XAmzContentSHA256Mismatch") {
    return "the bytes were damaged on the way: check the network or proxy";
  }
  if (status == 0) return "check the endpoint, the network and TLS (ca_file names the CA "
                          "certificate that signed the endpoint's certificate)";
  // HEAD answers carry no body, hence no code.
  if (status == 403) return "the keys are wrong, or not allowed to use this bucket";
  if (status >= 500 || status == 429) return "the endpoint is overloaded or failing: retry later";
  return "";
}

}  // namespace

bool IsRetryable(const S3Response& response) {
  if (!response.sink_status.ok()) return false;  // our side failed: sending again won't help
  if (response.status == 0) return !response.transport_permanent;  // reset, refused, stall
  if (response.status >= 500 || response.status == 429 || response.status == 408) return true;
  const std::string code = ParseS3Error(response.body).code;
  // ConditionalRequestConflict (409, AWS): a concurrent conditional write; AWS says to retry.
  return code == "SlowDown" || code == "RequestTimeout" || code == "InternalError" ||
         code == "ConditionalRequestConflict";
}

Status S3ErrorStatus(const S3Response& response, const std::string& what) {
  if (!response.sink_status.ok()) return response.sink_status.WithContext(what);
  if (response.status == 0) {
    return Status::Failed("S3 " + what + ": " +
                              (response.stalled ? "no progress within the stall timeout ("
                                                : "") +
                              response.transport_error + (response.stalled ? ")" : ""),
                          HintFor("", 0));
  }
  const S3ErrorBody error = ParseS3Error(response.body);
  std::string message = "S3 " + what + ": HTTP " + std::to_string(response.status);
  if (!error.code.empty()) message += " " + error.code;
  if (!error.message.empty()) message += " (" + error.message + ")";
  return Status::Failed(message, HintFor(error.code, response.status));
}

S3Backoff::S3Backoff(const S3Config& config)
    : config_(config),
      start_(std::chrono::steady_clock::now()),
      ceiling_(config.retry_initial_delay),
      random_(std::random_device{}()) {}

bool S3Backoff::WaitBeforeRetry() {
  // Full jitter (uniform in [0, ceiling]) spreads the retries of parallel parts apart.
  std::uniform_int_distribution<long> jitter(0, ceiling_.count());
  const std::chrono::milliseconds delay(jitter(random_));
  if (std::chrono::steady_clock::now() + delay - start_ > config_.retry_max_time) return false;
  std::this_thread::sleep_for(delay);
  ceiling_ = std::min(ceiling_ * 2, config_.retry_max_delay);
  ++attempts_;
  return true;
}

}  // namespace gb
