// S3Http: one S3 request/response exchange over libcurl, signed with SigV4 by libcurl itself
// (CURLOPT_AWS_SIGV4), plus what libcurl 7.88 leaves to the caller (reference/ceph-rgw.md):
// the x-amz-content-sha256 header, a canonical (sorted, SigV4-encoded) query string, keys
// percent-encoded except "/", and Content-MD5 where asked; and the Object Lock headers of the
// config on every request that creates an object (with Content-MD5, which AWS requires on a
// PUT with lock parameters and RGW 16.2 does not). It makes exactly one attempt:
// retries are S3Client's job. URLs it builds hold no secret (no presigning), so they may
// appear in messages.
//
// Thread-safety: an S3Http is one connection (a curl easy handle): one thread at a time.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/byte_stream.h"
#include "store/s3_config.h"
#include "store/s3_credentials.h"

namespace gb {

struct S3Request {
  S3Request(std::string method_, std::string key_, std::map<std::string, std::string> query_ = {})
      : method(std::move(method_)), key(std::move(key_)), query(std::move(query_)) {}
  // The body (held by the caller, which outlives the request) with its Content-MD5.
  S3Request& WithBody(std::string_view body_, std::string md5 = {}) {
    body = body_;
    content_md5 = true;
    body_md5 = std::move(md5);
    return *this;
  }

  std::string method;                       // GET, HEAD, PUT, POST, DELETE
  std::string key;                          // the full object key; empty: the bucket itself
  std::map<std::string, std::string> query; // raw values; encoded and sorted when sent
  std::vector<std::string> headers;         // "Name: value"
  std::string_view body;                    // sent as is (PUT, POST)
  bool content_md5 = false;                 // add Content-MD5 of the body
  ByteSink* sink = nullptr;                 // a 2xx body goes here instead of into `body`
  std::string body_md5;                     // the body's raw md5 when already known
  // Creates an object (PUT of a whole object, CreateMultipartUpload): carries the config's
  // Object Lock retention, counted from this attempt.
  bool creates_object = false;
};

struct S3Response {
  long status = 0;              // 0: no HTTP answer, see transport_error
  std::string transport_error;  // libcurl's description when the exchange failed
  bool stalled = false;         // the stall (progress) timeout fired
  bool transport_permanent = false;  // a failure that sending again cannot cure (TLS trust)
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;             // error bodies, and 2xx bodies without a sink
  Status sink_status;           // the sink's failure, which aborted the transfer

  std::string Header(const std::string& lower_name) const;
};

class S3Http {
 public:
  S3Http(const S3Config& config, const S3Credentials& credentials);
  ~S3Http();
  S3Http(const S3Http&) = delete;
  S3Http& operator=(const S3Http&) = delete;

  S3Response Perform(const S3Request& request);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The URL of `key` (path or host style), with the canonical query string.
std::string S3Url(const S3Config& config, const std::string& key,
                  const std::map<std::string, std::string>& query);
// "s3://bucket/key" for messages.
std::string S3Name(const S3Config& config, const std::string& key);

// The x-amz-object-lock-mode and x-amz-object-lock-retain-until-date (now + retain, RFC 3339
// UTC) headers of a new object; none when the config has no Object Lock.
std::vector<std::string> ObjectLockHeaders(const S3Config& config,
                                           std::chrono::system_clock::time_point now);

// Digests of payloads: the raw 16-byte MD5 and its base64 (Content-MD5).
std::string Md5Binary(std::string_view data);
std::string Base64(std::string_view data);
std::string Hex(std::string_view data);

}  // namespace gb
