// `govern-backup ls ID [PATH]`: the files of a set as a restore would make them, under PATH
// (a file or a folder; default: all), from the set's per-file index alone: the data-dir half
// is not read. Text like `ls -l`, or --json: one array of entries, printed as the index is
// read (a large set is never held in memory).
#include <cstdio>
#include <ctime>
#include <iostream>

#include <nlohmann/json.hpp>

#include "coordinator/commands.h"
#include "coordinator/manifest_signature.h"
#include "coordinator/node_context.h"
#include "coordinator/set_index.h"

namespace gb {
namespace {

char TypeLetter(const std::string& type) {
  if (type == "dir") return 'd';
  if (type == "symlink") return 'l';
  if (type == "fifo") return 'p';
  if (type == "char") return 'c';
  if (type == "block") return 'b';
  return '-';  // file, hardlink
}

// "drwsr-x--T", as ls -l.
std::string ModeText(const FileIndexEntry& entry) {
  std::string text(10, '-');
  text[0] = TypeLetter(entry.type);
  const char* letters = "rwxrwxrwx";
  for (int bit = 0; bit < 9; ++bit)
    if (entry.mode & (0400u >> bit)) text[1 + bit] = letters[bit];
  auto special = [&](uint32_t flag, int at, char with_x, char without_x) {
    if (entry.mode & flag) text[at] = text[at] == '-' ? without_x : with_x;
  };
  special(04000, 3, 's', 'S');
  special(02000, 6, 's', 'S');
  special(01000, 9, 't', 'T');
  return text;
}

std::string MtimeText(int64_t mtime_ns) {
  const time_t seconds = static_cast<time_t>(mtime_ns / 1000000000);
  struct tm utc;
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &utc);
  return text;
}

std::string OwnerText(const FileIndexEntry& entry) {
  return (entry.user.empty() ? std::to_string(entry.uid) : entry.user) + "/" +
         (entry.group.empty() ? std::to_string(entry.gid) : entry.group);
}

void PrintLine(const FileIndexEntry& entry) {
  std::string line = ModeText(entry) + "  " + OwnerText(entry);
  char size[32];
  std::snprintf(size, sizeof size, "  %12llu  ", static_cast<unsigned long long>(entry.size));
  line += size + MtimeText(entry.mtime_ns) + "  " + entry.path;
  if (entry.type == "symlink") line += " -> " + entry.link_target;
  if (entry.type == "hardlink") line += " link to " + entry.link_target;
  std::cout << line << '\n';
}

// One JSON array, an entry per line, written while the index streams in. File names are
// bytes: invalid UTF-8 becomes U+FFFD, as in every --json document (json_output.h).
class JsonArrayPrinter {
 public:
  void Print(const FileIndexEntry& entry) {
    std::cout << (first_ ? "[\n" : ",\n")
              << entry.ToJson().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    first_ = false;
  }
  void Close() { std::cout << (first_ ? "[]\n" : "\n]\n"); }

 private:
  bool first_ = true;
};

}  // namespace

Status RunLs(const GlobalOptions& global, const LsOptions& options) {
  GB_ASSIGN_OR_RETURN(Config config, LoadConfig(global.config_path));
  GB_ASSIGN_OR_RETURN(auto repo, OpenRepository(config, global.repo, global.wrap_store));
  GB_ASSIGN_OR_RETURN(Manifest manifest, repo->LoadSet(options.id));
  if (!manifest.index) return NoIndexError(*repo, manifest);
  GB_RETURN_IF_ERROR(AcceptAll(config.encryption, {manifest}));
  std::vector<std::string> paths;
  if (!options.path.empty()) paths.push_back(options.path);
  JsonArrayPrinter json;
  Status listed = ForEachSelectedEntry(*repo, manifest, paths, [&](const FileIndexEntry& entry) {
    if (global.json) json.Print(entry);
    else PrintLine(entry);
    return Status::Ok();
  });
  // A path not in the set is known only once the index is read: the array printed so far
  // is empty then, and is closed so that stdout stays one JSON document.
  if (global.json) json.Close();
  std::cout.flush();
  return listed;
}

}  // namespace gb
