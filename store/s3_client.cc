#include "store/s3_client.h"

#include "store/s3_retry.h"
#include "store/s3_xml.h"

namespace gb {
namespace {

// AWS and RGW 16.2 answer a new object with lock parameters, or a PutObjectRetention, in a
// bucket without Object Lock with 400 InvalidRequest: the generic code needs the cause
// spelled out.
Status ExplainObjectLockRefusal(const S3Config& config, const S3Request& request,
                                const S3Response& response, Status error) {
  const bool locks = request.creates_object || request.query.count("retention") > 0;
  if (!locks || config.object_lock == ObjectLockMode::kNone ||
      response.status != 400 || ParseS3Error(response.body).code != "InvalidRequest") {
    return error;
  }
  return Status::Failed(
      error.message() + ": bucket " + config.bucket + " does not accept Object Lock",
      "S3 enables Object Lock only when a bucket is created: use a bucket created with "
      "Object Lock (e.g. aws s3api create-bucket --object-lock-enabled-for-bucket), or set "
      "object_lock = \"\" for this repository");
}

}  // namespace

S3Client::S3Client(S3Config config, S3Credentials credentials)
    : config_(std::move(config)), credentials_(std::move(credentials)) {}

S3Client::~S3Client() = default;

std::unique_ptr<S3Http> S3Client::Acquire() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!idle_.empty()) {
      std::unique_ptr<S3Http> connection = std::move(idle_.back());
      idle_.pop_back();
      return connection;
    }
  }
  return std::make_unique<S3Http>(config_, credentials_);
}

void S3Client::Release(std::unique_ptr<S3Http> connection) {
  std::lock_guard<std::mutex> lock(mutex_);
  idle_.push_back(std::move(connection));
}

Result<S3Response> S3Client::Send(S3Request request, const std::set<long>& accepted,
                                  const std::function<void(S3Request&)>& before_attempt) {
  const std::string what = request.method + " " + S3Name(config_, request.key);
  std::unique_ptr<S3Http> connection = Acquire();
  S3Backoff backoff(config_);
  for (;;) {
    if (before_attempt) before_attempt(request);
    S3Response response = connection->Perform(request);
    const bool success = response.status / 100 == 2 && response.sink_status.ok();
    if (success || accepted.count(response.status) > 0) {
      Release(std::move(connection));
      return response;
    }
    if (!IsRetryable(response) || !backoff.WaitBeforeRetry()) {
      // A connection that failed mid-exchange is not worth keeping.
      Status error =
          ExplainObjectLockRefusal(config_, request, response, S3ErrorStatus(response, what));
      if (backoff.attempts() > 1) {
        error = Status::Failed(error.message() + " (after " +
                                   std::to_string(backoff.attempts()) + " attempts)",
                               error.hint());
      }
      return error;
    }
  }
}

}  // namespace gb
