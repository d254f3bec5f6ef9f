#include "io/seekable_zstd_writer.h"

#include <fcntl.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <deque>
#include <thread>

#include "io/ordered_workers.h"
#include "io/sha256.h"

namespace gb {
namespace {

// The identity frame is a small TOML text; a huge one is a caller's mistake.
constexpr size_t kMaxIdentityFrame = 16 << 20;

// Owns the zstd contexts of the workers, one each, so no two threads share one.
class CompressionContexts {
 public:
  ~CompressionContexts() {
    for (ZSTD_CCtx* context : contexts_) ZSTD_freeCCtx(context);
  }

  Status Init(int count, int level, const std::string& name) {
    for (int i = 0; i < count; ++i) {
      ZSTD_CCtx* context = ZSTD_createCCtx();
      if (context == nullptr) return Status::Failed("cannot create a zstd context for " + name);
      contexts_.push_back(context);
      size_t result = ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level);
      if (ZSTD_isError(result)) {
        return Status::Usage("invalid zstd level " + std::to_string(level) + " for " + name +
                             ": " + ZSTD_getErrorName(result));
      }
      result = ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1);
      if (ZSTD_isError(result)) return Status::Failed("cannot enable zstd checksums");
    }
    return Status::Ok();
  }

  // One whole frame (content size in its header) from `input`, on worker `worker`'s context.
  Status Compress(int worker, const std::string& input, std::string* output,
                  const std::string& name) const {
    output->resize(ZSTD_compressBound(input.size()));
    size_t size = ZSTD_compress2(contexts_[worker], output->data(), output->size(),
                                 input.data(), input.size());
    if (ZSTD_isError(size)) {
      return Status::Failed("cannot compress a frame of " + name + ": " + ZSTD_getErrorName(size));
    }
    output->resize(size);
    return Status::Ok();
  }

 private:
  std::vector<ZSTD_CCtx*> contexts_;
};

Status CheckOptions(const SeekableZstdOptions& options, const std::string& name) {
  if (options.frame_input_size == 0 ||
      options.frame_input_size > kSeekableMaxFrameDecompressedSize) {
    return Status::Usage("invalid zstd frame size " + std::to_string(options.frame_input_size) +
                         " for " + name, "use 1 byte to 1 GiB");
  }
  // zstd would silently clamp an out-of-range level.
  if (options.level < ZSTD_minCLevel() || options.level > ZSTD_maxCLevel()) {
    return Status::Usage("invalid zstd level " + std::to_string(options.level) + " for " + name,
                         "use " + std::to_string(ZSTD_minCLevel()) + " to " +
                             std::to_string(ZSTD_maxCLevel()));
  }
  return Status::Ok();
}

}  // namespace

struct SeekableZstdWriter::Impl {
  std::string name;
  SeekableZstdOptions options;
  ByteSink* sink = nullptr;
  int owned_fd = -1;                     // CreateFile only
  std::unique_ptr<FdSink> owned_sink;    // CreateFile only
  CompressionContexts contexts;
  std::unique_ptr<OrderedWorkers> workers;
  std::string filling;                   // input of the frame being filled
  std::deque<uint32_t> submitted_sizes;  // input sizes of frames given to the workers
  std::vector<SeekableFrame> frames;
  Sha256 hash;
  std::string sha256_hex;
  uint64_t input_bytes = 0;
  uint64_t file_bytes = 0;
  uint64_t decompressed_written = 0;
  bool finished = false;
  Status failure;  // once a step failed, the output is unusable

  ~Impl() {
    workers.reset();  // before the contexts the workers use
    if (owned_fd >= 0) close(owned_fd);
  }

  Status Emit(const void* data, size_t size) {
    GB_RETURN_IF_ERROR(sink->Write(data, size));
    if (options.hash_output) hash.Update(data, size);
    file_bytes += size;
    return Status::Ok();
  }

  Status EmitIdentityFrame() {
    const std::string& payload = options.identity_frame;
    if (payload.empty()) return Status::Ok();
    if (payload.size() > kMaxIdentityFrame) {
      return Status::Failed("the identity frame for " + name + " is too large (" +
                            std::to_string(payload.size()) + " bytes)");
    }
    unsigned char prefix[8];
    PutLittleEndian32(kSkippableFrameMagicBase, prefix);
    PutLittleEndian32(static_cast<uint32_t>(payload.size()), prefix + 4);
    GB_RETURN_IF_ERROR(Emit(prefix, sizeof prefix));
    GB_RETURN_IF_ERROR(Emit(payload.data(), payload.size()));
    frames.push_back(SeekableFrame{0, 0, static_cast<uint32_t>(file_bytes), 0});
    return Status::Ok();
  }

  // Writes the oldest compressed frame and records it.
  Status TakeOneFrame() {
    GB_ASSIGN_OR_RETURN(std::string compressed, workers->Next());
    SeekableFrame frame{file_bytes, decompressed_written, static_cast<uint32_t>(compressed.size()),
                        submitted_sizes.front()};
    submitted_sizes.pop_front();
    GB_RETURN_IF_ERROR(Emit(compressed.data(), compressed.size()));
    workers->Recycle(std::move(compressed));
    decompressed_written += frame.decompressed_size;
    frames.push_back(frame);
    return Status::Ok();
  }

  Status SubmitFilledFrame() {
    if (filling.empty()) return Status::Ok();
    if (frames.size() + submitted_sizes.size() + 1 >= kSeekableMaxFrames) {
      return Status::Failed(name + " would have more frames than the seekable format allows",
                            "use a larger frame size");
    }
    if (workers->full()) GB_RETURN_IF_ERROR(TakeOneFrame());
    submitted_sizes.push_back(static_cast<uint32_t>(filling.size()));
    workers->Submit(std::move(filling));
    filling = workers->SpareInput();
    filling.reserve(options.frame_input_size);
    return Status::Ok();
  }

  Status Append(const char* data, size_t size) {
    while (size > 0) {
      size_t take = std::min(size, options.frame_input_size - filling.size());
      filling.append(data, take);
      data += take;
      size -= take;
      if (filling.size() == options.frame_input_size) GB_RETURN_IF_ERROR(SubmitFilledFrame());
    }
    return Status::Ok();
  }

  Status Drain() {
    GB_RETURN_IF_ERROR(SubmitFilledFrame());
    while (workers->in_flight() > 0) GB_RETURN_IF_ERROR(TakeOneFrame());
    std::string table = EncodeSeekTable(frames);
    GB_RETURN_IF_ERROR(Emit(table.data(), table.size()));
    if (owned_fd < 0) return Status::Ok();
    if (fsync(owned_fd) != 0) return Status::FromErrno("cannot fsync " + name, errno);
    int fd = owned_fd;
    owned_fd = -1;
    if (close(fd) != 0) return Status::FromErrno("cannot close " + name, errno);
    return Status::Ok();
  }

  // Records the first failure: later calls repeat it instead of writing a broken file.
  Status Remember(Status status) {
    if (!status.ok()) failure = status;
    return status;
  }
};

SeekableZstdWriter::SeekableZstdWriter() : impl_(std::make_unique<Impl>()) {}
SeekableZstdWriter::~SeekableZstdWriter() = default;

Result<std::unique_ptr<SeekableZstdWriter>> SeekableZstdWriter::Create(
    ByteSink& sink, std::string name, const SeekableZstdOptions& options) {
  GB_RETURN_IF_ERROR(CheckOptions(options, name));
  std::unique_ptr<SeekableZstdWriter> writer(new SeekableZstdWriter());
  Impl& impl = *writer->impl_;
  impl.name = std::move(name);
  impl.options = options;
  impl.sink = &sink;
  const int threads = options.threads > 0
                          ? options.threads
                          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  // The calling thread compresses too, while it waits for a frame: threads - 1 workers.
  GB_RETURN_IF_ERROR(impl.contexts.Init(threads, options.level, impl.name));
  const CompressionContexts* contexts = &impl.contexts;
  const std::string* output_name = &impl.name;
  impl.workers = std::make_unique<OrderedWorkers>(
      threads - 1, static_cast<size_t>(threads) + 1,
      [contexts, output_name](int worker, uint64_t, std::string& input, std::string* output) {
        return contexts->Compress(worker, input, output, *output_name);
      });
  impl.filling.reserve(options.frame_input_size);
  GB_RETURN_IF_ERROR(impl.EmitIdentityFrame());
  return writer;
}

Result<std::unique_ptr<SeekableZstdWriter>> SeekableZstdWriter::CreateFile(
    const std::string& path, const SeekableZstdOptions& options) {
  GB_RETURN_IF_ERROR(CheckOptions(options, path));  // before a file exists
  int fd = open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno("cannot create " + path, errno);
  auto sink = std::make_unique<FdSink>(fd);
  auto created = Create(*sink, path, options);
  if (!created.ok()) {
    close(fd);
    return created.status();
  }
  std::unique_ptr<SeekableZstdWriter> writer = std::move(created).value();
  writer->impl_->owned_fd = fd;
  writer->impl_->owned_sink = std::move(sink);
  return writer;
}

Status SeekableZstdWriter::Write(const void* data, size_t size) {
  Impl& impl = *impl_;
  if (!impl.failure.ok()) return impl.failure;
  if (impl.finished) return Status::Failed("write to " + impl.name + " after it was finished");
  impl.input_bytes += size;
  return impl.Remember(impl.Append(static_cast<const char*>(data), size));
}

Status SeekableZstdWriter::CutFrame() {
  Impl& impl = *impl_;
  if (!impl.failure.ok()) return impl.failure;
  if (impl.finished) return Status::Failed("frame cut in " + impl.name + " after it was finished");
  return impl.Remember(impl.SubmitFilledFrame());
}

Status SeekableZstdWriter::Finish() {
  Impl& impl = *impl_;
  if (!impl.failure.ok()) return impl.failure;
  if (impl.finished) return Status::Failed(impl.name + " was already finished");
  GB_RETURN_IF_ERROR(impl.Remember(impl.Drain()));
  impl.workers.reset();  // the threads and their buffers are no longer needed
  impl.filling = std::string();
  if (impl.options.hash_output) impl.sha256_hex = impl.hash.HexDigest();
  impl.finished = true;
  return Status::Ok();
}

const std::vector<SeekableFrame>& SeekableZstdWriter::frames() const { return impl_->frames; }
uint64_t SeekableZstdWriter::input_bytes() const { return impl_->input_bytes; }
uint64_t SeekableZstdWriter::file_bytes() const { return impl_->file_bytes; }
std::string SeekableZstdWriter::sha256_hex() const { return impl_->sha256_hex; }

}  // namespace gb
