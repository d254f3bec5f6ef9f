#include "coordinator/manifest.h"

#include <cmath>
#include <ostream>

#include "coordinator/manifest_signature.h"
#include "coordinator/toml_text.h"
#include "io/files.h"
#include "io/sha256.h"

namespace gb {
namespace {

constexpr char kChecksumHeader[] = "\n[checksum]\n";
constexpr char kComment[] =
    "# govern-backup set manifest. Do not edit: it checks itself ([checksum] below).";

int64_t Integer(uint64_t value) { return static_cast<int64_t>(value); }

// Milliseconds are plenty for a duration a person reads; more digits are noise.
double Rounded(double seconds) { return std::round(seconds * 1000) / 1000; }

toml::array StringArray(const std::vector<std::string>& items) {
  toml::array array;
  for (const auto& item : items) array.push_back(item);
  return array;
}

toml::table NodeTable(const ManifestNode& node) {
  return toml::table{{"data_dir", node.data_dir},         {"node_type", node.node_type},
                     {"dss_version", node.dss_version},   {"conf_version", node.conf_version},
                     {"install_dir", node.install_dir},   {"node_id", node.node_id},
                     {"hostname", node.hostname}};
}

toml::table DatadirTable(const ManifestDatadir& datadir, Consistency consistency, int format) {
  toml::table table{{"file", datadir.file},
                    {"sha256", datadir.sha256},
                    {"bytes", Integer(datadir.bytes)},
                    {"files", Integer(datadir.files)},
                    {"source_bytes", Integer(datadir.source_bytes)},
                    {"excluded", StringArray(datadir.excluded)}};
  if (consistency == Consistency::kOnline) {
    table.insert("changed_while_read", StringArray(datadir.changed_while_read));
    table.insert("vanished_while_read", StringArray(datadir.vanished_while_read));
  }
  // Format-1 manifests are rewritten (tests, copies) byte for byte: no key they lacked.
  if (format >= 2) table.insert("seekable", datadir.seekable);
  if (datadir.vanished > 0) table.insert("vanished", Integer(datadir.vanished));
  if (datadir.encrypted) table.insert("encrypted", true);
  return table;
}

toml::table IndexTable(const ManifestIndex& index) {
  toml::table table{{"file", index.file},
                    {"sha256", index.sha256},
                    {"bytes", Integer(index.bytes)},
                    {"entries", Integer(index.entries)}};
  if (index.encrypted) table.insert("encrypted", true);
  if (!index.plain_sha256.empty()) table.insert("plain_sha256", index.plain_sha256);
  return table;
}

toml::table DatabaseTable(const ManifestDatabase& database) {
  toml::table rows;
  for (const auto& [table, count] : database.table_rows) rows.insert(table, Integer(count));
  toml::table hashes;
  for (const auto& [table, hash] : database.table_hashes) hashes.insert(table, hash);
  toml::table result{{"file", database.file},
                     {"sha256", database.sha256},
                     {"bytes", Integer(database.bytes)},
                     {"dump_bytes", Integer(database.dump_bytes)},
                     {"dbname", database.dbname},
                     {"schema", database.schema},
                     {"server_version", database.server_version},
                     {"system_identifier", database.system_identifier},
                     {"pg_dump_version", database.pg_dump_version},
                     {"table_rows", std::move(rows)}};
  if (!database.table_hashes.empty()) result.insert("table_hashes", std::move(hashes));
  if (database.encrypted) result.insert("encrypted", true);
  return result;
}

toml::table WindowTable(const ManifestWindow& window) {
  toml::table table{{"downtime_seconds", Rounded(window.downtime_seconds)},
                    {"dss_was_running", window.dss_was_running},
                    {"duration_seconds", Rounded(window.duration_seconds)}};
  if (window.dss_stopped_at) table.insert("dss_stopped_at", ToTomlTime(*window.dss_stopped_at));
  if (window.dss_started_at) table.insert("dss_started_at", ToTomlTime(*window.dss_started_at));
  return table;
}

// Everything but [checksum].
toml::table BodyTable(const Manifest& manifest) {
  toml::table body{{"format", manifest.format},
                   {"id", manifest.id},
                   {"pair_token", manifest.pair_token},
                   {"created_at", ToTomlTime(manifest.created_at)},
                   {"consistency", ToString(manifest.consistency)},
                   {"tool_version", manifest.tool_version},
                   {"note", manifest.note},
                   {"node", NodeTable(manifest.node)},
                   {"datadir", DatadirTable(manifest.datadir, manifest.consistency,
                                               manifest.format)},
                   {"window", WindowTable(manifest.window)}};
  if (manifest.database) body.insert("database", DatabaseTable(*manifest.database));
  if (manifest.index) body.insert("index", IndexTable(*manifest.index));
  if (manifest.format >= 2) body.insert("type", ToString(manifest.type));
  if (!manifest.parent.empty()) body.insert("parent", manifest.parent);
  if (manifest.encrypted())
    body.insert("encryption", toml::table{{"recipients", StringArray(manifest.recipients)}});
  return body;
}

// --- reading -------------------------------------------------------------------------

// Typed reads of one parsed manifest; the first missing or mistyped key becomes status().
class Reader {
 public:
  Reader(const toml::table& root, std::string where) : root_(root), where_(std::move(where)) {}

  std::string String(const char* path, bool required = true) {
    if (auto value = root_.at_path(path).value_exact<std::string>()) return *value;
    if (required) Fail(path, "is missing or not a string");
    return {};
  }
  uint64_t Unsigned(const char* path, bool required = true) {
    auto value = root_.at_path(path).value_exact<int64_t>();
    if (value && *value >= 0) return static_cast<uint64_t>(*value);
    if (required) Fail(path, "is missing or not a non-negative integer");
    return 0;
  }
  double Real(const char* path) { return root_.at_path(path).value<double>().value_or(0); }
  bool Bool(const char* path) { return root_.at_path(path).value_or(false); }
  std::optional<TimePoint> Time(const char* path, bool required) {
    if (auto value = root_.at_path(path).value_exact<toml::date_time>())
      if (auto point = FromTomlTime(*value)) return point;
    if (required) Fail(path, "is missing or not a date-time with an offset");
    return std::nullopt;
  }
  std::vector<std::string> Strings(const char* path) {
    std::vector<std::string> out;
    if (auto array = root_.at_path(path).as_array())
      for (auto& item : *array)
        if (auto value = item.value_exact<std::string>()) out.push_back(*value);
    return out;
  }
  Consistency ConsistencyOf(const char* path) {
    std::string text = String(path);
    if (auto parsed = ParseConsistency(text)) return *parsed;
    if (!text.empty()) Fail(path, "is \"" + text + "\", not offline, snapshot or online");
    return Consistency::kOffline;
  }
  // The set's id and its halves' file names, refused unless plain names: commands join
  // them to the repository's and the set's directories to read or remove what they name.
  std::string PlainName(const char* path) {
    std::string name = String(path);
    if (status_.ok() && !IsPlainFileName(name))
      Fail(path, "is \"" + name + "\", not a plain file name inside the repository");
    return name;
  }
  bool Has(const char* path) { return static_cast<bool>(root_.at_path(path)); }

  const Status& status() const { return status_; }

 private:
  void Fail(const char* path, const std::string& what) {
    if (status_.ok())
      status_ = Status::Failed(where_ + ": key " + path + " " + what + ": the manifest is damaged",
                               "`govern-backup verify` reports every damaged set");
  }
  const toml::table& root_;
  std::string where_;
  Status status_;
};

void ReadNode(Reader& read, ManifestNode& node) {
  node.data_dir = read.String("node.data_dir");
  node.node_type = read.String("node.node_type");
  node.dss_version = read.String("node.dss_version");
  node.conf_version = read.String("node.conf_version");
  node.install_dir = read.String("node.install_dir", false);
  node.node_id = read.String("node.node_id", false);
  node.hostname = read.String("node.hostname", false);
}

void ReadDatadir(Reader& read, ManifestDatadir& datadir) {
  datadir.file = read.PlainName("datadir.file");
  datadir.sha256 = read.String("datadir.sha256");
  datadir.bytes = read.Unsigned("datadir.bytes");
  datadir.files = read.Unsigned("datadir.files");
  datadir.source_bytes = read.Unsigned("datadir.source_bytes");
  datadir.excluded = read.Strings("datadir.excluded");
  datadir.changed_while_read = read.Strings("datadir.changed_while_read");
  datadir.vanished_while_read = read.Strings("datadir.vanished_while_read");
  datadir.seekable = read.Bool("datadir.seekable");
  datadir.encrypted = read.Bool("datadir.encrypted");
  datadir.vanished = read.Unsigned("datadir.vanished", false);
}

ManifestDatabase ReadDatabase(Reader& read, const toml::table& root) {
  ManifestDatabase database;
  database.file = read.PlainName("database.file");
  database.sha256 = read.String("database.sha256");
  database.bytes = read.Unsigned("database.bytes");
  database.dump_bytes = read.Unsigned("database.dump_bytes", false);
  database.dbname = read.String("database.dbname");
  database.schema = read.String("database.schema", false);
  database.server_version = read.String("database.server_version");
  database.system_identifier = read.String("database.system_identifier", false);
  database.pg_dump_version = read.String("database.pg_dump_version", false);
  database.encrypted = read.Bool("database.encrypted");
  if (auto rows = root.at_path("database.table_rows").as_table())
    for (auto& [key, value] : *rows)
      if (auto count = value.value_exact<int64_t>(); count && *count >= 0)
        database.table_rows[std::string(key.str())] = static_cast<uint64_t>(*count);
  if (auto hashes = root.at_path("database.table_hashes").as_table())
    for (auto& [key, value] : *hashes)
      if (auto hash = value.value_exact<std::string>())
        database.table_hashes[std::string(key.str())] = *hash;
  return database;
}

ManifestIndex ReadIndex(Reader& read) {
  ManifestIndex index;
  index.file = read.PlainName("index.file");
  index.sha256 = read.String("index.sha256");
  index.bytes = read.Unsigned("index.bytes");
  index.entries = read.Unsigned("index.entries");
  index.encrypted = read.Bool("index.encrypted");
  index.plain_sha256 = read.String("index.plain_sha256", false);
  return index;
}

void ReadWindow(Reader& read, ManifestWindow& window) {
  window.dss_stopped_at = read.Time("window.dss_stopped_at", false);
  window.dss_started_at = read.Time("window.dss_started_at", false);
  window.downtime_seconds = read.Real("window.downtime_seconds");
  window.dss_was_running = read.Bool("window.dss_was_running");
  window.duration_seconds = read.Real("window.duration_seconds");
}

}  // namespace

const char* ToString(Consistency consistency) {
  switch (consistency) {
    case Consistency::kOffline: return "offline";
    case Consistency::kSnapshot: return "snapshot";
    case Consistency::kOnline: return "online";
  }
  return "offline";
}

std::optional<Consistency> ParseConsistency(std::string_view text) {
  for (Consistency each : {Consistency::kOffline, Consistency::kSnapshot, Consistency::kOnline})
    if (text == ToString(each)) return each;
  return std::nullopt;
}

const char* ToString(SetType type) {
  return type == SetType::kIncremental ? "incremental" : "full";
}

std::optional<SetType> ParseSetType(std::string_view text) {
  for (SetType each : {SetType::kFull, SetType::kIncremental})
    if (text == ToString(each)) return each;
  return std::nullopt;
}

std::ostream& operator<<(std::ostream& out, Consistency consistency) {
  return out << ToString(consistency);
}

bool IsPlainFileName(std::string_view name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find_first_of(std::string_view("/\0", 2)) == std::string_view::npos;
}

std::string Manifest::ToText() const {
  std::string body = FormatToml(BodyTable(*this), kComment);
  toml::table checksum{{"checksum", toml::table{{"sha256", Sha256::OfString(body)}}}};
  // FormatToml's text starts with "[checksum]\n": the header Parse looks for.
  std::string text = body + "\n" + FormatToml(checksum);
  return signature ? text + SignatureTable(*signature) : text;
}

nlohmann::json Manifest::ToJson() const {
  toml::table body = BodyTable(*this);
  nlohmann::json json = TomlToJson(body);
  json["checksum"] = {{"sha256", Sha256::OfString(FormatToml(body, kComment))}};
  return json;
}

Result<Manifest> Manifest::Parse(const std::string& text, const std::string& where) {
  size_t checksum_at = text.rfind(kChecksumHeader);
  if (checksum_at == std::string::npos)
    return Status::Failed(where + " has no [checksum]: it is truncated or was not written by govern-backup");
  toml::table root;
  try {
    root = toml::parse(text);
  } catch (const toml::parse_error& error) {
    return Status::Failed(where + ":" + std::to_string(error.source().begin.line) +
                          ": not valid TOML (" + std::string(error.description()) +
                          "): the manifest is damaged");
  }
  std::string recorded = root.at_path("checksum.sha256").value_or(std::string());
  std::string actual = Sha256::OfString(text.substr(0, checksum_at));
  if (recorded != actual)
    return Status::Failed(where + " does not match its own checksum: it was edited or damaged",
                          "a manifest must not be edited; restore it from a copy of the repository");

  Reader read(root, where);
  Manifest manifest;
  manifest.format = static_cast<int>(read.Unsigned("format"));
  if (read.status().ok() &&
      (manifest.format < kOldestManifestFormat || manifest.format > kManifestFormat))
    return Status::Failed(where + " has format " + std::to_string(manifest.format) +
                          "; this govern-backup reads formats " +
                          std::to_string(kOldestManifestFormat) + " to " +
                          std::to_string(kManifestFormat));
  manifest.id = read.PlainName("id");
  manifest.pair_token = read.String("pair_token");
  if (auto created = read.Time("created_at", true)) manifest.created_at = *created;
  manifest.consistency = read.ConsistencyOf("consistency");
  const std::string type = read.String("type", false);
  if (!type.empty()) {
    std::optional<SetType> parsed = ParseSetType(type);
    if (!parsed)
      return Status::Failed(where + ": type \"" + type + "\" is neither full nor incremental",
                            "the manifest is damaged");
    manifest.type = *parsed;
  }
  manifest.parent = read.String("parent", false);
  if (manifest.type == SetType::kIncremental && !IsPlainFileName(manifest.parent))
    return Status::Failed(where + ": an incremental set without a valid parent",
                          "the manifest is damaged");
  manifest.tool_version = read.String("tool_version", false);
  manifest.note = read.String("note", false);
  ReadNode(read, manifest.node);
  ReadDatadir(read, manifest.datadir);
  if (read.Has("database")) manifest.database = ReadDatabase(read, root);
  if (read.Has("index")) manifest.index = ReadIndex(read);
  ReadWindow(read, manifest.window);
  manifest.recipients = read.Strings("encryption.recipients");
  if (!read.status().ok()) return read.status();
  manifest.signature = SplitSignedText(text).signature;
  manifest.text = text;
  return manifest;
}

Result<Manifest> Manifest::Load(const std::string& path) {
  GB_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
  return Parse(text, path);
}

}  // namespace gb
