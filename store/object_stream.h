// Byte streams into and out of a Store, so that the halves of a set flow between zstd, tar or
// pg_dump and a store (a directory, an S3 bucket) without a whole object in memory or on a
// local disk:
//   - StoreRangeSource: ranged reads of one object (the seekable reader, header frames);
//   - ObjectReader: one object front to back, with read-ahead (zstd, tar, pg_restore);
//   - ObjectWriter: a stream that becomes one object only when it is committed.
//
// The Store must outlive every object made on it. Thread-safety: see each class.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "io/byte_stream.h"
#include "io/range_source.h"
#include "io/status.h"
#include "store/store.h"

namespace gb {

// How errors and messages name object `key` of `store`: "s3://bucket/prefix/key" or
// "/backups/key".
std::string ObjectName(const Store& store, const std::string& key);

// A RangeSource over one stored object (size from Head when opened): for the seekable
// reader and for header frames. Thread-safe (ranged Gets are independent).
class StoreRangeSource : public RangeSource {
 public:
  // An absent object is an error naming it.
  static Result<std::unique_ptr<StoreRangeSource>> Open(Store& store, std::string key);

  const std::string& name() const override { return name_; }
  uint64_t size() const override { return size_; }
  Result<std::string> ReadRange(uint64_t offset, size_t length) override;
  Status ReadRangeInto(uint64_t offset, size_t length, std::string* into) override;

 private:
  StoreRangeSource(Store& store, std::string key, std::string name, uint64_t size)
      : store_(store), key_(std::move(key)), name_(std::move(name)), size_(size) {}

  Store& store_;
  const std::string key_;
  const std::string name_;
  const uint64_t size_;
};

// An object read front to back as a ByteSource in ranged Gets of `chunk` bytes, with the
// next chunk fetched on a background thread while the consumer works on this one
// (read-ahead), so that zstd/tar/pg_restore never wait for a whole download and memory
// stays at about 2 chunks. A failed Get is an error of Read naming the object; so is an
// object that changed size since Open.
//
// Thread-safety: one consumer thread; the fetching thread is internal and is stopped (its
// Get in progress cut short) when the reader is destroyed.
class ObjectReader : public ByteSource {
 public:
  static Result<std::unique_ptr<ObjectReader>> Open(Store& store, std::string key,
                                                    size_t chunk = 8u << 20);
  ~ObjectReader() override;

  Result<size_t> Read(void* buffer, size_t capacity) override;
  uint64_t size() const;            // of the object when opened
  const std::string& name() const;  // ObjectName

 private:
  ObjectReader();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A ByteSink whose bytes become object `key` only when Commit() succeeds: Store::Put runs
// on its own thread, pulling from a bounded in-memory channel (a few MiB) that Write fills
// (Write blocks while it is full). Abort(why) or destroying an uncommitted writer makes the
// channel's Read return an error, so Put fails and leaves no object, not even a partial one
// (S3: the multipart upload is aborted; local: the temporary file is removed). A Put that
// fails early makes the next Write return its error (the producer stops at once).
//
// Thread-safety: one producer thread calls Write and Commit; Abort may also be called from
// another thread (an interruption), which wakes a Write or a Commit waiting on the channel.
class ObjectWriter : public ByteSink {
 public:
  static Result<std::unique_ptr<ObjectWriter>> Start(Store& store, std::string key);
  ~ObjectWriter() override;  // Abort if neither committed nor aborted; joins the thread

  Status Write(const void* data, size_t size) override;
  // End of stream; waits for Put and returns what was stored (or Put's error).
  Result<ObjectInfo> Commit();
  // Stops the upload: Put fails with `why` if it is still reading, and nothing is stored.
  // Waits for Put to return. Does nothing once Commit has returned.
  void Abort(const Status& why);

  const std::string& name() const;  // ObjectName

 private:
  ObjectWriter();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gb
