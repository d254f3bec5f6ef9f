#include "io/zstd_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "io/files.h"
#include "io/sha256.h"

namespace gb {
namespace {

constexpr uint32_t kSkippableMagic = 0x184D2A50;  // 0x184D2A50..0x184D2A5F
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

// Reads exactly `size` bytes at `offset`; false if the file ends first.
Result<bool> PreadFully(int fd, void* buffer, size_t size, off_t offset, const std::string& path) {
  char* next = static_cast<char*>(buffer);
  while (size > 0) {
    ssize_t n = pread(fd, next, size, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno("cannot read " + path, errno);
    }
    if (n == 0) return false;
    next += n;
    offset += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

Result<std::string> ReadHeaderFrameFromFd(int fd, const std::string& path) {
  unsigned char prefix[8];
  GB_ASSIGN_OR_RETURN(bool complete, PreadFully(fd, prefix, sizeof prefix, 0, path));
  if (!complete || (GetLittleEndian32(prefix) & 0xFFFFFFF0u) != kSkippableMagic) {
    return std::string();
  }
  uint32_t size = GetLittleEndian32(prefix + 4);
  if (size > kMaxHeaderFrame) {
    return Status::Failed("the header frame of " + path + " claims " + std::to_string(size) +
                          " bytes, more than a set file ever has: it is corrupt or not a set file");
  }
  std::string payload(size, '\0');
  GB_ASSIGN_OR_RETURN(complete, PreadFully(fd, payload.data(), size, sizeof prefix, path));
  if (!complete) return Status::Failed(path + " is truncated inside its header frame");
  return payload;
}

Status ZstdError(const std::string& what, size_t code) {
  return Status::Failed(what + ": " + ZSTD_getErrorName(code));
}

}  // namespace

// ----------------------------------------------------------------------------------------
// ZstdFileWriter

struct ZstdFileWriter::Impl {
  std::string path;
  int fd = -1;
  ZSTD_CCtx* context = nullptr;
  std::vector<char> output;  // compressed bytes not yet written
  size_t output_used = 0;
  Sha256 hash;
  std::string sha256_hex;
  uint64_t input_bytes = 0;
  uint64_t file_bytes = 0;
  bool finished = false;
  Status failure;  // once a write failed, the file is unusable

  ~Impl() {
    ZSTD_freeCCtx(context);
    if (fd >= 0) close(fd);
  }

  Status WriteToFile(const void* data, size_t size) {
    Status status = WriteAll(fd, data, size, path);
    if (!status.ok()) return status;
    hash.Update(data, size);
    file_bytes += size;
    return Status::Ok();
  }

  Status FlushOutput() {
    if (output_used == 0) return Status::Ok();
    GB_RETURN_IF_ERROR(WriteToFile(output.data(), output_used));
    output_used = 0;
    return Status::Ok();
  }

  // Feeds `input` to zstd; with ZSTD_e_end, also until the frame is complete.
  Status Compress(ZSTD_inBuffer& input, ZSTD_EndDirective mode) {
    while (true) {
      ZSTD_outBuffer out{output.data(), output.size(), output_used};
      size_t remaining = ZSTD_compressStream2(context, &out, &input, mode);
      output_used = out.pos;
      if (ZSTD_isError(remaining)) return ZstdError("cannot compress into " + path, remaining);
      if (output_used == output.size()) GB_RETURN_IF_ERROR(FlushOutput());
      bool done = mode == ZSTD_e_end ? remaining == 0 : input.pos == input.size;
      if (done) return Status::Ok();
    }
  }
};

ZstdFileWriter::ZstdFileWriter() : impl_(std::make_unique<Impl>()) {}
ZstdFileWriter::~ZstdFileWriter() = default;

Result<std::unique_ptr<ZstdFileWriter>> ZstdFileWriter::Create(const std::string& path,
                                                               const ZstdWriterOptions& options) {
  std::unique_ptr<ZstdFileWriter> writer(new ZstdFileWriter());
  Impl& impl = *writer->impl_;
  impl.path = path;
  impl.context = ZSTD_createCCtx();
  if (impl.context == nullptr) return Status::Failed("cannot create a zstd context for " + path);
  int threads = options.threads > 0 ? options.threads
                                    : static_cast<int>(std::thread::hardware_concurrency());
  size_t result = ZSTD_CCtx_setParameter(impl.context, ZSTD_c_compressionLevel, options.level);
  if (ZSTD_isError(result)) {
    return ZstdError("invalid zstd level " + std::to_string(options.level), result);
  }
  result = ZSTD_CCtx_setParameter(impl.context, ZSTD_c_checksumFlag, 1);
  if (ZSTD_isError(result)) return ZstdError("cannot enable zstd checksums", result);
  if (threads > 1) {
    // A libzstd built without threads refuses; compressing in this thread still works.
    ZSTD_CCtx_setParameter(impl.context, ZSTD_c_nbWorkers, threads);
    // zstd's default job (4 windows: 8 MiB at level 3) costs ~55 MiB with 2 workers;
    // 2 MiB jobs cost ~19 MiB for a ratio 0.1% worse. The tool's whole budget is 100 MB.
    ZSTD_CCtx_setParameter(impl.context, ZSTD_c_jobSize, kJobSize);
  }

  impl.fd = open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (impl.fd < 0) return Status::FromErrno("cannot create " + path, errno);
  impl.output.resize(kWriteBufferSize);

  if (!options.header_frame.empty()) {
    if (options.header_frame.size() > kMaxHeaderFrame) {
      return Status::Failed("the header frame for " + path + " is too large");
    }
    unsigned char prefix[8];
    PutLittleEndian32(kSkippableMagic, prefix);
    PutLittleEndian32(static_cast<uint32_t>(options.header_frame.size()), prefix + 4);
    GB_RETURN_IF_ERROR(impl.WriteToFile(prefix, sizeof prefix));
    GB_RETURN_IF_ERROR(impl.WriteToFile(options.header_frame.data(), options.header_frame.size()));
  }
  return writer;
}

Status ZstdFileWriter::Write(const void* data, size_t size) {
  Impl& impl = *impl_;
  if (!impl.failure.ok()) return impl.failure;
  if (impl.finished) return Status::Failed("write to " + impl.path + " after it was finished");
  ZSTD_inBuffer input{data, size, 0};
  Status status = impl.Compress(input, ZSTD_e_continue);
  if (!status.ok()) {
    impl.failure = status;
    return status;
  }
  impl.input_bytes += size;
  return Status::Ok();
}

Status ZstdFileWriter::Finish() {
  Impl& impl = *impl_;
  if (!impl.failure.ok()) return impl.failure;
  if (impl.finished) return Status::Failed(impl.path + " was already finished");
  ZSTD_inBuffer nothing{nullptr, 0, 0};
  Status status = impl.Compress(nothing, ZSTD_e_end);
  if (status.ok()) status = impl.FlushOutput();
  if (status.ok() && fsync(impl.fd) != 0) {
    status = Status::FromErrno("cannot fsync " + impl.path, errno);
  }
  int fd = impl.fd;
  impl.fd = -1;
  if (close(fd) != 0 && status.ok()) status = Status::FromErrno("cannot close " + impl.path, errno);
  if (!status.ok()) {
    impl.failure = status;
    return status;
  }
  // The workers and their buffers are no longer needed; free them before the caller goes on.
  ZSTD_freeCCtx(impl.context);
  impl.context = nullptr;
  impl.output = std::vector<char>();
  impl.sha256_hex = impl.hash.HexDigest();
  impl.finished = true;
  return Status::Ok();
}

uint64_t ZstdFileWriter::input_bytes() const { return impl_->input_bytes; }
uint64_t ZstdFileWriter::file_bytes() const { return impl_->file_bytes; }
std::string ZstdFileWriter::sha256_hex() const { return impl_->sha256_hex; }
const std::string& ZstdFileWriter::path() const { return impl_->path; }

// ----------------------------------------------------------------------------------------
// ZstdFileReader
//
// A read-ahead thread reads the file in big chunks and hashes them while this thread
// decompresses the previous ones, so verifying runs at the speed of the slower of the two.

namespace {

struct Chunk {
  std::vector<char> bytes;
  size_t size = 0;  // 0: end of file
};

// Reads the file in order, in kReadChunkSize chunks, on its own thread, hashing each chunk
// before handing it out; kReadChunksInFlight chunks circulate between the two threads.
class HashingChunkReader {
 public:
  HashingChunkReader(int fd, std::string path) : fd_(fd), path_(std::move(path)) {
    for (size_t i = 0; i < kReadChunksInFlight; ++i) {
      free_.push_back(std::make_unique<Chunk>());
      free_.back()->bytes.resize(kReadChunkSize);
    }
    thread_ = std::thread([this] { Run(); });
  }

  ~HashingChunkReader() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }

  // The next chunk in file order; a chunk of size 0 is the end of the file.
  Result<std::unique_ptr<Chunk>> Next() {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] { return !full_.empty() || !failure_.ok(); });
    if (!full_.empty()) {
      auto chunk = std::move(full_.front());
      full_.pop_front();
      return chunk;
    }
    return failure_;
  }

  void Recycle(std::unique_ptr<Chunk> chunk) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      free_.push_back(std::move(chunk));
    }
    changed_.notify_all();
  }

  uint64_t bytes_read() const { return bytes_read_; }
  // Valid once the end-of-file chunk was handed out.
  const std::string& sha256_hex() const { return sha256_hex_; }

 private:
  void Run() {
    while (true) {
      std::unique_ptr<Chunk> chunk;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [this] { return stopping_ || !free_.empty(); });
        if (stopping_) return;
        chunk = std::move(free_.front());
        free_.pop_front();
      }
      Status status = Fill(*chunk);
      if (status.ok()) {
        if (chunk->size > 0) {
          hash_.Update(chunk->bytes.data(), chunk->size);
          bytes_read_ += chunk->size;
        } else {
          sha256_hex_ = hash_.HexDigest();
        }
      }
      bool end = !status.ok() || chunk->size == 0;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (status.ok()) {
          full_.push_back(std::move(chunk));
        } else {
          failure_ = status;
        }
      }
      changed_.notify_all();
      if (end) return;
    }
  }

  Status Fill(Chunk& chunk) {
    chunk.size = 0;
    while (chunk.size < chunk.bytes.size()) {
      ssize_t n = read(fd_, chunk.bytes.data() + chunk.size, chunk.bytes.size() - chunk.size);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::FromErrno("cannot read " + path_, errno);
      }
      if (n == 0) break;
      chunk.size += static_cast<size_t>(n);
    }
    return Status::Ok();
  }

  const int fd_;
  const std::string path_;
  Sha256 hash_;
  std::atomic<uint64_t> bytes_read_{0};
  std::string sha256_hex_;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::unique_ptr<Chunk>> free_;
  std::deque<std::unique_ptr<Chunk>> full_;
  Status failure_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace

struct ZstdFileReader::Impl {
  std::string path;
  int fd = -1;
  std::string header_frame;
  uint64_t header_frame_end = 0;  // file offset where the compressed data begins
  ZSTD_DCtx* context = nullptr;
  // Declared after fd: destroyed before it is closed.
  std::unique_ptr<HashingChunkReader> chunk_reader;
  std::unique_ptr<Chunk> chunk;
  ZSTD_inBuffer input{nullptr, 0, 0};
  size_t last_hint = 0;          // 0: the last frame is complete
  bool output_was_full = false;  // zstd may hold decompressed bytes without more input
  bool any_input = false;
  bool at_end = false;
  Status failure;

  ~Impl() {
    chunk_reader.reset();
    ZSTD_freeDCtx(context);
    if (fd >= 0) close(fd);
  }

  Result<size_t> Read(void* buffer, size_t capacity) {
    while (true) {
      if (input.pos == input.size && !output_was_full) {
        if (chunk) chunk_reader->Recycle(std::move(chunk));
        GB_ASSIGN_OR_RETURN(chunk, chunk_reader->Next());
        if (chunk->size == 0) {
          at_end = true;
          if (!any_input) return Status::Failed(path + " is empty, not a zstd file");
          if (chunk_reader->bytes_read() <= header_frame_end) {
            return Status::Failed(path + " is truncated: it holds no data after its header frame",
                                  "the file was cut short (disk full or an interrupted copy?)");
          }
          if (last_hint != 0) {
            return Status::Failed(path + " is truncated: it ends inside a zstd frame",
                                  "the file was cut short (disk full or an interrupted copy?)");
          }
          return size_t{0};
        }
        any_input = true;
        input = ZSTD_inBuffer{chunk->bytes.data(), chunk->size, 0};
      }
      ZSTD_outBuffer output{buffer, capacity, 0};
      size_t consumed_before = input.pos;
      size_t hint = ZSTD_decompressStream(context, &output, &input);
      if (ZSTD_isError(hint)) {
        return Status::Failed(path + " is corrupt: " + ZSTD_getErrorName(hint));
      }
      // A call that only checked for held-back output after a complete frame reports the
      // size of a next frame header; that is not a frame left unfinished.
      if (input.pos != consumed_before || output.pos > 0) last_hint = hint;
      output_was_full = output.pos == output.size;
      if (output.pos > 0) return output.pos;
    }
  }
};

ZstdFileReader::ZstdFileReader() : impl_(std::make_unique<Impl>()) {}
ZstdFileReader::~ZstdFileReader() = default;

Result<std::unique_ptr<ZstdFileReader>> ZstdFileReader::Open(const std::string& path) {
  std::unique_ptr<ZstdFileReader> reader(new ZstdFileReader());
  Impl& impl = *reader->impl_;
  impl.path = path;
  impl.fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (impl.fd < 0) return Status::FromErrno("cannot open " + path, errno);
  GB_ASSIGN_OR_RETURN(impl.header_frame, ReadHeaderFrameFromFd(impl.fd, path));
  if (!impl.header_frame.empty()) impl.header_frame_end = 8 + impl.header_frame.size();
  posix_fadvise(impl.fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  impl.context = ZSTD_createDCtx();
  if (impl.context == nullptr) return Status::Failed("cannot create a zstd context for " + path);
  impl.chunk_reader = std::make_unique<HashingChunkReader>(impl.fd, path);
  return reader;
}

Result<size_t> ZstdFileReader::Read(void* buffer, size_t capacity) {
  Impl& impl = *impl_;
  if (!impl.failure.ok()) return impl.failure;
  if (capacity == 0) return Status::Failed("read of 0 bytes from " + impl.path);
  if (impl.at_end) return size_t{0};
  Result<size_t> result = impl.Read(buffer, capacity);
  if (!result.ok()) impl.failure = result.status();
  return result;
}

const std::string& ZstdFileReader::header_frame() const { return impl_->header_frame; }
std::string ZstdFileReader::sha256_hex() const {
  return impl_->at_end && impl_->failure.ok() ? impl_->chunk_reader->sha256_hex() : std::string();
}

Result<std::string> ReadHeaderFrame(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno("cannot open " + path, errno);
  Result<std::string> header = ReadHeaderFrameFromFd(fd, path);
  close(fd);
  return header;
}

}  // namespace gb
