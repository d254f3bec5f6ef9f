#include "store/object_stream.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "io/prefetcher.h"

namespace gb {
namespace {

// The channel between ObjectWriter::Write and Store::Put moves blocks of this size, at most
// kMaxQueuedBlocks of them waiting: with the block being filled and the one being read, the
// channel holds at most 5 MiB, and large enough blocks keep its locking cost negligible.
constexpr size_t kBlockSize = 1 << 20;
constexpr size_t kMaxQueuedBlocks = 3;

Status ObjectMissing(const std::string& name) {
  return Status::Failed("cannot read " + name + ": no such object",
                        "the set is incomplete or was removed; run audit");
}

// Receives one ranged Get into a caller's buffer of exactly the bytes asked for.
class BufferSink : public ByteSink {
 public:
  BufferSink(char* buffer, size_t capacity, const std::atomic<bool>& cancelled,
             const std::string& name)
      : buffer_(buffer), capacity_(capacity), cancelled_(cancelled), name_(name) {}

  Status Write(const void* data, size_t size) override {
    // The reader was destroyed: cut the transfer short rather than finish a chunk no one reads.
    if (cancelled_) return Status::Failed("reading " + name_ + " was stopped");
    if (size > capacity_ - filled_) {
      return Status::Failed("the store sent more bytes of " + name_ + " than were asked for");
    }
    std::memcpy(buffer_ + filled_, data, size);
    filled_ += size;
    return Status::Ok();
  }
  size_t filled() const { return filled_; }

 private:
  char* buffer_;
  size_t capacity_;
  size_t filled_ = 0;
  const std::atomic<bool>& cancelled_;
  const std::string& name_;
};

// Appends to a string it does not own (whose memory a caller reuses).
class AppendingSink : public ByteSink {
 public:
  explicit AppendingSink(std::string& bytes) : bytes_(bytes) {}
  Status Write(const void* data, size_t size) override {
    bytes_.append(static_cast<const char*>(data), size);
    return Status::Ok();
  }

 private:
  std::string& bytes_;
};

// An object as a ByteSource: each Read is one ranged Get of up to `capacity` bytes, so the
// Prefetcher's chunk size is the Get size.
class RangedGetSource : public ByteSource {
 public:
  RangedGetSource(Store& store, std::string key, std::string name, uint64_t size)
      : store_(store), key_(std::move(key)), name_(std::move(name)), size_(size) {}

  Result<size_t> Read(void* buffer, size_t capacity) override {
    if (offset_ == size_) return size_t{0};
    const size_t length = static_cast<size_t>(std::min<uint64_t>(capacity, size_ - offset_));
    BufferSink sink(static_cast<char*>(buffer), length, cancelled_, name_);
    GB_RETURN_IF_ERROR(store_.Get(key_, offset_, length, sink));
    if (sink.filled() != length) {
      return Status::Failed(name_ + " ended at byte " + std::to_string(offset_ + sink.filled()) +
                                " while " + std::to_string(size_) + " were expected",
                            "the object was replaced or truncated while it was read");
    }
    offset_ += length;
    return length;
  }

  void Cancel() { cancelled_ = true; }
  const std::string& name() const { return name_; }
  uint64_t size() const { return size_; }

 private:
  Store& store_;
  const std::string key_;
  const std::string name_;
  const uint64_t size_;
  uint64_t offset_ = 0;
  std::atomic<bool> cancelled_{false};
};

Result<uint64_t> ObjectSize(Store& store, const std::string& key, const std::string& name) {
  GB_ASSIGN_OR_RETURN(const HeadResult head, store.Head(key));
  if (!head.exists) return ObjectMissing(name);
  return head.info.size;
}

}  // namespace

std::string ObjectName(const Store& store, const std::string& key) {
  std::string root = store.Describe();
  if (!root.empty() && root.back() != '/') root += '/';
  return root + key;
}

// ----------------------------------------------------------------------------------------
// StoreRangeSource

Result<std::unique_ptr<StoreRangeSource>> StoreRangeSource::Open(Store& store, std::string key) {
  std::string name = ObjectName(store, key);
  GB_ASSIGN_OR_RETURN(const uint64_t size, ObjectSize(store, key, name));
  return std::unique_ptr<StoreRangeSource>(
      new StoreRangeSource(store, std::move(key), std::move(name), size));
}

Result<std::string> StoreRangeSource::ReadRange(uint64_t offset, size_t length) {
  std::string bytes;
  GB_RETURN_IF_ERROR(ReadRangeInto(offset, length, &bytes));
  return bytes;
}

Status StoreRangeSource::ReadRangeInto(uint64_t offset, size_t length, std::string* into) {
  if (offset > size_ || length > size_ - offset) {
    return Status::Failed("cannot read bytes [" + std::to_string(offset) + ", " +
                              std::to_string(offset + length) + ") of " + name_ +
                              ": it has only " + std::to_string(size_) + " bytes",
                          "the object is truncated or was replaced while it was read");
  }
  into->clear();  // keeps its memory
  // A zero-length Get still costs a request (a HEAD on S3) and says nothing new.
  if (length == 0) return Status::Ok();
  into->reserve(length);
  AppendingSink sink(*into);
  GB_RETURN_IF_ERROR(store_.Get(key_, offset, length, sink));
  if (into->size() != length) {
    return Status::Failed("got " + std::to_string(into->size()) + " bytes of " + name_ +
                          " at offset " + std::to_string(offset) + " instead of " +
                          std::to_string(length));
  }
  return Status::Ok();
}

// ----------------------------------------------------------------------------------------
// ObjectReader

struct ObjectReader::Impl {
  std::unique_ptr<RangedGetSource> source;
  // Declared after source: stopped and joined before the source goes.
  std::unique_ptr<Prefetcher> prefetcher;
  std::unique_ptr<PrefetchedChunk> chunk;  // the one being consumed
  size_t chunk_pos = 0;
  bool at_end = false;
  Status failure;

  ~Impl() {
    if (source) source->Cancel();
    prefetcher.reset();
  }
};

ObjectReader::ObjectReader() : impl_(std::make_unique<Impl>()) {}
ObjectReader::~ObjectReader() = default;

Result<std::unique_ptr<ObjectReader>> ObjectReader::Open(Store& store, std::string key,
                                                         size_t chunk) {
  std::string name = ObjectName(store, key);
  GB_ASSIGN_OR_RETURN(const uint64_t size, ObjectSize(store, key, name));
  std::unique_ptr<ObjectReader> reader(new ObjectReader());
  Impl& impl = *reader->impl_;
  impl.source = std::make_unique<RangedGetSource>(store, std::move(key), std::move(name), size);
  Prefetcher::Options options;
  // A small object (a manifest) needs no 8 MiB buffers.
  options.chunk_size = static_cast<size_t>(std::clamp<uint64_t>(size, 1, std::max<size_t>(chunk, 1)));
  options.chunks = 2;  // the one consumed and the one fetched
  impl.prefetcher = std::make_unique<Prefetcher>(*impl.source, options);
  return reader;
}

Result<size_t> ObjectReader::Read(void* buffer, size_t capacity) {
  Impl& impl = *impl_;
  if (!impl.failure.ok()) return impl.failure;
  if (impl.at_end || capacity == 0) return size_t{0};
  if (!impl.chunk || impl.chunk_pos == impl.chunk->size) {
    if (impl.chunk) impl.prefetcher->Recycle(std::move(impl.chunk));
    Result<std::unique_ptr<PrefetchedChunk>> next = impl.prefetcher->Next();
    if (!next.ok()) {
      impl.failure = next.status();
      return impl.failure;
    }
    impl.chunk = std::move(next).value();
    impl.chunk_pos = 0;
    if (impl.chunk->size == 0) {
      impl.at_end = true;
      return size_t{0};
    }
  }
  const size_t n = std::min(capacity, impl.chunk->size - impl.chunk_pos);
  std::memcpy(buffer, impl.chunk->bytes.data() + impl.chunk_pos, n);
  impl.chunk_pos += n;
  return n;
}

uint64_t ObjectReader::size() const { return impl_->source->size(); }
const std::string& ObjectReader::name() const { return impl_->source->name(); }

// ----------------------------------------------------------------------------------------
// ObjectWriter

namespace {

// The bounded channel: blocks written by ObjectWriter::Write, read by Store::Put's thread.
class BlockChannel : public ByteSource {
 public:
  // Producer side. Waits while the channel is full; fails with the reason the stream can no
  // longer be stored (aborted, or Put already returned).
  Status Push(std::string block) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return queued_.size() < kMaxQueuedBlocks || !StopReason().ok(); });
    GB_RETURN_IF_ERROR(StopReason());
    queued_.push_back(std::move(block));
    changed_.notify_all();
    return Status::Ok();
  }
  // An empty block to fill, reusing one the reader is done with.
  std::string TakeSpare() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::string block;
    if (!spare_.empty()) {
      block = std::move(spare_.back());
      spare_.pop_back();
    }
    block.clear();
    block.reserve(kBlockSize);
    return block;
  }
  void Close() {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    changed_.notify_all();
  }
  // The first reason wins.
  void Abort(const Status& why) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (aborted_.ok()) aborted_ = why;
    changed_.notify_all();
  }
  // Put returned `status`: nothing will read the channel any more.
  void PutReturned(const Status& status, const std::string& name) {
    std::lock_guard<std::mutex> lock(mutex_);
    put_status_ = status.ok() && !closed_
                      ? Status::Failed("the store ended " + name + " before its stream did")
                      : status;
    put_returned_ = true;
    changed_.notify_all();
  }
  // Cheap enough for every Write: true once Put returned before the end of the stream.
  bool put_returned() const { return put_returned_; }
  Status StopReasonLocked() {
    std::lock_guard<std::mutex> lock(mutex_);
    return StopReason();
  }

  // Consumer side (Put's thread).
  Result<size_t> Read(void* buffer, size_t capacity) override {
    if (reading_pos_ == reading_.size()) {
      std::unique_lock<std::mutex> lock(mutex_);
      spare_.push_back(std::move(reading_));
      reading_ = std::string();
      reading_pos_ = 0;
      changed_.wait(lock, [&] { return !queued_.empty() || closed_ || !aborted_.ok(); });
      if (!aborted_.ok()) return aborted_;
      if (queued_.empty()) return size_t{0};  // closed: the end of the stream
      reading_ = std::move(queued_.front());
      queued_.pop_front();
      changed_.notify_all();
    }
    const size_t n = std::min(capacity, reading_.size() - reading_pos_);
    std::memcpy(buffer, reading_.data() + reading_pos_, n);
    reading_pos_ += n;
    return n;
  }

 private:
  // REQUIRES: mutex_ held.
  Status StopReason() const {
    if (!aborted_.ok()) return aborted_;
    if (put_returned_) return put_status_;
    return Status::Ok();
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::string> queued_;
  std::vector<std::string> spare_;
  bool closed_ = false;
  Status aborted_;
  std::atomic<bool> put_returned_{false};  // read without the lock by put_returned()
  Status put_status_;
  // Only Put's thread touches these.
  std::string reading_;
  size_t reading_pos_ = 0;
};

}  // namespace

struct ObjectWriter::Impl {
  enum class State { kOpen, kCommitting, kDone };

  Store* store = nullptr;
  std::string key;
  std::string name;
  BlockChannel channel;
  std::string filling;  // the block Write is filling; only the producer touches it
  std::atomic<State> state{State::kOpen};
  std::optional<Result<ObjectInfo>> put_result;  // written by the thread, read after the join
  std::mutex join_mutex;
  std::thread thread;

  void Join() {
    std::lock_guard<std::mutex> lock(join_mutex);
    if (thread.joinable()) thread.join();
  }
};

ObjectWriter::ObjectWriter() : impl_(std::make_unique<Impl>()) {}

ObjectWriter::~ObjectWriter() {
  if (impl_->state != Impl::State::kDone) {
    Abort(Status::Failed("the stream for " + impl_->name + " was dropped before it was committed"));
  }
  impl_->Join();
}

Result<std::unique_ptr<ObjectWriter>> ObjectWriter::Start(Store& store, std::string key) {
  std::unique_ptr<ObjectWriter> writer(new ObjectWriter());
  Impl& impl = *writer->impl_;
  impl.store = &store;
  impl.name = ObjectName(store, key);
  impl.key = std::move(key);
  impl.filling = impl.channel.TakeSpare();
  // The key is checked by Put itself: an invalid one fails the first Write, as any early
  // failure of Put does.
  impl.thread = std::thread([&impl] {
    Result<ObjectInfo> stored = impl.store->Put(impl.key, impl.channel);
    impl.channel.PutReturned(stored.status(), impl.name);
    impl.put_result.emplace(std::move(stored));
  });
  return writer;
}

Status ObjectWriter::Write(const void* data, size_t size) {
  Impl& impl = *impl_;
  if (impl.channel.put_returned() || impl.state != Impl::State::kOpen) {
    GB_RETURN_IF_ERROR(impl.channel.StopReasonLocked());
    return Status::Failed("write to " + impl.name + " after it was committed");
  }
  const char* next = static_cast<const char*>(data);
  while (size > 0) {
    const size_t n = std::min(size, kBlockSize - impl.filling.size());
    impl.filling.append(next, n);
    next += n;
    size -= n;
    if (impl.filling.size() == kBlockSize) {
      GB_RETURN_IF_ERROR(impl.channel.Push(std::move(impl.filling)));
      impl.filling = impl.channel.TakeSpare();
    }
  }
  return Status::Ok();
}

Result<ObjectInfo> ObjectWriter::Commit() {
  Impl& impl = *impl_;
  Impl::State open = Impl::State::kOpen;
  if (!impl.state.compare_exchange_strong(open, Impl::State::kCommitting)) {
    GB_RETURN_IF_ERROR(impl.channel.StopReasonLocked());
    return Status::Failed(impl.name + " was already committed");
  }
  Status pushed = Status::Ok();
  if (!impl.filling.empty()) pushed = impl.channel.Push(std::move(impl.filling));
  impl.channel.Close();
  impl.Join();
  impl.state = Impl::State::kDone;
  if (!pushed.ok()) return pushed;
  return *impl.put_result;
}

void ObjectWriter::Abort(const Status& why) {
  Impl& impl = *impl_;
  if (impl.state == Impl::State::kDone) return;
  impl.channel.Abort(why);
  impl.Join();
  impl.state = Impl::State::kDone;
}

const std::string& ObjectWriter::name() const { return impl_->name; }

}  // namespace gb
