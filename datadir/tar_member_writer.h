// TarMemberWriter: the libarchive side of the data-dir half. It writes one pax tar member at a
// time into a ByteSink: the pair member, an entry of the walked tree (stat as listed, extended
// attributes, ACLs, sparse holes, hard links through libarchive's link resolver), or a small
// member of ours such as the vanished list. The archiver (archive_writer.h) decides which
// entries are written and in which pass; this class knows nothing of passes or parents.
//
// Thread-safety: one writer per sink, used by one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "datadir/file_index.h"
#include "datadir/tree_walker.h"
#include "io/byte_stream.h"
#include "io/status.h"

namespace gb {

class ReadAhead;

// What became of one walked entry.
struct MemberOutcome {
  enum class Kind {
    kArchived,  // `entry` describes the member (set_id left empty)
    kSkipped,   // a socket: never archived
    kVanished,  // gone between the listing and the open
  };
  Kind kind = Kind::kArchived;
  FileIndexEntry entry;
  bool changed_while_read = false;  // size or mtime moved, or the file shrank, while read
};

class TarMemberWriter {
 public:
  // `progress` (may be empty) is called now and then with the content bytes written so far;
  // `on_member` (may be empty) after every byte of an archived tree member reached the sink.
  TarMemberWriter(ByteSink& sink, std::function<void(uint64_t)> progress,
                  std::function<Status(const FileIndexEntry&)> on_member);
  ~TarMemberWriter();
  TarMemberWriter(const TarMemberWriter&) = delete;
  TarMemberWriter& operator=(const TarMemberWriter&) = delete;

  Status Open();
  // .govern-backup/ and .govern-backup/pair.toml holding `text`.
  Status WritePairMember(const std::string& text);
  // The member of `node`, read from the disk now; `path` names it in messages.
  Result<MemberOutcome> WriteNode(const WalkEntry& node, const std::string& path);
  // The index entry of a tree entry from its stat alone (no member: set_id, offset, length,
  // sha256 and link target left empty).
  FileIndexEntry DescribeStat(const struct stat& st, const std::string& relative);
  // A regular file member `name` (mode 0600, root) of `size` bytes read from `source`.
  Status WriteStreamMember(const std::string& name, uint64_t size, ByteSource& source);
  // Forgets the hard links seen so far: the next member of a link group carries the content
  // again (a second pass re-archives whole groups after the first pass's members).
  Status ForgetLinks();
  Status Close();
  // After a failure: nothing more reaches the sink (a cut-off archive must not look whole).
  void Abandon();

  void set_read_ahead(ReadAhead* read_ahead) { read_ahead_ = read_ahead; }
  uint64_t bytes_done() const { return bytes_done_; }
  uint64_t members() const { return members_; }        // tree members, ours excluded
  uint64_t source_bytes() const { return source_bytes_; }

 private:
  struct Handles;
  Status WriteHeader(const std::string& member);
  Status WriteData(const void* data, size_t size, const std::string& member);
  Status FinishMember(const std::string& member);
  Status FillEntry(const WalkEntry& node, int fd, const std::string& path,
                   const std::string& relative);
  Status SetSymlinkTarget(const WalkEntry& node, const std::string& path);
  Status LinkIfSeen(const WalkEntry& node, const std::string& path, bool* is_link);
  Result<bool> WriteFileData(int fd, const struct stat& st, const std::string& path,
                             const std::string& relative);
  Status WriteZeros(uint64_t until, uint64_t& done, const std::string& relative);
  FileIndexEntry Describe(const WalkEntry& node, const std::string& relative, uint64_t begin);
  uint64_t StreamOffset();
  Status ArchiveError(const std::string& what);
  void SetOurEntry(const char* name, unsigned type, unsigned perm);

  std::function<void(uint64_t)> progress_;
  std::function<Status(const FileIndexEntry&)> on_member_;
  std::unique_ptr<Handles> handles_;
  ReadAhead* read_ahead_ = nullptr;
  uint64_t bytes_done_ = 0;
  uint64_t next_progress_;
  uint64_t members_ = 0;
  uint64_t source_bytes_ = 0;
};

}  // namespace gb
