#include "sandbox/sample_node.h"

#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "datadir/dss_control.h"
#include "io/files.h"
#include "io/text.h"
#include "sandbox/fake_scripts.h"  // generated from sandbox/fake_dss.sh, fake_installer.sh
#include "sandbox/sample_content.h"
#include "sandbox/system_changes.h"

namespace gb {
namespace {

using sample::AppendWords;
using sample::ConfigJson;
using sample::kAlphaNumeric;
using sample::kBase64;
using sample::kHex;
using sample::RandomSeed;
using sample::RandomString;
using sample::Rng;
using sample::WriteLargeFile;

// ---- file-system helpers.

Status MakeDirs(const std::string& path, mode_t mode = 0755) {
  if (path.empty()) return Status::Ok();
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return Status::Ok();
    return Status::Failed(path + " exists and is not a directory");
  }
  size_t slash = path.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    GB_RETURN_IF_ERROR(MakeDirs(path.substr(0, slash), 0755));
  }
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) {
    return Status::FromErrno("cannot create directory " + path, errno);
  }
  if (::chmod(path.c_str(), mode) != 0) return Status::FromErrno("chmod " + path, errno);
  return Status::Ok();
}

Status Symlink(const std::string& target, const std::string& link) {
  if (::symlink(target.c_str(), link.c_str()) != 0) {
    return Status::FromErrno("cannot create symlink " + link, errno);
  }
  return Status::Ok();
}

std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  for (size_t pos = text.find(from); pos != std::string::npos;
       pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
  return text;
}

// ---- the content.

std::string VersionJson(const SampleNodeOptions& options, const std::string& commit) {
  nlohmann::ordered_json version = {{"conf_version", options.conf_version},
                                    {"product_version", options.dss_version},
                                    {"product_commitid", commit}};
  return version.dump(2) + "\n";
}

std::string JdbcUrl(const SampleNodeOptions& options) {
  std::string url;
  std::vector<std::string> params;
  if (!options.db_host.empty() && options.db_host[0] == '/') {
    // A Unix socket: the JDBC driver reaches it through junixsocket's socket factory.
    url = "jdbc:postgresql://localhost:" + std::to_string(options.db_port) + "/" + options.db_name;
    params.push_back("socketFactory=org.newsclub.net.unix.AFUNIXSocketFactory$FactoryArg");
    params.push_back("socketFactoryArg=" + options.db_host + "/.s.PGSQL." +
                     std::to_string(options.db_port));
  } else {
    std::string host = options.db_host.find(':') != std::string::npos
                           ? "[" + options.db_host + "]"
                           : options.db_host;
    url = "jdbc:postgresql://" + host + ":" + std::to_string(options.db_port) + "/" +
          options.db_name;
  }
  if (!options.db_schema.empty()) params.push_back("currentSchema=" + options.db_schema);
  if (!params.empty()) url += "?" + Join(params, "&");
  return url;
}

// A TCP port free on loopback now, for the node's DSS: nodes generated side by side (tests
// run in parallel) must not share one. The kernel picks it; the tiny window before the API
// double binds it again is harmless in practice (ephemeral ports are handed out in turn).
Result<int> FreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::FromErrno("sample node: cannot create a socket", errno);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    int error = errno;
    ::close(fd);
    return Status::FromErrno("sample node: cannot find a free loopback port", error);
  }
  ::close(fd);
  return static_cast<int>(ntohs(address.sin_port));
}

struct Layout {
  const SampleNodeOptions& options;
  std::string root;
  std::string data_dir;
  std::string install_dir;
  std::string control_dir;
  int server_port;
  Rng rng{RandomSeed()};

  std::string D(const std::string& relative) const { return data_dir + "/" + relative; }

  Status Write(const std::string& relative, const std::string& content, mode_t mode = 0644) {
    std::string path = D(relative);
    GB_RETURN_IF_ERROR(MakeDirs(path.substr(0, path.find_last_of('/'))));
    return WriteFile(path, content, mode);
  }

  std::string Text(size_t words) {
    std::string text;
    AppendWords(rng, words, &text);
    return text + "\n";
  }

  std::string Binary(size_t bytes) {
    std::string data(bytes, '\0');
    for (size_t i = 0; i < bytes; ++i) data[i] = static_cast<char>(rng.Next());
    return data;
  }

  Status WriteIdentity() {
    std::string commit = RandomString(rng, 40, kHex);
    GB_RETURN_IF_ERROR(Write("dss-version.json", VersionJson(options, commit)));
    GB_RETURN_IF_ERROR(MakeDirs(install_dir));
    GB_RETURN_IF_ERROR(
        WriteFile(install_dir + "/dss-version.json", VersionJson(options, commit), 0644));
    GB_RETURN_IF_ERROR(WriteFile(install_dir + "/installer.sh", kFakeInstallerScript, 0755));
    GB_RETURN_IF_ERROR(MakeDirs(install_dir + "/scripts"));
    GB_RETURN_IF_ERROR(
        WriteFile(install_dir + "/scripts/README", "DSS installation kit (sample)\n", 0644));

    GB_RETURN_IF_ERROR(Write(
        "install.ini",
        "[general]\nnodetype = " + options.node_type + "\ninstallid = " +
            RandomString(rng, 24, kAlphaNumeric) + "\nnodeid = " +
            RandomString(rng, 8, "abcdefghijklmnopqrstuvwxyz0123456789") +
            "\n\n[server]\nport = " + std::to_string(server_port) +
            "\n\n[javaopts]\ngovernserver.xmx = 4g\n"));
    GB_RETURN_IF_ERROR(Write("instance-id.txt", RandomString(rng, 32, kHex) + "\n"));
    GB_RETURN_IF_ERROR(Write("install-support/expected-dip-home.txt", data_dir + "\n"));
    GB_RETURN_IF_ERROR(Write("install-support/installer.log",
                             "[+] Installing DSS " + options.dss_version + " in " + data_dir +
                                 "\n[+] Installation complete\n"));
    GB_RETURN_IF_ERROR(Write("bin/env-default.sh",
                             "# Environment of this DSS data directory, written by the installer\n"
                             "export DKUINSTALLDIR=\"" + install_dir + "\"\n"
                             "export DKUJAVABIN=\"/usr/bin/java\"\n"
                             "export DKU_BACKEND_PORT=" + std::to_string(server_port) + "\n",
                             0644));
    GB_RETURN_IF_ERROR(Write("bin/env-site.sh", "# Site-specific environment\n"));
    GB_RETURN_IF_ERROR(
        WriteFile(control_dir + "/api-key", RandomString(rng, 32, kAlphaNumeric) + "\n", 0600));
    return Write("bin/dss", ReplaceAll(kFakeDssScript, "@CONTROL_DIR@", ShellQuote(control_dir)),
                 0755);
  }

  Status WriteConfig() {
    GB_RETURN_IF_ERROR(MakeDirs(D("config")));
    GB_RETURN_IF_ERROR(Write("config/dip.properties",
                             "# Govern database connection\n"
                             "psql.jdbc.url=" + JdbcUrl(options) + "\n"
                             "psql.jdbc.user=" + options.db_user + "\n"
                             "psql.jdbc.password=e:AES:" + RandomString(rng, 64, kBase64) + "\n",
                             0600));
    GB_RETURN_IF_ERROR(Write("config/configkey.json",
                             "{\n  \"key\": \"" + RandomString(rng, 44, kBase64) + "\"\n}\n",
                             0600));
    GB_RETURN_IF_ERROR(Write("config/general-settings.json", ConfigJson(rng, "settings", "general")));
    GB_RETURN_IF_ERROR(Write("config/users.json",
                             "{\n  \"users\": [\n    {\"login\": \"admin\", \"displayName\": "
                             "\"Administrator\", \"groups\": [\"administrators\"], "
                             "\"passwordHash\": \"" + RandomString(rng, 60, kBase64) + "\"},\n"
                             "    {\"login\": \"reviewer\", \"displayName\": \"Model Reviewer\", "
                             "\"groups\": [\"reviewers\"]}\n  ]\n}\n",
                             0600));
    GB_RETURN_IF_ERROR(Write("config/groups.json", ConfigJson(rng, "groups", "groups")));
    GB_RETURN_IF_ERROR(Write("config/connections.json", ConfigJson(rng, "connections", "all")));
    GB_RETURN_IF_ERROR(Write("config/license.json", ConfigJson(rng, "license", "govern")));
    for (int i = 0; i < 3; ++i) {
      std::string id = "bp.custom" + std::to_string(i);
      GB_RETURN_IF_ERROR(Write("config/governance/blueprints/" + id + ".json",
                               ConfigJson(rng, "blueprint", id)));
    }
    GB_RETURN_IF_ERROR(Symlink("general-settings.json", D("config/current-settings.json")));

    // The config-like bulk: projects of two dozen files in three folders (few folders per
    // file: the file system's latency per entry dominates with 100,000 files).
    const int projects = (options.small_files + kFilesPerProject - 1) / kFilesPerProject;
    for (int project = 0; project < projects; ++project) {
      GB_RETURN_IF_ERROR(WriteProject(rng, project));
    }
    return Status::Ok();
  }

  static constexpr int kFilesPerProject = 24;

  Status WriteProject(Rng& project_rng, int project) const {
    static const char* kinds[] = {"recipe", "dataset", "scenario", "notebook", "webapp",
                                  "wiki", "dashboard", "insight", "metric", "saved-model"};
    char name[32];
    std::snprintf(name, sizeof(name), "P%05d", project);
    const std::string project_dir = "config/projects/" + std::string(name);
    for (const char* sub : {"recipes", "datasets"}) {
      GB_RETURN_IF_ERROR(MakeDirs(D(project_dir + "/" + sub)));
    }
    const int first = project * kFilesPerProject;
    const int end = std::min(options.small_files, first + kFilesPerProject);
    for (int i = first; i < end; ++i) {
      int k = i - first;
      std::string relative;
      std::string kind;
      if (k < 2) {
        kind = k == 0 ? "params" : "permissions";
        relative = project_dir + "/" + kind + ".json";
      } else {
        kind = kinds[i % 10];
        relative = project_dir + (k % 2 == 0 ? "/recipes/" : "/datasets/") + kind + "_" +
                   std::to_string(i) + ".json";
      }
      GB_RETURN_IF_ERROR(
          WriteFile(D(relative), ConfigJson(project_rng, kind, kind + std::to_string(i)), 0644));
    }
    return Status::Ok();
  }

  Status WriteFolders() {
    // The rest of a DSS 14 top level, a few files each.
    GB_RETURN_IF_ERROR(Write("databases/jobs.h2.db", Binary(16384)));
    GB_RETURN_IF_ERROR(Write("databases/flow_state.h2.db", Binary(8192)));
    GB_RETURN_IF_ERROR(Write("lib/java/custom-udf.jar", Binary(4096)));
    GB_RETURN_IF_ERROR(Write("lib/python/govern_hooks.py",
                             "def on_review(item):\n    return item.get('status') == 'approved'\n"));
    GB_RETURN_IF_ERROR(Write("lib/scripts/refresh-artifacts.sh",
                             "#!/bin/sh\necho refreshing governed artifacts\n", 0755));
    GB_RETURN_IF_ERROR(Symlink("../../plugins/installed", D("lib/python/plugins")));
    GB_RETURN_IF_ERROR(Write("local/static/banner.txt", Text(30)));
    GB_RETURN_IF_ERROR(Symlink(data_dir + "/config/general-settings.json",
                               D("local/static/settings-link.json")));
    GB_RETURN_IF_ERROR(Symlink("../missing/nowhere.txt", D("local/dangling-link")));
    GB_RETURN_IF_ERROR(MakeDirs(D("local/private"), 0700));
    GB_RETURN_IF_ERROR(Write("local/private/api-secret.txt", RandomString(rng, 32, kHex), 0600));
    GB_RETURN_IF_ERROR(MakeDirs(D("local/empty-dir")));

    GB_RETURN_IF_ERROR(Write("plugins/installed/sample-plugin/plugin.json",
                             ConfigJson(rng, "plugin", "sample-plugin")));
    GB_RETURN_IF_ERROR(Write("plugins/installed/sample-plugin/python-lib/shared.py",
                             "# shared by two entry points (hard link)\nVALUE = 42\n"));
    if (::link(D("plugins/installed/sample-plugin/python-lib/shared.py").c_str(),
               D("plugins/installed/sample-plugin/python-lib/shared_alias.py").c_str()) != 0) {
      return Status::FromErrno("cannot create a hard link in plugins/", errno);
    }
    GB_RETURN_IF_ERROR(Write("plugins/dev/README", "plugins under development\n"));

    GB_RETURN_IF_ERROR(Write("R.lib/README", "R packages installed for DSS\n"));
    GB_RETURN_IF_ERROR(Write("analysis-data/P00000/a1/session.json", ConfigJson(rng, "analysis", "a1")));
    GB_RETURN_IF_ERROR(Write("saved_models/P00000/m1/versions/v1/model.bin", Binary(32768)));
    GB_RETURN_IF_ERROR(Write("timelines/P00000.json", ConfigJson(rng, "timeline", "P00000")));
    GB_RETURN_IF_ERROR(Write("notebook_results/P00000/run1.json", ConfigJson(rng, "nb", "run1")));
    GB_RETURN_IF_ERROR(Write("jupyter-run/jupyter.log", Text(40)));
    GB_RETURN_IF_ERROR(Write("privtmp/README", "private temporary files\n"));
    GB_RETURN_IF_ERROR(Write("managed_datasets/P00000/customers.csv",
                             "id,name,segment\n1,Ada,finance\n2,Grace,legal\n"));
    GB_RETURN_IF_ERROR(Write("uploads/Quarterly report été 2026.csv",
                             "quarter,revenue\nQ1,100\nQ2,120\n"));
    GB_RETURN_IF_ERROR(Write("uploads/données.txt", "données de référence\n"));

    GB_RETURN_IF_ERROR(Write("pyenv/pyvenv.cfg", "home = /usr/bin\nversion = 3.11.2\n"));
    GB_RETURN_IF_ERROR(MakeDirs(D("pyenv/bin")));
    GB_RETURN_IF_ERROR(Symlink("/usr/bin/python3", D("pyenv/bin/python")));
    GB_RETURN_IF_ERROR(Symlink("python", D("pyenv/bin/python3")));
    GB_RETURN_IF_ERROR(Write("code-envs/python/govern-env/desc.json",
                             ConfigJson(rng, "code-env", "govern-env")));
    GB_RETURN_IF_ERROR(MakeDirs(D("code-envs/python/govern-env/bin")));
    GB_RETURN_IF_ERROR(Symlink("../../../../pyenv/bin/python",
                               D("code-envs/python/govern-env/bin/python")));

    // The folders a backup excludes by default.
    for (const char* folder : {"tmp", "caches", "data-catalog", "jobs", "scenarios", "diagnosis",
                               "exports", "prepared_bundles", "apinode-packages"}) {
      for (int i = 0; i < 3; ++i) {
        GB_RETURN_IF_ERROR(Write(std::string(folder) + "/item" + std::to_string(i) + ".dat",
                                 Text(50 + rng.Below(200))));
      }
    }
    GB_RETURN_IF_ERROR(Write("run/backend.log", Text(200)));
    GB_RETURN_IF_ERROR(Write("run/supervisord.log", Text(50)));
    return Status::Ok();
  }

  Status WriteLargeFiles() {
    for (int i = 0; i < options.large_files; ++i) {
      std::string relative = i % 2 == 0
                                 ? "managed_folders/P00000/Xy7Qa2/blob-" + std::to_string(i) + ".bin"
                                 : "uploads/archive-" + std::to_string(i) + ".dat";
      std::string path = D(relative);
      GB_RETURN_IF_ERROR(MakeDirs(path.substr(0, path.find_last_of('/'))));
      GB_RETURN_IF_ERROR(WriteLargeFile(rng, path, options.large_file_bytes));
    }
    return Status::Ok();
  }
};

Result<std::string> RealPath(const std::string& path) {
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr) {
    return Status::FromErrno("cannot resolve " + path, errno);
  }
  return std::string(resolved);
}

// lchown of `root` and everything below it, symlinks themselves rather than their targets.
Status ChownTree(const std::string& root, uid_t uid, gid_t gid) {
  if (::lchown(root.c_str(), uid, gid) != 0) return Status::FromErrno("cannot chown " + root, errno);
  std::error_code error;
  for (std::filesystem::recursive_directory_iterator it(root, error), end; !error && it != end;
       it.increment(error)) {
    if (::lchown(it->path().c_str(), uid, gid) != 0) {
      return Status::FromErrno("cannot chown " + it->path().string(), errno);
    }
  }
  if (error) return Status::Failed("cannot walk " + root + ": " + error.message());
  return Status::Ok();
}

Result<std::string> ReadPidFile(const std::string& path) {
  std::ifstream in(path);
  std::string pid;
  if (!(in >> pid)) return Status::Failed("no pid in " + path);
  return pid;
}

// The pid of the node's fake supervisor when it is alive (not a zombie, not a reused pid).
std::optional<pid_t> SupervisorPid(const std::string& data_dir) {
  auto text = ReadPidFile(data_dir + "/run/supervisord.pid");
  if (!text.ok() || text->find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  pid_t pid = static_cast<pid_t>(std::stol(*text));
  if (pid <= 0 || (::kill(pid, 0) != 0 && errno != EPERM)) return std::nullopt;
  std::ifstream cmdline("/proc/" + *text + "/cmdline", std::ios::binary);
  std::string args((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
  if (args.find(std::string(1, '\0') + data_dir + '\0') == std::string::npos) return std::nullopt;
  return pid;
}

// Who owns the node: as root an unprivileged system user (created if missing, as bin/dss
// refuses root), else ourselves (then `requested` may only name ourselves). The name is ""
// when not root: bin/dss then runs as ourselves.
Result<SystemUser> ResolveOwner(const std::string& requested) {
  if (::geteuid() == 0) {
    const std::string name = requested.empty() ? kSampleNodeUser : requested;
    GB_ASSIGN_OR_RETURN(SystemUser owner,
                        EnsureSystemUser(name, "to own the sample Govern node", std::cerr));
    if (owner.uid == 0) {
      return Status::Usage("sample node owner " + name + " is root; bin/dss refuses root");
    }
    return owner;
  }
  if (!requested.empty()) {
    const passwd* self = ::getpwuid(::geteuid());
    if (self == nullptr || requested != self->pw_name) {
      return Status::Usage("a sample node owned by " + requested + " needs root");
    }
  }
  return SystemUser{"", ::geteuid(), ::getegid()};
}

}  // namespace

bool SampleNode::IsRunning() const { return SupervisorPid(data_dir).has_value(); }

Status SampleNode::KillSupervisor() const {
  auto pid = SupervisorPid(data_dir);
  if (!pid) return Status::Ok();
  // The whole process group (the supervisor is its leader, by setsid): its counter writer
  // and that writer's psql must not outlive it.
  if (::kill(-*pid, SIGKILL) != 0 && ::kill(*pid, SIGKILL) != 0 && errno != ESRCH) {
    return Status::FromErrno("cannot kill the sample supervisor " + std::to_string(*pid), errno);
  }
  for (int i = 0; i < 100 && SupervisorPid(data_dir); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::unlink((data_dir + "/run/supervisord.pid").c_str());
  return Status::Ok();
}

Result<SampleNode> GenerateSampleNode(const SampleNodeOptions& options) {
  if (options.root.empty()) return Status::Usage("sample node: no root directory given");
  auto start_time = std::chrono::steady_clock::now();
  GB_ASSIGN_OR_RETURN(SystemUser owner, ResolveOwner(options.owner));

  GB_RETURN_IF_ERROR(MakeDirs(options.root));
  GB_ASSIGN_OR_RETURN(std::string root, RealPath(options.root));
  int server_port = options.server_port;
  if (server_port == 0) {
    GB_ASSIGN_OR_RETURN(server_port, FreeLoopbackPort());
  }
  Layout layout{options,        root, root + "/data_dir", root + "/install_dir", root + "/control",
                server_port};
  for (const std::string* dir : {&layout.data_dir, &layout.install_dir, &layout.control_dir}) {
    struct stat st;
    if (::lstat(dir->c_str(), &st) == 0) {
      return Status::Failed("sample node: " + *dir + " already exists",
                            "generate the sample node into an empty directory");
    }
  }
  GB_RETURN_IF_ERROR(MakeDirs(layout.data_dir));
  GB_RETURN_IF_ERROR(MakeDirs(layout.control_dir));
  GB_RETURN_IF_ERROR(WriteFile(layout.control_dir + "/events.log", "", 0644));
  GB_RETURN_IF_ERROR(layout.WriteIdentity());
  GB_RETURN_IF_ERROR(layout.WriteConfig());
  GB_RETURN_IF_ERROR(layout.WriteFolders());
  GB_RETURN_IF_ERROR(layout.WriteLargeFiles());
  if (::geteuid() == 0) GB_RETURN_IF_ERROR(ChownTree(root, owner.uid, owner.gid));

  SampleNode node;
  node.root = root;
  node.data_dir = layout.data_dir;
  node.install_dir = layout.install_dir;
  node.control_dir = layout.control_dir;
  node.owner_uid = owner.uid;
  node.owner_gid = owner.gid;
  node.server_port = server_port;
  spdlog::debug("sample node generated in {} ({} config files, {} large files) in {} ms", root,
                options.small_files, options.large_files,
                std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - start_time)
                    .count());

  if (options.start_running) {
    GB_ASSIGN_OR_RETURN(DssControlOptions control,
                        MakeDssControlOptions(node.data_dir, "", owner.name));
    control.start_timeout = std::chrono::seconds(60);
    GB_RETURN_IF_ERROR(DssControl(control).Start());
  }
  return node;
}

}  // namespace gb