#include "store/s3_multipart.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "io/time_text.h"
#include "store/s3_retry.h"

namespace gb {
namespace {

// Reads from `source` until `buffer` holds `capacity` bytes or the stream ends.
Status Fill(ByteSource& source, std::string& buffer, size_t capacity) {
  buffer.resize(capacity);
  size_t filled = 0;
  while (filled < capacity) {
    GB_ASSIGN_OR_RETURN(const size_t n, source.Read(buffer.data() + filled, capacity - filled));
    if (n == 0) break;
    filled += n;
  }
  buffer.resize(filled);
  return Status::Ok();
}

Result<ObjectInfo> PutSingle(S3Client& client, const std::string& object_key,
                             const std::string& data) {
  const std::string md5 = Md5Binary(data);
  S3Request request("PUT", object_key);
  request.WithBody(data, md5);
  request.creates_object = true;
  GB_ASSIGN_OR_RETURN(const S3Response response, client.Send(std::move(request)));
  const std::string etag = Unquote(response.Header("etag"));
  // Content-MD5 already made the server check the bytes; an ETag other than their md5 means
  // something in between (a proxy, an encrypting gateway) changed the object.
  if (etag != Hex(md5)) {
    return Status::Failed("S3 PUT " + S3Name(client.config(), object_key) + ": ETag " + etag +
                          " is not the md5 of the bytes sent");
  }
  return ObjectInfo{object_key, data.size(), etag};
}

// The buffers an upload reads into and the parts waiting for a worker.
class PartQueue {
 public:
  explicit PartQueue(int buffers) : free_(static_cast<size_t>(buffers)) {
    for (size_t i = 0; i < free_.size(); ++i) free_[i] = std::make_unique<std::string>();
  }
  std::unique_ptr<std::string> TakeFree() {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return !free_.empty(); });
    std::unique_ptr<std::string> buffer = std::move(free_.back());
    free_.pop_back();
    return buffer;
  }
  void GiveBack(std::unique_ptr<std::string> buffer) {
    std::lock_guard<std::mutex> lock(mutex_);
    free_.push_back(std::move(buffer));
    changed_.notify_all();
  }
  void Push(int number, std::unique_ptr<std::string> buffer) {
    std::lock_guard<std::mutex> lock(mutex_);
    pending_.emplace_back(number, std::move(buffer));
    changed_.notify_all();
  }
  // Waits for a part; number 0 once the queue is closed and drained.
  std::pair<int, std::unique_ptr<std::string>> Pop() {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return !pending_.empty() || closed_; });
    if (pending_.empty()) return {0, nullptr};
    auto part = std::move(pending_.front());
    pending_.pop_front();
    return part;
  }
  void Close() {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    changed_.notify_all();
  }
  void Fail(const Status& status) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (error_.ok()) error_ = status;
  }
  Status error() {
    std::lock_guard<std::mutex> lock(mutex_);
    return error_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::unique_ptr<std::string>> free_;
  std::deque<std::pair<int, std::unique_ptr<std::string>>> pending_;
  bool closed_ = false;
  Status error_;
};

// Gives the stored version of `object_key` the config's Object Lock retention
// (PutObjectRetention); an empty `version_id` (a bucket without versioning) names the object.
Status LockVersion(S3Client& client, const std::string& object_key,
                   const std::string& version_id) {
  const S3Config& config = client.config();
  const std::string body =
      RetentionBody(ObjectLockModeHeader(config.object_lock),
                    FormatRfc3339(std::chrono::system_clock::now() + config.object_lock_retain));
  S3Request request("PUT", object_key, {{"retention", ""}});
  if (!version_id.empty()) request.query["versionId"] = version_id;
  request.headers = {"Content-Type: application/xml"};
  request.WithBody(body);  // with Content-MD5, which AWS requires here
  return client.Send(std::move(request)).status();
}

}  // namespace

struct MultipartUpload::Parts {
  std::mutex mutex;
  std::vector<std::string> etags;  // [number - 1]
  std::vector<std::string> md5s;   // raw digests, [number - 1]
};

MultipartUpload::MultipartUpload(S3Client& client, std::string object_key, std::string upload_id)
    : client_(&client),
      object_key_(std::move(object_key)),
      upload_id_(std::move(upload_id)),
      parts_(std::make_shared<Parts>()) {}

Result<MultipartUpload> MultipartUpload::Start(S3Client& client, const std::string& object_key) {
  S3Request request("POST", object_key, {{"uploads", ""}});
  request.creates_object = true;  // the object completed from the parts carries the lock
  GB_ASSIGN_OR_RETURN(const S3Response response, client.Send(std::move(request)));
  GB_ASSIGN_OR_RETURN(std::string upload_id, ParseInitiateMultipartUpload(response.body));
  return MultipartUpload(client, object_key, std::move(upload_id));
}

Status MultipartUpload::UploadPart(int number, std::string_view data) {
  if (number < 1 || number > kS3MaxParts) {
    return Status::Failed("S3 upload of " + S3Name(client_->config(), object_key_) +
                              " needs more than " + std::to_string(kS3MaxParts) + " parts",
                          "raise part_size (the limit is 46,000 * part_size)");
  }
  std::string md5 = Md5Binary(data);  // sent as Content-MD5, and kept for the ETag check
  S3Request request("PUT", object_key_,
                    {{"partNumber", std::to_string(number)}, {"uploadId", upload_id_}});
  request.WithBody(data, md5);
  GB_ASSIGN_OR_RETURN(const S3Response response, client_->Send(std::move(request)));
  std::lock_guard<std::mutex> lock(parts_->mutex);
  if (parts_->etags.size() < static_cast<size_t>(number)) {
    parts_->etags.resize(number);
    parts_->md5s.resize(number);
  }
  parts_->etags[number - 1] = Unquote(response.Header("etag"));
  parts_->md5s[number - 1] = std::move(md5);
  return Status::Ok();
}

Result<ObjectInfo> MultipartUpload::Complete(int count, uint64_t total_size) {
  const std::string name = S3Name(client_->config(), object_key_);
  std::vector<std::string> etags;
  std::string md5s;
  {
    std::lock_guard<std::mutex> lock(parts_->mutex);
    if (parts_->etags.size() != static_cast<size_t>(count)) {
      return Status::Failed("S3 upload of " + name + ": parts missing before completion");
    }
    etags = parts_->etags;
    for (const std::string& md5 : parts_->md5s) md5s += md5;
  }
  const std::string body = CompleteMultipartUploadBody(etags);
  S3Request request("POST", object_key_, {{"uploadId", upload_id_}});
  request.headers = {"Content-Type: application/xml"};
  request.body = body;
  GB_ASSIGN_OR_RETURN(const S3Response response, client_->Send(std::move(request)));
  // S3 may report a failed completion inside a 200 answer.
  if (!ParseS3Error(response.body).code.empty()) {
    return S3ErrorStatus(response, "POST " + name + " (complete)");
  }
  // The completion answer's ETag is empty on RGW 16.2: HEAD says what was stored.
  S3Request head("HEAD", object_key_);
  GB_ASSIGN_OR_RETURN(const S3Response stored, client_->Send(std::move(head)));
  const std::string expected_etag = Hex(Md5Binary(md5s)) + "-" + std::to_string(count);
  const std::string etag = Unquote(stored.Header("etag"));
  const std::string size = stored.Header("content-length");
  if (etag != expected_etag || size != std::to_string(total_size)) {
    return Status::Failed("S3 upload of " + name + ": the stored object (" + size +
                              " bytes, ETag " + etag + ") is not what was sent (" +
                              std::to_string(total_size) + " bytes, ETag " + expected_etag + ")",
                          "another writer may have replaced it; upload again");
  }
  if (client_->config().object_lock != ObjectLockMode::kNone &&
      stored.Header("x-amz-object-lock-retain-until-date").empty()) {
    // RGW 16.2 ignores the lock headers of CreateMultipartUpload (AWS applies them): lock the
    // completed version itself. An object that cannot be locked is not left behind unlocked.
    Status locked = LockVersion(*client_, object_key_, stored.Header("x-amz-version-id"));
    if (!locked.ok()) {
      S3Request remove("DELETE", object_key_);
      Status removed = client_->Send(std::move(remove), {404}).status();
      return removed.ok() ? locked
                          : locked.WithHint(locked.hint() + "; the unlocked object is still "
                                            "there: " + removed.message());
    }
  }
  return ObjectInfo{object_key_, total_size, etag};
}

Status MultipartUpload::Abort() {
  return AbortMultipartUpload(*client_, object_key_, upload_id_);
}

Status AbortMultipartUpload(S3Client& client, const std::string& object_key,
                            const std::string& upload_id) {
  S3Request request("DELETE", object_key, {{"uploadId", upload_id}});
  Result<S3Response> response = client.Send(std::move(request), {404});
  return response.status();
}

Result<std::vector<S3PendingUpload>> ListMultipartUploads(S3Client& client,
                                                          const std::string& prefix) {
  std::vector<S3PendingUpload> uploads;
  std::string key_marker, upload_id_marker;
  for (;;) {
    S3Request request("GET", "", {{"uploads", ""}, {"prefix", prefix},
                                  {"max-uploads", std::to_string(client.config().list_page_size)}});
    if (!key_marker.empty()) request.query["key-marker"] = key_marker;
    if (!upload_id_marker.empty()) request.query["upload-id-marker"] = upload_id_marker;
    GB_ASSIGN_OR_RETURN(const S3Response response, client.Send(std::move(request)));
    GB_ASSIGN_OR_RETURN(S3UploadPage page, ParseListMultipartUploads(response.body));
    for (S3PendingUpload& upload : page.uploads) uploads.push_back(std::move(upload));
    if (!page.truncated) return uploads;
    if (page.next_key_marker.empty() ||
        (page.next_key_marker == key_marker && page.next_upload_id_marker == upload_id_marker)) {
      return Status::Failed("S3 listing of uploads in " + S3Name(client.config(), prefix) +
                            " does not advance (truncated without a next marker)");
    }
    key_marker = page.next_key_marker;
    upload_id_marker = page.next_upload_id_marker;
  }
}

namespace {

// Parts 2..N of a multipart upload whose part 1 is already read into `first`: a reader
// (this thread) fills buffers from the pool, `concurrency` workers send them.
Result<ObjectInfo> UploadParts(S3Client& client, MultipartUpload& upload, ByteSource& source,
                               std::unique_ptr<std::string> first) {
  const S3Config& config = client.config();
  // With `first`, upload_concurrency + 1 buffers: one being filled while the others are sent.
  PartQueue queue(config.upload_concurrency);
  std::vector<std::thread> workers;
  for (int i = 0; i < config.upload_concurrency; ++i) {
    workers.emplace_back([&queue, &upload] {
      for (auto [number, buffer] = queue.Pop(); number != 0; std::tie(number, buffer) = queue.Pop()) {
        if (queue.error().ok()) {
          Status sent = upload.UploadPart(number, *buffer);
          if (!sent.ok()) queue.Fail(sent);
        }
        queue.GiveBack(std::move(buffer));
      }
    });
  }
  uint64_t total = first->size();
  int count = 1;
  queue.Push(1, std::move(first));
  while (queue.error().ok()) {
    std::unique_ptr<std::string> buffer = queue.TakeFree();
    Status read = Fill(source, *buffer, PartSizeFor(count + 1, config.part_size));
    if (!read.ok()) queue.Fail(read);
    if (!read.ok() || buffer->empty()) {
      queue.GiveBack(std::move(buffer));
      break;
    }
    total += buffer->size();
    queue.Push(++count, std::move(buffer));
  }
  queue.Close();
  for (std::thread& worker : workers) worker.join();
  if (!queue.error().ok()) return queue.error();
  return upload.Complete(count, total);
}

}  // namespace

Result<ObjectInfo> UploadStream(S3Client& client, const std::string& object_key,
                                ByteSource& source) {
  const S3Config& config = client.config();
  auto first = std::make_unique<std::string>();
  GB_RETURN_IF_ERROR(Fill(source, *first, config.part_size));
  if (first->size() < config.part_size) return PutSingle(client, object_key, *first);

  GB_ASSIGN_OR_RETURN(MultipartUpload upload, MultipartUpload::Start(client, object_key));
  Result<ObjectInfo> uploaded = UploadParts(client, upload, source, std::move(first));
  if (!uploaded.ok()) {
    // Parts cost storage until aborted; if the abort fails too, ListMultipartUploads (audit)
    // finds the upload later.
    Status aborted = upload.Abort();
    if (!aborted.ok()) {
      return uploaded.status().WithHint("the unfinished upload " + upload.upload_id() +
                                        " could not be aborted: " + aborted.message());
    }
  }
  return uploaded;
}

}  // namespace gb
