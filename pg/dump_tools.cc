#include "pg/dump_tools.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <sstream>
#include <vector>

#include "io/subprocess.h"
#include "pg/version.h"

namespace gb {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDebianPostgresqlRoot = "/usr/lib/postgresql";
constexpr const char* kInstallHint =
    "install postgresql-client-15 (or the client of your server's version) or set "
    "[database].pg_bin_dir";

bool IsExecutable(const std::string& path) {
  std::error_code error;
  return fs::is_regular_file(path, error) && access(path.c_str(), X_OK) == 0;
}

std::optional<std::string> SearchPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::stringstream directories(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string directory;
  while (std::getline(directories, directory, ':')) {
    if (directory.empty()) directory = ".";
    const std::string candidate = directory + "/" + program;
    if (IsExecutable(candidate)) return candidate;
  }
  return std::nullopt;
}

// Debian's /usr/bin/pg_dump is postgresql-common's pg_wrapper, which picks a version at
// run time; we want to know, and report, which one runs.
bool IsDebianWrapper(const std::string& path) {
  std::error_code error;
  const fs::path target = fs::canonical(path, error);
  return !error && target.filename() == "pg_wrapper";
}

// /usr/lib/postgresql/<N>/bin directories holding pg_dump, newest first.
std::vector<std::string> DebianBinDirs() {
  std::vector<std::pair<int, std::string>> found;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(kDebianPostgresqlRoot, error)) {
    const std::string name = entry.path().filename().string();
    // Only a directory named by its major alone ("15") is a PostgreSQL installation.
    const Result<int> major = MajorVersion(name);
    if (!major.ok() || std::to_string(*major) != name) continue;
    const std::string bin = entry.path().string() + "/bin";
    if (IsExecutable(bin + "/pg_dump")) found.emplace_back(*major, bin);
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a > b; });
  std::vector<std::string> directories;
  for (const auto& [major, bin] : found) directories.push_back(bin);
  return directories;
}

Status ReadVersion(const std::string& program, std::string* version, int* major) {
  SubprocessOptions options;
  options.argv = {program, "--version"};
  options.timeout = std::chrono::seconds(30);
  GB_ASSIGN_OR_RETURN(ExitInfo exit, RunSubprocess(options));
  if (!exit.success()) {
    return Status::Failed(program + " --version failed: " + exit.Describe(), kInstallHint);
  }
  Result<PgVersion> parsed = ParseToolVersion(exit.stdout_text);
  if (!parsed.ok()) return parsed.status().WithContext("cannot read the version of " + program);
  *version = parsed->text;
  *major = parsed->major;
  return Status::Ok();
}

Result<DumpTools> ToolsIn(const std::string& pg_dump, const std::string& pg_restore) {
  DumpTools tools;
  tools.pg_dump = pg_dump;
  tools.pg_restore = pg_restore;
  GB_RETURN_IF_ERROR(ReadVersion(pg_dump, &tools.pg_dump_version, &tools.pg_dump_major));
  GB_RETURN_IF_ERROR(
      ReadVersion(pg_restore, &tools.pg_restore_version, &tools.pg_restore_major));
  spdlog::debug("pg_dump {} at {}, pg_restore {} at {}", tools.pg_dump_version, tools.pg_dump,
                tools.pg_restore_version, tools.pg_restore);
  return tools;
}

Result<DumpTools> ToolsInDirectory(const std::string& directory) {
  const std::string pg_dump = directory + "/pg_dump";
  const std::string pg_restore = directory + "/pg_restore";
  for (const std::string& program : {pg_dump, pg_restore}) {
    if (!IsExecutable(program)) {
      return Status::Failed(program + " not found (or not executable)",
                            "check [database].pg_bin_dir, or " + std::string(kInstallHint));
    }
  }
  return ToolsIn(pg_dump, pg_restore);
}

// The tools found through PATH; a Debian wrapper is resolved to the newest real directory.
Result<DumpTools> ToolsInPath() {
  const auto pg_dump = SearchPath("pg_dump");
  if (!pg_dump) return Status::Failed("pg_dump not found in PATH", kInstallHint);
  const auto pg_restore = SearchPath("pg_restore");
  if (!pg_restore) return Status::Failed("pg_restore not found in PATH", kInstallHint);
  if (IsDebianWrapper(*pg_dump)) {
    const auto directories = DebianBinDirs();
    if (!directories.empty()) return ToolsInDirectory(directories.front());
  }
  return ToolsIn(*pg_dump, *pg_restore);
}

}  // namespace

Result<DumpTools> FindDumpTools(const std::string& pg_bin_dir) {
  if (!pg_bin_dir.empty()) return ToolsInDirectory(pg_bin_dir);
  return ToolsInPath();
}

Result<DumpTools> FindDumpToolsFor(const std::string& pg_bin_dir, int server_major) {
  auto too_old = [server_major](const DumpTools& tools) {
    return Status::Failed("pg_dump " + std::to_string(tools.pg_dump_major) + " (" +
                              tools.pg_dump + ") is older than the server (" +
                              std::to_string(server_major) +
                              "); pg_dump cannot dump a newer server",
                          "install postgresql-client-" + std::to_string(server_major) +
                              " and set [database].pg_bin_dir to its bin directory");
  };
  if (!pg_bin_dir.empty()) {
    GB_ASSIGN_OR_RETURN(DumpTools tools, ToolsInDirectory(pg_bin_dir));
    if (tools.pg_dump_major < server_major) return too_old(tools);
    return tools;
  }
  std::optional<DumpTools> newest_too_old;
  Result<DumpTools> in_path = ToolsInPath();
  if (in_path.ok()) {
    if (in_path->pg_dump_major >= server_major) return in_path;
    newest_too_old = *in_path;
  }
  for (const std::string& directory : DebianBinDirs()) {
    Result<DumpTools> tools = ToolsInDirectory(directory);
    if (!tools.ok()) continue;
    if (tools->pg_dump_major >= server_major) return tools;
    if (!newest_too_old || tools->pg_dump_major > newest_too_old->pg_dump_major) {
      newest_too_old = *tools;
    }
  }
  if (newest_too_old) return too_old(*newest_too_old);
  return in_path.status();
}

}  // namespace gb
