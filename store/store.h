// Store: the one seam between the coordinator and where sets live (a local directory, an S3
// bucket). Keys are relative to the store's root ("data/<set>/datadir.tar.zst"); each
// implementation maps them onto files or objects. Every command goes through this interface,
// so every command works on both stores and the tests run the same scenarios on both.
//
// Thread-safety: a Store may be used from several threads at once; each call is independent.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/byte_stream.h"
#include "io/status.h"
#include "io/time_text.h"

namespace gb {

struct ObjectInfo {
  std::string key;   // relative to the store's root
  uint64_t size = 0;
  // S3: the ETag without quotes (an md5, or "<md5 of the part md5s>-<parts>" for multipart
  // objects). Local store: empty (a file has no ETag).
  std::string etag;
};

// How a store makes create-if-absent atomic; locks choose their protocol from it.
enum class CreateProtocol {
  // The store itself refuses a second create (link(2); S3 PUT with If-None-Match: *).
  kConditionalCreate,
  // The store accepts the request but ignores the condition (RGW 16.2 on versioned buckets):
  // locks must use the list-based protocol (write a unique object, wait, list, lowest wins).
  kListBased,
};
const char* CreateProtocolName(CreateProtocol protocol);

enum class CreateOutcome { kCreated, kAlreadyExists };

// A write begun and neither finished nor cleaned up: on S3, a multipart upload that a killed
// process left (its parts cost storage but are no object). A local store has none: a killed
// Put leaves a ".tmp-" file in the object's directory, removed with it.
struct PendingWrite {
  std::string key;
  std::string upload_id;
  std::string initiated;  // ISO 8601, as the store says
};

// Where an absent object shows: Head returns it, Get/Delete do not fail on it by themselves.
struct HeadResult {
  bool exists = false;
  ObjectInfo info;  // valid when exists
  // S3 Object Lock: the object cannot be removed from the bucket before this date (its
  // x-amz-object-lock-retain-until-date, which stays on the object once the date has passed:
  // compare with now). nullopt: not locked, and always for a local store. How prune tells
  // what stays (see Delete): Head before Delete, since the key is hidden afterwards.
  std::optional<TimePoint> locked_until = std::nullopt;
};

class Store {
 public:
  virtual ~Store() = default;

  // "s3://bucket/prefix/" or the directory: for messages.
  virtual std::string Describe() const = 0;

  // Stores the whole of `source` (length unknown beforehand) under `key`, replacing any object
  // there. Readers see the old object or the new one, never a part: a failed Put leaves no
  // partial object behind. Returns what was stored.
  virtual Result<ObjectInfo> Put(const std::string& key, ByteSource& source) = 0;

  // Writes `length` bytes of `key` starting at `offset` to `sink`; length kToEnd reads to the
  // end. A range past the end of the object is an error naming the key and its size.
  static constexpr uint64_t kToEnd = UINT64_MAX;
  virtual Status Get(const std::string& key, uint64_t offset, uint64_t length,
                     ByteSink& sink) = 0;

  // Every key that starts with `prefix` (a string prefix, not a directory), sorted, across
  // as many listing pages as the store needs.
  virtual Result<std::vector<ObjectInfo>> List(const std::string& prefix) = 0;

  virtual Result<HeadResult> Head(const std::string& key) = 0;

  // Removes `key`; an absent key is not an error (deleting twice is safe).
  // On an S3 bucket with versioning (every Object Lock bucket) Delete succeeds but only hides
  // the key behind a delete marker: List and Head no longer show it, while its bytes stay
  // stored (and billed) as a noncurrent version. A locked version cannot be removed by anyone
  // before its locked_until; after that it stays too, until a lifecycle rule
  // (NoncurrentVersionExpiration) or a delete of that version removes it.
  virtual Status Delete(const std::string& key) = 0;

  // Stores the small `content` under `key` only if no object is there, atomically with
  // respect to other writers when Probe() says kConditionalCreate. For locks and commits.
  virtual Result<CreateOutcome> CreateIfAbsent(const std::string& key,
                                               std::string_view content) = 0;

  // Finds out (by trying it on a probe object it then removes) whether CreateIfAbsent is
  // enforced by this store or this bucket.
  virtual Result<CreateProtocol> ProbeCreateProtocol() = 0;

  // Pending writes under `prefix`, and their removal (audit reports them, prune removes them).
  virtual Result<std::vector<PendingWrite>> ListPendingWrites(const std::string& prefix) {
    (void)prefix;
    return std::vector<PendingWrite>{};
  }
  virtual Status AbortPendingWrite(const PendingWrite& write) {
    (void)write;
    return Status::Ok();
  }
};

// Keys are limited to [A-Za-z0-9._/-] segments, no empty, "." or ".." segment, no leading
// or trailing "/": they map onto both file names and S3 keys without escaping surprises
// (a raw "+" breaks SigV4 with libcurl 7.88). The error names the key.
Status CheckKey(const std::string& key);

// The probe both stores use: CreateIfAbsent on a fresh "probe-<random>" key twice; a second
// "created" means the store ignores the condition. The probe object is removed.
Result<CreateProtocol> ProbeByCreatingTwice(Store& store);

}  // namespace gb
