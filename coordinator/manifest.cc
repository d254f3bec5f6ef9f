#include "coordinator/manifest.h"

#include <toml++/toml.h>

#include <cstdio>
#include <sstream>

#include "coordinator/json_writer.h"
#include "io/atomic_file.h"
#include "io/sha256.h"

namespace gb {
namespace {

constexpr char kChecksumHeader[] = "\n[checksum]\n";

// TOML basic strings take the same escapes as JSON strings.
std::string Quote(const std::string& text) { return JsonQuote(text); }

std::string QuoteList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + Quote(items[i]);
  return out + "]";
}

// TOML keys that are not bare (e.g. "public.blueprints") must be quoted.
std::string Key(const std::string& key) {
  for (char c : key)
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return Quote(key);
  return key;
}

std::string Seconds(double seconds) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3f", seconds);
  return buffer;
}

// --- reading -------------------------------------------------------------------------

class Reader {
 public:
  Reader(const toml::table& root, std::string where) : root_(root), where_(std::move(where)) {}

  std::string String(const char* path, bool required = true) {
    auto node = root_.at_path(path);
    if (auto value = node.value<std::string>()) return *value;
    if (required) Missing(path, "a string");
    return {};
  }
  uint64_t Unsigned(const char* path, bool required = true) {
    auto node = root_.at_path(path);
    if (auto value = node.value<int64_t>(); value && *value >= 0) return static_cast<uint64_t>(*value);
    if (required) Missing(path, "a non-negative integer");
    return 0;
  }
  double Real(const char* path) {
    auto node = root_.at_path(path);
    if (auto value = node.value<double>()) return *value;
    return 0;
  }
  bool Bool(const char* path) { return root_.at_path(path).value_or(false); }
  std::optional<TimePoint> Time(const char* path, bool required) {
    auto node = root_.at_path(path);
    if (auto value = node.value<toml::date_time>()) {
      char text[40];
      std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02dZ", value->date.year,
                    value->date.month, value->date.day, value->time.hour, value->time.minute,
                    value->time.second);
      if (auto parsed = ParseRfc3339(text)) return parsed;
    }
    if (required) Missing(path, "a UTC date-time");
    return std::nullopt;
  }
  std::vector<std::string> Strings(const char* path) {
    std::vector<std::string> out;
    if (auto array = root_.at_path(path).as_array())
      for (auto& item : *array)
        if (auto value = item.value<std::string>()) out.push_back(*value);
    return out;
  }
  bool Has(const char* path) { return static_cast<bool>(root_.at_path(path)); }

  const Status& status() const { return status_; }

 private:
  void Missing(const char* path, const char* kind) {
    if (status_.ok())
      status_ = Status::Failed(where_ + ": key " + path + " is missing or not " + kind);
  }
  const toml::table& root_;
  std::string where_;
  Status status_;
};

}  // namespace

std::string Manifest::ToText() const {
  std::ostringstream out;
  out << "# govern-backup set manifest. Do not edit: it checks itself ([checksum] below).\n"
      << "format = " << format << "\n"
      << "id = " << Quote(id) << "\n"
      << "pair_token = " << Quote(pair_token) << "\n"
      << "created_at = " << FormatRfc3339(created_at) << "\n"
      << "consistency = " << Quote(consistency) << "\n"
      << "tool_version = " << Quote(tool_version) << "\n"
      << "note = " << Quote(note) << "\n";

  out << "\n[node]\n"
      << "data_dir = " << Quote(node.data_dir) << "\n"
      << "node_type = " << Quote(node.node_type) << "\n"
      << "dss_version = " << Quote(node.dss_version) << "\n"
      << "conf_version = " << Quote(node.conf_version) << "\n"
      << "install_dir = " << Quote(node.install_dir) << "\n"
      << "node_id = " << Quote(node.node_id) << "\n"
      << "hostname = " << Quote(node.hostname) << "\n";

  out << "\n[datadir]\n"
      << "file = " << Quote(datadir.file) << "\n"
      << "sha256 = " << Quote(datadir.sha256) << "\n"
      << "bytes = " << datadir.bytes << "\n"
      << "files = " << datadir.files << "\n"
      << "source_bytes = " << datadir.source_bytes << "\n"
      << "excluded = " << QuoteList(datadir.excluded) << "\n";
  if (consistency == "online")
    out << "changed_while_read = " << QuoteList(datadir.changed_while_read) << "\n"
        << "vanished_while_read = " << QuoteList(datadir.vanished_while_read) << "\n";

  if (database) {
    out << "\n[database]\n"
        << "file = " << Quote(database->file) << "\n"
        << "sha256 = " << Quote(database->sha256) << "\n"
        << "bytes = " << database->bytes << "\n"
        << "dump_bytes = " << database->dump_bytes << "\n"
        << "dbname = " << Quote(database->dbname) << "\n"
        << "schema = " << Quote(database->schema) << "\n"
        << "server_version = " << Quote(database->server_version) << "\n"
        << "system_identifier = " << Quote(database->system_identifier) << "\n"
        << "pg_dump_version = " << Quote(database->pg_dump_version) << "\n";
    out << "\n[database.table_rows]\n";
    for (const auto& [table, rows] : database->table_rows) out << Key(table) << " = " << rows << "\n";
  }

  out << "\n[window]\n";
  if (window.dss_stopped_at) out << "dss_stopped_at = " << FormatRfc3339(*window.dss_stopped_at) << "\n";
  if (window.dss_started_at) out << "dss_started_at = " << FormatRfc3339(*window.dss_started_at) << "\n";
  out << "downtime_seconds = " << Seconds(window.downtime_seconds) << "\n"
      << "dss_was_running = " << (window.dss_was_running ? "true" : "false") << "\n"
      << "duration_seconds = " << Seconds(window.duration_seconds) << "\n";

  std::string body = out.str();
  return body + kChecksumHeader + "sha256 = " + Quote(Sha256::OfString(body)) + "\n";
}

std::string Manifest::ToJson() const { return TomlTextToJson(ToText()); }

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
  if (read.status().ok() && manifest.format != kManifestFormat)
    return Status::Failed(where + " has format " + std::to_string(manifest.format) +
                          "; this govern-backup reads format " + std::to_string(kManifestFormat));
  manifest.id = read.String("id");
  manifest.pair_token = read.String("pair_token");
  if (auto created = read.Time("created_at", true)) manifest.created_at = *created;
  manifest.consistency = read.String("consistency");
  manifest.tool_version = read.String("tool_version", false);
  manifest.note = read.String("note", false);

  manifest.node.data_dir = read.String("node.data_dir");
  manifest.node.node_type = read.String("node.node_type");
  manifest.node.dss_version = read.String("node.dss_version");
  manifest.node.conf_version = read.String("node.conf_version");
  manifest.node.install_dir = read.String("node.install_dir", false);
  manifest.node.node_id = read.String("node.node_id", false);
  manifest.node.hostname = read.String("node.hostname", false);

  manifest.datadir.file = read.String("datadir.file");
  manifest.datadir.sha256 = read.String("datadir.sha256");
  manifest.datadir.bytes = read.Unsigned("datadir.bytes");
  manifest.datadir.files = read.Unsigned("datadir.files");
  manifest.datadir.source_bytes = read.Unsigned("datadir.source_bytes");
  manifest.datadir.excluded = read.Strings("datadir.excluded");
  manifest.datadir.changed_while_read = read.Strings("datadir.changed_while_read");
  manifest.datadir.vanished_while_read = read.Strings("datadir.vanished_while_read");

  if (read.Has("database")) {
    ManifestDatabase database;
    database.file = read.String("database.file");
    database.sha256 = read.String("database.sha256");
    database.bytes = read.Unsigned("database.bytes");
    database.dump_bytes = read.Unsigned("database.dump_bytes", false);
    database.dbname = read.String("database.dbname");
    database.schema = read.String("database.schema", false);
    database.server_version = read.String("database.server_version");
    database.system_identifier = read.String("database.system_identifier", false);
    database.pg_dump_version = read.String("database.pg_dump_version", false);
    if (auto rows = root.at_path("database.table_rows").as_table())
      for (auto& [key, value] : *rows)
        if (auto count = value.value<int64_t>())
          database.table_rows[std::string(key.str())] = static_cast<uint64_t>(*count);
    manifest.database = std::move(database);
  }

  manifest.window.dss_stopped_at = read.Time("window.dss_stopped_at", false);
  manifest.window.dss_started_at = read.Time("window.dss_started_at", false);
  manifest.window.downtime_seconds = read.Real("window.downtime_seconds");
  manifest.window.dss_was_running = read.Bool("window.dss_was_running");
  manifest.window.duration_seconds = read.Real("window.duration_seconds");

  if (!read.status().ok()) return read.status();
  return manifest;
}

Result<Manifest> Manifest::Load(const std::string& path) {
  GB_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
  return Parse(text, path);
}

std::string TomlTextToJson(const std::string& toml_text) {
  std::ostringstream out;
  try {
    out << toml::json_formatter{toml::parse(toml_text)} << "\n";
  } catch (const toml::parse_error& error) {
    out << "{}\n";
  }
  return out.str();
}

}  // namespace gb
