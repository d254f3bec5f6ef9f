#include "datadir/node.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <vector>

#include <spdlog/spdlog.h>

#include "datadir/dss_files.h"
#include "io/text.h"

namespace gb {
namespace {

constexpr char kDataDirHint[] = "is [node].data_dir the DSS data directory?";

bool PathExists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// `data_dir` made absolute (against the working directory), without trailing slashes.
Result<std::string> AbsoluteDataDir(const std::string& data_dir) {
  if (data_dir.empty()) return Status::Usage("no data dir given", "set [node].data_dir");
  std::string absolute = data_dir;
  if (absolute[0] != '/') {
    char cwd[4096];
    if (::getcwd(cwd, sizeof(cwd)) == nullptr) return Status::FromErrno("getcwd", errno);
    absolute = std::string(cwd) + "/" + absolute;
  }
  while (absolute.size() > 1 && absolute.back() == '/') absolute.pop_back();
  return absolute;
}

// The data dir's stat, once it is known to be a directory holding a DSS's two identity files.
Result<struct stat> CheckIsDataDir(const std::string& data_dir) {
  struct stat st;
  if (::stat(data_dir.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT) {
      return Status::Failed("data dir " + data_dir + " does not exist", kDataDirHint);
    }
    return Status::FromErrno("data dir " + data_dir, err, kDataDirHint);
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status::Failed("data dir " + data_dir + " is not a directory", kDataDirHint);
  }
  std::vector<std::string> missing;
  for (const char* name : {"dss-version.json", "install.ini"}) {
    if (!PathExists(data_dir + "/" + name)) missing.push_back(std::string("no ") + name);
  }
  if (!missing.empty()) {
    return Status::Failed(data_dir + " is not a DSS data directory: " + Join(missing, " and "),
                          kDataDirHint);
  }
  return st;
}

std::string UserName(uid_t uid) {
  std::vector<char> buffer(16384);
  struct passwd entry;
  struct passwd* found = nullptr;
  if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr) {
    return found->pw_name;
  }
  return std::to_string(uid);
}

// The version of the installation the data dir runs with; "" when it cannot be read (an
// installation removed or moved is not a reason to refuse a backup).
std::string InstallationVersion(const std::string& install_dir) {
  if (install_dir.empty()) return "";
  Result<DssVersionFile> version = ReadDssVersionFile(install_dir + "/dss-version.json");
  if (!version.ok()) {
    spdlog::debug("installation version unknown: {}", version.status().ToString());
    return "";
  }
  return version->product_version;
}

// The database settings of config/dip.properties: psql.jdbc.url, with psql.jdbc.user and
// psql.jdbc.password (of which only the presence and the kind are kept) overriding the URL's.
Result<std::optional<JdbcSettings>> ReadDatabaseSettings(const std::string& properties_path) {
  GB_ASSIGN_OR_RETURN(std::optional<JavaProperties> properties,
                      ReadJavaProperties(properties_path));
  if (!properties) return std::optional<JdbcSettings>();
  auto url = properties->find("psql.jdbc.url");
  if (url == properties->end()) return std::optional<JdbcSettings>();
  Result<JdbcSettings> jdbc = ParseJdbcUrl(url->second);
  if (!jdbc.ok()) return jdbc.status().WithContext(properties_path + ": psql.jdbc.url");
  JdbcSettings settings = *jdbc;
  if (auto user = properties->find("psql.jdbc.user"); user != properties->end()) {
    settings.user = Trim(user->second);
  }
  if (auto password = properties->find("psql.jdbc.password"); password != properties->end()) {
    const std::string value = Trim(password->second);
    settings.password_present = settings.password_present || !value.empty();
    settings.password_encrypted = value.rfind("e:AES:", 0) == 0;
  }
  return std::optional<JdbcSettings>(settings);
}

}  // namespace

bool LooksLikeDataDir(const std::string& dir) {
  return PathExists(dir + "/dss-version.json") && PathExists(dir + "/install.ini");
}

Result<DssNode> DiscoverNode(const std::string& data_dir_arg) {
  DssNode node;
  GB_ASSIGN_OR_RETURN(node.data_dir, AbsoluteDataDir(data_dir_arg));
  GB_ASSIGN_OR_RETURN(struct stat st, CheckIsDataDir(node.data_dir));
  node.owner_uid = st.st_uid;
  node.owner_gid = st.st_gid;
  node.owner_name = UserName(st.st_uid);

  GB_ASSIGN_OR_RETURN(InstallIni install, ReadInstallIni(node.data_dir + "/install.ini"));
  node.node_type = install.node_type;
  node.node_id = install.node_id;
  node.install_id = install.install_id;

  GB_ASSIGN_OR_RETURN(DssVersionFile version,
                      ReadDssVersionFile(node.data_dir + "/dss-version.json"));
  node.dss_version = version.product_version;
  node.conf_version = version.conf_version;

  GB_ASSIGN_OR_RETURN(node.install_dir, ReadInstallDir(node.data_dir + "/bin/env-default.sh"));
  node.install_dss_version = InstallationVersion(node.install_dir);
  GB_ASSIGN_OR_RETURN(
      node.expected_dip_home,
      ReadExpectedDipHome(node.data_dir + "/install-support/expected-dip-home.txt"));

  const std::string properties_path = node.data_dir + "/config/dip.properties";
  GB_ASSIGN_OR_RETURN(node.database, ReadDatabaseSettings(properties_path));
  if (node.is_govern() && !node.database) {
    spdlog::warn("{}: no psql.jdbc.url: this Govern node names no database", properties_path);
  }

  node.install_in_progress = PathExists(node.data_dir + "/DSS-INITIAL-INSTALL-IN-PROGRESS.txt");
  node.migration_in_progress = PathExists(node.data_dir + "/DSS-MIGRATION-IN-PROGRESS.json");
  return node;
}

int CompareDssVersions(const std::string& a, const std::string& b) {
  // Numeric per dotted component; a non-numeric tail ("14.4.1-beta") compares as text.
  size_t i = 0;
  size_t j = 0;
  while (i < a.size() || j < b.size()) {
    auto component = [](const std::string& s, size_t* pos, std::string* tail) {
      uint64_t number = 0;
      while (*pos < s.size() && std::isdigit(static_cast<unsigned char>(s[*pos]))) {
        number = number * 10 + (s[*pos] - '0');
        ++*pos;
      }
      size_t tail_start = *pos;
      while (*pos < s.size() && s[*pos] != '.') ++*pos;
      *tail = s.substr(tail_start, *pos - tail_start);
      if (*pos < s.size()) ++*pos;  // the dot
      return number;
    };
    std::string tail_a;
    std::string tail_b;
    uint64_t na = component(a, &i, &tail_a);
    uint64_t nb = component(b, &j, &tail_b);
    if (na != nb) return na < nb ? -1 : 1;
    if (tail_a != tail_b) {
      // A release ("") sorts after its pre-releases ("-beta").
      if (tail_a.empty()) return 1;
      if (tail_b.empty()) return -1;
      return tail_a < tail_b ? -1 : 1;
    }
  }
  return 0;
}

}  // namespace gb
