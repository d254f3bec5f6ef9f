#include "datadir/change_journal.h"

#include <errno.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cstring>

#include "datadir/file_index.h"

namespace gb {
namespace {

constexpr uint32_t kWatchMask = IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE |
                                IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF |
                                IN_ONLYDIR;
// More changed paths than this between the first pass and the stop: walking everything is
// as cheap, and the sets stay small.
constexpr size_t kMaxChangedPaths = 100000;

std::string Join(const std::string& directory, std::string_view name) {
  return directory.empty() ? std::string(name) : directory + "/" + std::string(name);
}

}  // namespace

std::unique_ptr<ChangeJournal> ChangeJournal::Start() {
  std::unique_ptr<ChangeJournal> journal(new ChangeJournal());
  journal->fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (journal->fd_ < 0)
    journal->GiveUp(std::string("inotify is not available: ") + std::strerror(errno));
  return journal;
}

ChangeJournal::~ChangeJournal() {
  if (fd_ >= 0) ::close(fd_);
}

void ChangeJournal::GiveUp(std::string why) {
  if (!usable()) return;
  why_not_ = std::move(why);
  changed_.clear();
  enter_.clear();
  new_dirs_.clear();
  directories_.clear();
  open_chain_.clear();
  if (fd_ >= 0) ::close(fd_);  // the kernel drops every watch
  fd_ = -1;
}

void ChangeJournal::Watch(int fd, std::string_view relative) {
  if (!usable()) return;
  // The directory itself, not a path that may be too long or replaced meanwhile.
  const std::string self = "/proc/self/fd/" + std::to_string(fd);
  const int watch = inotify_add_watch(fd_, self.c_str(), kWatchMask);
  if (watch < 0) {
    const int error = errno;
    GiveUp(error == ENOSPC ? "the inotify watch limit (fs.inotify.max_user_watches) is reached"
                           : "cannot watch " + std::string(relative) + ": " + std::strerror(error));
    return;
  }
  while (!open_chain_.empty() && !PathIsUnder(relative, open_chain_.back().first))
    open_chain_.pop_back();
  Directory directory;
  directory.parent = open_chain_.empty() ? 0 : open_chain_.back().second;
  const size_t slash = relative.rfind('/');
  directory.name = std::string(slash == std::string_view::npos ? relative : relative.substr(slash + 1));
  if (static_cast<size_t>(watch) >= directories_.size()) directories_.resize(watch + 1);
  directories_[watch] = std::move(directory);
  open_chain_.emplace_back(std::string(relative), watch);
}

std::string ChangeJournal::PathOf(int watch) const {
  std::vector<const std::string*> names;
  for (int at = watch; at != 0; at = directories_[at].parent) {
    if (!directories_[at].name.empty()) names.push_back(&directories_[at].name);
    if (directories_[at].name.empty()) break;  // the root
  }
  std::string path;
  for (auto it = names.rbegin(); it != names.rend(); ++it) path = Join(path, **it);
  return path;
}

void ChangeJournal::Changed(const std::string& path) {
  if (!changed_.insert(path).second) return;
  if (changed_.size() > kMaxChangedPaths) {
    GiveUp("more than " + std::to_string(kMaxChangedPaths) + " paths changed since the first pass");
    return;
  }
  for (size_t slash = path.rfind('/'); slash != std::string::npos; slash = path.rfind('/', slash - 1)) {
    if (!enter_.insert(path.substr(0, slash)).second) break;  // its ancestors are in already
    if (slash == 0) break;
  }
}

void ChangeJournal::Collect() {
  alignas(struct inotify_event) char buffer[64 << 10];
  while (usable()) {
    const ssize_t got = ::read(fd_, buffer, sizeof buffer);
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) GiveUp(std::string("cannot read inotify events: ") + std::strerror(errno));
      return;
    }
    for (ssize_t at = 0; at < got && usable();) {
      const auto* event = reinterpret_cast<const struct inotify_event*>(buffer + at);
      at += static_cast<ssize_t>(sizeof(struct inotify_event) + event->len);
      if (event->mask & IN_Q_OVERFLOW) {
        GiveUp("the inotify event queue overflowed (fs.inotify.max_queued_events)");
        break;
      }
      if (event->mask & IN_UNMOUNT) {
        GiveUp("a file system under the data dir was unmounted");
        break;
      }
      if (event->mask & IN_IGNORED) continue;  // its removal raised an event of its own
      if (event->wd <= 0 || static_cast<size_t>(event->wd) >= directories_.size()) {
        GiveUp("an inotify event for an unknown watch");
        break;
      }
      const std::string directory = PathOf(event->wd);
      if (event->len == 0 || event->name[0] == '\0') {  // about the watched directory itself
        if (!directory.empty()) Changed(directory);
        continue;
      }
      const std::string path = Join(directory, event->name);
      Changed(path);
      if ((event->mask & IN_ISDIR) && (event->mask & (IN_CREATE | IN_MOVED_TO)))
        new_dirs_.insert(path);
    }
  }
}

bool ChangeJournal::MustEnter(std::string_view relative) const {
  if (!usable()) return true;
  const std::string path(relative);
  if (enter_.count(path)) return true;
  // In (or at) a directory made since its parent was listed: nothing below it was watched.
  for (size_t end = path.size(); end != std::string::npos && end > 0; end = path.rfind('/', end - 1)) {
    if (new_dirs_.count(path.substr(0, end))) return true;
    if (end == 0) break;
  }
  return false;
}

}  // namespace gb
