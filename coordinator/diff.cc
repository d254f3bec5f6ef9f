// `govern-backup diff ID1 ID2`: what changed from set ID1 to set ID2: files added, removed
// and changed (set_diff.h: from the two per-file indexes, streamed and merged), and tables
// whose row count or content hash differ (from the manifests). The halves are not read.
// Text like `git diff --name-status`, or --json: one document whose "files" array is printed
// as the indexes are merged (a large set is never held in memory). Differences are the
// answer, not a failure: exit 0. What cannot be compared (a 0.1.0 set has no index and no
// table hashes) is said in the output; only when nothing at all can be compared is it an
// error (exit 1).
#include <iostream>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "coordinator/commands.h"
#include "coordinator/node_context.h"
#include "coordinator/set_diff.h"
#include "coordinator/set_index.h"
#include "io/text.h"

namespace gb {
namespace {

std::string Dump(const nlohmann::json& json) {
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

char KindLetter(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::kAdded: return 'A';
    case ChangeKind::kRemoved: return 'D';
    case ChangeKind::kChanged: return 'M';
  }
  return 'M';
}

// What a restore makes of a file, as diff compares it.
nlohmann::json FileJson(const FileIndexEntry& entry) {
  nlohmann::json json{{"type", entry.type}, {"size", entry.size}, {"mode", entry.mode},
                      {"uid", entry.uid},   {"gid", entry.gid}};
  if (!entry.sha256.empty()) json["sha256"] = entry.sha256;
  if (!entry.link_target.empty()) json["link"] = entry.link_target;
  return json;
}

nlohmann::json FileChangeJson(const FileChange& change) {
  nlohmann::json json{{"path", change.path}, {"change", ToString(change.kind)}};
  if (change.kind == ChangeKind::kChanged) json["fields"] = change.fields;
  if (change.from) json["from"] = FileJson(*change.from);
  if (change.to) json["to"] = FileJson(*change.to);
  return json;
}

std::string FileChangeText(const FileChange& change) {
  std::string line = std::string(1, KindLetter(change.kind)) + "  " + change.path;
  if (change.kind != ChangeKind::kChanged) return line;
  std::vector<std::string> details;
  for (const std::string& field : change.fields) {
    if (field == "type") details.push_back("type " + change.from->type + " -> " + change.to->type);
    else if (field == "size")
      details.push_back("size " + std::to_string(change.from->size) + " -> " +
                        std::to_string(change.to->size));
    else details.push_back(field);
  }
  return line + "  (" + Join(details, ", ") + ")";
}

nlohmann::json TableChangeJson(const TableChange& change) {
  nlohmann::json json{{"table", change.table}, {"change", ToString(change.kind)}};
  if (change.kind == ChangeKind::kChanged) json["fields"] = change.fields;
  auto side = [](const std::optional<uint64_t>& rows, const std::string& hash) {
    nlohmann::json one{{"rows", *rows}};
    if (!hash.empty()) one["hash"] = hash;
    return one;
  };
  if (change.from_rows) json["from"] = side(change.from_rows, change.from_hash);
  if (change.to_rows) json["to"] = side(change.to_rows, change.to_hash);
  return json;
}

std::string TableChangeText(const TableChange& change) {
  std::string line = std::string(1, KindLetter(change.kind)) + "  " + change.table + "  (";
  if (change.kind == ChangeKind::kAdded) return line + std::to_string(*change.to_rows) + " rows)";
  if (change.kind == ChangeKind::kRemoved)
    return line + std::to_string(*change.from_rows) + " rows)";
  std::vector<std::string> details;
  for (const std::string& field : change.fields) {
    if (field == "rows")
      details.push_back("rows " + std::to_string(*change.from_rows) + " -> " +
                        std::to_string(*change.to_rows));
    else details.push_back(field);
  }
  return line + Join(details, ", ") + ")";
}

nlohmann::json CountsJson(const ChangeCounts& counts) {
  return {{"added", counts.added},
          {"removed", counts.removed},
          {"changed", counts.changed},
          {"unchanged", counts.unchanged}};
}

std::string CountsText(const ChangeCounts& counts, const std::string& noun) {
  return std::to_string(counts.added) + " " + noun + (counts.added == 1 ? "" : "s") +
         " added, " + std::to_string(counts.removed) + " removed, " +
         std::to_string(counts.changed) + " changed (" + std::to_string(counts.unchanged) +
         " unchanged)";
}

// What the two sets allow comparing, decided before anything is printed.
struct DiffPlan {
  bool files = true;
  std::optional<TableDiff> tables;
  std::vector<std::string> not_compared;  // why, for each part that is not
};

Result<DiffPlan> Plan(const Repository& repo, const Manifest& from, const Manifest& to) {
  DiffPlan plan;
  for (const Manifest* set : {&from, &to}) {
    if (set->index || !plan.files) continue;
    plan.files = false;
    plan.not_compared.push_back("files: " + NoIndexError(repo, *set).message());
  }
  Result<TableDiff> tables = DiffTables(from, to);
  if (tables.ok()) {
    if (!tables->contents_compared) plan.not_compared.push_back("table contents: " + tables->note);
    plan.tables = std::move(tables).value();
  } else {
    plan.not_compared.push_back("tables: " + tables.status().message());
  }
  if (!plan.files && !plan.tables)
    return Status::Failed("sets " + from.id + " and " + to.id + " cannot be compared: " +
                              Join(plan.not_compared, "; "),
                          "restore both elsewhere (`govern-backup restore ID --data-dir DIR "
                          "--dbname NAME`) and compare the copies");
  return plan;
}

}  // namespace

Status RunDiff(const GlobalOptions& global, const DiffOptions& options) {
  GB_ASSIGN_OR_RETURN(Config config, LoadConfig(global.config_path));
  GB_ASSIGN_OR_RETURN(auto repo, OpenRepository(config, global.repo, global.wrap_store));
  GB_ASSIGN_OR_RETURN(Manifest from, repo->LoadSet(options.from));
  GB_ASSIGN_OR_RETURN(Manifest to, repo->LoadSet(options.to));
  GB_ASSIGN_OR_RETURN(DiffPlan plan, Plan(*repo, from, to));
  const bool json = global.json;
  // The text output says it in its own words; a JSON reader may not look at every key.
  if (json)
    for (const std::string& why : plan.not_compared) spdlog::warn("not compared: {}", why);

  // The files, printed while the two indexes are merged.
  std::cout << (json ? "{" + Dump("from") + ":" + Dump(from.id) + "," + Dump("to") + ":" +
                           Dump(to.id) + "," + Dump("files") + ":"
                     : "Files, " + from.id + " -> " + to.id + ":\n");
  bool first = true;
  Result<ChangeCounts> files = ChangeCounts{};
  if (plan.files) {
    files = DiffFiles(*repo, from, to, [&](const FileChange& change) {
      if (json) std::cout << (first ? "[\n" : ",\n") << Dump(FileChangeJson(change));
      else std::cout << FileChangeText(change) << '\n';
      first = false;
      return Status::Ok();
    });
    if (json) std::cout << (first ? "[]" : "\n]");
  } else if (json) {
    std::cout << "null";
  } else {
    std::cout << "  not compared\n";
  }
  if (!files.ok()) {
    // The document printed so far is closed, so that stdout stays one JSON document.
    if (json) std::cout << "}\n";
    std::cout.flush();
    return files.status();
  }

  // The tables and the summary.
  nlohmann::json rest{{"not_compared", plan.not_compared}};
  nlohmann::json summary;
  if (plan.files) summary["files"] = CountsJson(*files);
  if (plan.tables) {
    rest["tables"] = nlohmann::json::array();
    for (const TableChange& change : plan.tables->changes)
      rest["tables"].push_back(TableChangeJson(change));
    summary["tables"] = CountsJson(plan.tables->counts);
  } else {
    rest["tables"] = nullptr;
  }
  rest["summary"] = summary;
  if (json) {
    const std::string tail = Dump(rest);  // "{...}": its members follow ours
    std::cout << "," << tail.substr(1) << "\n";
  } else {
    std::cout << "Tables:\n";
    if (!plan.tables) std::cout << "  not compared\n";
    else
      for (const TableChange& change : plan.tables->changes)
        std::cout << TableChangeText(change) << '\n';
    for (const std::string& why : plan.not_compared) std::cout << "not compared: " << why << '\n';
    std::vector<std::string> totals;
    if (plan.files) totals.push_back(CountsText(*files, "file"));
    if (plan.tables) totals.push_back(CountsText(plan.tables->counts, "table"));
    std::cout << Join(totals, "; ") << '\n';
  }
  std::cout.flush();
  return Status::Ok();
}

}  // namespace gb
