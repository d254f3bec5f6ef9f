// `govern-backup extract ID PATH... --to DIR`: named files and folders (every entry under a
// folder) out of any set of a chain, with modes and times (owners as root), into DIR, which
// must be empty or absent and is never the node's data dir nor inside it. The set's tree is
// made by the one materialiser (set_tree.h) restricted to the named paths: only the frames
// that hold the wanted members are fetched, from whichever set of the chain holds each, and
// every extracted file is checked against the index. A hard link comes with the file it
// links to (tar stores the content once, with the first name), named or not.
#include <algorithm>
#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "coordinator/chain.h"
#include "coordinator/manifest_signature.h"
#include "coordinator/commands.h"
#include "coordinator/json_output.h"
#include "coordinator/node_context.h"
#include "coordinator/set_index.h"
#include "coordinator/set_tree.h"

namespace gb {
namespace {

namespace fs = std::filesystem;

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

// Step, on failure: the destination as it was (absent, or empty).
void RemoveExtracted(const std::string& to, bool created) {
  std::error_code error;
  if (created) {
    fs::remove_all(to, error);
  } else {
    for (const auto& each : fs::directory_iterator(to, error)) fs::remove_all(each.path(), error);
  }
  if (error) spdlog::error("could not remove what was extracted into {}: {}", to, error.message());
}

}  // namespace

Status RunExtract(const GlobalOptions& global, const ExtractCommandOptions& options) {
  GB_ASSIGN_OR_RETURN(Config config, LoadConfig(global.config_path));
  if (options.paths.empty()) return Status::Usage("extract: name at least one PATH");
  for (const std::string& path : options.paths) GB_RETURN_IF_ERROR(NormalizeSetPath(path).status());
  GB_ASSIGN_OR_RETURN(auto repo, OpenRepository(config, global.repo, global.wrap_store));
  GB_ASSIGN_OR_RETURN(Manifest manifest, repo->LoadSet(options.id));
  if (!HasSetTree(manifest)) return NoIndexError(*repo, manifest);
  GB_ASSIGN_OR_RETURN(std::vector<Manifest> chain, LoadChain(*repo, manifest.id));
  // A planted set must not write files either: the same trust as restore's, every set read.
  GB_RETURN_IF_ERROR(AcceptAll(config.encryption, chain));

  // Step: the destination, then the tree of the named paths into it.
  std::error_code error;
  const bool created = !fs::exists(options.to, error);
  GB_RETURN_IF_ERROR(PrepareDestination(options.to, config));
  SetTreeOptions tree_options;
  tree_options.destination = options.to;
  tree_options.paths = options.paths;
  Result<SetTree> tree = MaterialiseSetTree(*repo, chain, tree_options);
  if (!tree.ok()) {
    RemoveExtracted(options.to, created);
    return tree.status();
  }

  if (global.json) {
    PrintJson({{"id", manifest.id}, {"to", options.to}, {"entries", tree->entries},
               {"bytes", tree->file_bytes}, {"from_sets", tree->holders}});
  } else {
    std::cout << "extracted " << tree->entries << " entries (" << tree->file_bytes
              << " bytes) of set " << manifest.id << " into " << options.to << "\n";
  }
  return Status::Ok();
}

}  // namespace gb
