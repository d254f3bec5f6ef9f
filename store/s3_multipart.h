// Streaming uploads to S3 of a length unknown beforehand: a stream that fits in one part is
// one PUT; a longer one is a multipart upload of part_size parts, upload_concurrency of them in
// flight, read into a fixed pool of upload_concurrency + 1 buffers, so memory stays at
// part_size * (upload_concurrency + 1) up to 2,000 parts (then parts grow: PartSizeFor). Each
// part carries Content-MD5 and a signed x-amz-content-sha256, and is retried from its buffer.
// After completion the object is HEADed and its size and multipart ETag (md5 of the part md5s,
// "-N") checked, and given the config's Object Lock retention if the server did not apply the
// one asked for at the start (RGW 16.2). A failed upload is aborted; uploads left by a killed
// process stay listed by ListMultipartUploads until AbortMultipartUpload removes them.
//
// Thread-safety: each call is independent; UploadStream runs its own worker threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/byte_stream.h"
#include "store/s3_client.h"
#include "store/s3_xml.h"
#include "store/store.h"

namespace gb {

// One multipart upload, step by step (UploadStream drives it; tests use it to leave an upload
// unfinished as a killed process would). Parts may be uploaded from several threads at once.
class MultipartUpload {
 public:
  static Result<MultipartUpload> Start(S3Client& client, const std::string& object_key);

  // Uploads part `number` (1-based) from `data`; remembers its ETag and md5 for Complete.
  Status UploadPart(int number, std::string_view data);
  // Completes the upload from parts 1..count, then HEADs the object and checks its size and
  // multipart ETag against what was sent.
  Result<ObjectInfo> Complete(int count, uint64_t total_size);
  Status Abort();

  const std::string& upload_id() const { return upload_id_; }

 private:
  MultipartUpload(S3Client& client, std::string object_key, std::string upload_id);

  S3Client* client_;
  std::string object_key_;
  std::string upload_id_;
  struct Parts;
  std::shared_ptr<Parts> parts_;  // guarded inside: written by the part-uploading threads
};

// Uploads `source` to the full key `object_key` (prefix included). The ObjectInfo's key is
// `object_key`.
Result<ObjectInfo> UploadStream(S3Client& client, const std::string& object_key,
                                ByteSource& source);

// Multipart uploads in progress (started, neither completed nor aborted) under the full
// key prefix `prefix`, all pages.
Result<std::vector<S3PendingUpload>> ListMultipartUploads(S3Client& client,
                                                          const std::string& prefix);

// Removes an upload in progress and its parts; an upload already gone is not an error.
Status AbortMultipartUpload(S3Client& client, const std::string& object_key,
                            const std::string& upload_id);

}  // namespace gb
