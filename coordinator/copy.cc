// `govern-backup copy --to NAME [ID ...]`: complete sets that repository NAME lacks, copied
// object by object (streamed: ranged reads from the source, an upload to the target), each
// object checked against the manifest (size and SHA-256 of the bytes that went through)
// before the target's manifest is written, last, as a backup writes it. A set goes with every
// set it builds on (chain.h), parents first, so that every set in the target can be restored;
// a set whose chain is incomplete in the source is not copied (the others are; exit 1). A set whose manifest
// the target holds is complete there and never copied again, so a rerun after a crash
// resumes at set granularity; a set a crash left half-copied is removed and copied anew.
//
// The target is locked (one writer per repository); the source is only read, like verify.
#include "coordinator/copy.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iostream>
#include <set>

#include "coordinator/chain.h"
#include "coordinator/commands.h"
#include "coordinator/json_output.h"
#include "coordinator/node_context.h"
#include "coordinator/operation_lock.h"
#include "coordinator/repository.h"
#include "io/sha256.h"
#include "store/object_stream.h"

namespace gb {
namespace {

// One object of a set, from source to target, checked against what the manifest records.
Status CopyObject(const Repository& from, const Repository& to, const std::string& id,
                  const std::string& file, uint64_t bytes, const std::string& sha256) {
  const std::string source_key = from.ObjectKey(id, file);
  const std::string target_key = to.ObjectKey(id, file);
  GB_ASSIGN_OR_RETURN(auto reader, ObjectReader::Open(from.store(), source_key));
  GB_ASSIGN_OR_RETURN(auto writer, ObjectWriter::Start(to.store(), target_key));
  HashingSink hashing(*writer);
  Result<uint64_t> copied = CopyStream(*reader, hashing);
  if (!copied.ok()) {
    writer->Abort(copied.status());
    return copied.status().WithContext("copying " + from.Locate(source_key));
  }
  const std::string digest = hashing.HexDigest();
  if (hashing.bytes() != bytes || digest != sha256) {
    Status damaged = Status::Failed(
        from.Locate(source_key) + " is not what its manifest records (" +
            std::to_string(hashing.bytes()) + " bytes, SHA-256 " + digest + "; the manifest: " +
            std::to_string(bytes) + " bytes, " + sha256 + "): not copied",
        "`govern-backup verify " + id + "` on the source repository");
    writer->Abort(damaged);
    return damaged;
  }
  GB_ASSIGN_OR_RETURN(ObjectInfo stored, writer->Commit());
  if (stored.size != bytes)
    return Status::Failed(to.Locate(target_key) + " holds " + std::to_string(stored.size) +
                          " bytes after the copy, not " + std::to_string(bytes));
  return Status::Ok();
}

// The manifest's own bytes, so that its checksum (and signature) stay what they were.
Status CopyManifest(const Repository& from, const Repository& to, const std::string& id) {
  StringSink text;
  GB_RETURN_IF_ERROR(from.store().Get(from.ManifestKey(id), 0, Store::kToEnd, text));
  GB_RETURN_IF_ERROR(Manifest::Parse(text.bytes(), from.Locate(from.ManifestKey(id))).status());
  StringSource source(text.bytes());
  return to.store().Put(to.ManifestKey(id), source).status();
}

Status CopySet(const Repository& from, const Repository& to, const Manifest& manifest, Env* env) {
  spdlog::info("copying set {} to {}", manifest.id, to.root());
  UnfinishedSet unfinished(to, manifest.id, env);
  GB_RETURN_IF_ERROR(CopyObject(from, to, manifest.id, manifest.datadir.file, manifest.datadir.bytes,
                                manifest.datadir.sha256));
  if (manifest.database)
    GB_RETURN_IF_ERROR(CopyObject(from, to, manifest.id, manifest.database->file,
                                  manifest.database->bytes, manifest.database->sha256));
  if (manifest.index)
    GB_RETURN_IF_ERROR(CopyObject(from, to, manifest.id, manifest.index->file,
                                  manifest.index->bytes, manifest.index->sha256));
  GB_RETURN_IF_ERROR(CopyManifest(from, to, manifest.id));
  unfinished.Committed();
  return Status::Ok();
}

// What to copy: each set after the sets it builds on (a set is useless in the target without
// its chain), and the sets whose chain is broken in the source, which are not copied.
struct CopyPlan {
  std::vector<Manifest> sets;
  std::vector<Status> broken;
};

// The ids given (each must be complete in the source) or every complete set, oldest first,
// each with its chain.
Result<CopyPlan> PlanCopy(const Repository& from, std::vector<std::string> ids) {
  std::vector<Manifest> complete;
  if (ids.empty()) {
    GB_ASSIGN_OR_RETURN(complete, from.CompleteSets());
    for (const Manifest& manifest : complete) ids.push_back(manifest.id);
  }
  std::sort(ids.begin(), ids.end());
  CopyPlan plan;
  std::set<std::string> taken;
  for (const std::string& id : ids) {
    Result<std::vector<Manifest>> chain =
        complete.empty() ? LoadChain(from, id) : ChainOf(complete, id);
    if (!chain.ok()) {
      plan.broken.push_back(chain.status().WithContext("set " + id + " is not copied"));
      continue;
    }
    for (Manifest& manifest : *chain)
      if (taken.insert(manifest.id).second) plan.sets.push_back(std::move(manifest));
  }
  return plan;
}

}  // namespace

Result<CopyOutcome> CopySets(const Repository& from, const Repository& to,
                             const std::vector<std::string>& ids, Env* env) {
  if (from.root() == to.root())
    return Status::Usage("copy: " + from.name() + " and " + to.name() + " are the same repository");
  GB_RETURN_IF_ERROR(to.EnsureExists(env));
  GB_ASSIGN_OR_RETURN(auto lock, OperationLock::Acquire(to, LockOperation::kCopy, env));
  GB_ASSIGN_OR_RETURN(CopyPlan plan, PlanCopy(from, ids));
  CopyOutcome outcome;
  for (const Manifest& manifest : plan.sets) {
    GB_ASSIGN_OR_RETURN(HeadResult there, to.store().Head(to.ManifestKey(manifest.id)));
    if (there.exists) {
      outcome.present.push_back(manifest.id);
      continue;
    }
    GB_RETURN_IF_ERROR(lock->Healthy());
    Status copied = CopySet(from, to, manifest, env);
    if (!copied.ok()) {
      outcome.failed = manifest.id;
      return copied.WithContext("copy of set " + manifest.id + " to " + to.name() + " (" +
                                to.root() + ") failed; the sets copied before it are complete");
    }
    outcome.copied.push_back(manifest.id);
  }
  if (!plan.broken.empty()) {
    for (size_t i = 1; i < plan.broken.size(); ++i)
      spdlog::error("{}", plan.broken[i].ToString());
    return plan.broken.front().WithContext(
        "copy to " + to.name() + ": " + std::to_string(plan.broken.size()) +
        " set(s) not copied (their chain is incomplete in " + from.root() + "); " +
        std::to_string(outcome.copied.size()) + " copied");
  }
  return outcome;
}

Status RunCopy(const GlobalOptions& global, const CopyOptions& options) {
  GB_ASSIGN_OR_RETURN(Config config, LoadConfig(global.config_path));
  GB_ASSIGN_OR_RETURN(auto from, OpenRepository(config, global.repo, global.wrap_store));
  GB_ASSIGN_OR_RETURN(auto to, OpenRepository(config, options.to, global.wrap_store));
  GB_ASSIGN_OR_RETURN(CopyOutcome outcome, CopySets(*from, *to, options.ids, global.env));
  if (global.json) {
    PrintJson({{"command", "copy"}, {"from", from->root()}, {"to", to->root()},
               {"copied", outcome.copied}, {"already_there", outcome.present}});
  } else {
    for (const std::string& id : outcome.copied) std::cout << "copied " << id << "\n";
    std::cout << "copy to " << to->name() << ": " << outcome.copied.size() << " set(s) copied, "
              << outcome.present.size() << " already there\n";
  }
  return Status::Ok();
}

}  // namespace gb
