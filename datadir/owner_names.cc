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

uid_t OwnerNames::UidOf(const std::string& user, uid_t fallback) {
  if (user.empty()) return fallback;
  auto it = uids_.find(user);
  if (it != uids_.end()) return it->second;
  struct passwd pwd;
  struct passwd* found = nullptr;
  char buffer[4096];
  uid_t uid = fallback;
  if (getpwnam_r(user.c_str(), &pwd, buffer, sizeof buffer, &found) == 0 && found != nullptr)
    uid = found->pw_uid;
  return uids_.emplace(user, uid).first->second;
}

gid_t OwnerNames::GidOf(const std::string& group, gid_t fallback) {
  if (group.empty()) return fallback;
  auto it = gids_.find(group);
  if (it != gids_.end()) return it->second;
  struct group grp;
  struct group* found = nullptr;
  char buffer[4096];
  gid_t gid = fallback;
  if (getgrnam_r(group.c_str(), &grp, buffer, sizeof buffer, &found) == 0 && found != nullptr)
    gid = found->gr_gid;
  return gids_.emplace(group, gid).first->second;
}

}  // namespace gb
