// The change rule of incremental sets (DESIGN "A set, v2", rule 3): whether an entry of the
// data dir, as the walk lists it now, must be archived again or may keep the index entry of
// the set it builds on (or of the first pass). File times can be as coarse as a second, so a
// file written in the same tick after it was read keeps its times: such a read is "racy" and
// the next comparison does not trust it.
//
// Thread-safety: plain functions.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "datadir/file_index.h"
#include "io/status.h"

namespace gb {

// The index type of a stat mode: file | dir | symlink | fifo | char | block | socket.
const char* IndexTypeOf(mode_t mode);

int64_t TimeNs(const struct timespec& time);

// The wall clock (CLOCK_REALTIME) in ns since the epoch: what file times are compared with.
int64_t WallClockNs();

// Whether `st`'s mtime or ctime is too close to `read_at_ns` (the wall clock just before the
// entry was listed and read) for a write in the same clock tick to be told apart: within
// kRacyWindowNs.
inline constexpr int64_t kRacyWindowNs = 1000000000;
bool IsRacy(const struct stat& st, int64_t read_at_ns);

// The target of the symlink `name` in directory `dir_fd`, listed with `st`; `path` names it
// in errors.
Result<std::string> ReadLinkAt(int dir_fd, const std::string& name, const struct stat& st,
                               const std::string& path);

// Whether the entry listed with `now` must be archived again rather than keep `before`: its
// type, mode, owner, size, mtime, ctime or inode differ; or `before` was racy; or it is a
// regular file of several hard links (a link group is archived whole, in one half). For a
// symlink, `link_target` is its target now (compared too).
bool NeedsArchiving(const FileIndexEntry& before, const struct stat& now,
                    std::string_view link_target);

// Whether the member `before` describes (its tar header: type, mode, owner, size, mtime, link
// target) is what `now` would be archived as; the content of a regular file aside.
bool SameHeader(const FileIndexEntry& before, const struct stat& now,
                std::string_view link_target);

// The SHA-256 (hex) of the regular file `name` in directory `dir_fd`; `path` names it in
// errors.
Result<std::string> ContentSha256At(int dir_fd, const std::string& name, const std::string& path);

}  // namespace gb
