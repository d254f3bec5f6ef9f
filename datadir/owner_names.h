// OwnerNames: user and group names of uids and gids, and back, looked up once each (tar
// headers carry both the id and the name, so that a restore on another host can map them).
//
// Thread-safety: not thread-safe; one per archive writer.
#pragma once

#include <sys/types.h>

#include <string>
#include <unordered_map>

namespace gb {

class OwnerNames {
 public:
  // The name, or "" when the id has none.
  const std::string& User(uid_t uid);
  const std::string& Group(gid_t gid);
  // The id of a name on this host, as libarchive's standard lookup maps it when extracting;
  // `fallback` (the id recorded with the name) when the name is empty or unknown here.
  uid_t UidOf(const std::string& user, uid_t fallback);
  gid_t GidOf(const std::string& group, gid_t fallback);

 private:
  std::unordered_map<uid_t, std::string> users_;
  std::unordered_map<gid_t, std::string> groups_;
  std::unordered_map<std::string, uid_t> uids_;
  std::unordered_map<std::string, gid_t> gids_;
};

}  // namespace gb
