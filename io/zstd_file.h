// Compressed set files: one-pass zstd writing and reading with SHA-256 of the file bytes.
//
// A set's half is a zstd stream whose first frame is a skippable frame holding the pair
// identity (a small TOML text), so the identity can be read without decompressing anything
// and `zstd -d` still yields exactly the payload.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "io/byte_stream.h"
#include "io/status.h"

namespace gb {

struct ZstdWriterOptions {
  int level = 3;
  int threads = 0;             // zstd worker threads; 0 = all online cores
  std::string header_frame;    // payload of a skippable frame written first; none if empty
};

// Writes a new file (O_EXCL, mode 0600) as zstd. Input is compressed by zstd's worker
// threads; the compressed bytes are hashed and counted on their way to disk.
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

// Reads a zstd file made by ZstdFileWriter (or by the zstd tool): decompressed bytes out,
// file bytes hashed as they are read.
class ZstdFileReader : public ByteSource {
 public:
  static Result<std::unique_ptr<ZstdFileReader>> Open(const std::string& path);
  ~ZstdFileReader() override;

  // Decompressed payload; skippable frames are skipped. A corrupt or truncated stream is
  // an error naming the file.
  Result<size_t> Read(void* buffer, size_t capacity) override;

  const std::string& header_frame() const;  // payload of a leading skippable frame, or ""
  // SHA-256 of the file bytes; valid once Read() has returned 0.
  std::string sha256_hex() const;

 private:
  ZstdFileReader();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Reads only the payload of the leading skippable frame of `path` ("" if it has none).
Result<std::string> ReadHeaderFrame(const std::string& path);

}  // namespace gb
