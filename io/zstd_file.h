// Compressed set halves: one-pass zstd writing and reading with SHA-256 of the compressed
// bytes, as streams (ZstdWriter into any ByteSink, ZstdReader from any ByteSource: a file, an
// object of a Store) and as files (ZstdFileWriter, ZstdFileReader: thin users of the streams).
//
// A set's half is a zstd stream whose first frame is a skippable frame holding the pair
// identity (a small TOML text), so the identity can be read without decompressing anything
// (ReadHeaderFrame: two small ranged reads) and `zstd -d` still yields exactly the payload.
//
// Thread-safety: an object of these classes is used by one thread at a time (each runs its
// own helper threads inside); ReadHeaderFrame is as thread-safe as its RangeSource.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "io/byte_stream.h"
#include "io/range_source.h"
#include "io/status.h"

namespace gb {

struct ZstdWriterOptions {
  int level = 3;
  int threads = 0;             // zstd worker threads; 0 = all online cores
  std::string header_frame;    // payload of a skippable frame written first; none if empty
  bool hash_output = true;     // false: sha256_hex() stays empty (see SeekableZstdOptions)
};

// Compresses into `sink` (not owned, must outlive the writer); hashes and counts the
// compressed bytes on their way. Input is compressed by zstd's worker threads. `name` names
// the target in errors (a path, an s3:// URL). After an error every call returns it.
class ZstdWriter : public ByteSink {
 public:
  static Result<std::unique_ptr<ZstdWriter>> Create(ByteSink& sink, std::string name,
                                                    const ZstdWriterOptions& options);
  ~ZstdWriter() override;

  Status Write(const void* data, size_t size) override;
  // Ends the zstd stream; does not close or commit the sink. Required before sha256_hex().
  Status Finish();

  uint64_t input_bytes() const;    // uncompressed bytes written by the caller
  uint64_t output_bytes() const;   // compressed bytes given to the sink, header frame included
  std::string sha256_hex() const;  // of the output bytes; valid after Finish()

 private:
  ZstdWriter();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Writes a new file (O_EXCL, mode 0600) through a ZstdWriter; Finish also fsyncs and closes
// it. Errors name the file.
class ZstdFileWriter : public ByteSink {
 public:
  static Result<std::unique_ptr<ZstdFileWriter>> Create(const std::string& path,
                                                        const ZstdWriterOptions& options);
  ~ZstdFileWriter() override;

  Status Write(const void* data, size_t size) override;
  // Ends the zstd stream, fsyncs and closes the file. Required before the stats are valid.
  Status Finish();

  uint64_t input_bytes() const;    // uncompressed bytes written by the caller
  uint64_t file_bytes() const;     // bytes in the file, header frame included
  std::string sha256_hex() const;  // of the whole file; valid after Finish()
  const std::string& path() const;

 private:
  ZstdFileWriter();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Decompresses a ByteSource (owned) written by ZstdWriter or by the zstd tool: decompressed
// bytes out, compressed bytes hashed as they are read. A read-ahead thread reads and hashes
// the source in big chunks while the caller's thread decompresses the previous ones, so
// reading runs at the speed of the slower of the two. Errors name `name`.
class ZstdReader : public ByteSource {
 public:
  // Reads the leading skippable frame, if any, before returning.
  static Result<std::unique_ptr<ZstdReader>> Open(std::unique_ptr<ByteSource> source,
                                                  std::string name);
  ~ZstdReader() override;

  // Decompressed payload; skippable frames are skipped. A corrupt or truncated stream is
  // an error naming the source.
  Result<size_t> Read(void* buffer, size_t capacity) override;

  // Reads the rest of the compressed bytes without decompressing them, so that sha256_hex()
  // is that of the whole source (a caller that has read all the payload it wants still
  // checks the digest, at the cost of reading, not of decompressing). Read returns 0
  // afterwards. A truncated or corrupt stream is then told only by its digest. Virtual: a
  // subclass that decompresses by itself reads the rest through Read (the default for it).
  virtual Status SkipToEnd();

  // Virtual: a seekable half is read by a subclass that decompresses its frames in parallel
  // (coordinator/half_stream.cc), to the same effect.
  virtual const std::string& header_frame() const;  // of a leading skippable frame, or ""
  // SHA-256 of the compressed bytes; valid once Read() has returned 0 ("" before).
  virtual std::string sha256_hex() const;
  virtual uint64_t compressed_bytes() const;  // read so far, header frame included

 protected:
  ZstdReader();
  // Reads the header frame and starts the read-ahead thread (Open and subclasses).
  Status Init(std::unique_ptr<ByteSource> source, std::string name);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A ZstdReader over a file (read sequentially); errors name the file.
class ZstdFileReader : public ZstdReader {
 public:
  static Result<std::unique_ptr<ZstdFileReader>> Open(const std::string& path);

 private:
  ZstdFileReader() = default;
};

// The payload of the leading skippable frame of `object` ("" if it has none), read with two
// small ranged reads.
Result<std::string> ReadHeaderFrame(RangeSource& object);
// The same for a file.
Result<std::string> ReadHeaderFrame(const std::string& path);

}  // namespace gb
