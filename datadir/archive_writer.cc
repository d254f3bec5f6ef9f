#include "datadir/archive_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <fts.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <memory>
#include <set>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <spdlog/spdlog.h>

#include "datadir/archive_locale.h"
#include "datadir/data_dir_walk.h"
#include "datadir/read_ahead.h"
#include "datadir/tree_stats.h"

namespace gb {
namespace {

constexpr size_t kReadChunk = 1 << 20;            // file reads and sink writes
constexpr uint64_t kProgressEvery = 16ull << 20;  // bytes between progress callbacks
constexpr int kReadAheadThreads = 2;
constexpr uint64_t kReadAheadWindow = 256ull << 20;  // page cache warmed ahead of the reader

const char kPermissionHint[] =
    "run govern-backup as root or as the owner of the data directory";

// libarchive's client writer: batches its 10 KiB blocks into large ByteSink writes and keeps
// the sink's own Status, which says more than libarchive's "write callback failed".
class SinkAdapter {
 public:
  explicit SinkAdapter(ByteSink& sink) : sink_(sink) { pending_.reserve(kReadChunk); }

  static la_ssize_t Write(struct archive*, void* self, const void* data, size_t size) {
    auto* adapter = static_cast<SinkAdapter*>(self);
    return adapter->Append(data, size) ? static_cast<la_ssize_t>(size) : -1;
  }
  static int Close(struct archive*, void* self) {
    auto* adapter = static_cast<SinkAdapter*>(self);
    return adapter->Flush() ? ARCHIVE_OK : ARCHIVE_FATAL;
  }

  // After a failure nothing more reaches the sink: libarchive's closing end-of-archive
  // blocks would make a cut-off archive look complete.
  void Abandon() { abandoned_ = true; }
  const Status& status() const { return status_; }

 private:
  bool Append(const void* data, size_t size) {
    if (abandoned_ || !status_.ok()) return false;
    if (pending_.size() + size > kReadChunk && !Flush()) return false;
    if (size >= kReadChunk) {
      status_ = sink_.Write(data, size);
      return status_.ok();
    }
    const char* bytes = static_cast<const char*>(data);
    pending_.insert(pending_.end(), bytes, bytes + size);
    return true;
  }

  bool Flush() {
    if (abandoned_ || !status_.ok()) return false;
    if (pending_.empty()) return true;
    status_ = sink_.Write(pending_.data(), pending_.size());
    pending_.clear();
    return status_.ok();
  }

  ByteSink& sink_;
  std::vector<char> pending_;
  Status status_;
  bool abandoned_ = false;
};

class OwnerNames {
 public:
  const std::string& User(uid_t uid) {
    auto it = users_.find(uid);
    if (it != users_.end()) return it->second;
    std::string name;
    struct passwd pwd;
    struct passwd* found = nullptr;
    char buffer[4096];
    if (getpwuid_r(uid, &pwd, buffer, sizeof buffer, &found) == 0 && found != nullptr) {
      name = found->pw_name;
    }
    return users_.emplace(uid, std::move(name)).first->second;
  }

  const std::string& Group(gid_t gid) {
    auto it = groups_.find(gid);
    if (it != groups_.end()) return it->second;
    std::string name;
    struct group grp;
    struct group* found = nullptr;
    char buffer[4096];
    if (getgrgid_r(gid, &grp, buffer, sizeof buffer, &found) == 0 && found != nullptr) {
      name = found->gr_name;
    }
    return groups_.emplace(gid, std::move(name)).first->second;
  }

 private:
  std::unordered_map<uid_t, std::string> users_;
  std::unordered_map<gid_t, std::string> groups_;
};

struct ArchiveDeleter {
  void operator()(struct archive* a) const { archive_write_free(a); }
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

// Opens for reading without touching atime where the kernel lets us (owner or root only).
int OpenForReading(const char* path) {
  int fd = open(path, O_RDONLY | O_NOATIME | O_CLOEXEC | O_NOCTTY);
  if (fd < 0 && errno == EPERM) fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  return fd;
}

class ArchiveWriterSession {
 public:
  ArchiveWriterSession(const ArchiveWriteOptions& options, ByteSink& sink)
      : options_(options), adapter_(sink), buffer_(new char[kReadChunk]) {}

  Result<ArchiveWriteStats> Run() {
    ScopedUtf8Locale utf8;
    GB_ASSIGN_OR_RETURN(walk_, DataDirWalk::Open(options_.source_dir, options_.exclude));
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
    stats_.excluded_present = walk_->excluded_present();
    if (options_.progress) options_.progress(bytes_done_);
    return std::move(stats_);
  }

 private:
  Status Open() {
    archive_.reset(archive_write_new());
    entry_.reset(archive_entry_new());
    resolver_.reset(archive_entry_linkresolver_new());
    if (!archive_ || !entry_ || !resolver_) return Status::Failed("out of memory (libarchive)");
    // Restricted pax: plain ustar headers unless a name, size or id needs an extension.
    if (archive_write_set_format_pax_restricted(archive_.get()) != ARCHIVE_OK ||
        archive_write_add_filter_none(archive_.get()) != ARCHIVE_OK) {
      return ArchiveError("setting up the tar writer");
    }
    archive_entry_linkresolver_set_strategy(resolver_.get(), archive_format(archive_.get()));
    if (archive_write_open(archive_.get(), &adapter_, nullptr, &SinkAdapter::Write,
                           &SinkAdapter::Close) != ARCHIVE_OK) {
      return ArchiveError("starting the archive");
    }
    return Status::Ok();
  }

  Status Close() {
    if (archive_write_close(archive_.get()) != ARCHIVE_OK) {
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
    return WriteData(options_.pair_member.data(), options_.pair_member.size(), kPairMemberName);
  }

  Status WriteTree() {
    for (;;) {
      GB_ASSIGN_OR_RETURN(FTSENT * node, walk_->Next());
      if (node == nullptr) break;
      GB_RETURN_IF_ERROR(WriteNode(node));
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

  Status WriteNode(FTSENT* node) {
    const std::string relative(walk_->Relative(node));
    const std::string path = node->fts_path;
    switch (node->fts_info) {
      case FTS_D:
      case FTS_F:
      case FTS_SL:
      case FTS_SLNONE:
      case FTS_DEFAULT:
        break;
      case FTS_NS:
      case FTS_DNR:
      case FTS_ERR:
        if (node->fts_errno == ENOENT && options_.online) {
          spdlog::debug("{} vanished while the data dir was read", path);
          stats_.vanished_while_read.push_back(relative.empty() ? "." : relative);
          return Status::Ok();
        }
        return ReadError(path, node->fts_errno);
      case FTS_DC:
        return Status::Failed("directory cycle at " + path);
      default:
        return Status::Failed("unexpected entry type at " + path);
    }

    const struct stat& st = *node->fts_statp;
    if (S_ISSOCK(st.st_mode)) {
      spdlog::debug("skipping socket {}", path);
      return Status::Ok();
    }

    FileDescriptor fd;
    if (S_ISREG(st.st_mode) && st.st_size > 0) {
      fd.Reset(OpenForReading(node->fts_accpath));
      if (fd.get() < 0) {
        const int error = errno;
        if (error == ENOENT && options_.online) {
          spdlog::debug("{} vanished before it could be read", path);
          stats_.vanished_while_read.push_back(relative);
          return Status::Ok();
        }
        return ReadError(path, error);
      }
    }

    struct archive_entry* entry = entry_.get();
    archive_entry_clear(entry);
    archive_entry_copy_stat(entry, &st);
    // atime/ctime would only vary between runs; tar keeps mtime.
    archive_entry_unset_atime(entry);
    archive_entry_unset_ctime(entry);
    archive_entry_unset_birthtime(entry);
    archive_entry_copy_pathname(entry, relative.c_str());
    const std::string& user = owners_.User(st.st_uid);
    if (!user.empty()) archive_entry_copy_uname(entry, user.c_str());
    const std::string& group = owners_.Group(st.st_gid);
    if (!group.empty()) archive_entry_copy_gname(entry, group.c_str());
    if (!S_ISREG(st.st_mode)) archive_entry_set_size(entry, 0);
    if (S_ISLNK(st.st_mode)) GB_RETURN_IF_ERROR(SetSymlinkTarget(node, path));

    if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
      struct archive_entry* linked = entry;
      struct archive_entry* spare = nullptr;
      archive_entry_linkify(resolver_.get(), &linked, &spare);
      if (linked != entry || spare != nullptr) {
        return Status::Failed("internal error: libarchive's link resolver deferred " + path);
      }
      if (archive_entry_hardlink(entry) != nullptr) fd.Reset();  // a link: no data
    }

    GB_RETURN_IF_ERROR(WriteHeader(relative));
    ++stats_.entries;
    if (fd.get() >= 0) {
      GB_RETURN_IF_ERROR(WriteFileData(fd.get(), st, path, relative));
      stats_.source_bytes += static_cast<uint64_t>(st.st_size);
    }
    return Status::Ok();
  }

  Status SetSymlinkTarget(const FTSENT* node, const std::string& path) {
    std::string target(static_cast<size_t>(node->fts_statp->st_size) + 1, '\0');
    for (;;) {
      ssize_t n = readlink(node->fts_accpath, target.data(), target.size());
      if (n < 0) return ReadError(path, errno);
      if (static_cast<size_t>(n) < target.size()) {
        target.resize(static_cast<size_t>(n));
        break;
      }
      target.resize(target.size() * 2);  // the link changed since lstat
    }
    archive_entry_copy_symlink(entry_.get(), target.c_str());
    return Status::Ok();
  }

  // Writes exactly st.st_size bytes: the header already promised that many.
  Status WriteFileData(int fd, const struct stat& st, const std::string& path,
                       const std::string& relative) {
    const uint64_t expected = static_cast<uint64_t>(st.st_size);
    if (expected > kReadChunk) posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    uint64_t done = 0;
    bool shrank = false;
    while (done < expected) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(kReadChunk, expected - done));
      ssize_t n = read(fd, buffer_.get(), want);
      if (n < 0) {
        if (errno == EINTR) continue;
        return ReadError(path, errno);
      }
      if (n == 0) {
        shrank = true;
        break;
      }
      GB_RETURN_IF_ERROR(WriteData(buffer_.get(), static_cast<size_t>(n), relative));
      done += static_cast<uint64_t>(n);
    }

    struct stat after;
    if (fstat(fd, &after) != 0) return ReadError(path, errno);
    const bool changed = shrank || after.st_size != st.st_size ||
                         after.st_mtim.tv_sec != st.st_mtim.tv_sec ||
                         after.st_mtim.tv_nsec != st.st_mtim.tv_nsec;
    if (changed) {
      if (!options_.online) {
        return Status::Failed("file " + path + " changed while being read",
                              "an offline backup needs DSS stopped; is another process "
                              "writing to the data directory?");
      }
      spdlog::debug("{} changed while being read", path);
      stats_.changed_while_read.push_back(relative);
    }
    if (shrank) {  // keep the member exactly as long as its header says
      std::memset(buffer_.get(), 0, kReadChunk);
      while (done < expected) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(kReadChunk, expected - done));
        GB_RETURN_IF_ERROR(WriteData(buffer_.get(), n, relative));
        done += n;
      }
    }
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
    if (read_ahead_) read_ahead_->Consumed(bytes_done_);
    if (options_.progress && bytes_done_ >= next_progress_) {
      options_.progress(bytes_done_);
      next_progress_ = bytes_done_ + kProgressEvery;
    }
    return Status::Ok();
  }

  // The sink's own error when it caused the failure, else libarchive's message.
  Status ArchiveError(const std::string& what) {
    if (!adapter_.status().ok()) return adapter_.status().WithContext(what);
    const char* message = archive_.get() ? archive_error_string(archive_.get()) : nullptr;
    return Status::Failed(what + ": " + (message ? message : "libarchive error"));
  }

  static Status ReadError(const std::string& path, int error) {
    Status status = Status::FromErrno("cannot read " + path, error);
    if (error == EACCES || error == EPERM) return status.WithHint(kPermissionHint);
    return status;
  }

  const ArchiveWriteOptions& options_;
  SinkAdapter adapter_;
  std::unique_ptr<char[]> buffer_;
  std::unique_ptr<DataDirWalk> walk_;
  std::unique_ptr<ReadAhead> read_ahead_;
  std::unique_ptr<struct archive, ArchiveDeleter> archive_;
  std::unique_ptr<struct archive_entry, EntryDeleter> entry_;
  std::unique_ptr<struct archive_entry_linkresolver, ResolverDeleter> resolver_;
  OwnerNames owners_;
  ArchiveWriteStats stats_;
  uint64_t bytes_done_ = 0;
  uint64_t next_progress_ = kProgressEvery;
};

// Apparent size of what lies under `path` (du -s --apparent-size, links counted once).
}  // namespace

Result<ArchiveWriteStats> WriteDataDirArchive(const ArchiveWriteOptions& options,
                                              ByteSink& sink) {
  ArchiveWriterSession session(options, sink);
  return session.Run();
}

Result<DataDirEstimate> EstimateDataDir(const std::string& source_dir,
                                        const std::vector<std::string>& exclude) {
  std::set<std::string> excluded_keys;
  for (const std::string& name : exclude) excluded_keys.insert(ExclusionKey(name));
  auto is_excluded = [&](std::string_view name) { return excluded_keys.count(ExclusionKey(name)) > 0; };
  auto skipped = [&](std::string_view name) { return name == kPairDirName || is_excluded(name); };

  DataDirEstimate estimate;
  Result<TreeStats> archived = MeasureTree(source_dir, skipped);
  if (!archived.ok()) {
    if (archived.status().message().find("Permission denied") != std::string::npos)
      return archived.status().WithHint(kPermissionHint);
    return archived.status();
  }
  estimate.entries = archived->entries;
  estimate.bytes = archived->bytes;

  std::error_code error;
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(source_dir, error)) {
    std::string name = entry.path().filename().string();
    if (is_excluded(name)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    std::string path = source_dir + "/" + name;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) continue;
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
