// ParseConfig / LoadConfigFile: the TOML file of CONTRACT.md read into a validated Config.
//
// Every problem is a Code::kUsage error naming the dotted key and its line. All problems
// are collected and the earliest in the file is reported (a password key before anything),
// so that the admin fixes the file from top to bottom whatever order toml++ iterates its
// (sorted) tables in.
#include "config/config.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <toml++/toml.h>

#include "io/files.h"
#include "io/text.h"

namespace gb {
namespace {

constexpr const char* kDefaultConfigPath = "/etc/govern-backup/config.toml";
constexpr const char* kConfigEnvVar = "GOVERN_BACKUP_CONFIG";
// zstd refuses more workers than this on 64-bit builds (ZSTDMT_NBWORKERS_MAX).
constexpr std::int64_t kMaxThreads = 200;

// The sections and their keys, as in CONTRACT.md.
const std::map<std::string, std::vector<std::string>>& Schema() {
  static const auto* schema = new std::map<std::string, std::vector<std::string>>{
      {"node", {"data_dir", "dss_command", "dss_user"}},
      {"database", {"host", "port", "dbname", "user", "password_file", "pg_bin_dir"}},
      {"repository", {"path"}},
      {"backup", {"mode", "exclude", "compression_level", "threads"}},
      {"snapshot", {"create", "path", "destroy"}},
      {"retention", {"keep_last", "keep_daily", "keep_weekly", "keep_monthly", "keep_within"}},
  };
  return *schema;
}

std::size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string LeafName(const std::string& dotted) {
  const auto dot = dotted.rfind('.');
  return dot == std::string::npos ? dotted : dotted.substr(dot + 1);
}

// "did you mean X?" for a misspelt key or table, or for a known key in the wrong table.
std::string SuggestionFor(const std::string& unknown) {
  std::vector<std::string> candidates;
  for (const auto& [section, keys] : Schema()) {
    candidates.push_back(section);
    for (const auto& key : keys) candidates.push_back(section + "." + key);
  }
  std::string best;
  std::size_t best_distance = 3;
  for (const auto& candidate : candidates) {
    const std::size_t distance = EditDistance(unknown, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  if (best.empty()) {
    const std::string leaf = LeafName(unknown);
    for (const auto& candidate : candidates) {
      if (candidate.find('.') != std::string::npos && LeafName(candidate) == leaf) best = candidate;
    }
  }
  return best.empty() ? std::string() : "did you mean " + best + "?";
}

std::string TypeName(toml::node_type type) {
  switch (type) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a floating-point number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

bool IsPasswordKey(std::string_view name) { return AsciiLowercase(name) == "password"; }

// Is `inner` equal to or below `outer`, judged on the text of the paths alone?
bool PathIsWithin(const std::string& inner, const std::string& outer) {
  namespace fs = std::filesystem;
  const fs::path in = fs::path(inner).lexically_normal();
  const fs::path out = fs::path(outer).lexically_normal();
  auto in_it = in.begin();
  for (auto out_it = out.begin(); out_it != out.end(); ++out_it) {
    if (out_it->empty()) continue;  // the trailing "" of "/a/b/"
    if (in_it == in.end() || *in_it != *out_it) return false;
    ++in_it;
  }
  return true;
}

class ConfigReader {
 public:
  ConfigReader(const toml::table& root, std::string source)
      : root_(root), source_(std::move(source)) {}

  Result<Config> Read() {
    Config config;
    config.source = source_;
    FindPasswords(root_, "");
    CheckStructure();
    ReadNode(&config.node);
    ReadDatabase(&config.database);
    ReadRepository(&config.repository);
    ReadBackup(&config.backup);
    ReadSnapshot(&config.snapshot);
    ReadRetention(&config.retention);
    // Rules across keys only make sense once every key on its own is right.
    if (problems_.empty()) CheckAcrossKeys(config);
    if (!problems_.empty()) return EarliestProblem();
    return config;
  }

 private:
  struct Problem {
    bool password;       // reported first: the file holds a secret it must not hold
    std::uint32_t line;  // 0: the file as a whole (a missing key)
    Status status;
  };

  // A key of the schema found in the file.
  struct Entry {
    const toml::node* node;
    std::uint32_t line;
    std::string dotted;
  };

  void Report(std::uint32_t line, const std::string& message, std::string hint = {},
              bool password = false) {
    const std::string where =
        line > 0 ? source_ + ":" + std::to_string(line) + ": " : source_ + ": ";
    problems_.push_back({password, line, Status::Usage(where + message, std::move(hint))});
  }

  Status EarliestProblem() const {
    // A password first; problems without a line (missing keys) after those a line points at.
    const auto rank = [](const Problem& p) {
      return std::make_pair(!p.password, p.line == 0 ? UINT32_MAX : p.line);
    };
    const auto earliest = std::min_element(
        problems_.begin(), problems_.end(),
        [&](const Problem& a, const Problem& b) { return rank(a) < rank(b); });
    return earliest->status;
  }

  static std::uint32_t LineOf(const toml::key& key, const toml::node& node) {
    return key.source().begin.line > 0 ? key.source().begin.line : node.source().begin.line;
  }

  // A key named "password" is refused anywhere, and its value never repeated.
  void FindPasswords(const toml::node& node, const std::string& prefix) {
    if (const toml::table* table = node.as_table()) {
      for (auto&& [key, child] : *table) {
        const std::string name(key.str());
        const std::string dotted = prefix.empty() ? name : prefix + "." + name;
        if (IsPasswordKey(key.str())) {
          Report(LineOf(key, child),
                 dotted + ": the configuration may not hold a password",
                 "put it in a libpq password file (host:port:dbname:user:password, mode 0600) "
                 "and set database.password_file to its absolute path",
                 /*password=*/true);
          continue;
        }
        FindPasswords(child, dotted);
      }
    } else if (const toml::array* array = node.as_array()) {
      for (const toml::node& element : *array) FindPasswords(element, prefix);
    }
  }

  void ReportUnknown(const toml::key& key, const toml::node& node, const std::string& dotted) {
    if (IsPasswordKey(key.str())) return;  // already reported, with a better hint
    Report(LineOf(key, node),
           node.is_table() ? "unknown table [" + dotted + "]" : "unknown key " + dotted,
           SuggestionFor(dotted));
  }

  void CheckStructure() {
    for (auto&& [key, node] : root_) {
      const std::string section(key.str());
      const auto known = Schema().find(section);
      if (known == Schema().end()) {
        ReportUnknown(key, node, section);
        continue;
      }
      const toml::table* table = node.as_table();
      if (table == nullptr) {
        Report(LineOf(key, node), section + ": expected a table, got " + TypeName(node.type()));
        continue;
      }
      for (auto&& [child_key, child] : *table) {
        const std::string name(child_key.str());
        if (std::find(known->second.begin(), known->second.end(), name) == known->second.end()) {
          ReportUnknown(child_key, child, section + "." + name);
        }
      }
    }
  }

  std::optional<Entry> Find(const std::string& section, const std::string& name) const {
    const toml::table* table = root_[section].as_table();
    if (table == nullptr) return std::nullopt;
    const auto it = table->find(name);
    if (it == table->end()) return std::nullopt;
    return Entry{&it->second, LineOf(it->first, it->second), section + "." + name};
  }

  void WrongType(const Entry& entry, const std::string& expected) {
    Report(entry.line,
           entry.dotted + ": expected " + expected + ", got " + TypeName(entry.node->type()));
  }

  std::optional<std::string> String(const std::string& section, const std::string& name) {
    const auto entry = Find(section, name);
    if (!entry) return std::nullopt;
    const auto* value = entry->node->as_string();
    if (value == nullptr) {
      WrongType(*entry, "a string");
      return std::nullopt;
    }
    lines_[entry->dotted] = entry->line;
    return value->get();
  }

  // A path that must be absolute when given ("" means not set).
  std::optional<std::string> AbsolutePath(const std::string& section, const std::string& name) {
    auto value = String(section, name);
    if (value && !value->empty() && value->front() != '/') {
      Report(lines_[section + "." + name],
             section + "." + name + ": '" + *value + "' is not an absolute path",
             "write the full path from /; relative paths and ~ are not expanded");
      return std::nullopt;
    }
    return value;
  }

  void RequiredPath(const std::string& section, const std::string& name, std::string* out) {
    const bool present = Find(section, name).has_value();
    auto value = AbsolutePath(section, name);
    if (value && !value->empty()) {
      *out = *value;
    } else if (!present || value) {  // absent, or present but ""
      Report(present ? lines_[section + "." + name] : 0,
             "missing key " + section + "." + name + " (required)");
    }
  }

  // A string that, when given, must not be empty: empty would not mean "the default".
  void NonEmptyString(const std::string& section, const std::string& name,
                      std::optional<std::string>* out) {
    auto value = String(section, name);
    if (!value) return;
    if (value->empty()) {
      Report(lines_[section + "." + name], section + "." + name + ": must not be empty",
             "remove the key to use the default");
      return;
    }
    *out = std::move(value);
  }

  std::optional<std::int64_t> Integer(const std::string& section, const std::string& name,
                                      std::int64_t min, std::int64_t max,
                                      const std::string& hint = {}) {
    const auto entry = Find(section, name);
    if (!entry) return std::nullopt;
    const auto* value = entry->node->as_integer();
    if (value == nullptr) {
      WrongType(*entry, "an integer");
      return std::nullopt;
    }
    if (value->get() < min || value->get() > max) {
      const std::string range = max == INT_MAX ? ">= " + std::to_string(min)
                                               : std::to_string(min) + ".." + std::to_string(max);
      const std::string number = std::to_string(value->get());
      Report(entry->line, entry->dotted + ": " + number + " is out of range (" + range + ")", hint);
      return std::nullopt;
    }
    return value->get();
  }

  void ReadInt(const std::string& section, const std::string& name, std::int64_t min,
               std::int64_t max, int* out, const std::string& hint = {}) {
    if (auto value = Integer(section, name, min, max, hint)) *out = static_cast<int>(*value);
  }

  void ReadNode(NodeConfig* node) {
    RequiredPath("node", "data_dir", &node->data_dir);
    if (auto value = AbsolutePath("node", "dss_command")) node->dss_command = *value;
    if (auto value = String("node", "dss_user")) {
      if (*value == "root") {
        Report(lines_["node.dss_user"], "node.dss_user: bin/dss refuses to run as root",
               "name the unprivileged user that owns the data dir, or leave it empty to use "
               "the owner of node.data_dir");
      } else {
        node->dss_user = *value;
      }
    }
  }

  void ReadDatabase(DatabaseConfig* database) {
    NonEmptyString("database", "host", &database->host);
    if (auto port = Integer("database", "port", 1, 65535)) database->port = static_cast<int>(*port);
    NonEmptyString("database", "dbname", &database->dbname);
    NonEmptyString("database", "user", &database->user);
    if (auto value = AbsolutePath("database", "password_file")) database->password_file = *value;
    if (auto value = AbsolutePath("database", "pg_bin_dir")) database->pg_bin_dir = *value;
  }

  void ReadRepository(RepositoryConfig* repository) {
    RequiredPath("repository", "path", &repository->path);
  }

  void ReadExclude(std::vector<std::string>* exclude) {
    const auto entry = Find("backup", "exclude");
    if (!entry) return;
    const toml::array* array = entry->node->as_array();
    if (array == nullptr) {
      WrongType(*entry, "an array of strings");
      return;
    }
    std::vector<std::string> names;
    bool valid = true;
    for (std::size_t i = 0; i < array->size(); ++i) {
      const toml::node& element = *array->get(i);
      const std::string dotted = entry->dotted + "[" + std::to_string(i) + "]";
      const std::uint32_t line =
          element.source().begin.line > 0 ? element.source().begin.line : entry->line;
      const auto* name = element.as_string();
      if (name == nullptr) {
        Report(line, dotted + ": expected a string, got " + TypeName(element.type()));
        valid = false;
        continue;
      }
      const std::string& text = name->get();
      if (text.empty() || text == "." || text == ".." || text.find('/') != std::string::npos) {
        Report(line, dotted + ": '" + text + "' is not a folder name",
               "exclude names top-level folders of the data dir, e.g. \"tmp\" or \"caches\"");
        valid = false;
        continue;
      }
      names.push_back(text);
    }
    if (valid) *exclude = std::move(names);
  }

  void ReadBackup(BackupConfig* backup) {
    if (auto mode = String("backup", "mode")) {
      if (*mode == "offline" || *mode == "online") {
        backup->mode = *mode;
      } else {
        Report(lines_["backup.mode"], "backup.mode: '" + *mode + "' is neither offline nor online",
               "offline stops DSS for the capture; online keeps it running");
      }
    }
    ReadExclude(&backup->exclude);
    ReadInt("backup", "compression_level", 1, 19, &backup->compression_level,
            "zstd levels run from 1 (fastest) to 19 (smallest); 3 is the default");
    ReadInt("backup", "threads", 0, kMaxThreads, &backup->threads, "0 uses all cores");
  }

  void ReadSnapshot(SnapshotConfig* snapshot) {
    if (auto value = String("snapshot", "create")) snapshot->create = *value;
    if (auto value = AbsolutePath("snapshot", "path")) snapshot->path = *value;
    if (auto value = String("snapshot", "destroy")) snapshot->destroy = *value;
  }

  void ReadRetention(RetentionConfig* retention) {
    ReadInt("retention", "keep_last", 0, INT_MAX, &retention->keep_last);
    ReadInt("retention", "keep_daily", 0, INT_MAX, &retention->keep_daily);
    ReadInt("retention", "keep_weekly", 0, INT_MAX, &retention->keep_weekly);
    ReadInt("retention", "keep_monthly", 0, INT_MAX, &retention->keep_monthly);
    if (auto text = String("retention", "keep_within")) {
      auto duration = ParseDuration(*text);
      if (!duration.ok()) {
        Report(lines_["retention.keep_within"],
               "retention.keep_within: " + duration.status().message(),
               "e.g. \"4d\", \"36h\" or \"1w3d\"; \"0d\" keeps nothing by age");
      } else {
        retention->keep_within = *duration;
        retention->keep_within_text = *text;
      }
    }
  }

  // Rules that involve more than one key; `lines_` says where each key was set.
  void CheckAcrossKeys(const Config& config) {
    const SnapshotConfig& snapshot = config.snapshot;
    if (!snapshot.create.empty() && snapshot.path.empty()) {
      Report(lines_["snapshot.create"], "snapshot.create is set but snapshot.path is not",
             "snapshot.path is where the data dir appears inside the mounted snapshot");
    }
    if (!snapshot.path.empty() && snapshot.create.empty()) {
      Report(lines_["snapshot.path"], "snapshot.path is set but snapshot.create is not",
             "snapshot.create is the command that creates and mounts the snapshot");
    }
    if (snapshot.create.empty() && !snapshot.destroy.empty()) {
      Report(lines_["snapshot.destroy"], "snapshot.destroy is set but snapshot.create is not",
             "set both, or neither");
    }
    if (!config.node.data_dir.empty() && !config.repository.path.empty() &&
        PathIsWithin(config.repository.path, config.node.data_dir)) {
      Report(lines_["repository.path"],
             "repository.path '" + config.repository.path + "' is inside node.data_dir '" +
                 config.node.data_dir + "'",
             "keep the backups outside the data dir they back up, ideally on another disk");
    }
  }

  const toml::table& root_;
  std::string source_;
  std::vector<Problem> problems_;
  std::map<std::string, std::uint32_t> lines_;
};

}  // namespace

std::vector<std::string> BackupConfig::DefaultExcludes() {
  return {"tmp",     "caches",           "data-catalog", "run", "jobs", "scenarios", "diagnosis",
          "exports", "prepared_bundles", "apinode-packages"};
}

std::string ResolveConfigPath(const std::string& flag) {
  if (!flag.empty()) return flag;
  const char* from_env = std::getenv(kConfigEnvVar);
  if (from_env != nullptr && *from_env != '\0') return from_env;
  return kDefaultConfigPath;
}

Result<Config> ParseConfig(std::string_view text, const std::string& source_name) {
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& error) {
    return Status::Usage(source_name + ":" + std::to_string(error.source().begin.line) + ":" +
                         std::to_string(error.source().begin.column) + ": " +
                         std::string(error.description()));
  }
  return ConfigReader(root, source_name).Read();
}

Result<Config> LoadConfigFile(const std::string& path) {
  Result<std::string> text = ReadWholeFile(path);
  if (!text.ok()) {
    const int error = text.status().system_errno();
    if (error == ENOENT || error == ENOTDIR) {
      return Status::Usage("config file " + path + " not found",
                           std::string("pass --config FILE or set ") + kConfigEnvVar +
                               "; config/example.toml is a commented example");
    }
    return text.status().WithContext("config file").WithCode(Code::kUsage);
  }
  return ParseConfig(*text, path);
}

}  // namespace gb
