// S3Config: where an S3 repository lives (endpoint, bucket, prefix, region, addressing, TLS)
// and how transfers behave (part size, parts in flight, retry budget, stall timeout), and the
// S3 Object Lock retention every object written carries. A plain value; the coordinator fills
// it from the repository's table of the configuration.
//
// Thread-safety: a value type; share it read-only.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "io/status.h"

namespace gb {

enum class UriStyle {
  kPath,  // http://host/bucket/key: what RGW without "rgw dns name" and most non-AWS stores need
  kHost,  // http://bucket.host/key: AWS's default
};

// S3 Object Lock (ransomware protection). Governance: a user with the
// s3:BypassGovernanceRetention permission may still remove a version early; compliance: nobody
// can, not even the bucket's owner, before the date.
enum class ObjectLockMode { kNone, kGovernance, kCompliance };

struct S3Config {
  std::string endpoint;  // "https://rgw.example.net:443"; the scheme decides TLS
  std::string bucket;
  std::string prefix;    // "" or ending with "/": prepended to every key
  std::string region = "us-east-1";
  UriStyle uri_style = UriStyle::kPath;
  std::string ca_file;   // replaces the system CA store when set

  // Multipart: an object of less than part_size bytes is one PUT; larger ones are sent in
  // part_size parts (growing past part 2,000: PartSizeFor), upload_concurrency at a time,
  // from a pool of upload_concurrency + 1 buffers (the memory bound of an upload).
  size_t part_size = 16u << 20;
  int upload_concurrency = 4;

  // Retries of a request that may succeed later (connection errors, stalls, 5xx, 429,
  // SlowDown): exponential backoff with jitter from retry_initial_delay, at most
  // retry_max_delay apart, until retry_max_time has passed since the first attempt.
  std::chrono::milliseconds retry_max_time{std::chrono::minutes(15)};
  std::chrono::milliseconds retry_initial_delay{500};
  std::chrono::milliseconds retry_max_delay{std::chrono::seconds(30)};
  // A transfer that moves less than 1 byte/s for this long is abandoned (and retried): a
  // progress timeout, not a limit on the total time of a large transfer.
  std::chrono::seconds stall_timeout{60};
  std::chrono::seconds connect_timeout{10};

  // When set, every object written carries this mode and a retain-until date of the time of
  // the request plus object_lock_retain: headers on a PUT and on CreateMultipartUpload, and a
  // PutObjectRetention after completing a multipart object that did not get it (RGW 16.2
  // ignores those headers there). The bucket must have been created with Object Lock:
  // S3Store answers other buckets with an error saying so.
  ObjectLockMode object_lock = ObjectLockMode::kNone;
  std::chrono::seconds object_lock_retain{0};

  // Keys per ListObjectsV2 / ListMultipartUploads page (S3's maximum is 1000).
  int list_page_size = 1000;
};

// S3's own limits: parts of 5 MiB to 5 GiB (all but the last), at most 10,000 of them.
constexpr size_t kS3MinPartSize = 5u << 20;
constexpr int kS3MaxParts = 10000;

// The size of part `number` (1-based) of a stream of unknown length: part_size for the first
// 2,000 parts, then doubling every 2,000 parts up to 8 * part_size, so that 10,000 parts hold
// 46,000 * part_size (about 720 GiB with 16 MiB parts) while only streams past 2,000 parts
// (31 GiB) pay for larger buffers.
size_t PartSizeFor(int number, size_t part_size);

// The configuration's name of a mode: "" | "governance" | "compliance" (the error names the
// value and the choices).
Result<ObjectLockMode> ParseObjectLockMode(const std::string& name);
// What the x-amz-object-lock-mode header says: "GOVERNANCE", "COMPLIANCE"; "" for kNone.
const char* ObjectLockModeHeader(ObjectLockMode mode);

// Refuses a config that cannot work (no endpoint or bucket, an unknown scheme, parts below
// S3's minimum, a prefix without its trailing "/", an Object Lock without a retention), naming
// the setting.
Status CheckS3Config(const S3Config& config);

}  // namespace gb
