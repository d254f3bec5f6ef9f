#include "datadir/tar_member_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "datadir/archive_error.h"
#include "datadir/archive_writer.h"
#include "datadir/archive_sink.h"
#include "datadir/change_rule.h"
#include "datadir/data_dir_walk.h"
#include "datadir/owner_names.h"
#include "datadir/read_ahead.h"
#include "io/sha256.h"

namespace gb {
namespace {

constexpr size_t kReadChunk = 1 << 20;            // file reads and sink writes
// File flags (chattr) are not kept: ext4's "extents" flag would put an extended header on
// every member, and GNU tar does not keep them either.
constexpr int kDiskBehavior = ARCHIVE_READDISK_NO_FFLAGS;
constexpr uint64_t kProgressEvery = 16ull << 20;  // bytes between progress callbacks

struct ArchiveDeleter {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
struct DiskDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
struct EntryDeleter {
  void operator()(struct archive_entry* e) const { archive_entry_free(e); }
};
struct ResolverDeleter {
  void operator()(struct archive_entry_linkresolver* r) const {
    archive_entry_linkresolver_free(r);
  }
};

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd = -1) : fd_(fd) {}
  ~FileDescriptor() { Reset(); }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  void Reset(int fd = -1) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

// Opens a listed file for reading, relative to its directory, without following a symlink
// that replaced it, and without touching atime where the kernel lets us (owner or root).
int OpenFileAt(int dir_fd, const char* name) {
  const int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW;
  int fd = openat(dir_fd, name, flags | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = openat(dir_fd, name, flags);
  return fd;
}

// What libarchive need not look for in the entry open as `fd`, on top of kDiskBehavior. It
// looks for everything by default, which cost a data dir of small files 11 system calls a
// file where 5 read it (112k files: 600k lseeks, 112k each of fgetxattr and fstat):
//  - holes, only where the blocks do not cover the size, as GNU tar decides (a file whose
//    blocks cover its size can hold a hole only beside blocks preallocated past its end;
//    its hole is then archived as zeros, which restore as the same bytes);
//  - ACLs, only where the entry lists one (the kernel lists an ACL as a system.posix_acl_*
//    attribute); extended attributes, only where it lists any.
int DiskBehaviorFor(int fd, const struct stat& st) {
  int behavior = kDiskBehavior;
  if (S_ISREG(st.st_mode) && st.st_blocks * 512 >= st.st_size)
    behavior |= ARCHIVE_READDISK_NO_SPARSE;
  constexpr int kNoAttributes = ARCHIVE_READDISK_NO_XATTR | ARCHIVE_READDISK_NO_ACL;
  char names[4096];
  const ssize_t length = flistxattr(fd, names, sizeof names);
  // ERANGE (a long list) and other errors: libarchive looks, and reports what it finds.
  if (length < 0) return errno == ENOTSUP ? behavior | kNoAttributes : behavior;
  if (length == 0) return behavior | kNoAttributes;
  for (const char* name = names; name < names + length; name += strlen(name) + 1)
    if (strncmp(name, "system.posix_acl_", 17) == 0) return behavior;
  return behavior | ARCHIVE_READDISK_NO_ACL;
}

// The data regions of a sparse entry, as libarchive found them (SEEK_DATA / SEEK_HOLE).
std::vector<std::pair<uint64_t, uint64_t>> DataRegions(struct archive_entry* entry) {
  std::vector<std::pair<uint64_t, uint64_t>> regions;
  la_int64_t offset = 0;
  la_int64_t length = 0;
  if (archive_entry_sparse_reset(entry) == 0) return regions;
  while (archive_entry_sparse_next(entry, &offset, &length) == ARCHIVE_OK) {
    regions.emplace_back(static_cast<uint64_t>(offset), static_cast<uint64_t>(length));
  }
  return regions;
}

}  // namespace

struct TarMemberWriter::Handles {
  explicit Handles(ByteSink& sink)
      : adapter(sink), buffer(new char[kReadChunk]), zeros(new char[kReadChunk]()) {}
  SinkAdapter adapter;
  std::unique_ptr<char[]> buffer;
  std::unique_ptr<char[]> zeros;
  std::unique_ptr<struct archive, ArchiveDeleter> archive;
  std::unique_ptr<struct archive, DiskDeleter> disk;
  std::unique_ptr<struct archive_entry, EntryDeleter> entry;
  std::unique_ptr<struct archive_entry_linkresolver, ResolverDeleter> resolver;
  OwnerNames owners;
  Sha256 file_hash;                // one context for every file (Sha256::Reset)
  Sha256* content_hash = nullptr;  // of the member being written (one read of the file)
};

TarMemberWriter::TarMemberWriter(ByteSink& sink, std::function<void(uint64_t)> progress,
                                 std::function<Status(const FileIndexEntry&)> on_member)
    : progress_(std::move(progress)), on_member_(std::move(on_member)),
      handles_(std::make_unique<Handles>(sink)), next_progress_(kProgressEvery) {}

TarMemberWriter::~TarMemberWriter() = default;

Status TarMemberWriter::Open() {
  Handles& h = *handles_;
  h.archive.reset(archive_write_new());
  h.disk.reset(archive_read_disk_new());
  h.entry.reset(archive_entry_new());
  h.resolver.reset(archive_entry_linkresolver_new());
  if (!h.archive || !h.disk || !h.entry || !h.resolver) {
    return Status::Failed("out of memory (libarchive)");
  }
  struct archive* a = h.archive.get();
  // Restricted pax: plain ustar headers unless a name, size, id, xattr, ACL or sparse map
  // needs an extension.
  if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
      archive_write_add_filter_none(a) != ARCHIVE_OK ||
      // Unblocked: every member's bytes reach the sink when the member ends, so that a
      // frame of the seekable half can end there (on_member).
      archive_write_set_bytes_per_block(a, 0) != ARCHIVE_OK ||
      // Extended attributes as SCHILY.xattr only, which GNU tar (--xattrs) reads too;
      // libarchive would add its own LIBARCHIVE.xattr copy, which GNU tar warns about.
      archive_write_set_format_option(a, "pax", "xattrheader", "SCHILY") != ARCHIVE_OK ||
      archive_read_disk_set_behavior(h.disk.get(), kDiskBehavior) != ARCHIVE_OK) {
    return LibarchiveError(a, "setting up the tar writer");
  }
  archive_entry_linkresolver_set_strategy(h.resolver.get(), archive_format(a));
  if (archive_write_open(a, &h.adapter, nullptr, &SinkAdapter::Write, &SinkAdapter::Close) !=
      ARCHIVE_OK) {
    return ArchiveError("starting the archive");
  }
  return Status::Ok();
}

Status TarMemberWriter::Close() {
  // The tar strategy never defers entries, but the resolver's contract asks for a final
  // drain; anything it hands back would be a link we failed to write.
  struct archive_entry* leftover = nullptr;
  struct archive_entry* spare = nullptr;
  archive_entry_linkify(handles_->resolver.get(), &leftover, &spare);
  if (leftover != nullptr || spare != nullptr) {
    return Status::Failed("internal error: libarchive's link resolver deferred an entry");
  }
  // libarchive ignores what its close callback returns: the sink's status says whether
  // the last batch reached it.
  if (archive_write_close(handles_->archive.get()) != ARCHIVE_OK ||
      !handles_->adapter.status().ok()) {
    return ArchiveError("finishing the archive");
  }
  if (progress_) progress_(bytes_done_);
  return Status::Ok();
}

void TarMemberWriter::Abandon() { handles_->adapter.Abandon(); }

Status TarMemberWriter::ForgetLinks() {
  handles_->resolver.reset(archive_entry_linkresolver_new());
  if (!handles_->resolver) return Status::Failed("out of memory (libarchive)");
  archive_entry_linkresolver_set_strategy(handles_->resolver.get(),
                                          archive_format(handles_->archive.get()));
  return Status::Ok();
}

void TarMemberWriter::SetOurEntry(const char* name, unsigned type, unsigned perm) {
  handles_->content_hash = nullptr;
  struct archive_entry* entry = handles_->entry.get();
  archive_entry_clear(entry);
  archive_entry_set_pathname(entry, name);
  archive_entry_set_filetype(entry, type);
  archive_entry_set_perm(entry, perm);
  archive_entry_set_mtime(entry, time(nullptr), 0);
  archive_entry_set_uid(entry, 0);
  archive_entry_set_gid(entry, 0);
  archive_entry_set_uname(entry, "root");
  archive_entry_set_gname(entry, "root");
}

Status TarMemberWriter::WritePairMember(const std::string& text) {
  SetOurEntry(kPairDirName, AE_IFDIR, 0700);
  GB_RETURN_IF_ERROR(WriteHeader(kPairDirName));
  SetOurEntry(kPairMemberName, AE_IFREG, 0600);
  archive_entry_set_size(handles_->entry.get(), static_cast<la_int64_t>(text.size()));
  GB_RETURN_IF_ERROR(WriteHeader(kPairMemberName));
  GB_RETURN_IF_ERROR(WriteData(text.data(), text.size(), kPairMemberName));
  return FinishMember(kPairMemberName);
}

Status TarMemberWriter::WriteStreamMember(const std::string& name, uint64_t size,
                                          ByteSource& source) {
  SetOurEntry(name.c_str(), AE_IFREG, 0600);
  archive_entry_set_size(handles_->entry.get(), static_cast<la_int64_t>(size));
  GB_RETURN_IF_ERROR(WriteHeader(name));
  uint64_t done = 0;
  while (done < size) {
    GB_ASSIGN_OR_RETURN(size_t n, source.Read(handles_->buffer.get(),
                                              std::min<uint64_t>(kReadChunk, size - done)));
    if (n == 0) return Status::Failed("internal error: " + name + " ended early");
    GB_RETURN_IF_ERROR(WriteData(handles_->buffer.get(), n, name));
    done += n;
  }
  source_bytes_ += size;  // file content as any reader of the half counts it
  return FinishMember(name);
}

// Where the tar stream is: bytes the format handed to libarchive's output so far.
uint64_t TarMemberWriter::StreamOffset() {
  return static_cast<uint64_t>(archive_filter_bytes(handles_->archive.get(), 0));
}

// Writes the member's padding now rather than with the next header, so that the member
// ends at StreamOffset().
Status TarMemberWriter::FinishMember(const std::string& member) {
  if (archive_write_finish_entry(handles_->archive.get()) != ARCHIVE_OK)
    return ArchiveError("ending archive member " + member);
  return Status::Ok();
}

FileIndexEntry TarMemberWriter::DescribeStat(const struct stat& st, const std::string& relative) {
  FileIndexEntry member;
  member.path = relative;
  member.type = IndexTypeOf(st.st_mode);
  member.mode = static_cast<uint32_t>(st.st_mode & 07777);
  member.uid = st.st_uid;
  member.gid = st.st_gid;
  member.user = handles_->owners.User(st.st_uid);
  member.group = handles_->owners.Group(st.st_gid);
  member.size = S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size) : 0;
  member.mtime_ns = TimeNs(st.st_mtim);
  member.ctime_ns = TimeNs(st.st_ctim);
  member.inode = static_cast<uint64_t>(st.st_ino);
  return member;
}

FileIndexEntry TarMemberWriter::Describe(const WalkEntry& node, const std::string& relative,
                                         uint64_t begin) {
  struct archive_entry* entry = handles_->entry.get();
  FileIndexEntry member = DescribeStat(node.st, relative);
  const char* hardlink = archive_entry_hardlink(entry);
  if (hardlink != nullptr) {
    member.type = "hardlink";
    member.link_target = hardlink;
  } else if (const char* target = archive_entry_symlink(entry)) {
    member.link_target = target;
  }
  if (member.type == "file") member.sha256 = handles_->content_hash->HexDigest();
  member.offset = begin;
  member.length = StreamOffset() - begin;
  return member;
}

// Makes the entry a hard link to an earlier member of its group, when there is one.
Status TarMemberWriter::LinkIfSeen(const WalkEntry& node, const std::string& path,
                                   bool* is_link) {
  struct archive_entry* entry = handles_->entry.get();
  struct archive_entry* linked = entry;
  struct archive_entry* spare = nullptr;
  archive_entry_linkify(handles_->resolver.get(), &linked, &spare);
  if (linked != entry || spare != nullptr) {
    return Status::Failed("internal error: libarchive's link resolver deferred " + path);
  }
  *is_link = archive_entry_hardlink(entry) != nullptr;
  if (*is_link) archive_entry_sparse_clear(entry);
  return Status::Ok();
}

Result<MemberOutcome> TarMemberWriter::WriteNode(const WalkEntry& node, const std::string& path) {
  MemberOutcome outcome;
  const std::string relative(node.relative);
  const struct stat& st = node.st;
  if (S_ISSOCK(st.st_mode)) {
    spdlog::debug("skipping socket {}", path);
    outcome.kind = MemberOutcome::Kind::kSkipped;
    return outcome;
  }
  FileDescriptor opened;
  int fd = node.fd;  // a directory's, owned by the walk
  if (S_ISREG(st.st_mode)) {
    opened.Reset(OpenFileAt(node.parent_fd, std::string(node.name).c_str()));
    if (opened.get() < 0) {
      const int error = errno;
      if (IsVanishedErrno(error, false) || error == ELOOP) {
        outcome.kind = MemberOutcome::Kind::kVanished;
        return outcome;
      }
      return PathReadError(path, error);
    }
    fd = opened.get();
  }
  GB_RETURN_IF_ERROR(FillEntry(node, fd, path, relative));
  if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
    bool is_link = false;
    GB_RETURN_IF_ERROR(LinkIfSeen(node, path, &is_link));
    if (is_link) opened.Reset();  // a link: no data
  }

  const uint64_t begin = StreamOffset();
  handles_->file_hash.Reset();
  handles_->content_hash = &handles_->file_hash;
  GB_RETURN_IF_ERROR(WriteHeader(relative));
  ++members_;
  if (opened.get() >= 0 && st.st_size > 0) {
    GB_ASSIGN_OR_RETURN(outcome.changed_while_read, WriteFileData(opened.get(), st, path, relative));
    source_bytes_ += static_cast<uint64_t>(st.st_size);
  }
  GB_RETURN_IF_ERROR(FinishMember(relative));
  outcome.entry = Describe(node, relative, begin);
  if (!handles_->adapter.Flush()) return ArchiveError("writing archive member " + relative);
  if (on_member_) GB_RETURN_IF_ERROR(on_member_(outcome.entry));
  return outcome;
}

// The header of `node`: its stat as listed, and, read through `fd` (files and
// directories), its extended attributes, POSIX ACLs and a regular file's holes.
Status TarMemberWriter::FillEntry(const WalkEntry& node, int fd, const std::string& path,
                                  const std::string& relative) {
  Handles& h = *handles_;
  struct archive_entry* entry = h.entry.get();
  archive_entry_clear(entry);
  archive_entry_copy_pathname(entry, relative.c_str());
  if (fd >= 0) {
    // libacl reads a directory's default ACL by path only: the fd's /proc name reaches
    // it at any depth.
    const std::string by_fd = "/proc/self/fd/" + std::to_string(fd);
    archive_entry_copy_sourcepath(entry, by_fd.c_str());
    archive_read_disk_set_behavior(h.disk.get(), DiskBehaviorFor(fd, node.st));
    const int r = archive_read_disk_entry_from_file(h.disk.get(), entry, fd, &node.st);
    if (r == ARCHIVE_WARN) {
      spdlog::warn("{}: {}", path, archive_error_string(h.disk.get()));
    } else if (r != ARCHIVE_OK) {
      return LibarchiveError(h.disk.get(), "cannot read the attributes of " + path,
                             kReadPermissionHint);
    }
    archive_entry_copy_sourcepath(entry, nullptr);
  } else {
    archive_entry_copy_stat(entry, &node.st);
  }
  // atime/ctime would only vary between runs; tar keeps mtime.
  archive_entry_unset_atime(entry);
  archive_entry_unset_ctime(entry);
  archive_entry_unset_birthtime(entry);
  const std::string& user = h.owners.User(node.st.st_uid);
  if (!user.empty()) archive_entry_copy_uname(entry, user.c_str());
  const std::string& group = h.owners.Group(node.st.st_gid);
  if (!group.empty()) archive_entry_copy_gname(entry, group.c_str());
  if (!S_ISREG(node.st.st_mode)) archive_entry_set_size(entry, 0);
  if (S_ISLNK(node.st.st_mode)) return SetSymlinkTarget(node, path);
  return Status::Ok();
}

Status TarMemberWriter::SetSymlinkTarget(const WalkEntry& node, const std::string& path) {
  GB_ASSIGN_OR_RETURN(std::string target, ReadLinkAt(node.parent_fd, std::string(node.name),
                                                     node.st, path));
  archive_entry_copy_symlink(handles_->entry.get(), target.c_str());
  return Status::Ok();
}

// Writes exactly st.st_size bytes: the header already promised that many. Holes are
// handed over as zeros without reading them; the pax writer leaves them out. Returns
// whether the file changed while it was read.
Result<bool> TarMemberWriter::WriteFileData(int fd, const struct stat& st, const std::string& path,
                                            const std::string& relative) {
  const uint64_t expected = static_cast<uint64_t>(st.st_size);
  if (expected > kReadChunk) posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  std::vector<std::pair<uint64_t, uint64_t>> regions = DataRegions(handles_->entry.get());
  if (regions.empty()) regions.emplace_back(0, expected);
  uint64_t done = 0;
  bool shrank = false;
  char* buffer = handles_->buffer.get();
  for (const auto& [offset, length] : regions) {
    if (shrank) break;
    GB_RETURN_IF_ERROR(WriteZeros(std::min(offset, expected), done, relative));
    const uint64_t end = std::min(offset + length, expected);
    while (done < end) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(kReadChunk, end - done));
      ssize_t n = pread(fd, buffer, want, static_cast<off_t>(done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return PathReadError(path, errno);
      }
      if (n == 0) {
        shrank = true;
        break;
      }
      GB_RETURN_IF_ERROR(WriteData(buffer, static_cast<size_t>(n), relative));
      done += static_cast<uint64_t>(n);
    }
  }
  struct stat after;
  if (fstat(fd, &after) != 0) return PathReadError(path, errno);
  const bool changed = shrank || after.st_size != st.st_size ||
                       after.st_mtim.tv_sec != st.st_mtim.tv_sec ||
                       after.st_mtim.tv_nsec != st.st_mtim.tv_nsec;
  // A file that shrank keeps the member exactly as long as its header says.
  GB_RETURN_IF_ERROR(WriteZeros(expected, done, relative));
  return changed;
}

Status TarMemberWriter::WriteZeros(uint64_t until, uint64_t& done, const std::string& relative) {
  while (done < until) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kReadChunk, until - done));
    GB_RETURN_IF_ERROR(WriteData(handles_->zeros.get(), n, relative));
    done += n;
  }
  return Status::Ok();
}

Status TarMemberWriter::WriteHeader(const std::string& member) {
  const int r = archive_write_header(handles_->archive.get(), handles_->entry.get());
  if (r == ARCHIVE_WARN) {
    spdlog::warn("archive member {}: {}", member, archive_error_string(handles_->archive.get()));
  } else if (r != ARCHIVE_OK) {
    return ArchiveError("writing the header of archive member " + member);
  }
  return Status::Ok();
}

Status TarMemberWriter::WriteData(const void* data, size_t size, const std::string& member) {
  const la_ssize_t written = archive_write_data(handles_->archive.get(), data, size);
  if (written < 0 || static_cast<size_t>(written) != size) {
    return ArchiveError("writing archive member " + member);
  }
  bytes_done_ += size;
  if (handles_->content_hash) handles_->content_hash->Update(data, size);
  if (read_ahead_) read_ahead_->Consumed(bytes_done_);
  if (progress_ && bytes_done_ >= next_progress_) {
    progress_(bytes_done_);
    next_progress_ = bytes_done_ + kProgressEvery;
  }
  return Status::Ok();
}

// The sink's own error when it caused the failure, else libarchive's.
Status TarMemberWriter::ArchiveError(const std::string& what) {
  if (!handles_->adapter.status().ok()) return handles_->adapter.status().WithContext(what);
  return LibarchiveError(handles_->archive.get(), what);
}

}  // namespace gb
