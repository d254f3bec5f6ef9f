// FrameStream: byte ranges of a seekable zstd file's decompressed stream (or the whole
// stream) as one ByteSource, the frames they need fetched and decompressed ahead, in order,
// by a small pool of threads. Only the frames that cover the ranges are read (one ranged
// read each), so extracting one file of a large set touches one or two frames, and reading
// a whole half runs at the speed of several cores rather than one.
//
// Memory is bounded whatever the length of the stream: at most threads + 1 frames are in
// flight (fetched, being decompressed, or decompressed and waiting to be read), and in
// Whole, 2 more waiting to be hashed (on a thread of their own): with 4 MiB frames and 4
// threads, about 35 MiB.
//
// Thread-safety: one consumer thread calls Read; the decompressing threads are internal and
// are stopped when the stream is destroyed. The SeekableZstdReader must outlive the stream.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/byte_stream.h"
#include "io/ordered_workers.h"
#include "io/seekable_zstd_reader.h"
#include "io/status.h"

namespace gb {

// [begin, end) of a decompressed stream.
struct StreamRange {
  uint64_t begin = 0;
  uint64_t end = 0;
};

// Frames decompressed at once when the caller says 0: past 4, the consumer (tar, a hash)
// is the bottleneck on any machine, and each thread holds two frames.
inline constexpr int kDefaultFrameThreads = 4;

class FrameStream : public ByteSource {
 public:
  // The bytes of `ranges` of `half`, in order. Ranges must be sorted, disjoint and inside
  // the stream (empty ones are skipped); otherwise an error naming the half and the range.
  // `threads` decompress (the consumer's thread is one of them); 0 = up to
  // kDefaultFrameThreads cores.
  static Result<std::unique_ptr<FrameStream>> Ranges(const SeekableZstdReader& half,
                                                     std::vector<StreamRange> ranges,
                                                     int threads);
  // Every byte of the stream, and the SHA-256 of every byte of the file (frames in order,
  // then the seek table) as it goes.
  static std::unique_ptr<FrameStream> Whole(const SeekableZstdReader& half, int threads);
  ~FrameStream() override;
  FrameStream(const FrameStream&) = delete;
  FrameStream& operator=(const FrameStream&) = delete;

  Result<size_t> Read(void* buffer, size_t capacity) override;

  // Whole only: of the file; valid once Read returned 0 ("" before).
  const std::string& sha256_hex() const { return sha256_hex_; }
  // Stored bytes of the frames read so far (the seek table too, at the end of Whole).
  uint64_t compressed_bytes() const { return compressed_bytes_; }

 private:
  // `take` bytes of frame `frame`'s content from `skip` on.
  struct Piece {
    size_t frame = 0;
    uint64_t skip = 0;
    uint64_t take = 0;
  };

  class BackgroundHash;

  FrameStream(const SeekableZstdReader& half, std::vector<Piece> pieces, int threads, bool whole);
  void SubmitAhead();
  void ReleaseContent();  // content_ read: to the hasher (Whole) or back to the workers
  Status TakeFrame(size_t frame);  // the next frame in order, which must be `frame`

  const SeekableZstdReader& half_;
  const std::vector<Piece> pieces_;
  std::vector<size_t> frames_;  // distinct frames of pieces_, in order: the jobs
  const bool whole_;
  size_t submitted_ = 0;  // jobs given to the workers
  size_t taken_ = 0;      // jobs whose result was taken
  size_t piece_ = 0;      // the piece being read
  uint64_t at_ = 0;       // bytes of it already read
  bool loaded_ = false;   // content_ holds pieces_[piece_].frame
  std::string content_;   // the loaded frame (in Whole: its stored bytes appended)
  Status failure_;
  std::unique_ptr<BackgroundHash> hasher_;  // Whole only
  std::string sha256_hex_;
  uint64_t compressed_bytes_ = 0;
  std::vector<std::unique_ptr<SeekableZstdReader::FrameDecoder>> decoders_;  // one per thread
  std::vector<std::string> scratch_;  // per thread: a frame's stored bytes
  std::unique_ptr<OrderedWorkers> workers_;  // last: stopped before what it uses goes
};

}  // namespace gb
