// ParseConfig / LoadConfigFile: the TOML file of CONTRACT.md read into a validated Config.
//
// Every problem is a Code::kUsage error naming the dotted key and its line; TomlReader
// collects them and reports the earliest in the file. The tables are checked here (unknown
// keys, with a suggestion), the repository tables by ReadRepository.
#include "config/config.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <toml++/toml.h>

#include "config/repository_reader.h"
#include "config/toml_reader.h"
#include "io/age_keys.h"
#include "io/files.h"
#include "io/signing.h"
#include "io/text.h"

namespace gb {
namespace {

constexpr const char* kDefaultConfigPath = "/etc/govern-backup/config.toml";
constexpr const char* kConfigEnvVar = "GOVERN_BACKUP_CONFIG";
// zstd refuses more workers than this on 64-bit builds (ZSTDMT_NBWORKERS_MAX).
constexpr std::int64_t kMaxThreads = 200;

// [repositories.NAME]: tables of tables, checked apart from the sections of Schema().
constexpr const char* kRepositoriesTable = "repositories";

// The sections and their keys, as in CONTRACT.md.
const std::map<std::string, std::vector<std::string>>& Schema() {
  static const auto* schema = new std::map<std::string, std::vector<std::string>>{
      {"node", {"data_dir", "dss_command", "dss_user", "api_key_file", "api_url", "wait_for_tasks"}},
      {"database", {"host", "port", "dbname", "user", "password_file", "pg_bin_dir"}},
      {"repository", RepositoryKeys()},
      {"backup", {"mode", "exclude", "compression_level", "threads", "incremental", "full_every",
                  "cache_dir", "change_journal", "dump_while_running"}},
      {"snapshot", {"create", "path", "destroy"}},
      {"encryption", {"recipients", "identity_file", "passphrase_file", "signing_key_file",
                      "trusted_keys"}},
      {"hooks", {"pre_backup", "post_backup", "on_failure", "timeout"}},
      {"metrics", {"textfile"}},
      {"retention", {"keep_last", "keep_daily", "keep_weekly", "keep_monthly", "keep_within"}},
  };
  return *schema;
}

// A NAME of [repositories.NAME]: it appears in --repo, copy --to and messages, unquoted.
bool IsRepositoryName(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
  });
}

// Is [repositories.NAME] a repository to read? The others are reported as errors.
bool IsNamedRepository(const std::string& name, const toml::node& node) {
  return node.is_table() && name != RepositoryConfig::kMainName && IsRepositoryName(name);
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
// `local` are the dotted keys of the table the unknown key is in ([repositories.NAME] is not
// in Schema()); they win over a key of the same name elsewhere.
std::string SuggestionFor(const std::string& unknown, const std::vector<std::string>& local) {
  std::vector<std::string> candidates = {kRepositoriesTable};
  for (const auto& [section, keys] : Schema()) {
    candidates.push_back(section);
    for (const auto& key : keys) candidates.push_back(section + "." + key);
  }
  candidates.insert(candidates.end(), local.begin(), local.end());
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

// The message and hint for a key that names a secret (a database password, an S3 key), or
// nullopt. Such a key is refused wherever it is, and its value never repeated.
std::optional<std::pair<std::string, std::string>> SecretKeyProblem(std::string_view name) {
  const std::string lower = AsciiLowercase(name);
  if (lower == "password") {
    return std::make_pair("the configuration may not hold a password",
                          "put it in a libpq password file (host:port:dbname:user:password, "
                          "mode 0600) and set database.password_file to its absolute path");
  }
  for (const char* s3_secret : {"secret_key", "secret_access_key", "aws_secret_access_key",
                                "access_key", "access_key_id", "aws_access_key_id",
                                "session_token", "aws_session_token"}) {
    if (lower != s3_secret) continue;
    return std::make_pair("the configuration may not hold an S3 key",
                          "set credentials = \"env\" (AWS_ACCESS_KEY_ID, ...), \"file\" "
                          "(access_key_file and secret_key_file, mode 0600) or \"profile\"");
  }
  return std::nullopt;
}

class ConfigReader {
 public:
  ConfigReader(const toml::table& root, std::string source) : reader_(root, std::move(source)) {}

  Result<Config> Read(std::string source) {
    Config config;
    config.source = std::move(source);
    FindSecrets(reader_.root(), "");
    CheckStructure();
    ReadNode(&config.node);
    ReadDatabase(&config.database);
    ReadRepository(reader_, RepositoryConfig::kMainName, &config.repository);
    ReadBackup(&config.backup);
    ReadSnapshot(&config.snapshot);
    ReadEncryption(&config.encryption);
    ReadHooks(&config.hooks);
    if (auto value = reader_.AbsolutePath("metrics", "textfile")) config.metrics.textfile = *value;
    ReadRetention("retention", &config.retention);
    ReadNamedRepositories(&config);
    // Rules across keys only make sense once every key on its own is right.
    if (!reader_.HasProblems()) CheckAcrossKeys(config);
    if (reader_.HasProblems()) return reader_.EarliestProblem();
    return config;
  }

 private:
  // A secret is refused anywhere, and its value never repeated.
  void FindSecrets(const toml::node& node, const std::string& prefix) {
    if (const toml::table* table = node.as_table()) {
      for (auto&& [key, child] : *table) {
        const std::string name(key.str());
        const std::string dotted = prefix.empty() ? name : prefix + "." + name;
        if (const auto problem = SecretKeyProblem(key.str())) {
          reader_.Report(TomlReader::LineOf(key, child), dotted + ": " + problem->first,
                         problem->second, /*secret=*/true);
          continue;
        }
        FindSecrets(child, dotted);
      }
    } else if (const toml::array* array = node.as_array()) {
      for (const toml::node& element : *array) FindSecrets(element, prefix);
    }
  }

  void ReportUnknown(const toml::key& key, const toml::node& node, const std::string& dotted,
                     const std::vector<std::string>& local = {}) {
    if (SecretKeyProblem(key.str())) return;  // already reported, with a better hint
    reader_.Report(TomlReader::LineOf(key, node),
                   node.is_table() ? "unknown table [" + dotted + "]" : "unknown key " + dotted,
                   SuggestionFor(dotted, local));
  }

  // Each key of the table at `dotted` is one of `keys`, or the sub-table `sub_table` (whose
  // keys are `sub_keys`; "" for none).
  void CheckKeys(const toml::node& node, const toml::key& key, const std::string& dotted,
                 const std::vector<std::string>& keys, const std::string& sub_table = "",
                 const std::vector<std::string>& sub_keys = {}) {
    const toml::table* table = node.as_table();
    if (table == nullptr) {
      reader_.Report(TomlReader::LineOf(key, node),
                     dotted + ": expected a table, got " + TomlTypeName(node.type()));
      return;
    }
    std::vector<std::string> local;
    for (const auto& name : keys) local.push_back(dotted + "." + name);
    for (const auto& name : sub_keys) local.push_back(dotted + "." + sub_table + "." + name);
    for (auto&& [child_key, child] : *table) {
      const std::string name(child_key.str());
      if (!sub_table.empty() && name == sub_table) {
        CheckKeys(child, child_key, dotted + "." + name, sub_keys);
      } else if (std::find(keys.begin(), keys.end(), name) == keys.end()) {
        ReportUnknown(child_key, child, dotted + "." + name, local);
      }
    }
  }

  void CheckStructure() {
    for (auto&& [key, node] : reader_.root()) {
      const std::string section(key.str());
      if (section == kRepositoriesTable) {
        CheckNamedRepositories(key, node);
        continue;
      }
      const auto known = Schema().find(section);
      if (known == Schema().end()) {
        ReportUnknown(key, node, section);
        continue;
      }
      CheckKeys(node, key, section, known->second);
    }
  }

  // [repositories.NAME] tables: a valid NAME, the keys of [repository], and [.retention].
  void CheckNamedRepositories(const toml::key& key, const toml::node& node) {
    const toml::table* table = node.as_table();
    if (table == nullptr) {
      CheckKeys(node, key, kRepositoriesTable, {});  // reports the wrong type
      return;
    }
    for (auto&& [name_key, repository] : *table) {
      const std::string name(name_key.str());
      const std::string dotted = std::string(kRepositoriesTable) + "." + name;
      const std::uint32_t line = TomlReader::LineOf(name_key, repository);
      if (!repository.is_table()) {
        reader_.Report(line,
                       dotted + ": expected a table, got " + TomlTypeName(repository.type()),
                       "a named repository is a table: [repositories.NAME] with path or url");
      } else if (name == RepositoryConfig::kMainName) {
        reader_.Report(line, "[" + dotted + "]: the name main is [repository]'s",
                       "choose another name; --repo main means [repository]");
      } else if (!IsRepositoryName(name)) {
        reader_.Report(line, "[" + dotted + "]: '" + name + "' is not a repository name",
                       "a name holds only letters, digits, '_' and '-'");
      } else {
        CheckKeys(repository, name_key, dotted, RepositoryKeys(), "retention",
                  Schema().at("retention"));
      }
    }
  }

  void ReadNode(NodeConfig* node) {
    reader_.RequiredPath("node", "data_dir", &node->data_dir);
    if (auto value = reader_.AbsolutePath("node", "dss_command")) node->dss_command = *value;
    if (auto value = reader_.String("node", "dss_user")) {
      if (*value == "root") {
        reader_.Report(reader_.LineOf("node", "dss_user"),
                       "node.dss_user: bin/dss refuses to run as root",
                       "name the unprivileged user that owns the data dir, or leave it empty "
                       "to use the owner of node.data_dir");
      } else {
        node->dss_user = *value;
      }
    }
    if (auto value = reader_.AbsolutePath("node", "api_key_file")) node->api_key_file = *value;
    if (auto value = reader_.String("node", "api_url")) {
      if (!value->empty() && value->rfind("http://", 0) != 0 && value->rfind("https://", 0) != 0) {
        reader_.Report(reader_.LineOf("node", "api_url"),
                       "node.api_url: '" + *value + "' is not an http(s) URL",
                       "e.g. \"http://127.0.0.1:11200\" (the DSS port of install.ini); empty: "
                       "that default");
      } else {
        node->api_url = *value;
        while (!node->api_url.empty() && node->api_url.back() == '/') node->api_url.pop_back();
      }
    }
    if (auto wait = reader_.DurationAtLeast("node", "wait_for_tasks", std::chrono::seconds(0),
                                            "e.g. \"10m\"; \"0s\" gives up at once while a task "
                                            "runs")) {
      node->wait_for_tasks = wait->value;
      node->wait_for_tasks_text = wait->text;
    }
  }

  void ReadDatabase(DatabaseConfig* database) {
    reader_.NonEmptyString("database", "host", &database->host);
    if (auto port = reader_.Integer("database", "port", 1, 65535)) {
      database->port = static_cast<int>(*port);
    }
    reader_.NonEmptyString("database", "dbname", &database->dbname);
    reader_.NonEmptyString("database", "user", &database->user);
    if (auto value = reader_.AbsolutePath("database", "password_file")) {
      database->password_file = *value;
    }
    if (auto value = reader_.AbsolutePath("database", "pg_bin_dir")) database->pg_bin_dir = *value;
  }

  // After [retention]: a repository's own retention starts from it.
  void ReadNamedRepositories(Config* config) {
    const toml::table* table = reader_.Table(kRepositoriesTable);
    if (table == nullptr) return;
    for (auto&& [name_key, node] : *table) {
      const std::string name(name_key.str());
      if (!IsNamedRepository(name, node)) continue;  // reported by CheckNamedRepositories
      const std::string section = RepositorySection(name);
      RepositoryConfig repository;
      ReadRepository(reader_, name, &repository);
      if (reader_.Table(section + ".retention") != nullptr) {
        repository.retention = config->retention;
        ReadRetention(section + ".retention", &*repository.retention);
      }
      config->repositories.emplace(name, std::move(repository));
    }
  }

  void ReadExclude(std::vector<std::string>* exclude) {
    const auto strings = reader_.StringArray("backup", "exclude");
    if (!strings) return;
    std::vector<std::string> names;
    bool valid = true;
    for (const auto& name : *strings) {
      const std::string& text = name.text;
      if (text.empty() || text == "." || text == ".." || text.find('/') != std::string::npos) {
        reader_.Report(name.line, name.dotted + ": '" + text + "' is not a folder name",
                       "exclude names top-level folders of the data dir, e.g. \"tmp\" or "
                       "\"caches\"");
        valid = false;
        continue;
      }
      names.push_back(text);
    }
    if (valid) *exclude = std::move(names);
  }

  void ReadBackup(BackupConfig* backup) {
    if (auto mode = reader_.OneOf("backup", "mode", {"offline", "online"},
                                  "offline stops DSS for the capture; online keeps it running")) {
      backup->mode = *mode;
    }
    ReadExclude(&backup->exclude);
    reader_.ReadInt("backup", "compression_level", 1, 19, &backup->compression_level,
                    "zstd levels run from 1 (fastest) to 19 (smallest); 3 is the default");
    reader_.ReadInt("backup", "threads", 0, kMaxThreads, &backup->threads, "0 uses all cores");
    if (auto incremental = reader_.Boolean("backup", "incremental")) backup->incremental = *incremental;
    if (auto every = reader_.DurationAtLeast("backup", "full_every", std::chrono::seconds(0),
                                             "e.g. \"7d\" or \"1w\"; \"0d\" takes a full set every time")) {
      backup->full_every = every->value;
      backup->full_every_text = every->text;
    }
    if (auto value = reader_.AbsolutePath("backup", "cache_dir")) backup->cache_dir = *value;
    if (auto journal = reader_.Boolean("backup", "change_journal")) backup->change_journal = *journal;
    if (auto early = reader_.Boolean("backup", "dump_while_running"))
      backup->dump_while_running = *early;
  }

  void ReadSnapshot(SnapshotConfig* snapshot) {
    if (auto value = reader_.String("snapshot", "create")) snapshot->create = *value;
    if (auto value = reader_.AbsolutePath("snapshot", "path")) snapshot->path = *value;
    if (auto value = reader_.String("snapshot", "destroy")) snapshot->destroy = *value;
  }

  void ReadEncryption(EncryptionConfig* encryption) {
    if (const auto recipients = reader_.StringArray("encryption", "recipients")) {
      for (const auto& recipient : *recipients) {
        const auto parsed = AgeRecipient::Parse(recipient.text);
        if (!parsed.ok()) {
          reader_.Report(recipient.line, recipient.dotted + ": " + parsed.status().message(),
                         "a recipient is the public key that `govern-backup keygen` or "
                         "age-keygen prints: \"age1\" and 58 more characters");
        } else {
          encryption->recipients.push_back(recipient.text);
        }
      }
    }
    if (const auto keys = reader_.StringArray("encryption", "trusted_keys")) {
      for (const auto& key : *keys) {
        const Status valid = ValidatePublicKey(key.text);
        if (!valid.ok()) {
          reader_.Report(key.line, key.dotted + ": " + valid.message(),
                         "a trusted key is what `govern-backup keygen --signing` prints: "
                         "\"ed25519:\" and 43 more characters");
        } else {
          encryption->trusted_keys.push_back(key.text);
        }
      }
    }
    if (auto value = reader_.AbsolutePath("encryption", "identity_file")) {
      encryption->identity_file = *value;
    }
    if (auto value = reader_.AbsolutePath("encryption", "passphrase_file")) {
      encryption->passphrase_file = *value;
    }
    if (auto value = reader_.AbsolutePath("encryption", "signing_key_file")) {
      encryption->signing_key_file = *value;
    }
  }

  void ReadHooks(HooksConfig* hooks) {
    if (auto value = reader_.String("hooks", "pre_backup")) hooks->pre_backup = *value;
    if (auto value = reader_.String("hooks", "post_backup")) hooks->post_backup = *value;
    if (auto value = reader_.String("hooks", "on_failure")) hooks->on_failure = *value;
    if (auto timeout = reader_.DurationAtLeast("hooks", "timeout", std::chrono::seconds(1),
                                               "e.g. \"5m\"; a hook still running then is "
                                               "killed and counts as failed")) {
      hooks->timeout = timeout->value;
      hooks->timeout_text = timeout->text;
    }
  }

  // [retention] or [repositories.NAME.retention]: the keys given replace those of `retention`.
  void ReadRetention(const std::string& section, RetentionConfig* retention) {
    reader_.ReadInt(section, "keep_last", 0, INT_MAX, &retention->keep_last);
    reader_.ReadInt(section, "keep_daily", 0, INT_MAX, &retention->keep_daily);
    reader_.ReadInt(section, "keep_weekly", 0, INT_MAX, &retention->keep_weekly);
    reader_.ReadInt(section, "keep_monthly", 0, INT_MAX, &retention->keep_monthly);
    if (auto within = reader_.DurationAtLeast(
            section, "keep_within", std::chrono::seconds(0),
            "e.g. \"4d\", \"36h\" or \"1w3d\"; \"0d\" keeps nothing by age")) {
      retention->keep_within = within->value;
      retention->keep_within_text = within->text;
    }
  }

  // Rules that involve more than one key.
  void CheckAcrossKeys(const Config& config) {
    const SnapshotConfig& snapshot = config.snapshot;
    const auto line = [this](const char* section, const char* name) {
      return reader_.LineOf(section, name);
    };
    if (!snapshot.create.empty() && snapshot.path.empty()) {
      reader_.Report(line("snapshot", "create"), "snapshot.create is set but snapshot.path is not",
                     "snapshot.path is where the data dir appears inside the mounted snapshot");
    }
    if (!snapshot.path.empty() && snapshot.create.empty()) {
      reader_.Report(line("snapshot", "path"), "snapshot.path is set but snapshot.create is not",
                     "snapshot.create is the command that creates and mounts the snapshot");
    }
    if (snapshot.create.empty() && !snapshot.destroy.empty()) {
      reader_.Report(line("snapshot", "destroy"),
                     "snapshot.destroy is set but snapshot.create is not", "set both, or neither");
    }
    CheckRepositoryPlaces(reader_, config);
  }

  TomlReader reader_;
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
  return ConfigReader(root, source_name).Read(source_name);
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
