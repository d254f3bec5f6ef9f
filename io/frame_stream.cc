#include "io/frame_stream.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "io/sha256.h"

namespace gb {
namespace {

std::string EncodeFrameIndex(size_t index) {
  std::string bytes(sizeof index, '\0');
  std::memcpy(bytes.data(), &index, sizeof index);
  return bytes;
}

size_t DecodeFrameIndex(const std::string& bytes) {
  size_t index = 0;
  std::memcpy(&index, bytes.data(), sizeof index);
  return index;
}

int ThreadsFor(int threads) {
  if (threads > 0) return threads;
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  return std::clamp(cores, 1, kDefaultFrameThreads);
}

Status BadRange(const SeekableZstdReader& half, const StreamRange& range, const std::string& why) {
  return Status::Failed("cannot read bytes [" + std::to_string(range.begin) + ", " +
                            std::to_string(range.end) + ") of " + half.name() + ": " + why,
                        "the set's index does not match its half: `govern-backup verify` "
                        "checks the set");
}

}  // namespace

// The file's SHA-256 on a thread of its own: the stored bytes of each frame, in order, once
// the consumer has read the frame (hashing on the consumer's thread would slow every read
// by a third). Buffers come back through TakeHashed, to be reused.
class FrameStream::BackgroundHash {
 public:
  BackgroundHash() : thread_([this] { Run(); }) {}
  ~BackgroundHash() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }

  // Hashes buffer[from, end) after what was given before. Waits while kPending are queued.
  void Give(std::string buffer, size_t from) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return queued_.size() < kPending; });
    queued_.emplace_back(std::move(buffer), from);
    changed_.notify_all();
  }
  std::vector<std::string> TakeHashed() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::string> done;
    done.swap(hashed_);
    return done;
  }
  // Waits for what was given, hashes `tail` after it, and returns the digest.
  std::string Finish(const std::string& tail) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return queued_.empty() && !busy_; });
    hash_.Update(tail.data(), tail.size());
    return hash_.HexDigest();
  }

 private:
  static constexpr size_t kPending = 1;

  void Run() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      changed_.wait(lock, [&] { return stopping_ || !queued_.empty(); });
      if (stopping_) return;
      auto [buffer, from] = std::move(queued_.front());
      queued_.pop_front();
      busy_ = true;
      lock.unlock();
      hash_.Update(buffer.data() + from, buffer.size() - from);
      lock.lock();
      busy_ = false;
      hashed_.push_back(std::move(buffer));
      changed_.notify_all();
    }
  }

  Sha256 hash_;  // the thread's while it runs; Finish's once it is idle
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::pair<std::string, size_t>> queued_;
  std::vector<std::string> hashed_;
  bool busy_ = false;
  bool stopping_ = false;
  std::thread thread_;  // last: started once the rest is ready
};

Result<std::unique_ptr<FrameStream>> FrameStream::Ranges(const SeekableZstdReader& half,
                                                         std::vector<StreamRange> ranges,
                                                         int threads) {
  std::vector<Piece> pieces;
  uint64_t previous_end = 0;
  for (const StreamRange& range : ranges) {
    if (range.begin >= range.end) continue;
    if (range.begin < previous_end) return BadRange(half, range, "it overlaps the range before");
    if (range.end > half.decompressed_size())
      return BadRange(half, range,
                      "its content has only " + std::to_string(half.decompressed_size()) + " bytes");
    previous_end = range.end;
    uint64_t begin = range.begin;
    for (size_t index = half.FrameIndexAt(begin); begin < range.end; ++index) {
      const SeekableFrame& frame = half.frames()[index];
      if (frame.decompressed_size == 0) continue;
      const uint64_t skip = begin - frame.decompressed_offset;
      const uint64_t take = std::min<uint64_t>(range.end - begin, frame.decompressed_size - skip);
      pieces.push_back({index, skip, take});
      begin += take;
    }
  }
  return std::unique_ptr<FrameStream>(
      new FrameStream(half, std::move(pieces), ThreadsFor(threads), false));
}

std::unique_ptr<FrameStream> FrameStream::Whole(const SeekableZstdReader& half, int threads) {
  std::vector<Piece> pieces;
  for (size_t index = 0; index < half.frames().size(); ++index)
    pieces.push_back({index, 0, half.frames()[index].decompressed_size});
  return std::unique_ptr<FrameStream>(
      new FrameStream(half, std::move(pieces), ThreadsFor(threads), true));
}

FrameStream::FrameStream(const SeekableZstdReader& half, std::vector<Piece> pieces, int threads,
                         bool whole)
    : half_(half), pieces_(std::move(pieces)), whole_(whole) {
  for (const Piece& piece : pieces_)
    if (frames_.empty() || frames_.back() != piece.frame) frames_.push_back(piece.frame);
  // The consumer's thread decodes too (OrderedWorkers::Next): threads - 1 workers.
  const int workers =
      static_cast<int>(std::min<size_t>(threads, std::max<size_t>(frames_.size(), 1)));
  for (int i = 0; i < workers; ++i) {
    decoders_.push_back(std::make_unique<SeekableZstdReader::FrameDecoder>());
    scratch_.emplace_back();
  }
  if (whole_) hasher_ = std::make_unique<BackgroundHash>();
  workers_ = std::make_unique<OrderedWorkers>(
      workers - 1, static_cast<size_t>(workers) + 1,
      [this](int worker, uint64_t, std::string& input, std::string* output) {
        std::string& stored = scratch_[worker];
        const size_t index = DecodeFrameIndex(input);
        // Room for the stored bytes too, before the content is written: appending them to a
        // full buffer would double its capacity (4 MiB frames held 8 MiB each: 50 MB of a
        // verify's peak, measured with heaptrack).
        if (whole_) {
          const SeekableFrame& frame = half_.frames()[index];
          output->reserve(frame.decompressed_size + frame.compressed_size);
        }
        GB_RETURN_IF_ERROR(half_.ReadFrame(index, *decoders_[worker], &stored, output));
        // The file's hash needs the stored bytes in order: the consumer hashes them.
        if (whole_) output->append(stored);
        return Status::Ok();
      });
  SubmitAhead();
}

FrameStream::~FrameStream() {
  workers_.reset();
  hasher_.reset();
}

void FrameStream::ReleaseContent() {
  if (whole_ && taken_ > 0) {
    const size_t frame = frames_[taken_ - 1];
    hasher_->Give(std::move(content_), half_.frames()[frame].decompressed_size);
    for (std::string& buffer : hasher_->TakeHashed()) workers_->Recycle(std::move(buffer));
  } else {
    workers_->Recycle(std::move(content_));
  }
  content_ = std::string();
}

void FrameStream::SubmitAhead() {
  while (submitted_ < frames_.size() && !workers_->full())
    workers_->Submit(EncodeFrameIndex(frames_[submitted_++]));
}

Status FrameStream::TakeFrame(size_t frame) {
  if (taken_ >= frames_.size() || frames_[taken_] != frame)
    return Status::Failed("internal error: frame " + std::to_string(frame) + " of " +
                          half_.name() + " read out of order");
  ReleaseContent();
  Result<std::string> next = workers_->Next();
  ++taken_;
  SubmitAhead();
  if (!next.ok()) return next.status();
  content_ = std::move(next).value();
  compressed_bytes_ += half_.frames()[frame].compressed_size;
  return Status::Ok();
}

Result<size_t> FrameStream::Read(void* buffer, size_t capacity) {
  if (!failure_.ok()) return failure_;
  while (piece_ < pieces_.size()) {
    const Piece& piece = pieces_[piece_];
    if (!loaded_) {
      Status taken = TakeFrame(piece.frame);
      if (!taken.ok()) {
        failure_ = taken;
        return failure_;
      }
      loaded_ = true;
    }
    if (at_ < piece.take) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(capacity, piece.take - at_));
      std::memcpy(buffer, content_.data() + piece.skip + at_, n);
      at_ += n;
      return n;
    }
    ++piece_;
    at_ = 0;
    loaded_ = piece_ < pieces_.size() && pieces_[piece_].frame == piece.frame;
  }
  if (whole_ && sha256_hex_.empty()) {
    ReleaseContent();
    compressed_bytes_ += half_.table_bytes().size();
    sha256_hex_ = hasher_->Finish(half_.table_bytes());
  }
  return size_t{0};
}

}  // namespace gb
