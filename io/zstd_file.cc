#include "io/zstd_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <thread>
#include <vector>

#include "io/files.h"
#include "io/prefetcher.h"
#include "io/sha256.h"

namespace gb {
namespace {

constexpr uint32_t kSkippableMagic = 0x184D2A50;  // 0x184D2A50..0x184D2A5F
constexpr size_t kSkippableHeaderSize = 8;        // magic, then the payload's size
constexpr size_t kWriteBufferSize = 2 << 20;
constexpr int kJobSize = 2 << 20;
constexpr size_t kReadChunkSize = 1 << 20;
constexpr size_t kReadChunksInFlight = 4;
// The header frame is a small TOML text; a huge one means this is not our file.
constexpr uint32_t kMaxHeaderFrame = 16 << 20;

void PutLittleEndian32(uint32_t value, unsigned char* out) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<unsigned char>(value >> (8 * i));
}

uint32_t GetLittleEndian32(const unsigned char* in) {
  return uint32_t{in[0]} | uint32_t{in[1]} << 8 | uint32_t{in[2]} << 16 | uint32_t{in[3]} << 24;
}

// The payload size announced by the first kSkippableHeaderSize bytes of `name`, or nullopt
// if they do not start a skippable frame. The one parser of the header frame's prefix.
Result<std::optional<uint32_t>> HeaderFrameSize(const unsigned char* prefix,
                                                const std::string& name) {
  if ((GetLittleEndian32(prefix) & 0xFFFFFFF0u) != kSkippableMagic) {
    return std::optional<uint32_t>();
  }
  const uint32_t size = GetLittleEndian32(prefix + 4);
  if (size > kMaxHeaderFrame) {
    return Status::Failed("the header frame of " + name + " claims " + std::to_string(size) +
                          " bytes, more than a set file ever has: it is corrupt or not a set file");
  }
  return std::optional<uint32_t>(size);
}

Status TruncatedInHeaderFrame(const std::string& name) {
  return Status::Failed(name + " is truncated inside its header frame",
                        "the file was cut short (disk full or an interrupted copy?)");
}

Status ZstdError(const std::string& what, size_t code) {
  return Status::Failed(what + ": " + ZSTD_getErrorName(code));
}

// Reads from `source` until `size` bytes are appended to `out` or the stream ends; returns
// whether all of them came.
Result<bool> ReadUpTo(ByteSource& source, size_t size, std::string& out) {
  const size_t start = out.size();
  out.resize(start + size);
  size_t filled = 0;
  while (filled < size) {
    GB_ASSIGN_OR_RETURN(const size_t n, source.Read(&out[start + filled], size - filled));
    if (n == 0) break;
    filled += n;
  }
  out.resize(start + filled);
  return filled == size;
}

// A file read front to back; owns its descriptor. Errors name the file.
class FileSource : public ByteSource {
 public:
  FileSource(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~FileSource() override { close(fd_); }
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  Result<size_t> Read(void* buffer, size_t capacity) override {
    while (true) {
      const ssize_t n = read(fd_, buffer, capacity);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) return Status::FromErrno("cannot read " + path_, errno);
    }
  }

 private:
  const int fd_;
  const std::string path_;
};

}  // namespace

// ----------------------------------------------------------------------------------------
// ZstdWriter

struct ZstdWriter::Impl {
  ByteSink* sink = nullptr;
  std::string name;
  ZSTD_CCtx* context = nullptr;
  std::vector<char> output;  // compressed bytes not yet given to the sink
  size_t output_used = 0;
  Sha256 hash;
  bool hash_output = true;
  std::string sha256_hex;
  uint64_t input_bytes = 0;
  uint64_t output_bytes = 0;
  bool finished = false;
  Status failure;  // once a write failed, the stream is unusable

  ~Impl() { ZSTD_freeCCtx(context); }

  Status WriteToSink(const void* data, size_t size) {
    GB_RETURN_IF_ERROR(sink->Write(data, size));
    if (hash_output) hash.Update(data, size);
    output_bytes += size;
    return Status::Ok();
  }

  Status FlushOutput() {
    if (output_used == 0) return Status::Ok();
    GB_RETURN_IF_ERROR(WriteToSink(output.data(), output_used));
    output_used = 0;
    return Status::Ok();
  }

  // Feeds `input` to zstd; with ZSTD_e_end, also until the frame is complete.
  Status Compress(ZSTD_inBuffer& input, ZSTD_EndDirective mode) {
    while (true) {
      ZSTD_outBuffer out{output.data(), output.size(), output_used};
      size_t remaining = ZSTD_compressStream2(context, &out, &input, mode);
      output_used = out.pos;
      if (ZSTD_isError(remaining)) return ZstdError("cannot compress into " + name, remaining);
      if (output_used == output.size()) GB_RETURN_IF_ERROR(FlushOutput());
      bool done = mode == ZSTD_e_end ? remaining == 0 : input.pos == input.size;
      if (done) return Status::Ok();
    }
  }

  Status Configure(const ZstdWriterOptions& options) {
    context = ZSTD_createCCtx();
    if (context == nullptr) return Status::Failed("cannot create a zstd context for " + name);
    int threads = options.threads > 0 ? options.threads
                                      : static_cast<int>(std::thread::hardware_concurrency());
    size_t result = ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, options.level);
    if (ZSTD_isError(result)) {
      return ZstdError("invalid zstd level " + std::to_string(options.level), result);
    }
    result = ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1);
    if (ZSTD_isError(result)) return ZstdError("cannot enable zstd checksums", result);
    if (threads > 1) {
      // A libzstd built without threads refuses; compressing in this thread still works.
      ZSTD_CCtx_setParameter(context, ZSTD_c_nbWorkers, threads);
      // zstd's default job (4 windows: 8 MiB at level 3) costs ~55 MiB with 2 workers;
      // 2 MiB jobs cost ~19 MiB for a ratio 0.1% worse. The tool's whole budget is 100 MB.
      ZSTD_CCtx_setParameter(context, ZSTD_c_jobSize, kJobSize);
    }
    return Status::Ok();
  }

  Status WriteHeaderFrame(const std::string& payload) {
    if (payload.empty()) return Status::Ok();
    if (payload.size() > kMaxHeaderFrame) {
      return Status::Failed("the header frame for " + name + " is too large");
    }
    unsigned char prefix[kSkippableHeaderSize];
    PutLittleEndian32(kSkippableMagic, prefix);
    PutLittleEndian32(static_cast<uint32_t>(payload.size()), prefix + 4);
    GB_RETURN_IF_ERROR(WriteToSink(prefix, sizeof prefix));
    return WriteToSink(payload.data(), payload.size());
  }
};

ZstdWriter::ZstdWriter() : impl_(std::make_unique<Impl>()) {}
ZstdWriter::~ZstdWriter() = default;

Result<std::unique_ptr<ZstdWriter>> ZstdWriter::Create(ByteSink& sink, std::string name,
                                                       const ZstdWriterOptions& options) {
  std::unique_ptr<ZstdWriter> writer(new ZstdWriter());
  Impl& impl = *writer->impl_;
  impl.sink = &sink;
  impl.name = std::move(name);
  impl.hash_output = options.hash_output;
  GB_RETURN_IF_ERROR(impl.Configure(options));
  impl.output.resize(kWriteBufferSize);
  GB_RETURN_IF_ERROR(impl.WriteHeaderFrame(options.header_frame));
  return writer;
}

Status ZstdWriter::Write(const void* data, size_t size) {
  Impl& impl = *impl_;
  if (!impl.failure.ok()) return impl.failure;
  if (impl.finished) return Status::Failed("write to " + impl.name + " after it was finished");
  ZSTD_inBuffer input{data, size, 0};
  Status status = impl.Compress(input, ZSTD_e_continue);
  if (!status.ok()) {
    impl.failure = status;
    return status;
  }
  impl.input_bytes += size;
  return Status::Ok();
}

Status ZstdWriter::Finish() {
  Impl& impl = *impl_;
  if (!impl.failure.ok()) return impl.failure;
  if (impl.finished) return Status::Failed(impl.name + " was already finished");
  ZSTD_inBuffer nothing{nullptr, 0, 0};
  Status status = impl.Compress(nothing, ZSTD_e_end);
  if (status.ok()) status = impl.FlushOutput();
  if (!status.ok()) {
    impl.failure = status;
    return status;
  }
  // The workers and their buffers are no longer needed; free them before the caller goes on.
  ZSTD_freeCCtx(impl.context);
  impl.context = nullptr;
  impl.output = std::vector<char>();
  if (impl.hash_output) impl.sha256_hex = impl.hash.HexDigest();
  impl.finished = true;
  return Status::Ok();
}

uint64_t ZstdWriter::input_bytes() const { return impl_->input_bytes; }
uint64_t ZstdWriter::output_bytes() const { return impl_->output_bytes; }
std::string ZstdWriter::sha256_hex() const { return impl_->sha256_hex; }

// ----------------------------------------------------------------------------------------
// ZstdFileWriter: the file is the ZstdWriter's sink.

struct ZstdFileWriter::Impl : public ByteSink {
  std::string path;
  int fd = -1;
  bool finished = false;
  // Declared after fd: destroyed before it is closed.
  std::unique_ptr<ZstdWriter> writer;

  ~Impl() override {
    writer.reset();
    if (fd >= 0) close(fd);
  }

  Status Write(const void* data, size_t size) override { return WriteAll(fd, data, size, path); }
};

ZstdFileWriter::ZstdFileWriter() : impl_(std::make_unique<Impl>()) {}
ZstdFileWriter::~ZstdFileWriter() = default;

Result<std::unique_ptr<ZstdFileWriter>> ZstdFileWriter::Create(const std::string& path,
                                                               const ZstdWriterOptions& options) {
  std::unique_ptr<ZstdFileWriter> writer(new ZstdFileWriter());
  Impl& impl = *writer->impl_;
  impl.path = path;
  impl.fd = open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (impl.fd < 0) return Status::FromErrno("cannot create " + path, errno);
  GB_ASSIGN_OR_RETURN(impl.writer, ZstdWriter::Create(impl, path, options));
  return writer;
}

Status ZstdFileWriter::Write(const void* data, size_t size) {
  return impl_->writer->Write(data, size);
}

Status ZstdFileWriter::Finish() {
  Impl& impl = *impl_;
  if (impl.finished) return Status::Failed(impl.path + " was already finished");
  Status status = impl.writer->Finish();
  if (!status.ok()) return status;
  if (fsync(impl.fd) != 0) status = Status::FromErrno("cannot fsync " + impl.path, errno);
  const int fd = impl.fd;
  impl.fd = -1;
  if (close(fd) != 0 && status.ok()) status = Status::FromErrno("cannot close " + impl.path, errno);
  impl.finished = status.ok();
  return status;
}

uint64_t ZstdFileWriter::input_bytes() const { return impl_->writer->input_bytes(); }
uint64_t ZstdFileWriter::file_bytes() const { return impl_->writer->output_bytes(); }
std::string ZstdFileWriter::sha256_hex() const {
  return impl_->finished ? impl_->writer->sha256_hex() : std::string();
}
const std::string& ZstdFileWriter::path() const { return impl_->path; }

// ----------------------------------------------------------------------------------------
// ZstdReader
//
// A Prefetcher reads the source in big chunks and hashes them while this thread
// decompresses the previous ones, so verifying runs at the speed of the slower of the two.

struct ZstdReader::Impl {
  std::string name;
  std::unique_ptr<ByteSource> source;
  std::string header_frame;
  std::string prefix;             // the bytes read by Init: zstd's first input
  ZSTD_DCtx* context = nullptr;
  // Declared after source: destroyed (its thread stopped) before the source is.
  std::unique_ptr<Prefetcher> chunk_reader;
  std::unique_ptr<PrefetchedChunk> chunk;
  ZSTD_inBuffer input{nullptr, 0, 0};
  size_t last_hint = 0;          // 0: the last frame is complete
  bool output_was_full = false;  // zstd may hold decompressed bytes without more input
  bool any_input = false;
  bool at_end = false;
  Status failure;

  ~Impl() {
    chunk_reader.reset();
    ZSTD_freeDCtx(context);
  }

  // Reads the leading skippable frame, if any, into `prefix`; its payload into header_frame.
  Status ReadHeaderFrame() {
    GB_ASSIGN_OR_RETURN(const bool complete, ReadUpTo(*source, kSkippableHeaderSize, prefix));
    if (!complete) return Status::Ok();  // too short for a frame: Read says what is wrong
    GB_ASSIGN_OR_RETURN(const std::optional<uint32_t> size,
                        HeaderFrameSize(reinterpret_cast<const unsigned char*>(prefix.data()), name));
    if (!size) return Status::Ok();
    GB_ASSIGN_OR_RETURN(const bool whole, ReadUpTo(*source, *size, prefix));
    if (!whole) return TruncatedInHeaderFrame(name);
    header_frame = prefix.substr(kSkippableHeaderSize);
    return Status::Ok();
  }

  // The end of the compressed bytes: an error unless it ends a complete, non-empty stream.
  Result<size_t> AtEndOfSource() {
    at_end = true;
    if (!any_input) return Status::Failed(name + " is empty, not a zstd file");
    const uint64_t header_frame_end =
        header_frame.empty() ? 0 : kSkippableHeaderSize + header_frame.size();
    if (chunk_reader->bytes_read() <= header_frame_end) {
      return Status::Failed(name + " is truncated: it holds no data after its header frame",
                            "the file was cut short (disk full or an interrupted copy?)");
    }
    if (last_hint != 0) {
      return Status::Failed(name + " is truncated: it ends inside a zstd frame",
                            "the file was cut short (disk full or an interrupted copy?)");
    }
    return size_t{0};
  }

  Result<size_t> Read(void* buffer, size_t capacity) {
    while (true) {
      if (input.pos == input.size && !output_was_full) {
        if (chunk) chunk_reader->Recycle(std::move(chunk));
        GB_ASSIGN_OR_RETURN(chunk, chunk_reader->Next());
        if (chunk->size == 0) return AtEndOfSource();
        any_input = true;
        input = ZSTD_inBuffer{chunk->bytes.data(), chunk->size, 0};
      }
      ZSTD_outBuffer output{buffer, capacity, 0};
      size_t consumed_before = input.pos;
      size_t hint = ZSTD_decompressStream(context, &output, &input);
      if (ZSTD_isError(hint)) {
        return Status::Failed(name + " is corrupt: " + ZSTD_getErrorName(hint));
      }
      // A call that only checked for held-back output after a complete frame reports the
      // size of a next frame header; that is not a frame left unfinished.
      if (input.pos != consumed_before || output.pos > 0) last_hint = hint;
      output_was_full = output.pos == output.size;
      if (output.pos > 0) return output.pos;
    }
  }
};

ZstdReader::ZstdReader() : impl_(std::make_unique<Impl>()) {}
ZstdReader::~ZstdReader() = default;

Status ZstdReader::Init(std::unique_ptr<ByteSource> source, std::string name) {
  Impl& impl = *impl_;
  impl.name = std::move(name);
  impl.source = std::move(source);
  GB_RETURN_IF_ERROR(impl.ReadHeaderFrame());
  impl.context = ZSTD_createDCtx();
  if (impl.context == nullptr) return Status::Failed("cannot create a zstd context for " + impl.name);
  // zstd skips the header frame itself: feeding it keeps one path for every stream.
  impl.input = ZSTD_inBuffer{impl.prefix.data(), impl.prefix.size(), 0};
  impl.any_input = !impl.prefix.empty();
  Prefetcher::Options read_ahead;
  read_ahead.chunk_size = kReadChunkSize;
  read_ahead.chunks = kReadChunksInFlight;
  read_ahead.hash = true;
  impl.chunk_reader = std::make_unique<Prefetcher>(*impl.source, read_ahead, impl.prefix);
  return Status::Ok();
}

Result<std::unique_ptr<ZstdReader>> ZstdReader::Open(std::unique_ptr<ByteSource> source,
                                                     std::string name) {
  std::unique_ptr<ZstdReader> reader(new ZstdReader());
  GB_RETURN_IF_ERROR(reader->Init(std::move(source), std::move(name)));
  return reader;
}

Result<size_t> ZstdReader::Read(void* buffer, size_t capacity) {
  Impl& impl = *impl_;
  if (!impl.failure.ok()) return impl.failure;
  if (capacity == 0) return Status::Failed("read of 0 bytes from " + impl.name);
  if (impl.at_end) return size_t{0};
  Result<size_t> result = impl.Read(buffer, capacity);
  if (!result.ok()) impl.failure = result.status();
  return result;
}

Status ZstdReader::SkipToEnd() {
  Impl& impl = *impl_;
  if (!impl.failure.ok()) return impl.failure;
  if (impl.at_end) return Status::Ok();
  if (!impl.chunk_reader) {
    // A subclass reading by itself (Init was not called): its own Read, to the end.
    std::unique_ptr<char[]> discard(new char[kReadChunkSize]);
    for (;;) {
      GB_ASSIGN_OR_RETURN(size_t got, Read(discard.get(), kReadChunkSize));
      if (got == 0) return Status::Ok();
    }
  }
  for (;;) {
    if (impl.chunk) impl.chunk_reader->Recycle(std::move(impl.chunk));
    Result<std::unique_ptr<PrefetchedChunk>> next = impl.chunk_reader->Next();
    if (!next.ok()) {
      impl.failure = next.status();
      return impl.failure;
    }
    impl.chunk = std::move(next).value();
    if (impl.chunk->size == 0) break;
  }
  impl.input = ZSTD_inBuffer{nullptr, 0, 0};
  impl.output_was_full = false;
  impl.at_end = true;
  return Status::Ok();
}

const std::string& ZstdReader::header_frame() const { return impl_->header_frame; }
std::string ZstdReader::sha256_hex() const {
  return impl_->at_end && impl_->failure.ok() ? impl_->chunk_reader->sha256_hex() : std::string();
}
uint64_t ZstdReader::compressed_bytes() const {
  return impl_->chunk_reader ? impl_->chunk_reader->bytes_read() : impl_->prefix.size();
}

Result<std::unique_ptr<ZstdFileReader>> ZstdFileReader::Open(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno("cannot open " + path, errno);
  posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  auto source = std::make_unique<FileSource>(fd, path);
  std::unique_ptr<ZstdFileReader> reader(new ZstdFileReader());
  GB_RETURN_IF_ERROR(reader->Init(std::move(source), path));
  return reader;
}

// ----------------------------------------------------------------------------------------
// Header frames

Result<std::string> ReadHeaderFrame(RangeSource& object) {
  if (object.size() < kSkippableHeaderSize) return std::string();
  GB_ASSIGN_OR_RETURN(const std::string prefix, object.ReadRange(0, kSkippableHeaderSize));
  GB_ASSIGN_OR_RETURN(
      const std::optional<uint32_t> size,
      HeaderFrameSize(reinterpret_cast<const unsigned char*>(prefix.data()), object.name()));
  if (!size) return std::string();
  if (object.size() - kSkippableHeaderSize < *size) return TruncatedInHeaderFrame(object.name());
  return object.ReadRange(kSkippableHeaderSize, *size);
}

Result<std::string> ReadHeaderFrame(const std::string& path) {
  GB_ASSIGN_OR_RETURN(std::unique_ptr<FileRangeSource> file, FileRangeSource::Open(path));
  return ReadHeaderFrame(*file);
}

}  // namespace gb
