// FileIndex: the per-file index of a set (<ID>.index.jsonl.zst): one JSON line per archived
// member of the data-dir half, in archive order, saying what a restore would make of it
// (type, mode, owner, size, mtime, link target, content SHA-256) and where its bytes live
// (the set and the member's offset and length in the uncompressed tar stream). `ls` reads it
// instead of the half; `extract` reads only the frames that cover the members it wants.
// Written and read as a stream, one entry at a time: never held whole in memory.
//
// Thread-safety: a writer or reader is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "io/byte_stream.h"
#include "io/status.h"

namespace gb {

// The index object of set `id`: <ID>.index.jsonl.zst.
inline constexpr char kFileIndexSuffix[] = ".index.jsonl.zst";

struct FileIndexEntry {
  std::string path;         // relative to the data dir, as archived
  std::string type;         // file | dir | symlink | hardlink | fifo | char | block
  uint32_t mode = 0;        // permission bits (07777)
  uint64_t uid = 0;
  uint64_t gid = 0;
  std::string user;         // owner names as archived ("" if unknown)
  std::string group;
  uint64_t size = 0;        // content bytes a restore writes (regular files and hard links)
  int64_t mtime_ns = 0;     // since the epoch
  // What the next incremental set compares (with size and mtime) to tell whether the file
  // changed; not restored. 0 in indexes written before incremental sets.
  int64_t ctime_ns = 0;
  uint64_t inode = 0;
  // The file changed too close to the moment it was read for its times to be trusted (a
  // write in the same clock tick would leave them unchanged): the next set reads it again.
  bool racy = false;
  std::string link_target;  // symlink target, or the path a hard link points to
  std::string sha256;       // of the content (regular files); "" otherwise
  std::string set_id;       // the set whose data-dir half holds the member
  uint64_t offset = 0;      // of the member's first header byte in the uncompressed tar
  uint64_t length = 0;      // header(s), content and padding: up to the next member

  nlohmann::json ToJson() const;  // read back by ParseIndexEntry (index_entry_json.h)
};

// The order of every index: the walk's order (name-sorted pre-order), i.e. paths compared
// component by component ("a" < "a/b" < "a-c"), not as whole strings. Negative, 0 or
// positive, as strcmp.
int ComparePaths(std::string_view a, std::string_view b);

// Whether `path` lies strictly below directory `dir` ("a/b" is below "a", "a-b" and "a" are
// not). Every path lies below "" (the top of the tree).
bool PathIsUnder(std::string_view path, std::string_view dir);

// Writes entries as JSON lines into `sink` (e.g. a HalfUpload's), which must outlive it.
class FileIndexWriter {
 public:
  explicit FileIndexWriter(ByteSink& sink) : sink_(sink) {}
  Status Add(const FileIndexEntry& entry);
  uint64_t entries() const { return entries_; }

 private:
  ByteSink& sink_;
  uint64_t entries_ = 0;
  std::string line_;  // reused: one allocation for the whole index
};

// Reads entries back from the uncompressed JSON lines of `source` (e.g. OpenHalf's reader);
// `name` names the index in errors. Lines are scanned in place in one reused buffer: a line
// is copied only to be parsed.
class FileIndexReader {
 public:
  FileIndexReader(ByteSource& source, std::string name);
  ~FileIndexReader();
  // The next entry into `entry`; false at the end. A damaged line is an error naming it.
  Result<bool> Next(FileIndexEntry& entry);
  // The same, but only for lines whose path starts with one of `prefixes` (as strings: "a"
  // matches "a/b" and "a-c"), found by a search of the buffer for their key without parsing
  // the others (parsing every line of a large index is what made a one-file extract slow).
  // The index is in ComparePaths order, in which the paths starting with a prefix are one
  // run: false once the reader is past every prefix's run (checked once per buffer of
  // lines), with the rest of `source` unread; the caller drains it if it needs its digest
  // (ZstdReader::SkipToEnd). Skipped lines count in entries().
  Result<bool> NextWithPathPrefix(FileIndexEntry& entry, const std::vector<std::string>& prefixes);
  uint64_t entries() const { return entries_; }

 private:
  struct Needle;
  Result<bool> NextLine(std::string_view& line);
  // Reads more of `source` behind the unread bytes; false at its end.
  Result<bool> Refill();
  Result<bool> ParseLine(std::string_view line, FileIndexEntry& entry);
  void SetPrefixes(const std::vector<std::string>& prefixes);
  // Whether `line`'s path sorts after every prefix's run (false if it cannot be read).
  bool PastEveryPrefix(std::string_view line) const;

  ByteSource& source_;
  std::string name_;
  std::unique_ptr<char[]> buffer_;  // not a std::string: growing it would zero-fill
  size_t capacity_ = 0;
  size_t start_ = 0;  // first unread byte
  size_t end_ = 0;    // end of the bytes read
  bool eof_ = false;
  uint64_t entries_ = 0;
  std::vector<std::string> prefixes_;
  std::vector<Needle> needles_;
};

}  // namespace gb
