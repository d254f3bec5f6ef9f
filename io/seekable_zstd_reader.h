// SeekableZstdReader: reads a file in the zstd seekable format (as SeekableZstdWriter
// writes it) through ranged reads: its frame list from the trailing seek table, one frame,
// a range of the decompressed stream touching only the frames that cover it, or the whole
// stream with frames decompressed in parallel and written in order (io/frame_stream.h reads
// ranges or the whole stream as a ByteSource, frames decompressed ahead on a few threads).
//
// Every frame is checked against its seek-table entry (one whole frame of exactly the
// listed sizes) and, when it carries one, against its XXH64 content checksum; a damaged
// table or frame is refused with an error naming the file and the frame.
// Thread-safe if the RangeSource is (FileRangeSource is): every method may be called from
// several threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/byte_stream.h"
#include "io/range_source.h"
#include "io/seek_table.h"
#include "io/status.h"

namespace gb {

class SeekableZstdReader {
 public:
  // Reads and checks the seek table. A file without one is refused.
  static Result<std::unique_ptr<SeekableZstdReader>> Open(std::unique_ptr<RangeSource> source);
  static Result<std::unique_ptr<SeekableZstdReader>> OpenFile(const std::string& path);

  const std::string& name() const { return source_->name(); }
  uint64_t file_size() const { return source_->size(); }
  uint64_t decompressed_size() const { return table_.decompressed_size; }
  // Every frame in file order, skippable ones (decompressed size 0) included.
  const std::vector<SeekableFrame>& frames() const { return table_.frames; }
  // The frame holding decompressed byte `offset`. REQUIRES: offset < decompressed_size().
  size_t FrameIndexAt(uint64_t offset) const;

  // The payload of the leading skippable frame (the set's identity), or "" if none.
  Result<std::string> ReadIdentityFrame() const;
  // The decompressed content of frame `index` ("" for a skippable frame).
  Result<std::string> DecompressFrame(size_t index) const;

  // A zstd decompression context: ReadFrame callers on several threads need one each.
  class FrameDecoder {
   public:
    FrameDecoder();
    ~FrameDecoder();
    FrameDecoder(const FrameDecoder&) = delete;
    FrameDecoder& operator=(const FrameDecoder&) = delete;

   private:
    friend class SeekableZstdReader;
    void* context_;  // ZSTD_DCtx*, kept out of this header
  };
  // Frame `index` as stored (`compressed`) and decompressed (`content`, "" for a skippable
  // frame), checked as DecompressFrame checks it. Reuses the strings' storage.
  Status ReadFrame(size_t index, FrameDecoder& decoder, std::string* compressed,
                   std::string* content) const;
  // The seek-table frame as read: the file's last bytes, after every frame.
  const std::string& table_bytes() const { return table_bytes_; }
  // Decompressed bytes [begin, end) into `sink`, one frame at a time.
  Status DecompressRange(uint64_t begin, uint64_t end, ByteSink& sink) const;

  struct WholeStream {
    uint64_t decompressed_bytes = 0;
    std::string file_sha256_hex;  // of every byte of the file, read once in order
  };
  // The whole stream into `sink`, frames decompressed on `threads` threads (0 = all online
  // cores; the calling thread is one of them) with at most threads + 3 frames in memory.
  Result<WholeStream> DecompressAll(ByteSink& sink, int threads) const;

 private:
  SeekableZstdReader(std::unique_ptr<RangeSource> source, SeekTable table,
                     std::string table_bytes);

  std::unique_ptr<RangeSource> source_;
  SeekTable table_;
  std::string table_bytes_;  // the seek-table frame as read, for the file's hash
};

}  // namespace gb
