#include "coordinator/set_index.h"

#include <algorithm>

#include "coordinator/half_stream.h"
#include "io/sha256.h"
#include "store/object_stream.h"

namespace gb {

Result<std::string> NormalizeSetPath(const std::string& path) {
  std::string out;
  size_t at = 0;
  while (at <= path.size()) {
    size_t slash = path.find('/', at);
    if (slash == std::string::npos) slash = path.size();
    const std::string part = path.substr(at, slash - at);
    at = slash + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..")
      return Status::Usage("path " + path + " goes up (..): a set holds only the data dir",
                           "name a path relative to the data dir, e.g. config/general-settings.json");
    if (!out.empty()) out += '/';
    out += part;
  }
  return out;
}

bool IsUnder(const std::string& entry_path, const std::string& selected) {
  return entry_path == selected || PathIsUnder(entry_path, selected);
}

Status NoIndexError(const Repository& repository, const Manifest& manifest) {
  return Status::Failed(
      "set " + manifest.id + " has no per-file index (format " + std::to_string(manifest.format) +
          ", made by govern-backup " + (manifest.tool_version.empty() ? "0.1.0" : manifest.tool_version) +
          ")",
      "restore it elsewhere (`govern-backup restore " + manifest.id +
          " --data-dir DIR`), or list or extract its data-dir half by hand: zstd -dc " +
          repository.Locate(repository.ObjectKey(manifest.id, manifest.datadir.file)) +
          " | tar -t (or tar -x PATH)");
}

namespace {

Status DamagedIndex(const Manifest& manifest, const std::string& name, const std::string& sha256) {
  return Status::Failed("the index " + name + " is damaged (SHA-256 " + sha256 +
                            ", the manifest says " + manifest.index->sha256 + ")",
                        "`govern-backup verify " + manifest.id + "` checks the set");
}

// Why the index could not be read: damaged if its stored bytes are not the ones the manifest
// recorded, whichever layer tripped first on the damage (zstd, age, a line), else `failure`.
// On this failure path only, the object is read once more, hashed and nothing else.
Status IndexReadFailure(const Repository& repository, const Manifest& manifest,
                        const std::string& name, const Status& failure) {
  Result<std::unique_ptr<ObjectReader>> object =
      ObjectReader::Open(repository.store(), repository.ObjectKey(manifest.id, manifest.index->file));
  if (!object.ok()) return failure;
  HashingSink stored;
  if (!CopyStream(**object, stored).ok()) return failure;
  const std::string sha256 = stored.HexDigest();
  return sha256 == manifest.index->sha256 ? failure : DamagedIndex(manifest, name, sha256);
}

// Reads the index of `manifest` as far as `selected` needs (all of it if one is ""), giving
// `on_entry` the entries whose path starts with a selected one, then hashes the rest: an error
// unless the whole index is the manifest's.
Status ReadSelected(const Repository& repository, const Manifest& manifest,
                    const std::string& name, const std::vector<std::string>& selected,
                    const std::function<Status(const FileIndexEntry&)>& on_entry) {
  GB_ASSIGN_OR_RETURN(std::unique_ptr<ZstdReader> stream,
                      OpenHalf(repository, manifest.id, manifest.index->file));
  FileIndexReader reader(*stream, name);
  FileIndexEntry entry;
  const bool everything =
      std::find(selected.begin(), selected.end(), std::string()) != selected.end();
  for (;;) {
    GB_ASSIGN_OR_RETURN(bool more, everything ? reader.Next(entry)
                                              : reader.NextWithPathPrefix(entry, selected));
    if (!more) break;
    GB_RETURN_IF_ERROR(on_entry(entry));
  }
  // The reader stops once past every selected path: the rest is read, not decompressed,
  // for the digest of the whole index.
  GB_RETURN_IF_ERROR(stream->SkipToEnd());
  return CheckIndexDigest(manifest, *stream, name);
}

}  // namespace

// What the entries said is trusted (where each file's bytes are) only if the index is the one
// the manifest recorded.
Status CheckIndexDigest(const Manifest& manifest, const ZstdReader& stream,
                        const std::string& name) {
  if (stream.sha256_hex() == manifest.index->sha256) return Status::Ok();
  return DamagedIndex(manifest, name, stream.sha256_hex());
}

Status ForEachSelectedEntry(const Repository& repository, const Manifest& manifest,
                            const std::vector<std::string>& paths,
                            const std::function<Status(const FileIndexEntry&)>& visit) {
  if (!manifest.index) return NoIndexError(repository, manifest);
  std::vector<std::string> selected;
  for (const std::string& path : paths) {
    GB_ASSIGN_OR_RETURN(std::string normal, NormalizeSetPath(path));
    selected.push_back(std::move(normal));
  }
  if (selected.empty()) selected.push_back("");
  std::vector<bool> found(selected.size(), false);

  const std::string name =
      repository.Locate(repository.ObjectKey(manifest.id, manifest.index->file));
  bool visit_failed = false;
  Status read = ReadSelected(repository, manifest, name, selected, [&](const FileIndexEntry& entry) {
    bool wanted = false;
    for (size_t i = 0; i < selected.size(); ++i) {
      if (!IsUnder(entry.path, selected[i])) continue;
      found[i] = true;
      wanted = true;
    }
    if (!wanted) return Status::Ok();
    Status visited = visit(entry);
    visit_failed = !visited.ok();
    return visited;
  });
  if (!read.ok()) return visit_failed ? read : IndexReadFailure(repository, manifest, name, read);
  for (size_t i = 0; i < selected.size(); ++i) {
    if (found[i] || selected[i].empty()) continue;
    return Status::Failed("path " + selected[i] + " is not in set " + manifest.id,
                          "`govern-backup ls " + manifest.id + "` lists what the set holds");
  }
  return Status::Ok();
}

}  // namespace gb
