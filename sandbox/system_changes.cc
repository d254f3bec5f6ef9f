#include "sandbox/system_changes.h"

#include <pwd.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <optional>

#include "io/subprocess.h"

namespace gb {
namespace {

std::optional<SystemUser> LookUp(const std::string& name) {
  const passwd* entry = ::getpwnam(name.c_str());
  if (entry == nullptr) return std::nullopt;
  return SystemUser{name, entry->pw_uid, entry->pw_gid};
}

}  // namespace

Result<SystemUser> EnsureSystemUser(const std::string& name, const std::string& purpose,
                                    std::ostream& announce) {
  if (std::optional<SystemUser> user = LookUp(name)) return *user;
  announce << "govern-backup sandbox: creating system user " << name << " " << purpose
           << " (useradd --system --user-group " << name << ")" << std::endl;
  SubprocessOptions options;
  options.argv = {"useradd", "--system", "--user-group", "--no-create-home",
                  "--shell", "/usr/sbin/nologin", name};
  options.timeout = std::chrono::seconds(60);
  GB_ASSIGN_OR_RETURN(ExitInfo exit, RunSubprocess(options));
  // Another process may have created it meanwhile (useradd exits 9 then): look again.
  if (std::optional<SystemUser> user = LookUp(name)) return *user;
  return Status::Failed("cannot create system user " + name + ": useradd " + exit.Describe(),
                        "create it by hand (useradd --system " + name + ") and run again");
}

Status MakeAncestorsTraversable(const std::string& directory, const std::string& who,
                                std::ostream& announce) {
  namespace fs = std::filesystem;
  const fs::path target = fs::absolute(directory);
  for (fs::path at = target.parent_path(); !at.empty() && at != at.root_path();
       at = at.parent_path()) {
    struct stat info {};
    if (::stat(at.c_str(), &info) != 0) {
      return Status::FromErrno("cannot stat " + at.string(), errno);
    }
    if ((info.st_mode & S_IXOTH) != 0) continue;
    announce << "govern-backup sandbox: adding o+x to " << at.string() << " so that " << who
             << " can reach " << target.string() << std::endl;
    if (::chmod(at.c_str(), (info.st_mode & 07777) | S_IXOTH) != 0) {
      return Status::FromErrno("cannot add o+x to " + at.string(), errno,
                               "give " + who + " access to " + target.string() +
                                   " by hand, or choose a directory under /tmp");
    }
  }
  return Status::Ok();
}

}  // namespace gb
