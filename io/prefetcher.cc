#include "io/prefetcher.h"

#include <algorithm>

namespace gb {

Prefetcher::Prefetcher(ByteSource& source, const Options& options, std::string_view already_read)
    : source_(source), hashing_(options.hash) {
  if (hashing_) hash_.Update(already_read.data(), already_read.size());
  bytes_read_ = already_read.size();
  for (size_t i = 0; i < std::max<size_t>(options.chunks, 2); ++i) {
    free_.push_back(std::make_unique<PrefetchedChunk>());
    free_.back()->bytes.resize(options.chunk_size);
  }
  thread_ = std::thread([this] { Run(); });
}

Prefetcher::~Prefetcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

Result<std::unique_ptr<PrefetchedChunk>> Prefetcher::Next() {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return !full_.empty() || !failure_.ok(); });
  if (!full_.empty()) {
    auto chunk = std::move(full_.front());
    full_.pop_front();
    return chunk;
  }
  return failure_;
}

void Prefetcher::Recycle(std::unique_ptr<PrefetchedChunk> chunk) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    free_.push_back(std::move(chunk));
  }
  changed_.notify_all();
}

void Prefetcher::Run() {
  while (true) {
    std::unique_ptr<PrefetchedChunk> chunk;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [this] { return stopping_ || !free_.empty(); });
      if (stopping_) return;
      chunk = std::move(free_.front());
      free_.pop_front();
    }
    const Status status = Fill(*chunk);
    if (status.ok()) {
      if (chunk->size > 0) {
        if (hashing_) hash_.Update(chunk->bytes.data(), chunk->size);
        bytes_read_ += chunk->size;
      } else if (hashing_) {
        sha256_hex_ = hash_.HexDigest();
      }
    }
    const bool end = !status.ok() || chunk->size == 0;
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

Status Prefetcher::Fill(PrefetchedChunk& chunk) {
  chunk.size = 0;
  while (chunk.size < chunk.bytes.size()) {
    GB_ASSIGN_OR_RETURN(const size_t n, source_.Read(chunk.bytes.data() + chunk.size,
                                                     chunk.bytes.size() - chunk.size));
    if (n == 0) break;
    chunk.size += n;
  }
  return Status::Ok();
}

}  // namespace gb
