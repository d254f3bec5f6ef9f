#include "coordinator/restore_marker.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "coordinator/toml_text.h"
#include "io/atomic_file.h"

namespace gb {

std::string RestoredFromMarker::ToText() const {
  toml::table table{{"id", id},
                    {"pair_token", pair_token},
                    {"restored_at", ToTomlTime(restored_at)},
                    {"from_data_dir", from_data_dir},
                    {"dss_version", dss_version}};
  if (!database.empty()) table.insert("database", database);
  return FormatToml(table,
                    "# Written by govern-backup restore: the backup set this data dir came from.");
}

Result<RestoredFromMarker> RestoredFromMarker::Parse(const std::string& text,
                                                     const std::string& where) {
  toml::table table;
  try {
    table = toml::parse(text);
  } catch (const toml::parse_error& error) {
    return Status::Failed("restore marker " + where + " is not valid TOML: " +
                          std::string(error.description()));
  }
  RestoredFromMarker marker;
  marker.id = table["id"].value_or(std::string());
  marker.pair_token = table["pair_token"].value_or(std::string());
  marker.from_data_dir = table["from_data_dir"].value_or(std::string());
  marker.dss_version = table["dss_version"].value_or(std::string());
  marker.database = table["database"].value_or(std::string());
  std::optional<TimePoint> restored_at;
  if (auto value = table["restored_at"].value_exact<toml::date_time>())
    restored_at = FromTomlTime(*value);
  if (marker.id.empty() || marker.pair_token.empty() || !restored_at)
    return Status::Failed("restore marker " + where +
                              " is incomplete (it needs id, pair_token and restored_at)",
                          "it was edited by hand; the next restore writes it again");
  marker.restored_at = *restored_at;
  return marker;
}

Status WriteRestoredFromMarker(const std::string& data_dir, const RestoredFromMarker& marker,
                               Env* env) {
  const std::string path = data_dir + "/" + kRestoredFromMarker;
  const std::string folder = path.substr(0, path.rfind('/'));
  GB_RETURN_IF_ERROR(env->CreateDirectory(folder, 0700));
  GB_RETURN_IF_ERROR(WriteFileAtomically(path, marker.ToText(), 0600));
  if (::geteuid() != 0) return Status::Ok();
  struct stat root {};
  if (::stat(data_dir.c_str(), &root) != 0)
    return Status::FromErrno("cannot read the owner of " + data_dir, errno);
  for (const std::string& each : {folder, path})
    if (::lchown(each.c_str(), root.st_uid, root.st_gid) != 0)
      return Status::FromErrno("cannot set the owner of " + each, errno);
  return Status::Ok();
}

Result<std::optional<RestoredFromMarker>> ReadRestoredFromMarker(const std::string& data_dir) {
  const std::string path = data_dir + "/" + kRestoredFromMarker;
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::optional<RestoredFromMarker>();
    return Status::FromErrno("cannot read restore marker " + path, errno);
  }
  GB_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
  GB_ASSIGN_OR_RETURN(RestoredFromMarker marker, RestoredFromMarker::Parse(text, path));
  return std::optional<RestoredFromMarker>(std::move(marker));
}

}  // namespace gb
