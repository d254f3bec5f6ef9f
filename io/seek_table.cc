#include "io/seek_table.h"

namespace gb {
namespace {

constexpr size_t kFrameHeaderSize = 8;  // skippable magic + frame size

Status Damaged(const std::string& name, const std::string& what) {
  return Status::Failed("the seek table of " + name + " is damaged: " + what,
                        "the file is truncated or corrupt; use another copy of the set");
}

}  // namespace

void PutLittleEndian32(uint32_t value, unsigned char* out) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<unsigned char>(value >> (8 * i));
}

uint32_t GetLittleEndian32(const unsigned char* in) {
  return uint32_t{in[0]} | uint32_t{in[1]} << 8 | uint32_t{in[2]} << 16 | uint32_t{in[3]} << 24;
}

std::string EncodeSeekTable(const std::vector<SeekableFrame>& frames) {
  const size_t payload = frames.size() * 8 + kSeekTableFooterSize;
  std::string table(kFrameHeaderSize + payload, '\0');
  auto* out = reinterpret_cast<unsigned char*>(table.data());
  PutLittleEndian32(kSeekTableFrameMagic, out);
  PutLittleEndian32(static_cast<uint32_t>(payload), out + 4);
  out += kFrameHeaderSize;
  for (const SeekableFrame& frame : frames) {
    PutLittleEndian32(frame.compressed_size, out);
    PutLittleEndian32(frame.decompressed_size, out + 4);
    out += 8;
  }
  PutLittleEndian32(static_cast<uint32_t>(frames.size()), out);
  out[4] = 0;  // descriptor: no checksums, reserved bits 0
  PutLittleEndian32(kSeekableFooterMagic, out + 5);
  return table;
}

Result<uint64_t> SeekTableFrameSizeFromFooter(const std::string& footer, const std::string& name) {
  if (footer.size() != kSeekTableFooterSize) return Damaged(name, "the file is too short");
  const auto* in = reinterpret_cast<const unsigned char*>(footer.data());
  if (GetLittleEndian32(in + 5) != kSeekableFooterMagic) {
    return Status::Failed(name + " has no seek table: it does not end with the seekable magic "
                          "number 0x8F92EAB1",
                          "it is truncated, or it is not a seekable zstd file (a set written "
                          "before seekable halves is read as one stream)");
  }
  const uint32_t frames = GetLittleEndian32(in);
  const unsigned char descriptor = in[4];
  if ((descriptor & 0x7C) != 0) return Damaged(name, "reserved descriptor bits are set");
  if (frames > kSeekableMaxFrames) {
    return Damaged(name, "it claims " + std::to_string(frames) + " frames");
  }
  const uint64_t entry_size = (descriptor & 0x80) ? 12 : 8;
  return kFrameHeaderSize + frames * entry_size + kSeekTableFooterSize;
}

Result<SeekTable> ParseSeekTable(const std::string& table, uint64_t file_size,
                                 const std::string& name) {
  if (table.size() < kFrameHeaderSize + kSeekTableFooterSize || table.size() > file_size) {
    return Damaged(name, "the file is too short to hold it");
  }
  GB_ASSIGN_OR_RETURN(uint64_t expected_size,
                      SeekTableFrameSizeFromFooter(table.substr(table.size() - 9), name));
  if (expected_size != table.size()) return Damaged(name, "its size disagrees with its footer");
  const auto* in = reinterpret_cast<const unsigned char*>(table.data());
  if (GetLittleEndian32(in) != kSeekTableFrameMagic ||
      GetLittleEndian32(in + 4) != table.size() - kFrameHeaderSize) {
    return Damaged(name, "its skippable frame header is wrong");
  }
  SeekTable result;
  result.has_checksums = (in[table.size() - 5] & 0x80) != 0;
  const size_t entry_size = result.has_checksums ? 12 : 8;
  const size_t count = GetLittleEndian32(in + table.size() - 9);
  const uint64_t data_end = file_size - table.size();
  result.frames.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    const unsigned char* entry = in + kFrameHeaderSize + i * entry_size;
    SeekableFrame frame;
    frame.compressed_offset = result.compressed_size;
    frame.decompressed_offset = result.decompressed_size;
    frame.compressed_size = GetLittleEndian32(entry);
    frame.decompressed_size = GetLittleEndian32(entry + 4);
    if (frame.decompressed_size > kSeekableMaxFrameDecompressedSize) {
      return Damaged(name, "frame " + std::to_string(i) + " claims " +
                               std::to_string(frame.decompressed_size) + " decompressed bytes");
    }
    result.compressed_size += frame.compressed_size;
    result.decompressed_size += frame.decompressed_size;
    if (result.compressed_size > data_end) {
      return Damaged(name, "frame " + std::to_string(i) + " ends past the seek table");
    }
    result.frames.push_back(frame);
  }
  if (result.compressed_size != data_end) {
    return Damaged(name, "its frames cover " + std::to_string(result.compressed_size) +
                             " bytes but " + std::to_string(data_end) +
                             " bytes precede the table");
  }
  return result;
}

}  // namespace gb
