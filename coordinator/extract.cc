// `govern-backup extract ID PATH... --to DIR`: named files and folders (every entry under a
// folder) out of a set, with modes and times (owners as root), into DIR, which must be empty
// or absent and is never the node's data dir nor inside it. Only the frames of the seekable
// data-dir half that hold the wanted members are fetched (ranged reads) and decompressed;
// their tar bytes go through the archive reader's extraction (the same unsafe-path checks as
// restore). Each extracted file's SHA-256 is then checked against the index.
//
// A hard link comes with the file it links to (tar stores the content once, with the first
// name): that file is extracted too, even if it was not named.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <iostream>
#include <set>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "coordinator/commands.h"
#include "coordinator/node_context.h"
#include "coordinator/json_output.h"
#include "coordinator/set_index.h"
#include "datadir/archive_reader.h"
#include "io/seekable_zstd_reader.h"
#include "io/sha256.h"
#include "store/object_stream.h"

namespace gb {
namespace {

namespace fs = std::filesystem;

// A run of consecutive members: [begin, end) of the uncompressed tar stream.
struct TarRange {
  uint64_t begin = 0;
  uint64_t end = 0;
};

// The tar bytes of `ranges` (in order) followed by an end-of-archive marker, decompressed
// one frame at a time as the archive reader asks for them: at most one frame in memory.
class RangesSource : public ByteSource {
 public:
  RangesSource(const SeekableZstdReader& half, std::vector<TarRange> ranges)
      : half_(half), ranges_(std::move(ranges)) {}

  Result<size_t> Read(void* buffer, size_t capacity) override {
    while (at_ == chunk_.bytes().size()) {
      GB_ASSIGN_OR_RETURN(bool more, NextChunk());
      if (!more) return size_t{0};
    }
    const size_t n = std::min(capacity, chunk_.bytes().size() - at_);
    std::copy_n(chunk_.bytes().data() + at_, n, static_cast<char*>(buffer));
    at_ += n;
    return n;
  }

 private:
  Result<bool> NextChunk() {
    chunk_.mutable_bytes().clear();
    at_ = 0;
    while (range_ < ranges_.size() && ranges_[range_].begin >= ranges_[range_].end) ++range_;
    if (range_ == ranges_.size()) {
      if (ended_) return false;
      ended_ = true;
      chunk_.mutable_bytes().assign(1024, '\0');  // two zero blocks: the archive ends here
      return true;
    }
    TarRange& range = ranges_[range_];
    if (range.end > half_.decompressed_size())
      return Status::Failed(half_.name() + " is shorter than its index says (member at " +
                                std::to_string(range.begin) + ")",
                            "the set is damaged: `govern-backup verify` checks it");
    const SeekableFrame& frame = half_.frames()[half_.FrameIndexAt(range.begin)];
    const uint64_t until =
        std::min(range.end, frame.decompressed_offset + frame.decompressed_size);
    GB_RETURN_IF_ERROR(half_.DecompressRange(range.begin, until, chunk_));
    range.begin = until;
    return true;
  }

  const SeekableZstdReader& half_;
  std::vector<TarRange> ranges_;
  size_t range_ = 0;
  StringSink chunk_;
  size_t at_ = 0;
  bool ended_ = false;
};

bool IsInside(const fs::path& path, const fs::path& dir) {
  auto [dir_end, path_at] = std::mismatch(dir.begin(), dir.end(), path.begin(), path.end());
  return dir_end == dir.end();
}

// Step: DIR is empty or absent (then created), and has nothing to do with the live data dir.
Status PrepareDestination(const std::string& to, const Config& config) {
  if (to.empty()) return Status::Usage("extract: --to DIR is required");
  std::error_code error;
  const fs::path target = fs::weakly_canonical(fs::absolute(to), error);
  const fs::path data_dir = fs::weakly_canonical(config.node.data_dir, error);
  if (IsInside(target, data_dir))
    return Status::Refused("extract: " + to + " is the node's data dir " +
                               config.node.data_dir + " or inside it",
                           "extract into an empty directory elsewhere, then copy what you need; "
                           "`govern-backup restore` puts a whole set back");
  if (fs::exists(target, error)) {
    if (!fs::is_directory(target, error))
      return Status::Usage("extract: " + to + " exists and is not a directory");
    if (!fs::is_empty(target, error))
      return Status::Usage("extract: " + to + " is not empty",
                           "give an empty or a new directory: nothing is overwritten");
    return Status::Ok();
  }
  fs::create_directories(target, error);
  if (error) return Status::Failed("cannot create " + to + ": " + error.message());
  return Status::Ok();
}

// The wanted members as ranges of the tar stream, consecutive members merged.
std::vector<TarRange> RangesOf(const std::vector<FileIndexEntry>& members) {
  std::vector<TarRange> ranges;
  for (const FileIndexEntry& member : members) {
    if (!ranges.empty() && ranges.back().end == member.offset)
      ranges.back().end = member.offset + member.length;
    else
      ranges.push_back({member.offset, member.offset + member.length});
  }
  return ranges;
}

// Step: every extracted file holds the content the index recorded.
Status CheckExtracted(const std::vector<FileIndexEntry>& members, const std::string& to,
                      const std::string& id) {
  for (const FileIndexEntry& member : members) {
    if (member.type != "file") continue;
    const std::string path = to + "/" + member.path;
    GB_ASSIGN_OR_RETURN(std::string sha256, Sha256::OfFile(path));
    if (sha256 != member.sha256)
      return Status::Failed("extracted " + path + " does not match set " + id +
                                "'s index (SHA-256 " + sha256 + ", recorded " + member.sha256 + ")",
                            "the set is damaged: `govern-backup verify " + id + "` checks it");
  }
  return Status::Ok();
}

// Step: the files that selected hard links point to, when not selected themselves (a second
// pass over the index: they come earlier in it), merged in archive order.
Status AddLinkTargets(const Repository& repository, const Manifest& manifest,
                      std::vector<FileIndexEntry>& members) {
  std::set<std::string> selected;
  for (const FileIndexEntry& member : members) selected.insert(member.path);
  std::vector<std::string> targets;
  for (const FileIndexEntry& member : members)
    if (member.type == "hardlink" && !selected.count(member.link_target))
      targets.push_back(member.link_target);
  if (targets.empty()) return Status::Ok();
  const std::set<std::string> wanted(targets.begin(), targets.end());
  auto add = [&](const FileIndexEntry& entry) {
    if (wanted.count(entry.path) && selected.insert(entry.path).second) members.push_back(entry);
    return Status::Ok();
  };
  GB_RETURN_IF_ERROR(ForEachSelectedEntry(repository, manifest, targets, add));
  std::sort(members.begin(), members.end(),
            [](const FileIndexEntry& a, const FileIndexEntry& b) { return a.offset < b.offset; });
  return Status::Ok();
}

}  // namespace

Status RunExtract(const GlobalOptions& global, const ExtractCommandOptions& options) {
  GB_ASSIGN_OR_RETURN(Config config, LoadConfig(global.config_path));
  if (options.paths.empty()) return Status::Usage("extract: name at least one PATH");
  GB_ASSIGN_OR_RETURN(auto repo, OpenRepository(config, global.repo, global.wrap_store));
  GB_ASSIGN_OR_RETURN(Manifest manifest, repo->LoadSet(options.id));
  if (!manifest.index || !manifest.datadir.seekable) return NoIndexError(*repo, manifest);

  // Step: which members, from the index (archive order, so ranges come out sorted).
  std::vector<FileIndexEntry> members;
  GB_RETURN_IF_ERROR(ForEachSelectedEntry(*repo, manifest, options.paths,
                                          [&](const FileIndexEntry& entry) {
                                            members.push_back(entry);
                                            return Status::Ok();
                                          }));
  for (const FileIndexEntry& member : members)
    if (member.set_id != manifest.id)
      return Status::Failed("index entry " + member.path + " of set " + manifest.id +
                            " points into set " + member.set_id + ": not supported yet");
  GB_RETURN_IF_ERROR(AddLinkTargets(*repo, manifest, members));
  GB_RETURN_IF_ERROR(PrepareDestination(options.to, config));

  // Step: the frames that hold them, through ranged reads, into the archive reader.
  const std::string key = repo->ObjectKey(manifest.id, manifest.datadir.file);
  GB_ASSIGN_OR_RETURN(std::unique_ptr<StoreRangeSource> object,
                      StoreRangeSource::Open(repo->store(), key));
  GB_ASSIGN_OR_RETURN(std::unique_ptr<SeekableZstdReader> half,
                      SeekableZstdReader::Open(std::move(object)));
  RangesSource tar(*half, RangesOf(members));
  ExtractOptions extract;
  extract.destination = options.to;
  GB_ASSIGN_OR_RETURN(ArchiveScan scan, ExtractArchive(tar, extract));
  if (scan.entries != members.size())
    return Status::Failed("extracted " + std::to_string(scan.entries) + " entries of set " +
                              manifest.id + ", not the " + std::to_string(members.size()) +
                              " its index lists",
                          "the set is damaged: `govern-backup verify " + manifest.id +
                              "` checks it");
  GB_RETURN_IF_ERROR(CheckExtracted(members, options.to, manifest.id));

  uint64_t bytes = 0;
  for (const FileIndexEntry& member : members) bytes += member.size;
  if (global.json) {
    PrintJson({{"id", manifest.id}, {"to", options.to}, {"entries", members.size()},
               {"bytes", bytes}});
  } else {
    std::cout << "extracted " << members.size() << " entries (" << bytes << " bytes) of set "
              << manifest.id << " into " << options.to << "\n";
  }
  return Status::Ok();
}

}  // namespace gb
