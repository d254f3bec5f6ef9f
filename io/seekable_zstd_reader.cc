#include "io/seekable_zstd_reader.h"

#include <zstd.h>

#include <algorithm>
#include <thread>

#include "io/frame_stream.h"

namespace gb {
namespace {

constexpr uint32_t kZstdFrameMagic = 0xFD2FB528;

Status DamagedFrame(const std::string& name, size_t index, const SeekableFrame& frame,
                    const std::string& what) {
  return Status::Failed("frame " + std::to_string(index) + " of " + name + " (at byte " +
                            std::to_string(frame.compressed_offset) + ") is damaged: " + what,
                        "the file is corrupt; use another copy of the set");
}

// A skippable frame must be exactly what its entry says: a header and its payload.
Status CheckSkippableFrame(const std::string& compressed, const std::string& name, size_t index,
                           const SeekableFrame& frame) {
  const auto* in = reinterpret_cast<const unsigned char*>(compressed.data());
  if (GetLittleEndian32(in + 4) != compressed.size() - 8) {
    return DamagedFrame(name, index, frame, "its size disagrees with the seek table");
  }
  return Status::Ok();
}

// Decompresses one frame as listed in the seek table. The zstd library verifies the
// frame's content checksum; the sizes are checked here, so that a frame that decodes but
// is not the one the table lists is refused too.
Status DecompressCheckedFrame(ZSTD_DCtx* context, const std::string& compressed,
                              const std::string& name, size_t index, const SeekableFrame& frame,
                              std::string* output) {
  if (compressed.size() < 8) return DamagedFrame(name, index, frame, "it is too short");
  const uint32_t magic = GetLittleEndian32(reinterpret_cast<const unsigned char*>(compressed.data()));
  if ((magic & 0xFFFFFFF0u) == kSkippableFrameMagicBase) {
    output->clear();
    if (frame.decompressed_size != 0) {
      return DamagedFrame(name, index, frame, "a skippable frame is listed with content");
    }
    return CheckSkippableFrame(compressed, name, index, frame);
  }
  if (magic != kZstdFrameMagic) return DamagedFrame(name, index, frame, "no zstd frame starts there");
  size_t frame_size = ZSTD_findFrameCompressedSize(compressed.data(), compressed.size());
  if (ZSTD_isError(frame_size)) {
    return DamagedFrame(name, index, frame, ZSTD_getErrorName(frame_size));
  }
  if (frame_size != compressed.size()) {
    return DamagedFrame(name, index, frame, "its size disagrees with the seek table");
  }
  output->resize(frame.decompressed_size);
  size_t size = ZSTD_decompressDCtx(context, output->data(), output->size(), compressed.data(),
                                    compressed.size());
  if (ZSTD_isError(size)) return DamagedFrame(name, index, frame, ZSTD_getErrorName(size));
  if (size != frame.decompressed_size) {
    return DamagedFrame(name, index, frame,
                        "it holds " + std::to_string(size) + " bytes, the seek table says " +
                            std::to_string(frame.decompressed_size));
  }
  return Status::Ok();
}

}  // namespace

SeekableZstdReader::SeekableZstdReader(std::unique_ptr<RangeSource> source, SeekTable table,
                                       std::string table_bytes)
    : source_(std::move(source)), table_(std::move(table)), table_bytes_(std::move(table_bytes)) {}

Result<std::unique_ptr<SeekableZstdReader>> SeekableZstdReader::Open(
    std::unique_ptr<RangeSource> source) {
  const uint64_t size = source->size();
  if (size < kSeekTableFooterSize) {
    return Status::Failed("the seek table of " + source->name() +
                              " is damaged: the file is too short to hold it",
                          "the file is truncated or corrupt; use another copy of the set");
  }
  GB_ASSIGN_OR_RETURN(std::string footer,
                      source->ReadRange(size - kSeekTableFooterSize, kSeekTableFooterSize));
  GB_ASSIGN_OR_RETURN(uint64_t table_size, SeekTableFrameSizeFromFooter(footer, source->name()));
  if (table_size > size) {
    return Status::Failed("the seek table of " + source->name() + " is damaged: it claims " +
                              std::to_string(table_size) + " bytes, more than the file holds",
                          "the file is truncated or corrupt; use another copy of the set");
  }
  GB_ASSIGN_OR_RETURN(std::string table_bytes,
                      source->ReadRange(size - table_size, static_cast<size_t>(table_size)));
  GB_ASSIGN_OR_RETURN(SeekTable table, ParseSeekTable(table_bytes, size, source->name()));
  return std::unique_ptr<SeekableZstdReader>(
      new SeekableZstdReader(std::move(source), std::move(table), std::move(table_bytes)));
}

Result<std::unique_ptr<SeekableZstdReader>> SeekableZstdReader::OpenFile(const std::string& path) {
  GB_ASSIGN_OR_RETURN(std::unique_ptr<FileRangeSource> source, FileRangeSource::Open(path));
  return Open(std::move(source));
}

size_t SeekableZstdReader::FrameIndexAt(uint64_t offset) const {
  const auto& frames = table_.frames;
  auto found = std::partition_point(frames.begin(), frames.end(), [offset](const SeekableFrame& f) {
    return f.decompressed_offset + f.decompressed_size <= offset;
  });
  return static_cast<size_t>(found - frames.begin());
}

Result<std::string> SeekableZstdReader::ReadIdentityFrame() const {
  if (table_.frames.empty() || table_.frames[0].decompressed_size != 0) return std::string();
  const SeekableFrame& frame = table_.frames[0];
  GB_ASSIGN_OR_RETURN(std::string bytes, source_->ReadRange(0, frame.compressed_size));
  if (bytes.size() < 8) return DamagedFrame(name(), 0, frame, "it is too short");
  const uint32_t magic = GetLittleEndian32(reinterpret_cast<const unsigned char*>(bytes.data()));
  if ((magic & 0xFFFFFFF0u) != kSkippableFrameMagicBase) return std::string();
  GB_RETURN_IF_ERROR(CheckSkippableFrame(bytes, name(), 0, frame));
  return bytes.substr(8);
}

SeekableZstdReader::FrameDecoder::FrameDecoder() : context_(ZSTD_createDCtx()) {}
SeekableZstdReader::FrameDecoder::~FrameDecoder() {
  ZSTD_freeDCtx(static_cast<ZSTD_DCtx*>(context_));
}

Status SeekableZstdReader::ReadFrame(size_t index, FrameDecoder& decoder, std::string* compressed,
                                     std::string* content) const {
  if (index >= table_.frames.size()) {
    return Status::Failed(name() + " has no frame " + std::to_string(index));
  }
  if (decoder.context_ == nullptr) return Status::Failed("cannot create a zstd context for " + name());
  const SeekableFrame& frame = table_.frames[index];
  GB_RETURN_IF_ERROR(source_->ReadRangeInto(frame.compressed_offset, frame.compressed_size, compressed));
  return DecompressCheckedFrame(static_cast<ZSTD_DCtx*>(decoder.context_), *compressed, name(),
                                index, frame, content);
}

Result<std::string> SeekableZstdReader::DecompressFrame(size_t index) const {
  FrameDecoder decoder;
  std::string compressed;
  std::string content;
  GB_RETURN_IF_ERROR(ReadFrame(index, decoder, &compressed, &content));
  return content;
}

Status SeekableZstdReader::DecompressRange(uint64_t begin, uint64_t end, ByteSink& sink) const {
  if (begin > end || end > table_.decompressed_size) {
    return Status::Failed("cannot read bytes [" + std::to_string(begin) + ", " +
                          std::to_string(end) + ") of " + name() + ": its content has " +
                          std::to_string(table_.decompressed_size) + " bytes");
  }
  for (size_t index = FrameIndexAt(begin); begin < end; ++index) {
    const SeekableFrame& frame = table_.frames[index];
    if (frame.decompressed_size == 0) continue;
    GB_ASSIGN_OR_RETURN(std::string content, DecompressFrame(index));
    const uint64_t skip = begin - frame.decompressed_offset;
    const uint64_t take = std::min<uint64_t>(end - begin, frame.decompressed_size - skip);
    GB_RETURN_IF_ERROR(sink.Write(content.data() + skip, take));
    begin += take;
  }
  return Status::Ok();
}

Result<SeekableZstdReader::WholeStream> SeekableZstdReader::DecompressAll(ByteSink& sink,
                                                                          int threads) const {
  if (threads <= 0) threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  std::unique_ptr<FrameStream> stream = FrameStream::Whole(*this, threads);
  WholeStream result;
  GB_ASSIGN_OR_RETURN(result.decompressed_bytes, CopyStream(*stream, sink));
  result.file_sha256_hex = stream->sha256_hex();
  return result;
}

}  // namespace gb
