#include "coordinator/set_diff.h"

#include <memory>

#include "coordinator/half_stream.h"
#include "coordinator/set_index.h"
#include "datadir/data_dir_walk.h"
#include "pg/table_summary.h"

namespace gb {
namespace {

// One set's index read as a stream, one entry ahead, checking the order the merge relies on.
class IndexCursor {
 public:
  Status Open(const Repository& repository, const Manifest& manifest) {
    if (!manifest.index) return NoIndexError(repository, manifest);
    manifest_ = &manifest;
    name_ = repository.Locate(repository.ObjectKey(manifest.id, manifest.index->file));
    GB_ASSIGN_OR_RETURN(stream_, OpenHalf(repository, manifest.id, manifest.index->file));
    reader_ = std::make_unique<FileIndexReader>(*stream_, name_);
    return Advance();
  }

  bool done() const { return done_; }
  const FileIndexEntry& entry() const { return entry_; }

  // The next entry of the data dir; the tool's own members (the pair member, the vanished
  // list) are not files of the data dir and are skipped.
  Status Advance() {
    previous_ = entry_.path;
    do {
      GB_ASSIGN_OR_RETURN(bool more, reader_->Next(entry_));
      if (!more) {
        done_ = true;
        return CheckIndexDigest(*manifest_, *stream_, name_);
      }
    } while (IsUnder(entry_.path, kPairDirName));
    if (!previous_.empty() && ComparePaths(previous_, entry_.path) >= 0)
      return Status::Failed(name_ + ": entry " + entry_.path + " comes after " + previous_ +
                                ", out of path order: the two sets cannot be merged",
                            "the index is damaged or not made by this version: `govern-backup "
                            "verify` checks it");
    return Status::Ok();
  }

 private:
  const Manifest* manifest_ = nullptr;
  std::string name_;
  std::unique_ptr<ZstdReader> stream_;
  std::unique_ptr<FileIndexReader> reader_;
  FileIndexEntry entry_;
  std::string previous_;
  bool done_ = false;
};

Status CheckHasTables(const Manifest& manifest) {
  if (!manifest.database)
    return Status::Failed("set " + manifest.id + " has no database half: no tables to compare");
  if (manifest.database->table_rows.empty())
    return Status::Failed("set " + manifest.id + " records no table row counts",
                          "its backup could not count the rows (see that backup's log)");
  return Status::Ok();
}

std::string HashOf(const ManifestDatabase& database, const std::string& table) {
  auto found = database.table_hashes.find(table);
  return found == database.table_hashes.end() ? std::string() : found->second;
}

// Why the contents of the tables of `from` and `to` cannot be compared; "" when they can.
std::string WhyContentsNotComparable(const Manifest& from, const Manifest& to) {
  for (const Manifest* set : {&from, &to}) {
    if (set->database->table_hashes.empty())
      return "set " + set->id +
             " records no table content hashes (taken before backups recorded them): only row "
             "counts are compared";
  }
  const std::string& a = from.database->table_hashes.begin()->second;
  const std::string& b = to.database->table_hashes.begin()->second;
  if (!SameTableHashScheme(a, b))
    return "sets " + from.id + " and " + to.id + " hash table contents differently (" +
           a.substr(0, a.find(':')) + " and " + b.substr(0, b.find(':')) +
           ": another release, another pg_dump major version, or the server's hashes where the "
           "dump could not be followed): only row counts are compared";
  return "";
}

}  // namespace

const char* ToString(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::kAdded: return "added";
    case ChangeKind::kRemoved: return "removed";
    case ChangeKind::kChanged: return "changed";
  }
  return "changed";
}

std::vector<std::string> ChangedFields(const FileIndexEntry& from, const FileIndexEntry& to) {
  std::vector<std::string> fields;
  if (from.type != to.type) fields.push_back("type");
  if (from.sha256 != to.sha256) fields.push_back("content");
  if (from.size != to.size) fields.push_back("size");
  if (from.mode != to.mode) fields.push_back("mode");
  if (from.uid != to.uid || from.gid != to.gid) fields.push_back("owner");
  if (from.link_target != to.link_target) fields.push_back("link");
  return fields;
}

Result<ChangeCounts> DiffFiles(const Repository& repository, const Manifest& from,
                               const Manifest& to,
                               const std::function<Status(const FileChange&)>& visit) {
  IndexCursor old_side, new_side;
  GB_RETURN_IF_ERROR(old_side.Open(repository, from));
  GB_RETURN_IF_ERROR(new_side.Open(repository, to));
  ChangeCounts counts;
  while (!old_side.done() || !new_side.done()) {
    const int order = old_side.done()   ? 1
                      : new_side.done() ? -1
                                        : ComparePaths(old_side.entry().path, new_side.entry().path);
    FileChange change;
    if (order < 0) {
      change.kind = ChangeKind::kRemoved;
      change.path = old_side.entry().path;
      change.from = &old_side.entry();
      ++counts.removed;
    } else if (order > 0) {
      change.kind = ChangeKind::kAdded;
      change.path = new_side.entry().path;
      change.to = &new_side.entry();
      ++counts.added;
    } else {
      change.fields = ChangedFields(old_side.entry(), new_side.entry());
      change.path = new_side.entry().path;
      change.from = &old_side.entry();
      change.to = &new_side.entry();
      if (change.fields.empty()) ++counts.unchanged;
      else ++counts.changed;
    }
    if (change.kind != ChangeKind::kChanged || !change.fields.empty())
      GB_RETURN_IF_ERROR(visit(change));
    if (order <= 0) GB_RETURN_IF_ERROR(old_side.Advance());
    if (order >= 0) GB_RETURN_IF_ERROR(new_side.Advance());
  }
  return counts;
}

Result<TableDiff> DiffTables(const Manifest& from, const Manifest& to) {
  GB_RETURN_IF_ERROR(CheckHasTables(from));
  GB_RETURN_IF_ERROR(CheckHasTables(to));
  TableDiff diff;
  diff.note = WhyContentsNotComparable(from, to);
  diff.contents_compared = diff.note.empty();
  const auto& old_rows = from.database->table_rows;
  const auto& new_rows = to.database->table_rows;
  auto old_it = old_rows.begin();
  auto new_it = new_rows.begin();
  // Both maps are sorted by name: one merge.
  while (old_it != old_rows.end() || new_it != new_rows.end()) {
    const bool only_old = new_it == new_rows.end() ||
                          (old_it != old_rows.end() && old_it->first < new_it->first);
    const bool only_new = !only_old && (old_it == old_rows.end() || new_it->first < old_it->first);
    TableChange change;
    change.table = only_old ? old_it->first : new_it->first;
    if (!only_new) {
      change.from_rows = old_it->second;
      change.from_hash = HashOf(*from.database, change.table);
    }
    if (!only_old) {
      change.to_rows = new_it->second;
      change.to_hash = HashOf(*to.database, change.table);
    }
    if (only_old) {
      change.kind = ChangeKind::kRemoved;
      ++diff.counts.removed;
    } else if (only_new) {
      change.kind = ChangeKind::kAdded;
      ++diff.counts.added;
    } else {
      if (*change.from_rows != *change.to_rows) change.fields.push_back("rows");
      if (diff.contents_compared && change.from_hash != change.to_hash)
        change.fields.push_back("content");
      if (change.fields.empty()) ++diff.counts.unchanged;
      else ++diff.counts.changed;
    }
    if (change.kind != ChangeKind::kChanged || !change.fields.empty())
      diff.changes.push_back(std::move(change));
    if (!only_new) ++old_it;
    if (!only_old) ++new_it;
  }
  return diff;
}

}  // namespace gb
