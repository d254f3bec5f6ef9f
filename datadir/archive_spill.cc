#include "datadir/archive_spill.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

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

struct EntrySpill::State {
  std::unique_ptr<TempFile> file;
  std::unique_ptr<FdSink> sink;
  std::unique_ptr<ZstdWriter> zstd;
  std::unique_ptr<FileIndexWriter> writer;
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
  state->writer = std::make_unique<FileIndexWriter>(*state->zstd);
  return std::unique_ptr<EntrySpill>(new EntrySpill(std::move(state)));
}

Status EntrySpill::Add(const FileIndexEntry& entry) {
  return state_->writer->Add(entry).WithContext(state_->file->what()).WithHint(kScratchHint);
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

uint64_t EntrySpill::entries() const { return state_->writer->entries(); }

Result<std::function<Result<bool>(FileIndexEntry&)>> EntrySpill::Reader() {
  if (!state_->finished) return Status::Failed("internal error: " + state_->file->what() +
                                               " read before it was finished");
  struct Reading {
    std::unique_ptr<ZstdReader> zstd;
    std::unique_ptr<FileIndexReader> index;
  };
  auto reading = std::make_shared<Reading>();
  const std::string& what = state_->file->what();
  GB_ASSIGN_OR_RETURN(reading->zstd,
                      ZstdReader::Open(std::make_unique<PreadSource>(state_->file->fd(), what),
                                       what));
  reading->index = std::make_unique<FileIndexReader>(*reading->zstd, what);
  return std::function<Result<bool>(FileIndexEntry&)>(
      [reading](FileIndexEntry& entry) { return reading->index->Next(entry); });
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

Status IndexCursor::Drain(const PassedFn& passed) {
  for (;;) {
    GB_RETURN_IF_ERROR(Load());
    if (at_end_) return Status::Ok();
    loaded_ = false;
    GB_RETURN_IF_ERROR(passed(current_));
  }
}

namespace {
bool Encloses(std::string_view directory, std::string_view path) {
  return path.size() > directory.size() && path.compare(0, directory.size(), directory) == 0 &&
         path[directory.size()] == '/';
}
}  // namespace

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
