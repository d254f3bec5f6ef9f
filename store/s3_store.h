// S3Store: a Store on an S3 bucket (AWS, Ceph RGW, ...) under a key prefix. Put streams through
// s3_multipart.h; Get resumes a broken ranged GET where it stopped; List follows every page of
// ListObjectsV2; CreateIfAbsent is a PUT with If-None-Match: *, which RGW 16.2 honours only on
// buckets whose versioning was never enabled: ProbeCreateProtocol tells which case applies.
// Also the bucket-level operations a remote init and an audit need (create a bucket, set its
// versioning, list and abort unfinished uploads).
//
// Thread-safety: safe to use from several threads at once.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "store/s3_client.h"
#include "store/s3_config.h"
#include "store/s3_credentials.h"
#include "store/s3_xml.h"
#include "store/store.h"

namespace gb {

class S3Store : public Store {
 public:
  // Checks the config; sends nothing.
  static Result<std::unique_ptr<S3Store>> Open(const S3Config& config,
                                               const S3Credentials& credentials);

  std::string Describe() const override;
  Result<ObjectInfo> Put(const std::string& key, ByteSource& source) override;
  Status Get(const std::string& key, uint64_t offset, uint64_t length, ByteSink& sink) override;
  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override;
  Result<HeadResult> Head(const std::string& key) override;
  Status Delete(const std::string& key) override;
  Result<CreateOutcome> CreateIfAbsent(const std::string& key,
                                       std::string_view content) override;
  Result<CreateProtocol> ProbeCreateProtocol() override;
  // Unfinished multipart uploads under `prefix`; keys relative to the store's prefix.
  Result<std::vector<PendingWrite>> ListPendingWrites(const std::string& prefix) override;
  Status AbortPendingWrite(const PendingWrite& write) override;

  // Creates the bucket (an existing bucket of ours is fine, and is left as it is).
  // kObjectLock: with Object Lock, hence versioning, both for good (suspending versioning is
  // refused); an existing bucket without Object Lock is an error, since S3 cannot add it
  // (RGW 16.2 refuses PutObjectLockConfiguration there).
  enum class BucketKind { kPlain, kObjectLock };
  Status CreateBucket(BucketKind kind = BucketKind::kPlain);
  // Whether the bucket was created with Object Lock (GetObjectLockConfiguration): what a
  // repository with object_lock set needs, checked before a first backup fails on it.
  Result<bool> BucketHasObjectLock();
  Status EnableVersioning();

  S3Client& client() { return client_; }

 private:
  explicit S3Store(const S3Config& config, const S3Credentials& credentials)
      : client_(config, credentials) {}
  std::string FullKey(const std::string& key) const { return client_.config().prefix + key; }

  S3Client client_;
};

}  // namespace gb
