// `govern-backup list` and `govern-backup show ID`.
#include <cstdio>
#include <iostream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "coordinator/commands.h"
#include "coordinator/json_output.h"
#include "coordinator/manifest_signature.h"
#include "coordinator/node_context.h"
#include "coordinator/open_repository.h"
#include "io/text.h"

namespace gb {
namespace {

// A quick status from what is on disk (no hashing): verify does the real checks.
std::string QuickStatus(const SetEntry& set) {
  if (!set.has_manifest) return "incomplete";
  if (!set.manifest.ok()) return "damaged manifest";
  const Manifest& manifest = *set.manifest;
  auto size_of = [&](const std::string& file) -> long long {
    for (const ObjectInfo& object : set.objects)
      if (object.key.size() > file.size() &&
          object.key.compare(object.key.size() - file.size() - 1, std::string::npos, "/" + file) == 0)
        return static_cast<long long>(object.size);
    return -1;
  };
  long long datadir = size_of(manifest.datadir.file);
  if (datadir < 0) return "data-dir half missing";
  if (static_cast<uint64_t>(datadir) != manifest.datadir.bytes) return "data-dir half size differs";
  if (manifest.database) {
    long long database = size_of(manifest.database->file);
    if (database < 0) return "database half missing";
    if (static_cast<uint64_t>(database) != manifest.database->bytes) return "database half size differs";
  }
  if (manifest.index) {
    long long index = size_of(manifest.index->file);
    if (index < 0) return "index missing";
    if (static_cast<uint64_t>(index) != manifest.index->bytes) return "index size differs";
  }
  return "complete";
}

// Per set id, the other repositories that hold it complete ("name"), or "name?" when that
// repository could not be listed (a warning says why): where each set exists.
using Copies = std::map<std::string, std::vector<std::string>>;
Copies FindCopies(const Config& config, const Repository& listed, const std::vector<SetEntry>& sets,
                  const StoreWrapper& wrap) {
  std::vector<const RepositoryConfig*> others;
  if (listed.name() != RepositoryConfig::kMainName) others.push_back(&config.repository);
  for (const auto& [name, settings] : config.repositories)
    if (name != listed.name()) others.push_back(&settings);
  Copies copies;
  for (const RepositoryConfig* other : others) {
    Result<std::unique_ptr<Repository>> opened = OpenRepository(*other, wrap);
    Result<std::vector<std::string>> ids =
        opened.ok() ? (*opened)->CompleteSetIds() : Result<std::vector<std::string>>(opened.status());
    if (!ids.ok()) {
      spdlog::warn("cannot tell which sets repository {} holds: {}", other->name,
                   ids.status().message());
      for (const SetEntry& set : sets) copies[set.id].push_back(other->name + "?");
      continue;
    }
    std::set<std::string> there(ids->begin(), ids->end());
    for (const SetEntry& set : sets)
      if (there.count(set.id)) copies[set.id].push_back(other->name);
  }
  return copies;
}

nlohmann::json ListJson(const Repository& repo, const std::vector<SetEntry>& sets,
                        Copies& copies) {
  nlohmann::json listed = nlohmann::json::array();
  for (const auto& set : sets) {
    nlohmann::json item = {{"id", set.id}, {"status", QuickStatus(set)},
                           {"also_in", copies[set.id]}};
    if (set.has_manifest && set.manifest.ok()) {
      const Manifest& m = *set.manifest;
      item["created_at"] = FormatRfc3339(m.created_at);
      item["consistency"] = ToString(m.consistency);
      item["type"] = ToString(m.type);
      item["parent"] = m.parent;
      item["dss_version"] = m.node.dss_version;
      item["datadir_bytes"] = m.datadir.bytes;
      item["database_bytes"] = m.database ? m.database->bytes : 0;
      item["downtime_seconds"] = m.window.downtime_seconds;
      item["note"] = m.note;
      item.update(SignatureJson(m));
    }
    listed.push_back(std::move(item));
  }
  return {{"repository", repo.root()}, {"sets", std::move(listed)}};
}

}  // namespace

Status RunList(const GlobalOptions& global) {
  GB_ASSIGN_OR_RETURN(Config config, LoadConfig(global.config_path));
  GB_ASSIGN_OR_RETURN(auto repo, OpenRepository(config, global.repo, global.wrap_store));
  GB_ASSIGN_OR_RETURN(auto all_sets, repo->ListSets());
  // Work in progress, or what an interrupted backup left, is never listed: audit reports it.
  std::vector<SetEntry> sets;
  for (auto& set : all_sets)
    if (set.has_manifest) sets.push_back(std::move(set));
  if (sets.size() < all_sets.size())
    spdlog::info("{} set(s) without a manifest (in progress, or left by an interrupted backup) "
                 "not listed: `govern-backup audit` reports them",
                 all_sets.size() - sets.size());

  Copies copies = FindCopies(config, *repo, sets, global.wrap_store);
  if (global.json) {
    PrintJson(ListJson(*repo, sets, copies));
    return Status::Ok();
  }

  if (sets.empty()) {
    std::cout << "no backup sets in " << repo->root() << "\n";
    return Status::Ok();
  }
  // TYPE: "full", or "incr" for a set that builds on the one its --json "parent" names.
  // SIGNED BY: the start of the key its manifest names (--json "signed_by" has all of it);
  // verify checks it.
  std::printf("%-24s  %-20s  %-4s  %-11s  %-8s  %10s  %10s  %-22s  %-12s  %-19s  %s\n", "ID",
              "CREATED", "TYPE", "CONSISTENCY", "DSS", "DATA DIR", "DATABASE", "STATUS", "ALSO IN",
              "SIGNED BY", "NOTE");
  for (const auto& set : sets) {
    const std::string also_in = copies[set.id].empty() ? "-" : Join(copies[set.id], ",");
    if (set.manifest.ok()) {
      const Manifest& m = *set.manifest;
      const std::string signer = m.signature ? m.signature->public_key.substr(0, 16) + "..." : "-";
      std::printf("%-24s  %-20s  %-4s  %-11s  %-8s  %10s  %10s  %-22s  %-12s  %-19s  %s\n",
                  set.id.c_str(), FormatRfc3339(m.created_at).c_str(),
                  m.type == SetType::kIncremental ? "incr" : "full", ToString(m.consistency),
                  m.node.dss_version.c_str(), FormatBytes(m.datadir.bytes).c_str(),
                  m.database ? FormatBytes(m.database->bytes).c_str() : "-",
                  QuickStatus(set).c_str(), also_in.c_str(), signer.c_str(), m.note.c_str());
    } else {
      std::printf("%-24s  %-20s  %-4s  %-11s  %-8s  %10s  %10s  %-22s  %-12s  %-19s\n",
                  set.id.c_str(), "-", "-", "-", "-", "-", "-", QuickStatus(set).c_str(),
                  also_in.c_str(), "-");
    }
  }
  std::fflush(stdout);
  return Status::Ok();
}

Status RunShow(const GlobalOptions& global, const std::string& id) {
  GB_ASSIGN_OR_RETURN(Config config, LoadConfig(global.config_path));
  GB_ASSIGN_OR_RETURN(auto repo, OpenRepository(config, global.repo, global.wrap_store));
  GB_ASSIGN_OR_RETURN(Manifest manifest, repo->LoadSet(id));
  if (global.json) {
    nlohmann::json document = manifest.ToJson();
    document.update(SignatureJson(manifest));
    PrintJson(document);
  } else {
    std::cout << manifest.ToText();
  }
  return Status::Ok();
}

}  // namespace gb
