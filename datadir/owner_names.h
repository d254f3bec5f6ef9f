// OwnerNames: user and group names of uids and gids, looked up once each (tar headers carry
// both the id and the name, so that a restore on another host can map them).
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

 private:
  std::unordered_map<uid_t, std::string> users_;
  std::unordered_map<gid_t, std::string> groups_;
};

}  // namespace gb
