#include "datadir/archive_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "datadir/archive_error.h"
#include "datadir/archive_locale.h"
#include "datadir/archive_sink.h"
#include "datadir/data_dir_walk.h"
#include "datadir/owner_names.h"
#include "datadir/read_ahead.h"
#include "datadir/tree_stats.h"
#include "io/sha256.h"

namespace gb {
namespace {

constexpr size_t kReadChunk = 1 << 20;            // file reads and sink writes
constexpr uint64_t kProgressEvery = 16ull << 20;  // bytes between progress callbacks
constexpr int kReadAheadThreads = 2;
constexpr uint64_t kReadAheadWindow = 256ull << 20;  // page cache warmed ahead of the reader

const char kOfflineChangeHint[] =
    "an offline backup needs DSS stopped; is another process writing to the data directory?";

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

class ArchiveWriterSession {
 public:
  ArchiveWriterSession(const ArchiveWriteOptions& options, ByteSink& sink)
      : options_(options), adapter_(sink), buffer_(new char[kReadChunk]),
        zeros_(new char[kReadChunk]()) {}

  Result<ArchiveWriteStats> Run() {
    ScopedUtf8Locale utf8;
    GB_ASSIGN_OR_RETURN(walk_, OpenDataDirWalk(options_.source_dir, options_.exclude,
                                               &stats_.excluded_present));
    read_ahead_ = std::make_unique<ReadAhead>(options_.source_dir, options_.exclude,
                                              kReadAheadThreads, kReadAheadWindow);
    Status status = Open();
    if (status.ok()) status = WritePairMember();
    if (status.ok()) status = WriteTree();
    if (status.ok()) status = Close();
    read_ahead_.reset();
    if (!status.ok()) {
      adapter_.Abandon();
      return status;
    }
    if (options_.progress) options_.progress(bytes_done_);
    return std::move(stats_);
  }

 private:
  Status Open() {
    archive_.reset(archive_write_new());
    disk_.reset(archive_read_disk_new());
    entry_.reset(archive_entry_new());
    resolver_.reset(archive_entry_linkresolver_new());
    if (!archive_ || !disk_ || !entry_ || !resolver_) {
      return Status::Failed("out of memory (libarchive)");
    }
    // Restricted pax: plain ustar headers unless a name, size, id, xattr, ACL or sparse map
    // needs an extension. File flags (chattr) are not kept: ext4's "extents" flag would put
    // an extended header on every member, and GNU tar does not keep them either.
    if (archive_write_set_format_pax_restricted(archive_.get()) != ARCHIVE_OK ||
        archive_write_add_filter_none(archive_.get()) != ARCHIVE_OK ||
        // Unblocked: every member's bytes reach the sink when the member ends, so that a
        // frame of the seekable half can end there (on_member).
        archive_write_set_bytes_per_block(archive_.get(), 0) != ARCHIVE_OK ||
        // Extended attributes as SCHILY.xattr only, which GNU tar (--xattrs) reads too;
        // libarchive would add its own LIBARCHIVE.xattr copy, which GNU tar warns about.
        archive_write_set_format_option(archive_.get(), "pax", "xattrheader", "SCHILY") !=
            ARCHIVE_OK ||
        archive_read_disk_set_behavior(disk_.get(), ARCHIVE_READDISK_NO_FFLAGS) != ARCHIVE_OK) {
      return LibarchiveError(archive_.get(), "setting up the tar writer");
    }
    archive_entry_linkresolver_set_strategy(resolver_.get(), archive_format(archive_.get()));
    if (archive_write_open(archive_.get(), &adapter_, nullptr, &SinkAdapter::Write,
                           &SinkAdapter::Close) != ARCHIVE_OK) {
      return ArchiveError("starting the archive");
    }
    return Status::Ok();
  }

  Status Close() {
    // libarchive ignores what its close callback returns: the sink's status says whether
    // the last batch reached it.
    if (archive_write_close(archive_.get()) != ARCHIVE_OK || !adapter_.status().ok()) {
      return ArchiveError("finishing the archive");
    }
    return Status::Ok();
  }

  Status WritePairMember() {
    struct archive_entry* entry = entry_.get();
    const time_t now = time(nullptr);
    archive_entry_clear(entry);
    archive_entry_set_pathname(entry, kPairDirName);
    archive_entry_set_filetype(entry, AE_IFDIR);
    archive_entry_set_perm(entry, 0700);
    archive_entry_set_mtime(entry, now, 0);
    archive_entry_set_uid(entry, 0);
    archive_entry_set_gid(entry, 0);
    archive_entry_set_uname(entry, "root");
    archive_entry_set_gname(entry, "root");
    GB_RETURN_IF_ERROR(WriteHeader(kPairDirName));

    archive_entry_set_pathname(entry, kPairMemberName);
    archive_entry_set_filetype(entry, AE_IFREG);
    archive_entry_set_perm(entry, 0600);
    archive_entry_set_size(entry, static_cast<la_int64_t>(options_.pair_member.size()));
    GB_RETURN_IF_ERROR(WriteHeader(kPairMemberName));
    GB_RETURN_IF_ERROR(
        WriteData(options_.pair_member.data(), options_.pair_member.size(), kPairMemberName));
    return FinishMember(kPairMemberName);
  }

  // Where the tar stream is: bytes the format handed to libarchive's output so far.
  uint64_t StreamOffset() {
    return static_cast<uint64_t>(archive_filter_bytes(archive_.get(), 0));
  }

  // Writes the member's padding now rather than with the next header, so that the member
  // ends at StreamOffset().
  Status FinishMember(const std::string& member) {
    if (archive_write_finish_entry(archive_.get()) != ARCHIVE_OK)
      return ArchiveError("ending archive member " + member);
    return Status::Ok();
  }

  // Tells on_member where `node`'s member lies, once all its bytes are in the sink.
  Status ReportMember(const WalkEntry& node, const std::string& relative, uint64_t begin) {
    struct archive_entry* entry = entry_.get();
    const struct stat& st = node.st;
    FileIndexEntry member;
    member.path = relative;
    const char* hardlink = archive_entry_hardlink(entry);
    if (hardlink != nullptr) member.type = "hardlink";
    else if (S_ISREG(st.st_mode)) member.type = "file";
    else if (S_ISDIR(st.st_mode)) member.type = "dir";
    else if (S_ISLNK(st.st_mode)) member.type = "symlink";
    else if (S_ISFIFO(st.st_mode)) member.type = "fifo";
    else if (S_ISCHR(st.st_mode)) member.type = "char";
    else member.type = "block";
    member.mode = static_cast<uint32_t>(st.st_mode & 07777);
    member.uid = st.st_uid;
    member.gid = st.st_gid;
    member.user = owners_.User(st.st_uid);
    member.group = owners_.Group(st.st_gid);
    member.size = S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size) : 0;
    member.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    if (hardlink != nullptr) member.link_target = hardlink;
    else if (const char* target = archive_entry_symlink(entry)) member.link_target = target;
    if (member.type == "file") member.sha256 = content_hash_->HexDigest();
    member.offset = begin;
    member.length = StreamOffset() - begin;
    if (!adapter_.Flush()) return ArchiveError("writing archive member " + relative);
    return options_.on_member(member);
  }

  Status WriteTree() {
    for (;;) {
      GB_ASSIGN_OR_RETURN(const WalkEntry* node, walk_->Next());
      GB_RETURN_IF_ERROR(TakeVanished());
      if (node == nullptr) break;
      GB_RETURN_IF_ERROR(WriteNode(*node));
    }
    // The tar strategy never defers entries, but the resolver's contract asks for a final
    // drain; anything it hands back would be a link we failed to write.
    struct archive_entry* leftover = nullptr;
    struct archive_entry* spare = nullptr;
    archive_entry_linkify(resolver_.get(), &leftover, &spare);
    if (leftover != nullptr || spare != nullptr) {
      return Status::Failed("internal error: libarchive's link resolver deferred an entry");
    }
    return Status::Ok();
  }

  // What the walk found gone since it listed it: online it is recorded, offline (DSS
  // stopped) something else is writing, and the set would not be the stopped node's.
  Status TakeVanished() {
    const std::vector<std::string>& vanished = walk_->vanished();
    for (; vanished_seen_ < vanished.size(); ++vanished_seen_) {
      GB_RETURN_IF_ERROR(Vanished(vanished[vanished_seen_]));
    }
    return Status::Ok();
  }

  Status Vanished(const std::string& relative) {
    const std::string path = walk_->display_root() + "/" + relative;
    if (!options_.online) {
      return Status::Failed(path + " vanished while the data dir was read", kOfflineChangeHint);
    }
    spdlog::debug("{} vanished while the data dir was read", path);
    stats_.vanished_while_read.push_back(relative);
    return Status::Ok();
  }

  Status WriteNode(const WalkEntry& node) {
    const std::string relative(node.relative);
    const std::string path = walk_->display_root() + "/" + relative;
    const struct stat& st = node.st;
    if (S_ISSOCK(st.st_mode)) {
      spdlog::debug("skipping socket {}", path);
      return Status::Ok();
    }

    FileDescriptor opened;
    int fd = node.fd;  // a directory's, owned by the walk
    if (S_ISREG(st.st_mode)) {
      opened.Reset(OpenFileAt(node.parent_fd, std::string(node.name).c_str()));
      if (opened.get() < 0) {
        const int error = errno;
        if (IsVanishedErrno(error, false) || error == ELOOP) return Vanished(relative);
        return PathReadError(path, error);
      }
      fd = opened.get();
    }

    struct archive_entry* entry = entry_.get();
    GB_RETURN_IF_ERROR(FillEntry(node, fd, path, relative));
    if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
      struct archive_entry* linked = entry;
      struct archive_entry* spare = nullptr;
      archive_entry_linkify(resolver_.get(), &linked, &spare);
      if (linked != entry || spare != nullptr) {
        return Status::Failed("internal error: libarchive's link resolver deferred " + path);
      }
      if (archive_entry_hardlink(entry) != nullptr) {  // a link: no data
        archive_entry_sparse_clear(entry);
        opened.Reset();
      }
    }

    const uint64_t begin = StreamOffset();
    content_hash_ = std::make_unique<Sha256>();
    GB_RETURN_IF_ERROR(WriteHeader(relative));
    ++stats_.entries;
    if (opened.get() >= 0 && st.st_size > 0) {
      GB_RETURN_IF_ERROR(WriteFileData(opened.get(), st, path, relative));
      stats_.source_bytes += static_cast<uint64_t>(st.st_size);
    }
    GB_RETURN_IF_ERROR(FinishMember(relative));
    if (!options_.on_member) return Status::Ok();
    return ReportMember(node, relative, begin);
  }

  // The header of `node`: its stat as listed, and, read through `fd` (files and
  // directories), its extended attributes, POSIX ACLs and a regular file's holes.
  Status FillEntry(const WalkEntry& node, int fd, const std::string& path,
                   const std::string& relative) {
    struct archive_entry* entry = entry_.get();
    archive_entry_clear(entry);
    archive_entry_copy_pathname(entry, relative.c_str());
    if (fd >= 0) {
      // libacl reads a directory's default ACL by path only: the fd's /proc name reaches
      // it at any depth.
      const std::string by_fd = "/proc/self/fd/" + std::to_string(fd);
      archive_entry_copy_sourcepath(entry, by_fd.c_str());
      const int r = archive_read_disk_entry_from_file(disk_.get(), entry, fd, &node.st);
      if (r == ARCHIVE_WARN) {
        spdlog::warn("{}: {}", path, archive_error_string(disk_.get()));
      } else if (r != ARCHIVE_OK) {
        return LibarchiveError(disk_.get(), "cannot read the attributes of " + path,
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
    const std::string& user = owners_.User(node.st.st_uid);
    if (!user.empty()) archive_entry_copy_uname(entry, user.c_str());
    const std::string& group = owners_.Group(node.st.st_gid);
    if (!group.empty()) archive_entry_copy_gname(entry, group.c_str());
    if (!S_ISREG(node.st.st_mode)) archive_entry_set_size(entry, 0);
    if (S_ISLNK(node.st.st_mode)) return SetSymlinkTarget(node, path);
    return Status::Ok();
  }

  Status SetSymlinkTarget(const WalkEntry& node, const std::string& path) {
    std::string target(static_cast<size_t>(node.st.st_size) + 1, '\0');
    const std::string name(node.name);
    for (;;) {
      ssize_t n = readlinkat(node.parent_fd, name.c_str(), target.data(), target.size());
      if (n < 0) return PathReadError(path, errno);
      if (static_cast<size_t>(n) < target.size()) {
        target.resize(static_cast<size_t>(n));
        break;
      }
      target.resize(target.size() * 2);  // the link changed since lstat
    }
    archive_entry_copy_symlink(entry_.get(), target.c_str());
    return Status::Ok();
  }

  // Writes exactly st.st_size bytes: the header already promised that many. Holes are
  // handed over as zeros without reading them; the pax writer leaves them out.
  Status WriteFileData(int fd, const struct stat& st, const std::string& path,
                       const std::string& relative) {
    const uint64_t expected = static_cast<uint64_t>(st.st_size);
    if (expected > kReadChunk) posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    std::vector<std::pair<uint64_t, uint64_t>> regions = DataRegions(entry_.get());
    if (regions.empty()) regions.emplace_back(0, expected);
    uint64_t done = 0;
    bool shrank = false;
    for (const auto& [offset, length] : regions) {
      if (shrank) break;
      GB_RETURN_IF_ERROR(WriteZeros(std::min(offset, expected), done, relative));
      const uint64_t end = std::min(offset + length, expected);
      while (done < end) {
        const size_t want = static_cast<size_t>(std::min<uint64_t>(kReadChunk, end - done));
        ssize_t n = pread(fd, buffer_.get(), want, static_cast<off_t>(done));
        if (n < 0) {
          if (errno == EINTR) continue;
          return PathReadError(path, errno);
        }
        if (n == 0) {
          shrank = true;
          break;
        }
        GB_RETURN_IF_ERROR(WriteData(buffer_.get(), static_cast<size_t>(n), relative));
        done += static_cast<uint64_t>(n);
      }
    }
    GB_RETURN_IF_ERROR(CheckUnchanged(fd, st, shrank, path, relative));
    // A file that shrank keeps the member exactly as long as its header says.
    return WriteZeros(expected, done, relative);
  }

  Status WriteZeros(uint64_t until, uint64_t& done, const std::string& relative) {
    while (done < until) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(kReadChunk, until - done));
      GB_RETURN_IF_ERROR(WriteData(zeros_.get(), n, relative));
      done += n;
    }
    return Status::Ok();
  }

  Status CheckUnchanged(int fd, const struct stat& st, bool shrank, const std::string& path,
                        const std::string& relative) {
    struct stat after;
    if (fstat(fd, &after) != 0) return PathReadError(path, errno);
    const bool changed = shrank || after.st_size != st.st_size ||
                         after.st_mtim.tv_sec != st.st_mtim.tv_sec ||
                         after.st_mtim.tv_nsec != st.st_mtim.tv_nsec;
    if (!changed) return Status::Ok();
    if (!options_.online) {
      return Status::Failed("file " + path + " changed while being read", kOfflineChangeHint);
    }
    spdlog::debug("{} changed while being read", path);
    stats_.changed_while_read.push_back(relative);
    return Status::Ok();
  }

  Status WriteHeader(const std::string& member) {
    const int r = archive_write_header(archive_.get(), entry_.get());
    if (r == ARCHIVE_WARN) {
      spdlog::warn("archive member {}: {}", member, archive_error_string(archive_.get()));
    } else if (r != ARCHIVE_OK) {
      return ArchiveError("writing the header of archive member " + member);
    }
    return Status::Ok();
  }

  Status WriteData(const void* data, size_t size, const std::string& member) {
    const la_ssize_t written = archive_write_data(archive_.get(), data, size);
    if (written < 0 || static_cast<size_t>(written) != size) {
      return ArchiveError("writing archive member " + member);
    }
    bytes_done_ += size;
    if (content_hash_) content_hash_->Update(data, size);
    if (read_ahead_) read_ahead_->Consumed(bytes_done_);
    if (options_.progress && bytes_done_ >= next_progress_) {
      options_.progress(bytes_done_);
      next_progress_ = bytes_done_ + kProgressEvery;
    }
    return Status::Ok();
  }

  // The sink's own error when it caused the failure, else libarchive's.
  Status ArchiveError(const std::string& what) {
    if (!adapter_.status().ok()) return adapter_.status().WithContext(what);
    return LibarchiveError(archive_.get(), what);
  }

  const ArchiveWriteOptions& options_;
  SinkAdapter adapter_;
  std::unique_ptr<char[]> buffer_;
  std::unique_ptr<char[]> zeros_;
  std::unique_ptr<TreeWalker> walk_;
  size_t vanished_seen_ = 0;
  std::unique_ptr<ReadAhead> read_ahead_;
  std::unique_ptr<struct archive, ArchiveDeleter> archive_;
  std::unique_ptr<struct archive, DiskDeleter> disk_;
  std::unique_ptr<struct archive_entry, EntryDeleter> entry_;
  std::unique_ptr<struct archive_entry_linkresolver, ResolverDeleter> resolver_;
  OwnerNames owners_;
  std::unique_ptr<Sha256> content_hash_;  // of the member being written (one read of the file)
  ArchiveWriteStats stats_;
  uint64_t bytes_done_ = 0;
  uint64_t next_progress_ = kProgressEvery;
};

}  // namespace

Result<ArchiveWriteStats> WriteDataDirArchive(const ArchiveWriteOptions& options,
                                              ByteSink& sink) {
  ArchiveWriterSession session(options, sink);
  return session.Run();
}

Result<DataDirEstimate> EstimateDataDir(const std::string& source_dir,
                                        const std::vector<std::string>& exclude) {
  DataDirEstimate estimate;
  std::vector<std::string> excluded_present;
  GB_ASSIGN_OR_RETURN(TreeStats archived,
                      MeasureTree(source_dir, DataDirSkipTop(exclude, &excluded_present)));
  estimate.entries = archived.entries;
  estimate.bytes = archived.bytes;
  std::sort(excluded_present.begin(), excluded_present.end());
  for (const std::string& name : excluded_present) {
    const std::string path = source_dir + "/" + name;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) continue;  // vanished since: nothing to exclude
    uint64_t bytes = S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size) : 0;
    if (S_ISDIR(st.st_mode)) {
      GB_ASSIGN_OR_RETURN(TreeStats excluded, MeasureTree(path));
      bytes = excluded.bytes;
    }
    estimate.excluded.emplace_back(name, bytes);
  }
  return estimate;
}

}  // namespace gb
