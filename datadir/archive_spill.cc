#include "datadir/archive_spill.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "io/zstd_file.h"

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
  explicit RecordReader(const std::string& bytes) : bytes_(bytes) {}
  bool Number(uint64_t& value) { return Take(&value, sizeof value); }
  bool Text(std::string& text) {
    uint64_t size = 0;
    if (!Number(size) || size > bytes_.size() - at_) return false;
    text.assign(bytes_, at_, size);
    at_ += size;
    return true;
  }

 private:
  bool Take(void* out, size_t size) {
    if (size > bytes_.size() - at_) return false;
    std::memcpy(out, bytes_.data() + at_, size);
    at_ += size;
    return true;
  }
  const std::string& bytes_;
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

bool Decode(const std::string& record, FileIndexEntry& e) {
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

// Exactly `size` bytes from `source`; false at a clean end before the first byte.
Result<bool> ReadExactly(ByteSource& source, char* out, size_t size, const std::string& what) {
  size_t done = 0;
  while (done < size) {
    GB_ASSIGN_OR_RETURN(size_t n, source.Read(out + done, size - done));
    if (n == 0) {
      if (done == 0) return false;
      return Status::Failed("internal error: " + what + " ends in the middle of an entry");
    }
    done += n;
  }
  return true;
}

}  // namespace

struct EntrySpill::State {
  std::unique_ptr<TempFile> file;
  std::unique_ptr<FdSink> sink;
  std::unique_ptr<ZstdWriter> zstd;
  uint64_t entries = 0;
  bool finished = false;
};

EntrySpill::EntrySpill(std::unique_ptr<State> state) : state_(std::move(state)) {}
EntrySpill::~EntrySpill() = default;

Result<std::unique_ptr<EntrySpill>> EntrySpill::Create(const std::string& what) {
  auto state = std::make_unique<State>();
  GB_ASSIGN_OR_RETURN(state->file, TempFile::Create(what));
  state->sink = std::make_unique<FdSink>(state->file->fd());
  ZstdWriterOptions options;
  options.level = 1;
  options.threads = 1;
  GB_ASSIGN_OR_RETURN(state->zstd, ZstdWriter::Create(*state->sink, what, options));
  return std::unique_ptr<EntrySpill>(new EntrySpill(std::move(state)));
}

Status EntrySpill::Add(const FileIndexEntry& entry) {
  const std::string record = Encode(entry);
  GB_RETURN_IF_ERROR(state_->zstd->Write(record.data(), record.size())
                         .WithContext(state_->file->what())
                         .WithHint(kScratchHint));
  ++state_->entries;
  return Status::Ok();
}

Status EntrySpill::AddGone(const std::string& path) {
  FileIndexEntry gone;
  gone.path = path;
  gone.type = kGoneEntryType;
  return Add(gone);
}

Status EntrySpill::Finish() {
  if (state_->finished) return Status::Ok();
  GB_RETURN_IF_ERROR(state_->zstd->Finish().WithContext(state_->file->what()));
  state_->finished = true;
  return Status::Ok();
}

uint64_t EntrySpill::entries() const { return state_->entries; }

Result<std::function<Result<bool>(FileIndexEntry&)>> EntrySpill::Reader() {
  if (!state_->finished) return Status::Failed("internal error: " + state_->file->what() +
                                               " read before it was finished");
  const std::string what = state_->file->what();
  std::shared_ptr<ZstdReader> zstd;
  {
    GB_ASSIGN_OR_RETURN(auto opened,
                        ZstdReader::Open(std::make_unique<PreadSource>(state_->file->fd(), what),
                                         what));
    zstd = std::move(opened);
  }
  auto record = std::make_shared<std::string>();
  return std::function<Result<bool>(FileIndexEntry&)>(
      [zstd, record, what](FileIndexEntry& entry) -> Result<bool> {
        uint64_t length = 0;
        GB_ASSIGN_OR_RETURN(bool more, ReadExactly(*zstd, reinterpret_cast<char*>(&length),
                                                   sizeof length, what));
        if (!more) return false;
        record->resize(length);
        GB_ASSIGN_OR_RETURN(more, ReadExactly(*zstd, record->data(), length, what));
        if (!more || !Decode(*record, entry))
          return Status::Failed("internal error: " + what + " holds a damaged entry");
        return true;
      });
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

namespace {
bool Encloses(std::string_view directory, std::string_view path) {
  return path.size() > directory.size() && path.compare(0, directory.size(), directory) == 0 &&
         path[directory.size()] == '/';
}
}  // namespace

Status IndexCursor::PassBelow(std::string_view path, const PassedFn& passed) {
  for (;;) {
    GB_RETURN_IF_ERROR(Load());
    if (at_end_ || !Encloses(path, current_.path)) return Status::Ok();
    loaded_ = false;
    GB_RETURN_IF_ERROR(passed(current_));
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
  while (!directories_.empty() && !Encloses(directories_.back(), path)) directories_.pop_back();
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
