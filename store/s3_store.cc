#include "store/s3_store.h"

#include "store/s3_multipart.h"
#include "store/s3_retry.h"

namespace gb {
namespace {

// Counts what reaches the sink, so that a GET broken mid-body resumes at the next byte.
class CountingSink : public ByteSink {
 public:
  explicit CountingSink(ByteSink& sink) : sink_(sink) {}
  Status Write(const void* data, size_t size) override {
    GB_RETURN_IF_ERROR(sink_.Write(data, size));
    count_ += size;
    return Status::Ok();
  }
  uint64_t count() const { return count_; }

 private:
  ByteSink& sink_;
  uint64_t count_ = 0;
};

std::string PastTheEnd(const std::string& name, uint64_t offset, uint64_t length, uint64_t size) {
  return "range " + std::to_string(offset) + "+" + std::to_string(length) +
         " is past the end of " + name + " (" + std::to_string(size) + " bytes)";
}

}  // namespace

Result<std::unique_ptr<S3Store>> S3Store::Open(const S3Config& config,
                                               const S3Credentials& credentials) {
  GB_RETURN_IF_ERROR(CheckS3Config(config));
  return std::unique_ptr<S3Store>(new S3Store(config, credentials));
}

std::string S3Store::Describe() const { return S3Name(client_.config(), client_.config().prefix); }

Result<ObjectInfo> S3Store::Put(const std::string& key, ByteSource& source) {
  GB_RETURN_IF_ERROR(CheckKey(key));
  GB_ASSIGN_OR_RETURN(ObjectInfo info, UploadStream(client_, FullKey(key), source));
  info.key = key;
  return info;
}

Status S3Store::Get(const std::string& key, uint64_t offset, uint64_t length, ByteSink& sink) {
  GB_RETURN_IF_ERROR(CheckKey(key));
  const std::string name = S3Name(client_.config(), FullKey(key));
  if (length == 0) {
    // Nothing to read, but the same answer as a read would give about the key and offset.
    GB_ASSIGN_OR_RETURN(const HeadResult head, Head(key));
    if (!head.exists) return Status::Failed("S3 GET " + name + ": HTTP 404 NoSuchKey");
    if (offset > head.info.size) return Status::Failed(PastTheEnd(name, offset, 0, head.info.size));
    return Status::Ok();
  }
  CountingSink counted(sink);
  S3Request request("GET", FullKey(key));
  request.sink = &counted;
  const auto set_range = [&](S3Request& attempt) {
    const uint64_t from = offset + counted.count();
    attempt.headers = {"Range: bytes=" + std::to_string(from) + "-" +
                       (length == kToEnd ? "" : std::to_string(offset + length - 1))};
  };
  GB_ASSIGN_OR_RETURN(const S3Response response, client_.Send(request, {416}, set_range));
  if (response.status == 416) {
    GB_ASSIGN_OR_RETURN(const HeadResult head, Head(key));
    if (head.exists && offset == head.info.size && length == kToEnd) return Status::Ok();
    return Status::Failed(PastTheEnd(name, offset, length, head.info.size));
  }
  // A server that ignored Range would send the whole object (200, not 206).
  if (response.status != 206 && offset != 0) {
    return Status::Failed("S3 GET " + name + ": the endpoint ignored the byte range");
  }
  if (length != kToEnd && counted.count() != length) {
    // A short answer to a bounded range means the object is shorter than the range.
    return Status::Failed(PastTheEnd(name, offset, length, offset + counted.count()));
  }
  return Status::Ok();
}

Result<std::vector<ObjectInfo>> S3Store::List(const std::string& prefix) {
  const S3Config& config = client_.config();
  std::vector<ObjectInfo> objects;
  std::string token;
  for (;;) {
    S3Request request("GET", "", {{"list-type", "2"}, {"prefix", FullKey(prefix)},
                                  {"max-keys", std::to_string(config.list_page_size)}});
    if (!token.empty()) request.query["continuation-token"] = token;
    GB_ASSIGN_OR_RETURN(const S3Response response, client_.Send(std::move(request)));
    GB_ASSIGN_OR_RETURN(S3ObjectPage page, ParseListObjectsV2(response.body));
    for (S3ListedObject& object : page.objects) {
      objects.push_back({object.key.substr(config.prefix.size()), object.size, object.etag});
    }
    if (!page.truncated) return objects;
    if (page.next_continuation_token.empty() || page.next_continuation_token == token) {
      return Status::Failed("S3 listing of " + S3Name(config, FullKey(prefix)) +
                            " does not advance (truncated without a new continuation token)");
    }
    token = page.next_continuation_token;
  }
}

Result<HeadResult> S3Store::Head(const std::string& key) {
  GB_RETURN_IF_ERROR(CheckKey(key));
  S3Request request("HEAD", FullKey(key));
  GB_ASSIGN_OR_RETURN(const S3Response response, client_.Send(std::move(request), {404}));
  if (response.status == 404) return HeadResult{};
  uint64_t size = 0;
  try {
    size = std::stoull(response.Header("content-length"));
  } catch (const std::exception&) {
    return Status::Failed("S3 HEAD " + S3Name(client_.config(), FullKey(key)) +
                          ": no Content-Length in the answer");
  }
  HeadResult head{true, ObjectInfo{key, size, Unquote(response.Header("etag"))}};
  const std::string retain_until = response.Header("x-amz-object-lock-retain-until-date");
  if (!retain_until.empty()) {
    head.locked_until = ParseRfc3339(retain_until);
    if (!head.locked_until) {
      return Status::Failed("S3 HEAD " + S3Name(client_.config(), FullKey(key)) +
                            ": unreadable x-amz-object-lock-retain-until-date \"" +
                            retain_until + "\"");
    }
  }
  return head;
}

Status S3Store::Delete(const std::string& key) {
  GB_RETURN_IF_ERROR(CheckKey(key));
  S3Request request("DELETE", FullKey(key));
  return client_.Send(std::move(request), {404}).status();
}

Result<CreateOutcome> S3Store::CreateIfAbsent(const std::string& key, std::string_view content) {
  GB_RETURN_IF_ERROR(CheckKey(key));
  S3Request request("PUT", FullKey(key));
  request.headers = {"If-None-Match: *"};
  request.WithBody(content);
  request.creates_object = true;
  GB_ASSIGN_OR_RETURN(const S3Response response, client_.Send(std::move(request), {412}));
  return response.status == 412 ? CreateOutcome::kAlreadyExists : CreateOutcome::kCreated;
}

Result<CreateProtocol> S3Store::ProbeCreateProtocol() { return ProbeByCreatingTwice(*this); }

Status S3Store::CreateBucket(BucketKind kind) {
  S3Request request("PUT", "");
  if (kind == BucketKind::kObjectLock) {
    request.headers = {"x-amz-bucket-object-lock-enabled: true"};
  }
  Result<S3Response> response = client_.Send(std::move(request), {409});
  if (!response.ok()) return response.status();
  if (response->status == 409 && ParseS3Error(response->body).code != "BucketAlreadyOwnedByYou") {
    return S3ErrorStatus(*response, "PUT " + S3Name(client_.config(), ""));
  }
  if (kind == BucketKind::kPlain) return Status::Ok();
  // An existing bucket answers 200 (RGW 16.2) or 409 and keeps what it was.
  GB_ASSIGN_OR_RETURN(const bool locked, BucketHasObjectLock());
  if (locked) return Status::Ok();
  return Status::Failed("bucket " + client_.config().bucket + " exists without Object Lock",
                        "S3 cannot add Object Lock to an existing bucket: choose a new bucket "
                        "name, or set object_lock = \"\" for this repository");
}

Result<bool> S3Store::BucketHasObjectLock() {
  S3Request request("GET", "", {{"object-lock", ""}});
  GB_ASSIGN_OR_RETURN(const S3Response response, client_.Send(std::move(request), {404}));
  if (response.status == 404) {
    // The answer of AWS and RGW 16.2 for a bucket without Object Lock; any other 404 (no such
    // bucket) is an error.
    if (ParseS3Error(response.body).code == "ObjectLockConfigurationNotFoundError") return false;
    return S3ErrorStatus(response, "GET " + S3Name(client_.config(), "") + "?object-lock");
  }
  return ParseObjectLockEnabled(response.body);
}

Status S3Store::EnableVersioning() {
  const std::string body =
      "<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<Status>Enabled</Status></VersioningConfiguration>";
  S3Request request("PUT", "", {{"versioning", ""}});
  request.headers = {"Content-Type: application/xml"};
  request.WithBody(body);
  return client_.Send(std::move(request)).status();
}

Result<std::vector<PendingWrite>> S3Store::ListPendingWrites(const std::string& prefix) {
  GB_ASSIGN_OR_RETURN(std::vector<S3PendingUpload> uploads,
                      ListMultipartUploads(client_, FullKey(prefix)));
  std::vector<PendingWrite> pending;
  for (S3PendingUpload& upload : uploads)
    pending.push_back({upload.key.substr(client_.config().prefix.size()),
                       std::move(upload.upload_id), std::move(upload.initiated)});
  return pending;
}

Status S3Store::AbortPendingWrite(const PendingWrite& write) {
  GB_RETURN_IF_ERROR(CheckKey(write.key));
  return AbortMultipartUpload(client_, FullKey(write.key), write.upload_id);
}

}  // namespace gb
