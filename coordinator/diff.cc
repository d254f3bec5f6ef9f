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
#include "coordinator/manifest_signature.h"
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

std::string RowsText(uint64_t rows) {
  return std::to_string(rows) + (rows == 1 ? " row" : " rows");
}

std::string TableChangeText(const TableChange& change) {
  std::string line = std::string(1, KindLetter(change.kind)) + "  " + change.table + "  (";
  if (change.kind == ChangeKind::kAdded) return line + RowsText(*change.to_rows) + ")";
  if (change.kind == ChangeKind::kRemoved) return line + RowsText(*change.from_rows) + ")";
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

// Prints the diff as it is found: the files while the indexes are merged, then the tables
// and the totals. With --json, one document whose "files" array streams.
class DiffPrinter {
 public:
  DiffPrinter(bool json, const DiffPlan& plan) : json_(json), plan_(plan) {}

  void BeginFiles(const std::string& from, const std::string& to) {
    if (json_)
      std::cout << "{" << Dump("from") << ":" << Dump(from) << "," << Dump("to") << ":"
                << Dump(to) << "," << Dump("files") << ":" << (plan_.files ? "[" : "null");
    else
      std::cout << "Files, " << from << " -> " << to << ":\n"
                << (plan_.files ? "" : "  not compared\n");
  }
  void File(const FileChange& change) {
    if (json_) std::cout << (first_file_ ? "\n" : ",\n") << Dump(FileChangeJson(change));
    else std::cout << FileChangeText(change) << '\n';
    first_file_ = false;
  }
  void EndFiles() {
    if (json_ && plan_.files) std::cout << (first_file_ ? "]" : "\n]");
  }
  // After a failed merge: what was printed stays one JSON document.
  void Abandon() {
    if (json_) std::cout << "}\n";
    std::cout.flush();
  }

  void TablesAndTotals(const std::optional<ChangeCounts>& files) {
    if (json_) PrintJsonTail(files);
    else PrintTextTail(files);
    std::cout.flush();
  }

 private:
  void PrintJsonTail(const std::optional<ChangeCounts>& files) {
    nlohmann::json rest{{"not_compared", plan_.not_compared}, {"tables", nullptr}};
    nlohmann::json summary = nlohmann::json::object();
    if (files) summary["files"] = CountsJson(*files);
    if (plan_.tables) {
      rest["tables"] = nlohmann::json::array();
      for (const TableChange& change : plan_.tables->changes)
        rest["tables"].push_back(TableChangeJson(change));
      summary["tables"] = CountsJson(plan_.tables->counts);
    }
    rest["summary"] = summary;
    std::cout << "," << Dump(rest).substr(1) << "\n";  // its members follow ours
  }

  void PrintTextTail(const std::optional<ChangeCounts>& files) {
    std::cout << "Tables:\n";
    if (!plan_.tables) std::cout << "  not compared\n";
    else
      for (const TableChange& change : plan_.tables->changes)
        std::cout << TableChangeText(change) << '\n';
    for (const std::string& why : plan_.not_compared) std::cout << "not compared: " << why << '\n';
    std::vector<std::string> totals;
    if (files) totals.push_back(CountsText(*files, "file"));
    if (plan_.tables) totals.push_back(CountsText(plan_.tables->counts, "table"));
    std::cout << Join(totals, "; ") << '\n';
  }

  bool json_;
  const DiffPlan& plan_;
  bool first_file_ = true;
};

}  // namespace

Status RunDiff(const GlobalOptions& global, const DiffOptions& options) {
  GB_ASSIGN_OR_RETURN(Config config, LoadConfig(global.config_path));
  GB_ASSIGN_OR_RETURN(auto repo, OpenRepository(config, global.repo, global.wrap_store));
  GB_ASSIGN_OR_RETURN(Manifest from, repo->LoadSet(options.from));
  GB_ASSIGN_OR_RETURN(Manifest to, repo->LoadSet(options.to));
  GB_RETURN_IF_ERROR(AcceptAll(config.encryption, {from, to}));
  GB_ASSIGN_OR_RETURN(DiffPlan plan, Plan(*repo, from, to));
  // The text output says it in its own words; a JSON reader may not look at every key.
  if (global.json)
    for (const std::string& why : plan.not_compared) spdlog::warn("not compared: {}", why);

  DiffPrinter printer(global.json, plan);
  printer.BeginFiles(from.id, to.id);
  std::optional<ChangeCounts> files;
  if (plan.files) {
    Result<ChangeCounts> merged = DiffFiles(*repo, from, to, [&](const FileChange& change) {
      printer.File(change);
      return Status::Ok();
    });
    printer.EndFiles();
    if (!merged.ok()) {
      printer.Abandon();
      return merged.status();
    }
    files = *merged;
  }
  printer.TablesAndTotals(files);
  return Status::Ok();
}

}  // namespace gb
