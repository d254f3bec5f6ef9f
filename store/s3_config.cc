#include "store/s3_config.h"

#include <algorithm>

#include "store/store.h"

namespace gb {

Status CheckS3Config(const S3Config& config) {
  const auto bad = [](const std::string& what) {
    return Status::Usage("S3 remote: " + what, "fix the [remote] table of the configuration");
  };
  if (config.endpoint.rfind("http://", 0) != 0 && config.endpoint.rfind("https://", 0) != 0) {
    return bad("endpoint \"" + config.endpoint + "\" must start with http:// or https://");
  }
  if (config.bucket.size() < 3 || config.bucket.size() > 63) {
    return bad("bucket name \"" + config.bucket + "\" must have 3 to 63 characters");
  }
  if (!config.prefix.empty() && config.prefix.back() != '/') {
    return bad("prefix \"" + config.prefix + "\" must end with '/'");
  }
  if (!config.prefix.empty()) {
    Status prefix = CheckKey(config.prefix.substr(0, config.prefix.size() - 1));
    if (!prefix.ok()) return bad("prefix: " + prefix.message());
  }
  if (config.part_size < kS3MinPartSize) {
    return bad("part_size " + std::to_string(config.part_size) +
               " is below S3's minimum part size of 5 MiB");
  }
  if (config.upload_concurrency < 1) return bad("upload_concurrency must be at least 1");
  if (config.list_page_size < 1 || config.list_page_size > 1000) {
    return bad("list_page_size must be between 1 and 1000");
  }
  if (config.object_lock != ObjectLockMode::kNone && config.object_lock_retain.count() < 1) {
    return bad("object_lock needs an object_lock_retain of at least 1 second");
  }
  return Status::Ok();
}

Result<ObjectLockMode> ParseObjectLockMode(const std::string& name) {
  if (name.empty()) return ObjectLockMode::kNone;
  if (name == "governance") return ObjectLockMode::kGovernance;
  if (name == "compliance") return ObjectLockMode::kCompliance;
  return Status::Usage("S3 remote: object_lock \"" + name + "\" is not \"\", \"governance\" or "
                       "\"compliance\"",
                       "fix the repository's table of the configuration");
}

const char* ObjectLockModeHeader(ObjectLockMode mode) {
  switch (mode) {
    case ObjectLockMode::kGovernance: return "GOVERNANCE";
    case ObjectLockMode::kCompliance: return "COMPLIANCE";
    case ObjectLockMode::kNone: break;
  }
  return "";
}

size_t PartSizeFor(int number, size_t part_size) {
  const int doublings = std::min(3, std::max(0, (number - 1) / 2000));
  return part_size << doublings;
}

}  // namespace gb
