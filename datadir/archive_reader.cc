#include "datadir/archive_reader.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <spdlog/spdlog.h>

#include "datadir/archive_error.h"
#include "datadir/archive_locale.h"
#include "datadir/archive_writer.h"
#include "datadir/data_dir_walk.h"
#include "datadir/deep_extraction.h"
#include "io/sha256.h"

namespace gb {
namespace {

constexpr size_t kReadChunk = 1 << 20;
constexpr size_t kMaxPairMemberBytes = 1 << 20;

struct ReadArchiveDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
struct WriteArchiveDeleter {
  void operator()(struct archive* a) const { archive_write_free(a); }
};

// libarchive's client reader over a ByteSource; keeps the source's own Status.
class SourceAdapter {
 public:
  explicit SourceAdapter(ByteSource& source) : source_(source), buffer_(new char[kReadChunk]) {}

  static la_ssize_t Read(struct archive*, void* self, const void** data) {
    auto* adapter = static_cast<SourceAdapter*>(self);
    *data = adapter->buffer_.get();
    Result<size_t> n = adapter->source_.Read(adapter->buffer_.get(), kReadChunk);
    if (!n.ok()) {
      adapter->status_ = n.status();
      return -1;
    }
    return static_cast<la_ssize_t>(*n);
  }

  const Status& status() const { return status_; }

 private:
  ByteSource& source_;
  std::unique_ptr<char[]> buffer_;
  Status status_;
};

// Member names as our writer makes them: relative, no "..", not empty. "./" is tolerated
// because GNU tar writes it.
Status CheckMemberName(const char* name, const std::string& previous, const char* role) {
  if (name == nullptr) {
    return Status::Failed(std::string("archive member after ") + previous + " has an unreadable " +
                          role);
  }
  std::string_view view(name);
  auto refuse = [&](const std::string& why) {
    return Status::Failed("archive member " + std::string(view) + " " + why, kUnsafeArchiveHint);
  };
  if (view.empty()) return refuse("has an empty name");
  if (view.front() == '/') return refuse("is an absolute path and escapes the destination");
  size_t start = 0;
  while (start <= view.size()) {
    size_t end = view.find('/', start);
    if (end == std::string_view::npos) end = view.size();
    if (view.substr(start, end - start) == "..") return refuse("escapes the destination (\"..\")");
    start = end + 1;
  }
  return Status::Ok();
}

// "a/./b/" -> "a/b": the form used to recognise the pair member and to walk parents.
std::string NormalizedName(std::string_view name) {
  std::string out;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string_view::npos) end = name.size();
    std::string_view part = name.substr(start, end - start);
    if (!part.empty() && part != ".") {
      if (!out.empty()) out += '/';
      out.append(part);
    }
    start = end + 1;
  }
  return out;
}

bool IsPairDirectoryMember(const std::string& normalized) {
  const std::string_view pair_dir = kPairDirName;
  return normalized == pair_dir ||
         (normalized.size() > pair_dir.size() &&
          normalized.compare(0, pair_dir.size(), pair_dir) == 0 &&
          normalized[pair_dir.size()] == '/');
}

// The index's name for the type of `entry` (a hard link whatever its file type says).
const char* IndexTypeOf(struct archive_entry* entry) {
  if (archive_entry_hardlink(entry) != nullptr) return "hardlink";
  switch (archive_entry_filetype(entry)) {
    case AE_IFREG: return "file";
    case AE_IFDIR: return "dir";
    case AE_IFLNK: return "symlink";
    case AE_IFIFO: return "fifo";
    case AE_IFCHR: return "char";
    case AE_IFBLK: return "block";
    default: return "other";
  }
}

// The SHA-256 of a regular file's content as libarchive hands it out: blocks at offsets,
// the holes of a sparse file between them, which count as zeros (as the writer hashed them).
class ContentHash {
 public:
  void Block(const void* data, size_t size, uint64_t offset) {
    Zeros(offset);
    hash_.Update(data, size);
    at_ += size;
  }
  std::string Finish(uint64_t size) {
    Zeros(size);
    return hash_.HexDigest();
  }

 private:
  void Zeros(uint64_t until) {
    static const char kZeros[1 << 16] = {};
    while (at_ < until) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(sizeof kZeros, until - at_));
      hash_.Update(kZeros, n);
      at_ += n;
    }
  }

  Sha256 hash_;
  uint64_t at_ = 0;
};

// One pass over a tar stream; with a destination it also extracts.
class ArchiveReaderSession {
 public:
  ArchiveReaderSession(ByteSource& source, const ExtractOptions* extract,
                       const ExtractedMemberVisitor& on_member)
      : adapter_(source), extract_(extract), on_member_(on_member) {}

  Result<ArchiveScan> Run() {
    ScopedUtf8Locale utf8;
    GB_RETURN_IF_ERROR(Open());
    if (extract_ != nullptr) GB_RETURN_IF_ERROR(OpenDestination());
    for (;;) {
      struct archive_entry* entry = nullptr;
      const int r = archive_read_next_header(reader_.get(), &entry);
      if (r == ARCHIVE_EOF) break;
      if (r == ARCHIVE_WARN) {
        spdlog::warn("archive member after {}: {}", Last(), archive_error_string(reader_.get()));
      } else if (r != ARCHIVE_OK) {
        return ReadError("reading the archive member after " + Last());
      }
      GB_RETURN_IF_ERROR(Member(entry));
      member_end_ = archive_filter_bytes(reader_.get(), -1);
    }
    GB_RETURN_IF_ERROR(CheckEndOfArchive());
    if (disk_) {
      if (archive_write_close(disk_.get()) != ARCHIVE_OK) {
        return LibarchiveError(disk_.get(), "finishing extraction into " + destination_);
      }
      GB_RETURN_IF_ERROR(deep_.FixDirectories());
    }
    return std::move(scan_);
  }

 private:
  Status Open() {
    reader_.reset(archive_read_new());
    if (!reader_) return Status::Failed("out of memory (libarchive)");
    if (archive_read_support_format_tar(reader_.get()) != ARCHIVE_OK ||
        archive_read_support_filter_none(reader_.get()) != ARCHIVE_OK) {
      return ReadError("setting up the tar reader");
    }
    if (archive_read_open(reader_.get(), &adapter_, nullptr, &SourceAdapter::Read, nullptr) !=
        ARCHIVE_OK) {
      return ReadError("opening the archive");
    }
    return Status::Ok();
  }

  Status OpenDestination() {
    char resolved[PATH_MAX];
    if (realpath(extract_->destination.c_str(), resolved) == nullptr) {
      return Status::FromErrno("extraction destination " + extract_->destination, errno);
    }
    destination_ = resolved;
    DIR* dir = opendir(destination_.c_str());
    if (dir == nullptr) {
      return Status::FromErrno("extraction destination " + destination_, errno);
    }
    bool empty = true;
    while (struct dirent* d = readdir(dir)) {
      if (std::strcmp(d->d_name, ".") != 0 && std::strcmp(d->d_name, "..") != 0) {
        empty = false;
        break;
      }
    }
    closedir(dir);
    if (!empty) {
      return Status::Failed("extraction destination " + destination_ + " is not empty",
                            "extract into a new, empty directory");
    }
    if (destination_ == "/") destination_.clear();  // members then become "/name"

    disk_.reset(archive_write_disk_new());
    if (!disk_) return Status::Failed("out of memory (libarchive)");
    // Absolute member paths are refused above libarchive; the entries it receives are
    // destination-prefixed, hence no SECURE_NOABSOLUTEPATHS. Nor SECURE_SYMLINKS:
    // CheckNoSymlinkOnTheWay makes the same check once per directory instead of lstat-ing
    // every component of every member, which made extraction ~1.6x slower than GNU tar.
    // Holes come back as holes, extended attributes and POSIX ACLs as they were archived.
    int flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_SPARSE;
    if (extract_->restore_owners && geteuid() == 0) flags |= ARCHIVE_EXTRACT_OWNER;
    disk_flags_ = flags;
    archive_write_disk_set_options(disk_.get(), flags);
    archive_write_disk_set_standard_lookup(disk_.get());
    return deep_.Open(destination_);
  }

  Status Member(struct archive_entry* entry) {
    const char* raw_name = archive_entry_pathname(entry);
    GB_RETURN_IF_ERROR(CheckMemberName(raw_name, Last(), "name"));
    last_ = raw_name;
    const char* raw_link = archive_entry_hardlink(entry);
    if (raw_link != nullptr) GB_RETURN_IF_ERROR(CheckMemberName(raw_link, Last(), "link target"));

    const std::string name = NormalizedName(raw_name);
    if (name == kPairMemberName) return ReadPairMember();
    if (name.empty() || IsPairDirectoryMember(name)) return SkipData();

    // Caught while scanning too, so that verify and restore's pre-flight refuse such an
    // archive before anything is extracted.
    GB_RETURN_IF_ERROR(CheckNoSymlinkMemberOnTheWay(name, name));
    if (raw_link != nullptr) {
      GB_RETURN_IF_ERROR(CheckNoSymlinkMemberOnTheWay(name, NormalizedName(raw_link) + "/"));
    }
    if (archive_entry_filetype(entry) == AE_IFLNK) symlink_members_.insert(name);

    ++scan_.entries;
    if (!disk_) return ReadData(nullptr, entry);

    const std::string target = raw_link != nullptr ? NormalizedName(raw_link) : "";
    if (raw_link != nullptr && target.empty()) {
      return Status::Failed("archive member " + last_ + " links to nothing", kUnsafeArchiveHint);
    }
    if (archive_entry_filetype(entry) != AE_IFDIR) safe_directories_.erase(name);
    if (on_member_) {
      reported_ = ExtractedMember{name, IndexTypeOf(entry), 0, "", target};
      if (const char* symlink = archive_entry_symlink(entry)) reported_.link_target = symlink;
    }
    if (deep_.IsDeep(name)) {
      GB_RETURN_IF_ERROR(DeepMember(entry, name, target));
    } else {
      GB_RETURN_IF_ERROR(CheckNoSymlinkOnTheWay(name, name));
      if (raw_link != nullptr) {
        GB_RETURN_IF_ERROR(CheckNoSymlinkOnTheWay(name, target + "/"));
        archive_entry_copy_hardlink(entry, (destination_ + "/" + target).c_str());
      }
      archive_entry_copy_pathname(entry, (destination_ + "/" + name).c_str());
      GB_RETURN_IF_ERROR(WriteMember(entry));
    }
    return on_member_ ? on_member_(reported_) : Status::Ok();
  }

  // A member too deep for a path: written relative to its anchor (see DeepExtraction). A
  // directory's mode and mtime are set by DeepExtraction after libarchive's close, as
  // libarchive's deferred fixes would look for it by a name relative to the anchor.
  Status DeepMember(struct archive_entry* entry, const std::string& name,
                    const std::string& target) {
    GB_ASSIGN_OR_RETURN(std::string relative, deep_.Enter(last_, name));
    Status status;
    if (!target.empty()) {
      Result<std::string> link = deep_.LinkTarget(last_, target);
      status = link.status();
      if (link.ok()) archive_entry_copy_hardlink(entry, link->c_str());
    }
    const bool directory = archive_entry_filetype(entry) == AE_IFDIR;
    if (directory) {
      deep_.RememberDirectory(name, archive_entry_perm(entry),
                              {archive_entry_mtime(entry), archive_entry_mtime_nsec(entry)});
      // Nothing libarchive would defer to its close: the deferred fixes go by a name
      // relative to the anchor, which is no longer the working directory by then. A deep
      // directory's ACLs, deferred too, are not restored (its files' are).
      archive_write_disk_set_options(
          disk_.get(),
          disk_flags_ & ~(ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_ACL));
    }
    archive_entry_copy_pathname(entry, relative.c_str());
    if (status.ok()) status = WriteMember(entry);
    if (directory) archive_write_disk_set_options(disk_.get(), disk_flags_);
    Status left = deep_.Leave();
    return status.ok() ? left : status;
  }

  Status WriteMember(struct archive_entry* entry) {
    const int r = archive_write_header(disk_.get(), entry);
    if (r == ARCHIVE_WARN) {
      spdlog::warn("extracting {}: {}", last_, archive_error_string(disk_.get()));
    } else if (r != ARCHIVE_OK) {
      return LibarchiveError(disk_.get(), "cannot extract archive member " + last_);
    }
    GB_RETURN_IF_ERROR(ReadData(disk_.get(), entry));
    const int f = archive_write_finish_entry(disk_.get());
    if (f == ARCHIVE_WARN) {
      spdlog::warn("extracting {}: {}", last_, archive_error_string(disk_.get()));
    } else if (f != ARCHIVE_OK) {
      return LibarchiveError(disk_.get(), "cannot finish extracting archive member " + last_);
    }
    return Status::Ok();
  }

  // Refuses `member` if a parent directory of `path` is a symlink member seen earlier in
  // the archive: extracting it would write through that symlink.
  Status CheckNoSymlinkMemberOnTheWay(const std::string& member, const std::string& path) {
    if (symlink_members_.empty()) return Status::Ok();
    for (size_t slash = path.find('/'); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
      const std::string parent = path.substr(0, slash);
      if (symlink_members_.count(parent) > 0) {
        return Status::Failed("archive member " + member + " would be written through the "
                              "symlink member " + parent + " and could escape the destination",
                              kUnsafeArchiveHint);
      }
    }
    return Status::Ok();
  }

  // Refuses `member` if a parent directory of `path` (relative to the destination) is a
  // symlink now on disk: writing there would land outside the destination. Directories
  // already seen to be real are remembered until a non-directory member replaces them.
  Status CheckNoSymlinkOnTheWay(const std::string& member, const std::string& path) {
    size_t slash = path.find('/');
    while (slash != std::string::npos) {
      const std::string parent = path.substr(0, slash);
      if (safe_directories_.count(parent) == 0) {
        struct stat st;
        const std::string full = destination_ + "/" + parent;
        if (lstat(full.c_str(), &st) != 0) {
          if (errno == ENOENT) return Status::Ok();  // libarchive creates the rest
          return Status::FromErrno("cannot check " + full, errno);
        }
        if (S_ISLNK(st.st_mode)) {
          return Status::Failed("archive member " + member + " would be written through the "
                                "symlink " + parent + " and could escape the destination",
                                kUnsafeArchiveHint);
        }
        if (!S_ISDIR(st.st_mode)) return Status::Ok();  // libarchive reports the conflict
        safe_directories_.insert(parent);
      }
      slash = path.find('/', slash + 1);
    }
    return Status::Ok();
  }

  Status ReadPairMember() {
    if (saw_pair_member_) {
      return Status::Failed("the archive has a second " + std::string(kPairMemberName) +
                            " (member " + last_ + ")");
    }
    saw_pair_member_ = true;
    const void* block;
    size_t size;
    la_int64_t offset;
    for (;;) {
      const int r = archive_read_data_block(reader_.get(), &block, &size, &offset);
      if (r == ARCHIVE_EOF) return Status::Ok();
      if (r != ARCHIVE_OK) return ReadError("reading archive member " + last_);
      if (static_cast<size_t>(offset) + size > kMaxPairMemberBytes) {
        return Status::Failed("archive member " + last_ + " is too large for a pair identity");
      }
      scan_.pair_member.resize(static_cast<size_t>(offset), '\0');
      scan_.pair_member.append(static_cast<const char*>(block), size);
    }
  }

  Status SkipData() { return ReadData(nullptr, nullptr); }

  // Reads the member's data through (a skip would not prove it is all there), writing it to
  // `disk` when extracting. A regular file counts its apparent size, holes included, as the
  // writer counted it: a sparse member's blocks leave its holes out.
  Status ReadData(struct archive* disk, struct archive_entry* entry) {
    const void* block;
    size_t size;
    la_int64_t offset;
    uint64_t read = 0;
    const bool file = entry != nullptr && archive_entry_filetype(entry) == AE_IFREG &&
                      archive_entry_size_is_set(entry) && archive_entry_hardlink(entry) == nullptr;
    const bool hash = file && disk != nullptr && on_member_;
    ContentHash content;
    for (;;) {
      const int r = archive_read_data_block(reader_.get(), &block, &size, &offset);
      if (r == ARCHIVE_EOF) break;
      if (r != ARCHIVE_OK) return ReadError("reading archive member " + last_);
      read += size;
      if (hash) content.Block(block, size, static_cast<uint64_t>(offset));
      if (disk != nullptr && archive_write_data_block(disk, block, size, offset) != ARCHIVE_OK) {
        return LibarchiveError(disk, "cannot write archive member " + last_ + " to disk");
      }
    }
    scan_.source_bytes += file ? static_cast<uint64_t>(archive_entry_size(entry)) : read;
    if (hash) {
      reported_.size = static_cast<uint64_t>(archive_entry_size(entry));
      reported_.sha256 = content.Finish(reported_.size);
    }
    return Status::Ok();
  }

  // libarchive ends quietly when a stream stops exactly between two members; an archive
  // that really ended has its end-of-archive zero blocks, which libarchive consumed.
  Status CheckEndOfArchive() {
    const la_int64_t consumed = archive_filter_bytes(reader_.get(), -1);
    if (consumed - member_end_ < 1024) {
      return Status::Failed("the archive ends after member " + Last() +
                                " without its end-of-archive blocks: it is truncated",
                            "the archive file is damaged or incomplete");
    }
    return Status::Ok();
  }

  Status ReadError(const std::string& what) {
    if (!adapter_.status().ok()) return adapter_.status().WithContext(what);
    return LibarchiveError(reader_.get(), what, "the archive file is damaged or incomplete");
  }

  std::string Last() const { return last_.empty() ? "the start" : last_; }

  SourceAdapter adapter_;
  const ExtractOptions* extract_;
  const ExtractedMemberVisitor on_member_;  // a copy: ScanArchive passes a temporary
  std::unique_ptr<struct archive, ReadArchiveDeleter> reader_;
  std::unique_ptr<struct archive, WriteArchiveDeleter> disk_;
  int disk_flags_ = 0;
  DeepExtraction deep_;
  std::string destination_;
  std::unordered_set<std::string> safe_directories_;
  std::unordered_set<std::string> symlink_members_;  // normalized names of symlink members
  std::string last_;
  ExtractedMember reported_;  // the member being extracted, for on_member
  ArchiveScan scan_;
  bool saw_pair_member_ = false;
  la_int64_t member_end_ = 0;  // stream offset just past the last member read
};

}  // namespace

bool IsUnsafeArchive(const Status& status) {
  return !status.ok() && status.hint() == kUnsafeArchiveHint;
}

Result<ArchiveScan> ScanArchive(ByteSource& tar_stream) {
  ArchiveReaderSession session(tar_stream, nullptr, {});
  return session.Run();
}

Result<ArchiveScan> ExtractArchive(ByteSource& tar_stream, const ExtractOptions& options,
                                   const ExtractedMemberVisitor& on_member) {
  ArchiveReaderSession session(tar_stream, &options, on_member);
  return session.Run();
}

}  // namespace gb
