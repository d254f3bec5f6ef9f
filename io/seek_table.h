// The seek table of the zstd seekable format (zstd contrib/seekable_format, v0.1.0): a
// skippable frame at the very end of a file listing the compressed and decompressed size
// of every frame before it, so a reader can find the frame holding any decompressed offset
// without decompressing anything. Encoding and parsing only; pure functions, thread-safe.
//
// Layout: magic 0x184D2A5E | frame size (u32) | entries | number of frames (u32) |
// descriptor (u8, bit 7 = checksum flag, bits 6-2 reserved = 0) | magic 0x8F92EAB1.
// An entry is compressed size (u32) | decompressed size (u32) [| XXH64 low 32 bits (u32)],
// all little-endian. Skippable frames (our identity frame) have an entry with size 0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "io/status.h"

namespace gb {

constexpr uint32_t kSkippableFrameMagicBase = 0x184D2A50;  // 0x184D2A50..0x184D2A5F
constexpr uint32_t kSeekTableFrameMagic = 0x184D2A5E;
constexpr uint32_t kSeekableFooterMagic = 0x8F92EAB1;
constexpr size_t kSeekTableFooterSize = 9;
// The contrib library's limits; a table beyond them is damaged, not merely large.
constexpr uint32_t kSeekableMaxFrames = 0x8000000;
constexpr uint32_t kSeekableMaxFrameDecompressedSize = 0x40000000;

// One frame of a seekable file, with the offsets the table implies.
struct SeekableFrame {
  uint64_t compressed_offset = 0;    // in the file
  uint64_t decompressed_offset = 0;  // in the decompressed stream
  uint32_t compressed_size = 0;
  uint32_t decompressed_size = 0;    // 0 for a skippable frame
};

// The frame list of a file: frames in order, and where the data frames end.
struct SeekTable {
  std::vector<SeekableFrame> frames;
  uint64_t compressed_size = 0;    // sum of the frames' sizes: the seek table's own offset
  uint64_t decompressed_size = 0;  // of the whole stream
  bool has_checksums = false;      // entries carried checksums (kept in no field: each frame
                                   // verifies its own XXH64 content checksum when decoded)
};

void PutLittleEndian32(uint32_t value, unsigned char* out);
uint32_t GetLittleEndian32(const unsigned char* in);

// The whole seek-table frame for `frames`, without checksums (descriptor 0).
std::string EncodeSeekTable(const std::vector<SeekableFrame>& frames);

// From the last 9 bytes of a file: the size of the whole seek-table frame, so the caller
// can read exactly that range. `name` names the file in errors.
Result<uint64_t> SeekTableFrameSizeFromFooter(const std::string& footer, const std::string& name);

// Parses the whole seek-table frame (`table`, the last bytes of a file of `file_size`
// bytes), checking it against the file's size. Refuses a damaged table.
Result<SeekTable> ParseSeekTable(const std::string& table, uint64_t file_size,
                                 const std::string& name);

}  // namespace gb
