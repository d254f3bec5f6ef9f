// The XML bodies of S3 responses that the store reads (libxml2): error documents, object and
// multipart-upload listings, the upload id of a new multipart upload, the Object Lock
// configuration; and the bodies it writes (CompleteMultipartUpload, PutObjectRetention).
// Element names are matched without their namespace, since AWS and RGW differ in whether
// they send one.
//
// Thread-safety: stateless functions; libxml2 is initialised once, thread-safely.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/status.h"

namespace gb {

struct S3ErrorBody {
  std::string code;     // "SignatureDoesNotMatch"; empty when the body is not an S3 error
  std::string message;
};
// Never fails: a body that is not an <Error> document gives an empty code.
S3ErrorBody ParseS3Error(const std::string& body);

struct S3ListedObject {
  std::string key;  // the full key, bucket prefix included
  uint64_t size = 0;
  std::string etag;  // without quotes
};
struct S3ObjectPage {
  std::vector<S3ListedObject> objects;
  bool truncated = false;
  std::string next_continuation_token;
};
Result<S3ObjectPage> ParseListObjectsV2(const std::string& body);

struct S3PendingUpload {
  std::string key;
  std::string upload_id;
  std::string initiated;  // ISO 8601, as the server wrote it
};
struct S3UploadPage {
  std::vector<S3PendingUpload> uploads;
  bool truncated = false;
  std::string next_key_marker;
  std::string next_upload_id_marker;
};
Result<S3UploadPage> ParseListMultipartUploads(const std::string& body);

Result<std::string> ParseInitiateMultipartUpload(const std::string& body);

// Whether a GetObjectLockConfiguration answer says <ObjectLockEnabled>Enabled.
Result<bool> ParseObjectLockEnabled(const std::string& body);

// <CompleteMultipartUpload> listing part i+1 with etags[i] (the ETags as UploadPart returned
// them).
std::string CompleteMultipartUploadBody(const std::vector<std::string>& etags);

// <Retention> of PutObjectRetention: `mode` as the header says it ("GOVERNANCE"), the date in
// RFC 3339.
std::string RetentionBody(const std::string& mode, const std::string& retain_until);

// `etag` without surrounding double quotes.
std::string Unquote(const std::string& etag);

}  // namespace gb
