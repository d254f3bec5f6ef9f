#include "datadir/owner_names.h"

#include <grp.h>
#include <pwd.h>

namespace gb {

const std::string& OwnerNames::User(uid_t uid) {
  auto it = users_.find(uid);
  if (it != users_.end()) return it->second;
  std::string name;
  struct passwd pwd;
  struct passwd* found = nullptr;
  char buffer[4096];
  if (getpwuid_r(uid, &pwd, buffer, sizeof buffer, &found) == 0 && found != nullptr) {
    name = found->pw_name;
  }
  return users_.emplace(uid, std::move(name)).first->second;
}

const std::string& OwnerNames::Group(gid_t gid) {
  auto it = groups_.find(gid);
  if (it != groups_.end()) return it->second;
  std::string name;
  struct group grp;
  struct group* found = nullptr;
  char buffer[4096];
  if (getgrgid_r(gid, &grp, buffer, sizeof buffer, &found) == 0 && found != nullptr) {
    name = found->gr_name;
  }
  return groups_.emplace(gid, std::move(name)).first->second;
}

}  // namespace gb
