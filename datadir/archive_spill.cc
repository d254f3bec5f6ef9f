#include "datadir/archive_spill.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <zstd.h>

#include "io/files.h"

namespace gb {
namespace {

constexpr char kScratchHint[] = "the archiver's scratch goes to $TMPDIR (else /tmp): is it full?";

// Reads a file from its start with pread: each reader has its own position, so a finished
// spill can be read again while a previous reader's thread winds down.
class PreadSource : public ByteSource {
 public:
  PreadSource(int fd, std::string what) : fd_(fd), what_(std::move(what)) {}
  Result<size_t> Read(void* buffer, size_t capacity) override {
    for (;;) {
      const ssize_t n = pread(fd_, buffer, capacity, offset_);
      if (n >= 0) {
        offset_ += n;
        return static_cast<size_t>(n);
      }
      if (errno != EINTR) return Status::FromErrno("reading " + what_, errno);
    }
  }

 private:
  int fd_;
  std::string what_;
  off_t offset_ = 0;
};

}  // namespace

Result<std::unique_ptr<TempFile>> TempFile::Create(const std::string& what) {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                        "/govern-backup-spill-XXXXXX";
  const int fd = mkostemp(pattern.data(), O_CLOEXEC);
  if (fd < 0)
    return Status::FromErrno("cannot create the temporary file of " + what, errno)
        .WithHint(kScratchHint);
  unlink(pattern.c_str());
  return std::unique_ptr<TempFile>(new TempFile(fd, what));
}

TempFile::~TempFile() { close(fd_); }

Status TempFile::Rewind() {
  if (lseek(fd_, 0, SEEK_SET) < 0) return Status::FromErrno("rewinding " + what_, errno);
  return Status::Ok();
}

namespace {

// Entries are spilled as length-prefixed binary records rather than JSON lines: the second
// pass reads them back while DSS is stopped, and parsing JSON took most of that time (100k
// files: ~1 s of a 2.8 s window).
class RecordWriter {
 public:
  void Number(uint64_t value) { Append(&value, sizeof value); }
  void Text(const std::string& text) {
    Number(text.size());
    Append(text.data(), text.size());
  }
  std::string& bytes() { return bytes_; }

 private:
  void Append(const void* data, size_t size) {
    bytes_.append(static_cast<const char*>(data), size);
  }
  std::string bytes_;
};

class RecordReader {
 public:
  explicit RecordReader(std::string_view bytes) : bytes_(bytes) {}
  bool Number(uint64_t& value) { return Take(&value, sizeof value); }
  bool Text(std::string_view& text) {
    uint64_t size = 0;
    if (!Number(size) || size > bytes_.size() - at_) return false;
    text = bytes_.substr(at_, size);
    at_ += size;
    return true;
  }
  bool Text(std::string& text) {
    std::string_view view;
    if (!Text(view)) return false;
    text.assign(view);
    return true;
  }

 private:
  bool Take(void* out, size_t size) {
    if (size > bytes_.size() - at_) return false;
    std::memcpy(out, bytes_.data() + at_, size);
    at_ += size;
    return true;
  }
  std::string_view bytes_;
  size_t at_ = 0;
};

std::string Encode(const FileIndexEntry& e) {
  RecordWriter out;
  out.Number(0);  // the record's length, filled below
  for (const std::string* text : {&e.path, &e.type, &e.user, &e.group, &e.link_target,
                                  &e.sha256, &e.set_id})
    out.Text(*text);
  for (uint64_t number : {uint64_t{e.mode}, e.uid, e.gid, e.size, static_cast<uint64_t>(e.mtime_ns),
                          static_cast<uint64_t>(e.ctime_ns), e.inode, uint64_t{e.racy}, e.offset,
                          e.length})
    out.Number(number);
  const uint64_t length = out.bytes().size() - sizeof(uint64_t);
  std::memcpy(out.bytes().data(), &length, sizeof length);
  return std::move(out.bytes());
}

bool Decode(std::string_view record, FileIndexEntry& e) {
  RecordReader in(record);
  for (std::string* text : {&e.path, &e.type, &e.user, &e.group, &e.link_target, &e.sha256,
                            &e.set_id})
    if (!in.Text(*text)) return false;
  uint64_t mode = 0, mtime = 0, ctime = 0, racy = 0;
  for (uint64_t* number : {&mode, &e.uid, &e.gid, &e.size, &mtime, &ctime, &e.inode, &racy,
                           &e.offset, &e.length})
    if (!in.Number(*number)) return false;
  e.mode = static_cast<uint32_t>(mode);
  e.mtime_ns = static_cast<int64_t>(mtime);
  e.ctime_ns = static_cast<int64_t>(ctime);
  e.racy = racy != 0;
  return true;
}

// One zstd frame of a spill: whole records, so that a run of entries below a quiet directory
// can be stepped over a frame at a time, unread.
struct SpillFrame {
  uint64_t offset = 0;     // in the file
  size_t stored = 0;       // compressed bytes
  size_t size = 0;         // record bytes
  std::string last_path;   // of its last record
  bool lists_gone = false;  // holds a kGoneInDirectoryEntryType marker
};

// Exactly `size` bytes at `offset` of `fd`.
Status PreadAll(int fd, char* out, size_t size, uint64_t offset, const std::string& what) {
  for (size_t done = 0; done < size;) {
    const ssize_t n = pread(fd, out + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno("reading " + what, errno);
    if (n == 0) return Status::Failed("internal error: " + what + " is shorter than written");
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

// Reads a finished spill's records in place, frame by frame; its own position, so several may
// read one spill. A record passed over below a quiet directory is looked at (path and type,
// as views) without being decoded, and a frame wholly below it is not even read.
class SpillReader {
 public:
  SpillReader(int fd, const std::vector<SpillFrame>& frames, std::string what)
      : fd_(fd), frames_(frames), what_(std::move(what)), dctx_(ZSTD_createDCtx()) {}
  ~SpillReader() { ZSTD_freeDCtx(dctx_); }
  SpillReader(const SpillReader&) = delete;
  SpillReader& operator=(const SpillReader&) = delete;

  Result<bool> Next(FileIndexEntry& entry) {
    std::string_view record;
    GB_ASSIGN_OR_RETURN(bool more, Peek(record));
    if (!more) return false;
    if (!Decode(record, entry)) return Damaged();
    at_ += sizeof(uint64_t) + record.size();
    return true;
  }

  Status SkipBelow(std::string_view directory, const IndexCursor::GlimpsedFn& glimpsed) {
    for (;;) {
      if (at_ == buffer_.size()) {
        // A frame ending below `directory` starts there too: the run below it is contiguous.
        while (next_frame_ < frames_.size() && !frames_[next_frame_].lists_gone &&
               PathIsUnder(frames_[next_frame_].last_path, directory))
          ++next_frame_;
      }
      std::string_view record;
      GB_ASSIGN_OR_RETURN(bool more, Peek(record));
      if (!more) return Status::Ok();
      RecordReader in(record);
      std::string_view path, type;
      if (!in.Text(path) || !in.Text(type)) return Damaged();
      if (!PathIsUnder(path, directory)) return Status::Ok();
      GB_RETURN_IF_ERROR(glimpsed(path, type));
      at_ += sizeof(uint64_t) + record.size();
    }
  }

 private:
  Status Damaged() const {
    return Status::Failed("internal error: " + what_ + " holds a damaged entry");
  }

  // The next record, not consumed; the view lasts until the position moves.
  Result<bool> Peek(std::string_view& record) {
    if (at_ == buffer_.size()) {
      if (next_frame_ == frames_.size()) return false;
      GB_RETURN_IF_ERROR(Load(frames_[next_frame_++]));
    }
    uint64_t length = 0;
    if (buffer_.size() - at_ < sizeof length) return Damaged();
    std::memcpy(&length, buffer_.data() + at_, sizeof length);
    if (buffer_.size() - at_ - sizeof length < length) return Damaged();
    record = std::string_view(buffer_).substr(at_ + sizeof length, length);
    return true;
  }

  Status Load(const SpillFrame& frame) {
    stored_.resize(frame.stored);
    GB_RETURN_IF_ERROR(PreadAll(fd_, stored_.data(), frame.stored, frame.offset, what_));
    buffer_.resize(frame.size);
    at_ = 0;
    const size_t got =
        ZSTD_decompressDCtx(dctx_, buffer_.data(), buffer_.size(), stored_.data(), stored_.size());
    if (ZSTD_isError(got) || got != frame.size) return Damaged();
    return Status::Ok();
  }

  int fd_;
  const std::vector<SpillFrame>& frames_;
  std::string what_;
  ZSTD_DCtx* dctx_;
  size_t next_frame_ = 0;
  std::string stored_;
  std::string buffer_;  // the records of the frame read last; unread from at_
  size_t at_ = 0;
};

// Frames of about this many record bytes: small enough that stepping into a quiet run reads
// little, large enough that zstd finds the records' repetitions (names, owners, set ids).
constexpr size_t kFrameBytes = 128 << 10;

}  // namespace

struct EntrySpill::State {
  Status CutFrame();

  std::unique_ptr<TempFile> file;
  ZSTD_CCtx* cctx = nullptr;
  std::vector<SpillFrame> frames;
  std::string pending;  // records of the frame being filled
  std::string last_path;
  bool lists_gone = false;
  std::string stored;  // compressed, being written
  uint64_t file_bytes = 0;
  uint64_t entries = 0;
  bool finished = false;
  ~State() { ZSTD_freeCCtx(cctx); }
};

Status EntrySpill::State::CutFrame() {
  if (pending.empty()) return Status::Ok();
  stored.resize(ZSTD_compressBound(pending.size()));
  const size_t size =
      ZSTD_compressCCtx(cctx, stored.data(), stored.size(), pending.data(), pending.size(), 1);
  if (ZSTD_isError(size))
    return Status::Failed("cannot compress " + file->what() + ": " + ZSTD_getErrorName(size));
  GB_RETURN_IF_ERROR(WriteAll(file->fd(), stored.data(), size, file->what()).WithHint(kScratchHint));
  SpillFrame frame;
  frame.offset = file_bytes;
  frame.stored = size;
  frame.size = pending.size();
  frame.last_path = last_path;
  frame.lists_gone = lists_gone;
  frames.push_back(std::move(frame));
  file_bytes += size;
  pending.clear();
  lists_gone = false;
  return Status::Ok();
}

EntrySpill::EntrySpill(std::unique_ptr<State> state) : state_(std::move(state)) {}
EntrySpill::~EntrySpill() = default;

Result<std::unique_ptr<EntrySpill>> EntrySpill::Create(const std::string& what) {
  auto state = std::make_unique<State>();
  GB_ASSIGN_OR_RETURN(state->file, TempFile::Create(what));
  state->cctx = ZSTD_createCCtx();
  if (state->cctx == nullptr) return Status::Failed("cannot start compressing " + what);
  return std::unique_ptr<EntrySpill>(new EntrySpill(std::move(state)));
}

Status EntrySpill::Add(const FileIndexEntry& entry) {
  State& s = *state_;
  if (s.finished) return Status::Failed("internal error: " + s.file->what() + " added to after its end");
  s.pending += Encode(entry);
  s.last_path = entry.path;
  s.lists_gone = s.lists_gone || entry.type == kGoneInDirectoryEntryType;
  ++s.entries;
  if (s.pending.size() >= kFrameBytes) return s.CutFrame();
  return Status::Ok();
}

Status EntrySpill::AddGone(const std::string& path, bool parent_is_directory) {
  FileIndexEntry gone;
  gone.path = path;
  gone.type = parent_is_directory ? kGoneInDirectoryEntryType : kGoneEntryType;
  return Add(gone);
}

Status EntrySpill::Finish() {
  if (state_->finished) return Status::Ok();
  GB_RETURN_IF_ERROR(state_->CutFrame());
  state_->finished = true;
  return Status::Ok();
}

uint64_t EntrySpill::entries() const { return state_->entries; }

namespace {
Result<std::shared_ptr<SpillReader>> OpenSpill(const TempFile& file,
                                               const std::vector<SpillFrame>& frames,
                                               bool finished) {
  if (!finished)
    return Status::Failed("internal error: " + file.what() + " read before it was finished");
  return std::make_shared<SpillReader>(file.fd(), frames, file.what());
}
}  // namespace

Result<std::function<Result<bool>(FileIndexEntry&)>> EntrySpill::Reader() {
  GB_ASSIGN_OR_RETURN(std::shared_ptr<SpillReader> reader,
                      OpenSpill(*state_->file, state_->frames, state_->finished));
  return std::function<Result<bool>(FileIndexEntry&)>(
      [reader](FileIndexEntry& entry) { return reader->Next(entry); });
}

Result<std::unique_ptr<IndexCursor>> EntrySpill::Cursor(std::string name) {
  GB_ASSIGN_OR_RETURN(std::shared_ptr<SpillReader> reader,
                      OpenSpill(*state_->file, state_->frames, state_->finished));
  return std::make_unique<IndexCursor>(
      [reader](FileIndexEntry& entry) { return reader->Next(entry); }, std::move(name),
      [reader](std::string_view directory, const IndexCursor::GlimpsedFn& glimpsed) {
        return reader->SkipBelow(directory, glimpsed);
      });
}

bool IsGoneMarker(std::string_view type) {
  return type == kGoneEntryType || type == kGoneInDirectoryEntryType;
}

Result<std::unique_ptr<VanishedList>> VanishedList::Create() {
  GB_ASSIGN_OR_RETURN(auto file, TempFile::Create("the list of vanished paths"));
  return std::unique_ptr<VanishedList>(new VanishedList(std::move(file)));
}

Status VanishedList::Add(std::string_view path) {
  std::string record(path);
  record.push_back('\0');
  FdSink sink(file_->fd());
  GB_RETURN_IF_ERROR(sink.Write(record.data(), record.size())
                         .WithContext(file_->what())
                         .WithHint(kScratchHint));
  ++paths_;
  bytes_ += record.size();
  return Status::Ok();
}

Result<std::unique_ptr<ByteSource>> VanishedList::Read() {
  return std::unique_ptr<ByteSource>(new PreadSource(file_->fd(), file_->what()));
}

Status IndexCursor::Load() {
  if (loaded_ || at_end_) return Status::Ok();
  Result<bool> more = next_(current_);
  if (!more.ok()) {
    failed_ = true;
    return more.status();
  }
  if (!*more) {
    at_end_ = true;
    return Status::Ok();
  }
  if (!previous_path_.empty() && ComparePaths(previous_path_, current_.path) >= 0) {
    failed_ = true;
    return Status::Failed(name_ + " lists " + current_.path + " after " + previous_path_ +
                              ": not in path order",
                          "the index is damaged: `govern-backup verify` checks it");
  }
  previous_path_ = current_.path;
  loaded_ = true;
  return Status::Ok();
}

Result<const FileIndexEntry*> IndexCursor::Seek(std::string_view path, const PassedFn& passed) {
  for (;;) {
    GB_RETURN_IF_ERROR(Load());
    if (at_end_) return nullptr;
    const int order = ComparePaths(current_.path, path);
    if (order > 0) return nullptr;
    loaded_ = false;  // consumed either way
    if (order == 0) return &current_;
    GB_RETURN_IF_ERROR(passed(current_));
  }
}

Status IndexCursor::PassBelow(std::string_view path, const GlimpsedFn& glimpsed) {
  for (;;) {
    if (skip_ && !loaded_ && !at_end_) {
      // The stream's own way; an error there is the stream's (unless `glimpsed`'s).
      bool glimpse_failed = false;
      Status status = skip_(path, [&](std::string_view below, std::string_view type) {
        Status passed = glimpsed(below, type);
        glimpse_failed = !passed.ok();
        return passed;
      });
      if (!status.ok() && !glimpse_failed) failed_ = true;
      return status;
    }
    GB_RETURN_IF_ERROR(Load());
    if (at_end_ || !PathIsUnder(current_.path, path)) return Status::Ok();
    loaded_ = false;
    GB_RETURN_IF_ERROR(glimpsed(current_.path, current_.type));
  }
}

Status IndexCursor::Drain(const PassedFn& passed) {
  for (;;) {
    GB_RETURN_IF_ERROR(Load());
    if (at_end_) return Status::Ok();
    loaded_ = false;
    GB_RETURN_IF_ERROR(passed(current_));
  }
}


void DirectoryChain::PopUntilAncestorOf(std::string_view path) {
  while (!directories_.empty() && !PathIsUnder(path, directories_.back())) directories_.pop_back();
}

void DirectoryChain::Met(std::string_view path, bool is_directory) {
  PopUntilAncestorOf(path);
  if (is_directory) directories_.emplace_back(path);
}

bool DirectoryChain::ParentIsDirectory(std::string_view path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return true;
  PopUntilAncestorOf(path);
  return !directories_.empty() && directories_.back() == path.substr(0, slash);
}

}  // namespace gb
