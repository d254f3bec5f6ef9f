// SeekableZstdWriter: writes a set half as independent zstd frames followed by a seek
// table (zstd seekable format), so that a reader can decompress frames in parallel and
// reach any decompressed offset by decompressing only the frames that cover it.
//
// Layout: [identity skippable frame] data frames... seek-table frame. Each data frame holds
// `frame_input_size` input bytes (fewer where the caller cut it: CutFrame, or at the end),
// carries its content size and XXH64 checksum, and is compressed by one of `threads`
// threads (threads - 1 workers and the caller, while it waits for a frame), each with its
// own ZSTD_CCtx. `zstd -d` and `tar --zstd` read the file as one stream;
// they skip the identity frame and the seek table. The seek table lists every frame, the
// identity frame included (decompressed size 0), and carries no checksums of its own.
//
// Memory: at most threads + 1 frames in flight, each an input and an output buffer, plus
// the frame being filled: about (threads + 2) * 2 * frame_input_size.
// Not thread-safe: one caller thread; the compression runs on the writer's threads too.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/byte_stream.h"
#include "io/seek_table.h"
#include "io/status.h"

namespace gb {

struct SeekableZstdOptions {
  int level = 3;
  int threads = 0;                         // compressing threads; 0 = all online cores
  size_t frame_input_size = 16 << 20;      // 1 byte .. 1 GiB (the format's frame limit)
  std::string identity_frame;              // payload of a skippable frame written first
  // false: sha256_hex() stays empty (a caller that hashes what it stores after encrypting
  // it has no use for a second SHA-256 of every byte).
  bool hash_output = true;
};

class SeekableZstdWriter : public ByteSink {
 public:
  // Writes to `sink`, which must outlive the writer; `name` names the output in errors.
  static Result<std::unique_ptr<SeekableZstdWriter>> Create(ByteSink& sink, std::string name,
                                                            const SeekableZstdOptions& options);
  // Creates `path` (O_EXCL, mode 0600); Finish() fsyncs and closes it.
  static Result<std::unique_ptr<SeekableZstdWriter>> CreateFile(
      const std::string& path, const SeekableZstdOptions& options);
  ~SeekableZstdWriter() override;

  Status Write(const void* data, size_t size) override;
  // Ends the current frame here, so that the next byte starts a new frame (e.g. at a tar
  // member boundary). Does nothing if the current frame is empty.
  Status CutFrame();
  // Writes the last frames and the seek table (and fsyncs, for CreateFile).
  Status Finish();

  // Frames in file order, the identity frame first if any; complete after Finish().
  const std::vector<SeekableFrame>& frames() const;
  uint64_t input_bytes() const;    // uncompressed bytes written by the caller
  uint64_t file_bytes() const;     // bytes written to the sink, seek table included
  std::string sha256_hex() const;  // of every byte written to the sink; valid after Finish()
                                   // ("" without hash_output)

 private:
  SeekableZstdWriter();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gb
