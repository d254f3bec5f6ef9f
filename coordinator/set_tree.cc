#include "coordinator/set_tree.h"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <memory>
#include <set>

#include <spdlog/spdlog.h>

#include "coordinator/half_stream.h"
#include "coordinator/pair_identity.h"
#include "coordinator/set_index.h"
#include "datadir/archive_reader.h"
#include "datadir/index_metadata.h"
#include "io/frame_stream.h"
#include "io/seekable_zstd_reader.h"
#include "io/sha256.h"
#include "store/object_stream.h"

namespace gb {
namespace {

constexpr char kDamagedHint[] = "the set is damaged: `govern-backup verify` names the damaged set";

// An order-independent digest of a multiset of members: the sum, modulo 2^256, of each
// member's SHA-256. The extraction meets members holder by holder, in archive order, and
// the index lists them in path order; comparing the two sums checks every member without
// holding either list in memory (a damaged member changes its term and, short of a SHA-256
// collision, the sum).
class MemberDigest {
 public:
  void Add(const std::string& path, const std::string& type, const std::string& sha256,
           const std::string& link_target) {
    std::string text = path;
    for (const std::string* field : {&type, &sha256, &link_target}) {
      text += '\0';
      text += *field;
    }
    const std::string hex = Sha256::OfString(text);
    uint64_t carry = 0;
    for (size_t limb = 0; limb < sum_.size(); ++limb) {
      const uint64_t term = std::stoull(hex.substr(64 - 16 * (limb + 1), 16), nullptr, 16);
      const uint64_t before = sum_[limb];
      sum_[limb] = before + term + carry;
      carry = (sum_[limb] < before || (carry && sum_[limb] == before)) ? 1 : 0;
    }
  }
  bool operator==(const MemberDigest& other) const { return sum_ == other.sum_; }

 private:
  std::array<uint64_t, 4> sum_{};  // little-endian limbs
};

// What a restore must make of `entry`, as the digest sees it.
void AddToDigest(MemberDigest& digest, const FileIndexEntry& entry) {
  digest.Add(entry.path, entry.type, entry.type == "file" ? entry.sha256 : "", entry.link_target);
}

// The ranges of one holder's half that the tree needs.
struct Holder {
  const Manifest* manifest = nullptr;
  std::vector<StreamRange> ranges;
  uint64_t entries = 0;
};

// Appends [begin, end), merged with the last range when it continues it.
void AddRange(std::vector<StreamRange>& ranges, uint64_t begin, uint64_t end) {
  if (!ranges.empty() && ranges.back().end == begin) ranges.back().end = end;
  else ranges.push_back({begin, end});
}

// Sorted and merged: the members re-read in a second pass sit at the end of a half but in
// the middle of the index. Overlapping members mean a damaged index.
Status SortRanges(const Manifest& holder, const std::string& set_id,
                  std::vector<StreamRange>& ranges) {
  std::sort(ranges.begin(), ranges.end(),
            [](const StreamRange& a, const StreamRange& b) { return a.begin < b.begin; });
  std::vector<StreamRange> merged;
  for (const StreamRange& range : ranges) {
    if (!merged.empty() && range.begin < merged.back().end)
      return Status::Failed("the index of set " + set_id + " lists overlapping members in set " +
                                holder.id + " (at byte " + std::to_string(range.begin) + ")",
                            kDamagedHint);
    AddRange(merged, range.begin, range.end);
  }
  ranges = std::move(merged);
  return Status::Ok();
}

// Step: the selected entries of the index, as ranges per holder (chain order), their count,
// bytes and digest.
struct TreePlan {
  std::vector<Holder> holders;  // one per set of the chain, oldest first
  uint64_t entries = 0;
  uint64_t file_bytes = 0;
  MemberDigest digest;
  // The selected entries in index order, for the metadata step, while few: reading the
  // index a second time was a third of a one-file extract's time. Empty: read it again.
  std::vector<FileIndexEntry> selected;
  bool selected_kept = true;
};

// A few MB of entries at most are kept (a whole-set restore reads the index again instead).
constexpr size_t kKeptEntries = 4096;

Result<TreePlan> PlanTree(const Repository& repository, const std::vector<Manifest>& chain,
                          const std::vector<std::string>& paths) {
  const Manifest& set = chain.back();
  TreePlan plan;
  std::map<std::string, size_t> position;
  for (const Manifest& manifest : chain) {
    position[manifest.id] = plan.holders.size();
    plan.holders.push_back(Holder{&manifest, {}, 0});
  }
  std::set<std::string> link_targets;  // of selected hard links, when not selected themselves
  auto add = [&](const FileIndexEntry& entry) -> Status {
    auto found = position.find(entry.set_id);
    if (found == position.end())
      return Status::Failed("the index of set " + set.id + " says " + entry.path +
                                " is held by set " + entry.set_id + ", which is not in its chain",
                            kDamagedHint);
    Holder& holder = plan.holders[found->second];
    AddRange(holder.ranges, entry.offset, entry.offset + entry.length);
    ++holder.entries;
    ++plan.entries;
    if (entry.type == "file") plan.file_bytes += entry.size;
    AddToDigest(plan.digest, entry);
    return Status::Ok();
  };
  auto selected = [&](const std::string& path) {
    return std::any_of(paths.begin(), paths.end(), [&](const std::string& each) {
      Result<std::string> normal = NormalizeSetPath(each);
      return normal.ok() && IsUnder(path, *normal);
    });
  };
  GB_RETURN_IF_ERROR(ForEachSelectedEntry(repository, set, paths, [&](const FileIndexEntry& entry) {
    if (!paths.empty() && entry.type == "hardlink" && !selected(entry.link_target))
      link_targets.insert(entry.link_target);
    plan.selected_kept = plan.selected_kept && plan.selected.size() < kKeptEntries;
    if (plan.selected_kept) plan.selected.push_back(entry);
    else plan.selected.clear();
    return add(entry);
  }));
  if (!link_targets.empty()) {
    const std::vector<std::string> targets(link_targets.begin(), link_targets.end());
    GB_RETURN_IF_ERROR(ForEachSelectedEntry(repository, set, targets,
                                            [&](const FileIndexEntry& entry) {
                                              return link_targets.count(entry.path) ? add(entry)
                                                                                    : Status::Ok();
                                            }));
  }
  for (Holder& holder : plan.holders)
    GB_RETURN_IF_ERROR(SortRanges(*holder.manifest, set.id, holder.ranges));
  return plan;
}

// Step: the seekable half of `holder`, once its identity frame says it is that set's.
Result<std::unique_ptr<SeekableZstdReader>> OpenHolder(const Repository& repository,
                                                       const Manifest& holder,
                                                       const std::string& set_id) {
  const std::string needed = set_id == holder.id ? "" : " (set " + set_id + " builds on it)";
  if (!holder.datadir.seekable)
    return Status::Failed("the data-dir half of set " + holder.id + needed +
                              " is not seekable: its files cannot be read one by one",
                          kDamagedHint);
  uint64_t stored_bytes = 0;
  GB_ASSIGN_OR_RETURN(std::unique_ptr<RangeSource> object,
                      OpenHalfRanges(repository, holder.id, holder.datadir.file, &stored_bytes));
  const std::string name = object->name();
  if (stored_bytes != holder.datadir.bytes)
    return Status::Failed(name + needed + " is " + std::to_string(stored_bytes) +
                              " bytes, its manifest says " + std::to_string(holder.datadir.bytes),
                          kDamagedHint);
  GB_ASSIGN_OR_RETURN(std::unique_ptr<SeekableZstdReader> half,
                      SeekableZstdReader::Open(std::move(object)));
  GB_ASSIGN_OR_RETURN(std::string frame, half->ReadIdentityFrame());
  GB_ASSIGN_OR_RETURN(PairIdentity identity, PairIdentity::Parse(frame, name));
  if (identity.id != holder.id || identity.pair_token != holder.pair_token ||
      identity.role != kRoleDatadir)
    return Status::Failed(name + needed + " carries the identity of the " + identity.role +
                              " half of set " + identity.id + " (pair token " +
                              identity.pair_token + "), not of set " + holder.id + "'s data dir",
                          "the files of the sets were swapped or mixed up; restore from "
                          "another set");
  return half;
}

// The wanted ranges of every holder, oldest first, then the end-of-archive blocks: one tar
// stream. Each holder's frames are read ahead only while its ranges are being read.
class TreeStream : public ByteSource {
 public:
  TreeStream(std::vector<std::pair<std::unique_ptr<SeekableZstdReader>, std::vector<StreamRange>>>
                 parts,
             const SetTreeOptions& options)
      : parts_(std::move(parts)), options_(options) {}

  Result<size_t> Read(void* buffer, size_t capacity) override {
    for (;;) {
      if (stream_) {
        GB_ASSIGN_OR_RETURN(size_t n, stream_->Read(buffer, capacity));
        if (n > 0) return Count(n);
        stream_.reset();
        continue;
      }
      if (next_ < parts_.size()) {
        auto& [half, ranges] = parts_[next_++];
        GB_ASSIGN_OR_RETURN(stream_, FrameStream::Ranges(*half, std::move(ranges), options_.threads));
        continue;
      }
      // Two zero blocks: the archive ends here.
      const size_t n = std::min<size_t>(capacity, kEndBlocks - end_written_);
      std::memset(buffer, 0, n);
      end_written_ += n;
      return n;
    }
  }
  uint64_t bytes() const { return bytes_; }

 private:
  static constexpr size_t kEndBlocks = 1024;

  Result<size_t> Count(size_t n) {
    bytes_ += n;
    if (options_.on_progress) GB_RETURN_IF_ERROR(options_.on_progress(bytes_));
    return n;
  }

  std::vector<std::pair<std::unique_ptr<SeekableZstdReader>, std::vector<StreamRange>>> parts_;
  const SetTreeOptions& options_;
  size_t next_ = 0;
  std::unique_ptr<FrameStream> stream_;
  size_t end_written_ = 0;
  uint64_t bytes_ = 0;
};

// After a mismatch: the first selected entry that the tree on disk does not match, to name
// it (read again only on this failure path).
Status NameMismatch(const Repository& repository, const Manifest& set,
                    const SetTreeOptions& options, uint64_t extracted) {
  Status found;
  const std::string root = options.destination + "/";
  Status walked = ForEachSelectedEntry(repository, set, options.paths, [&](const FileIndexEntry& entry) {
    struct stat st {};
    const std::string path = root + entry.path;
    std::string problem;
    if (::lstat(path.c_str(), &st) != 0) {
      problem = "is missing";
    } else if (entry.type == "file") {
      Result<std::string> sha256 = Sha256::OfFile(path);
      if (sha256.ok() && *sha256 != entry.sha256)
        problem = "has SHA-256 " + *sha256 + ", the index records " + entry.sha256;
    }
    if (problem.empty()) return Status::Ok();
    found = Status::Failed("extracted " + entry.path + " of set " + set.id + " " + problem +
                               " (its bytes come from set " + entry.set_id + ")",
                           kDamagedHint);
    return found;  // stops the walk
  });
  if (!found.ok()) return found;
  if (!walked.ok()) return walked;
  return Status::Failed("the " + std::to_string(extracted) + " members extracted for set " +
                            set.id + " do not match its index",
                        kDamagedHint);
}

}  // namespace

bool HasSetTree(const Manifest& manifest) {
  return manifest.format >= 2 && manifest.index.has_value() && manifest.datadir.seekable;
}

Result<SetTree> MaterialiseSetTree(const Repository& repository,
                                   const std::vector<Manifest>& chain,
                                   const SetTreeOptions& options) {
  if (chain.empty()) return Status::Failed("internal error: no set to materialise");
  const Manifest& set = chain.back();
  if (!HasSetTree(set)) return NoIndexError(repository, set);

  // Step: which ranges of which halves, from the index.
  GB_ASSIGN_OR_RETURN(TreePlan plan, PlanTree(repository, chain, options.paths));

  // Step: every holder's half, its identity checked, before anything is extracted.
  SetTree tree;
  std::vector<std::pair<std::unique_ptr<SeekableZstdReader>, std::vector<StreamRange>>> parts;
  for (Holder& holder : plan.holders) {
    if (holder.entries == 0) continue;
    GB_ASSIGN_OR_RETURN(std::unique_ptr<SeekableZstdReader> half,
                        OpenHolder(repository, *holder.manifest, set.id));
    spdlog::debug("set {}: {} entries from set {} ({} ranges)", set.id, holder.entries,
                  holder.manifest->id, holder.ranges.size());
    tree.holders.push_back(holder.manifest->id);
    parts.emplace_back(std::move(half), std::move(holder.ranges));
  }

  // Step: one tar stream into one extraction, each member hashed on its way to the disk.
  TreeStream stream(std::move(parts), options);
  MemberDigest extracted;
  ExtractOptions extract;
  extract.destination = options.destination;
  extract.restore_owners = options.restore_owners;
  auto on_member = [&](const ExtractedMember& member) {
    extracted.Add(member.path, member.type, member.sha256, member.link_target);
    ++tree.entries;
    if (member.type == "file") tree.file_bytes += member.size;
    return Status::Ok();
  };
  GB_RETURN_IF_ERROR(ExtractArchive(stream, extract, on_member).status());
  tree.tar_bytes = stream.bytes();

  // Step: the tree is the index's.
  if (tree.entries != plan.entries || tree.file_bytes != plan.file_bytes ||
      !(extracted == plan.digest)) {
    Status named = NameMismatch(repository, set, options, tree.entries);
    return named.WithContext(std::to_string(tree.entries) + " entries (" +
                             std::to_string(tree.file_bytes) + " bytes) extracted, the index lists " +
                             std::to_string(plan.entries) + " (" + std::to_string(plan.file_bytes) +
                             " bytes)");
  }

  // Step: each entry's mode, owner and mtime as the index records them (a folder's member
  // may be older than its entry). A child's metadata never touches its folder's mtime: one
  // pass in index order is enough.
  IndexMetadata metadata(options.destination, options.restore_owners);
  if (plan.selected_kept) {
    for (const FileIndexEntry& entry : plan.selected) GB_RETURN_IF_ERROR(metadata.Apply(entry));
  } else {
    GB_RETURN_IF_ERROR(ForEachSelectedEntry(repository, set, options.paths,
                                            [&](const FileIndexEntry& entry) {
                                              return metadata.Apply(entry);
                                            }));
  }
  if (metadata.changed() > 0)
    spdlog::debug("set {}: {} entries given the index's mode, owner or mtime", set.id,
                  metadata.changed());
  return tree;
}

}  // namespace gb
