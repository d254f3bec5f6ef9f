#include "datadir/archive_writer.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include <spdlog/spdlog.h>

#include "datadir/archive_locale.h"
#include "datadir/archive_spill.h"
#include "datadir/change_journal.h"
#include "datadir/change_rule.h"
#include "datadir/data_dir_walk.h"
#include "datadir/entry_prefetcher.h"
#include "datadir/read_ahead.h"
#include "datadir/tar_member_writer.h"
#include "datadir/tree_stats.h"

namespace gb {
namespace {

constexpr int kReadAheadThreads = 2;
constexpr uint64_t kReadAheadWindow = 256ull << 20;  // page cache warmed ahead of the reader

const char kOfflineChangeHint[] =
    "an offline backup needs DSS stopped; is another process writing to the data directory?";

using EntryFn = std::function<Status(const FileIndexEntry&)>;

// What one pass does with each entry: `keep` an entry of the stream it is compared with
// (unchanged), index an `archived` one, and hear of an entry of that stream that is `gone`.
struct PassPlan {
  TreeWalker* walk = nullptr;
  IndexCursor* before = nullptr;  // nullptr: everything is archived
  bool strict = false;            // DSS stopped: a change while reading is an error
  bool record_changes = false;    // an online set lists what changed while read
  EntryFn keep;
  EntryFn archived;
  EntryFn redescribed;  // a directory changed in place: a new entry, no new member
  EntryFn gone;
  DirectoryChain* directories = nullptr;  // the directories this pass met, in walk order
  // The second pass: DSS is stopped, so an entry whose times were not trusted (racy) but whose
  // header and content are what its first-pass member holds needs no second member.
  bool confirm_racy = false;
  // The first pass of two: each directory met, before its children are listed.
  std::function<void(const WalkEntry& directory)> on_directory;
  // The second pass with a change journal: whether an unchanged directory is entered; one that
  // is not keeps the first pass's entries below it as they are.
  std::function<bool(std::string_view directory)> enter;
};

// Whether the member of `before` is what `node` would be archived as now. A hard-link group is
// never confirmed: it is archived whole or not at all.
Result<bool> SameMember(const WalkEntry& node, const FileIndexEntry& before,
                        const std::string& target, const std::string& path) {
  if (!SameHeader(before, node.st, target)) return false;
  if (!S_ISREG(node.st.st_mode)) return true;
  if (node.st.st_nlink > 1 || before.sha256.empty()) return false;
  GB_ASSIGN_OR_RETURN(std::string sha256,
                      ContentSha256At(node.parent_fd, std::string(node.name), path));
  return sha256 == before.sha256;
}

}  // namespace

struct DataDirArchiver::State {
  State(const ArchiveWriteOptions& options, ByteSink& sink)
      : options(options), tar(sink, options.progress, options.on_member) {}

  Status RunPass(PassPlan& plan);
  Status Node(PassPlan& plan, const WalkEntry& node, int64_t read_at);
  Status TakeVanished(PassPlan& plan, size_t& seen);
  Status Gone(PassPlan& plan, const FileIndexEntry& entry);
  Status Redescribe(PassPlan& plan, const WalkEntry& node, const FileIndexEntry& before,
                    int64_t read_at);
  Status ListVanished(DirectoryChain* directories, const std::string& path);
  Status KeepBelow(PassPlan& plan, const std::string& directory);
  void NoteForJournal(const FileIndexEntry& entry);

  const ArchiveWriteOptions& options;
  TarMemberWriter tar;
  ArchiveWriteStats stats;
  std::unique_ptr<VanishedList> vanished;
  std::unique_ptr<EntrySpill> first_pass;   // two passes: every entry of the first
  std::unique_ptr<EntrySpill> second_pass;  // two passes: what the second one replaced
  std::unique_ptr<EntryPrefetcher> parent_ahead;  // reads the parent's index for `parent`
  std::unique_ptr<IndexCursor> parent;
  std::unique_ptr<ChangeJournal> journal;  // two passes: from the first pass's start
  bool finished = false;
};

Status DataDirArchiver::State::RunPass(PassPlan& plan) {
  size_t vanished_seen = 0;
  for (;;) {
    // Before the entry's lstat: a write in the same tick as the read leaves times that are
    // not older than this (change_rule.h IsRacy).
    const int64_t read_at = WallClockNs();
    GB_ASSIGN_OR_RETURN(const WalkEntry* node, plan.walk->Next());
    GB_RETURN_IF_ERROR(TakeVanished(plan, vanished_seen));
    if (node == nullptr) break;
    GB_RETURN_IF_ERROR(Node(plan, *node, read_at));
  }
  if (plan.before == nullptr) return Status::Ok();
  return plan.before->Drain([&](const FileIndexEntry& entry) { return Gone(plan, entry); });
}

// What the walk found gone since it listed it: DSS running, it is noted; stopped, something
// else is writing, and the set would not be the stopped node's.
Status DataDirArchiver::State::TakeVanished(PassPlan& plan, size_t& seen) {
  const std::vector<std::string>& found = plan.walk->vanished();
  for (; seen < found.size(); ++seen) {
    const std::string path = plan.walk->display_root() + "/" + found[seen];
    if (plan.strict)
      return Status::Failed(path + " vanished while the data dir was read", kOfflineChangeHint);
    spdlog::debug("{} vanished while the data dir was read", path);
    if (plan.record_changes) stats.vanished_while_read.push_back(found[seen]);
  }
  return Status::Ok();
}

Status DataDirArchiver::State::Gone(PassPlan& plan, const FileIndexEntry& entry) {
  return plan.gone ? plan.gone(entry) : Status::Ok();
}

Status DataDirArchiver::State::ListVanished(DirectoryChain* directories,
                                            const std::string& path) {
  if (!directories->ParentIsDirectory(path)) return Status::Ok();
  return vanished->Add(path);
}

// An entry indexed anew without a new member: a directory that was one already and changed (an
// entry added or removed, a chmod) - GNU tar --recursive-unlink, which a by-hand restore needs
// for a path whose type changed, empties a directory it extracts a directory member over (GNU
// tar 1.34), which would take the entries kept from earlier sets with it - or, in the second
// pass, an entry whose earlier member SameMember confirmed. The index keeps pointing at the
// earlier member and records the entry as it is now (what the tool's restore applies).
Status DataDirArchiver::State::Redescribe(PassPlan& plan, const WalkEntry& node,
                                          const FileIndexEntry& before, int64_t read_at) {
  const std::string relative(node.relative);
  FileIndexEntry entry = tar.DescribeStat(node.st, relative);
  entry.set_id = before.set_id;
  entry.offset = before.offset;
  entry.length = before.length;
  entry.sha256 = before.sha256;
  entry.link_target = before.link_target;
  entry.racy = IsRacy(node.st, read_at);
  if (plan.directories) plan.directories->Met(relative, S_ISDIR(node.st.st_mode));
  return plan.redescribed(entry);
}

// The first pass's entries below an unchanged directory the journal says nothing happened in:
// they stand in the first pass's spill (the second pass's `keep` does nothing), and each is
// only glimpsed, most not even that (archive_spill.h). A path gone since the parent set is
// listed as vanished when the first pass found its parent to be a directory: nothing happened
// there since. The walk's directory chain needs none of them: the walk's next path is outside.
Status DataDirArchiver::State::KeepBelow(PassPlan& plan, const std::string& directory) {
  ::close(plan.walk->TakeDirectory());
  return plan.before->PassBelow(directory, [&](std::string_view path, std::string_view type) {
    return type == kGoneInDirectoryEntryType ? vanished->Add(path) : Status::Ok();
  });
}

// A hard link changed through one name raises no event under its other names: the second
// pass looks at every name of a group (the first one is the hard link's target).
void DataDirArchiver::State::NoteForJournal(const FileIndexEntry& entry) {
  if (!journal || entry.type != "hardlink") return;
  journal->Look(entry.path);
  journal->Look(entry.link_target);
}

Status DataDirArchiver::State::Node(PassPlan& plan, const WalkEntry& node, int64_t read_at) {
  const std::string relative(node.relative);
  const std::string path = plan.walk->display_root() + "/" + relative;
  if (S_ISSOCK(node.st.st_mode)) return Status::Ok();  // never archived, never indexed
  if (plan.on_directory && S_ISDIR(node.st.st_mode) && node.fd >= 0) plan.on_directory(node);
  const FileIndexEntry* before = nullptr;
  if (plan.before != nullptr) {
    GB_ASSIGN_OR_RETURN(before, plan.before->Seek(relative, [&](const FileIndexEntry& entry) {
      return Gone(plan, entry);
    }));
  }
  if (before != nullptr && !IsGoneMarker(before->type)) {
    std::string target;
    if (S_ISLNK(node.st.st_mode)) {
      GB_ASSIGN_OR_RETURN(target,
                          ReadLinkAt(node.parent_fd, std::string(node.name), node.st, path));
    }
    if (!NeedsArchiving(*before, node.st, target)) {
      if (plan.directories) plan.directories->Met(relative, S_ISDIR(node.st.st_mode));
      GB_RETURN_IF_ERROR(plan.keep(*before));
      if (plan.enter && S_ISDIR(node.st.st_mode) && node.fd >= 0 && !plan.enter(relative))
        return KeepBelow(plan, relative);
      return Status::Ok();
    }
    if (before->type == "dir" && S_ISDIR(node.st.st_mode)) {
      GB_RETURN_IF_ERROR(Redescribe(plan, node, *before, read_at));
      // A directory whose own entry changed (or was racy) says nothing of what lies below:
      // the journal does, racy entries included, as the first pass watched the directory
      // before it listed and read them.
      if (plan.enter && node.fd >= 0 && !plan.enter(relative)) return KeepBelow(plan, relative);
      return Status::Ok();
    }
    if (plan.confirm_racy) {
      if (before->racy && S_ISREG(node.st.st_mode)) {
        ++stats.racy_read_again;
        stats.racy_bytes_read_again += static_cast<uint64_t>(node.st.st_size);
      }
      GB_ASSIGN_OR_RETURN(bool same, SameMember(node, *before, target, path));
      if (same) return Redescribe(plan, node, *before, read_at);
    }
  }
  GB_ASSIGN_OR_RETURN(MemberOutcome outcome, tar.WriteNode(node, path));
  if (outcome.kind == MemberOutcome::Kind::kSkipped) return Status::Ok();
  if (outcome.kind == MemberOutcome::Kind::kVanished) {
    if (plan.strict)
      return Status::Failed(path + " vanished while the data dir was read", kOfflineChangeHint);
    spdlog::debug("{} vanished while the data dir was read", path);
    if (plan.record_changes) stats.vanished_while_read.push_back(relative);
    return before != nullptr ? Gone(plan, *before) : Status::Ok();
  }
  FileIndexEntry& entry = outcome.entry;
  if (outcome.changed_while_read) {
    if (plan.strict)
      return Status::Failed("file " + path + " changed while being read", kOfflineChangeHint);
    spdlog::debug("{} changed while being read", path);
    if (plan.record_changes) stats.changed_while_read.push_back(relative);
    entry.racy = true;  // what was read is not what the times say: read it again next time
  }
  entry.racy = entry.racy || IsRacy(node.st, read_at);
  entry.set_id = options.set_id;
  if (plan.directories) plan.directories->Met(relative, S_ISDIR(node.st.st_mode));
  return plan.archived(entry);
}

DataDirArchiver::DataDirArchiver(std::unique_ptr<State> state) : state_(std::move(state)) {}
DataDirArchiver::~DataDirArchiver() {
  if (state_ && !state_->finished) state_->tar.Abandon();
}

bool DataDirArchiver::parent_failed() const { return state_->parent && state_->parent->failed(); }

Result<std::unique_ptr<DataDirArchiver>> DataDirArchiver::Start(const ArchiveWriteOptions& options,
                                                                ByteSink& sink) {
  ScopedUtf8Locale utf8;  // libarchive picks its name conversion from the locale in force
  auto state = std::make_unique<State>(options, sink);
  GB_ASSIGN_OR_RETURN(state->vanished, VanishedList::Create());
  std::unique_ptr<DataDirArchiver> archiver(new DataDirArchiver(std::move(state)));
  State& s = *archiver->state_;
  GB_RETURN_IF_ERROR(s.tar.Open());
  GB_RETURN_IF_ERROR(s.tar.WritePairMember(options.pair_member));
  return archiver;
}

Status DataDirArchiver::FirstPass() {
  State& s = *state_;
  const ArchiveWriteOptions& options = s.options;
  ScopedUtf8Locale utf8;
  GB_ASSIGN_OR_RETURN(auto walk, OpenDataDirWalk(options.source_dir, options.exclude,
                                                 &s.stats.excluded_present));
  // The page cache is warmed only for a pass that reads everything: an incremental pass
  // reads what changed, and warming the rest would read the whole data dir.
  std::unique_ptr<ReadAhead> read_ahead;
  if (options.parent == nullptr) {
    read_ahead = std::make_unique<ReadAhead>(options.source_dir, options.exclude,
                                             kReadAheadThreads, kReadAheadWindow);
  }
  s.tar.set_read_ahead(read_ahead.get());
  PassPlan plan;
  plan.walk = walk.get();
  plan.strict = !options.online && !options.two_passes;
  plan.record_changes = options.online && !options.two_passes;
  if (options.parent != nullptr) {
    FileIndexReader* reader = options.parent;
    s.parent_ahead = std::make_unique<EntryPrefetcher>(
        [reader](FileIndexEntry& entry) { return reader->Next(entry); });
    EntryPrefetcher* ahead = s.parent_ahead.get();
    s.parent = std::make_unique<IndexCursor>(
        [ahead](FileIndexEntry& entry) { return ahead->Next(entry); }, "the parent's index");
    plan.before = s.parent.get();
  }
  DirectoryChain directories;
  if (options.two_passes && options.change_journal) {
    s.journal = ChangeJournal::Start();
    s.journal->Watch(walk->root_fd(), "");
    uint64_t watched = 0;
    plan.on_directory = [&s, watched](const WalkEntry& directory) mutable {
      s.journal->Watch(directory.fd, directory.relative);
      if (++watched % 256 == 0) s.journal->Collect();  // the kernel's queue is bounded
    };
  }
  if (options.two_passes) {
    GB_ASSIGN_OR_RETURN(s.first_pass, EntrySpill::Create("the first pass's entries"));
    EntrySpill* spill = s.first_pass.get();
    plan.keep = plan.archived = plan.redescribed = [&s, spill](const FileIndexEntry& entry) {
      s.NoteForJournal(entry);
      return spill->Add(entry);
    };
    // The parent as this pass found it, which the second one trusts where nothing happened.
    plan.gone = [spill, &directories](const FileIndexEntry& entry) {
      return spill->AddGone(entry.path, directories.ParentIsDirectory(entry.path));
    };
  } else {
    plan.keep = plan.archived = plan.redescribed = [&options](const FileIndexEntry& entry) {
      return options.on_entry ? options.on_entry(entry) : Status::Ok();
    };
    plan.gone = [&s, &directories](const FileIndexEntry& entry) {
      return s.ListVanished(&directories, entry.path);
    };
  }
  plan.directories = &directories;
  Status status = s.RunPass(plan);
  s.tar.set_read_ahead(nullptr);
  if (read_ahead)
    spdlog::debug("read-ahead: {} files advised, {} sampled files found in the page cache",
                  read_ahead->files_advised(), read_ahead->files_found_cached());
  if (status.ok() && s.first_pass) status = s.first_pass->Finish();
  if (!status.ok()) s.tar.Abandon();
  return status;
}

Status DataDirArchiver::SecondPass() {
  State& s = *state_;
  const ArchiveWriteOptions& options = s.options;
  if (!s.first_pass) return Status::Failed("internal error: a second pass without a first");
  ScopedUtf8Locale utf8;
  GB_ASSIGN_OR_RETURN(auto walk, OpenDataDirWalk(options.source_dir, options.exclude));
  GB_ASSIGN_OR_RETURN(std::unique_ptr<IndexCursor> before,
                      s.first_pass->Cursor("the first pass's entries"));
  GB_ASSIGN_OR_RETURN(s.second_pass, EntrySpill::Create("the second pass's entries"));
  EntrySpill* spill = s.second_pass.get();
  DirectoryChain directories;
  PassPlan plan;
  plan.walk = walk.get();
  plan.before = before.get();
  plan.strict = true;
  plan.confirm_racy = true;
  plan.directories = &directories;
  plan.keep = [](const FileIndexEntry&) { return Status::Ok(); };  // the first pass's stands
  if (s.journal) s.journal->Collect();  // DSS is stopped: everything it did is queued
  if (s.journal && s.journal->usable()) {
    ChangeJournal* journal = s.journal.get();
    plan.enter = [journal](std::string_view directory) { return journal->MustEnter(directory); };
    s.stats.journal_paths = journal->changed_paths();
  } else {
    s.stats.journal_not_used = s.journal ? s.journal->why_not() : "[backup] change_journal = false";
  }
  plan.archived = [&s, spill](const FileIndexEntry& entry) {
    ++s.stats.second_pass;
    return spill->Add(entry);
  };
  plan.redescribed = [spill](const FileIndexEntry& entry) { return spill->Add(entry); };
  plan.gone = [&s, spill, &directories](const FileIndexEntry& entry) {
    if (!IsGoneMarker(entry.type))
      GB_RETURN_IF_ERROR(spill->AddGone(entry.path, directories.ParentIsDirectory(entry.path)));
    return s.ListVanished(&directories, entry.path);
  };
  const auto started = std::chrono::steady_clock::now();
  // A link group read again comes whole, its first member with the content.
  Status status = s.tar.ForgetLinks();
  if (status.ok()) status = s.RunPass(plan);
  if (status.ok()) status = spill->Finish();
  if (!status.ok()) s.tar.Abandon();
  spdlog::debug("the second pass took {:.1f} ms",
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                          started).count());
  return status;
}

Result<ArchiveWriteStats> DataDirArchiver::Finish() {
  ScopedUtf8Locale utf8;
  State& s = *state_;
  Status status;
  Result<std::unique_ptr<ByteSource>> list = s.vanished->Read();
  status = list.status();
  if (status.ok())
    status = s.tar.WriteStreamMember(kVanishedMemberName, s.vanished->bytes(), **list);
  if (status.ok()) status = s.tar.Close();
  if (!status.ok()) {
    s.tar.Abandon();
    return status;
  }
  s.finished = true;
  s.stats.entries = s.tar.members();
  s.stats.source_bytes = s.tar.source_bytes();
  s.stats.vanished = s.vanished->paths();
  return s.stats;
}

// The first pass's entries with the second pass's replacing them, path by path; markers of
// what is gone left out.
Status DataDirArchiver::WriteIndex() {
  State& s = *state_;
  // DSS runs again: the kernel drops the journal's watches now (tens of ms for 10k folders).
  s.journal.reset();
  const ArchiveWriteOptions& options = s.options;
  if (!s.first_pass || !s.second_pass)
    return Status::Failed("internal error: the index of two passes before the second");
  const auto emit = [&options](const FileIndexEntry& entry) {
    if (IsGoneMarker(entry.type) || !options.on_entry) return Status::Ok();
    return options.on_entry(entry);
  };
  GB_ASSIGN_OR_RETURN(auto next_first, s.first_pass->Reader());
  GB_ASSIGN_OR_RETURN(auto next_second, s.second_pass->Reader());
  FileIndexEntry first;
  FileIndexEntry second;
  GB_ASSIGN_OR_RETURN(bool has_first, next_first(first));
  GB_ASSIGN_OR_RETURN(bool has_second, next_second(second));
  while (has_first || has_second) {
    const int order = !has_first    ? 1
                      : !has_second ? -1
                                    : ComparePaths(first.path, second.path);
    GB_RETURN_IF_ERROR(emit(order < 0 ? first : second));
    if (order <= 0) {
      GB_ASSIGN_OR_RETURN(has_first, next_first(first));
    }
    if (order >= 0) {
      GB_ASSIGN_OR_RETURN(has_second, next_second(second));
    }
  }
  return Status::Ok();
}

Result<ArchiveWriteStats> WriteDataDirArchive(const ArchiveWriteOptions& options,
                                              ByteSink& sink) {
  GB_ASSIGN_OR_RETURN(auto archiver, DataDirArchiver::Start(options, sink));
  GB_RETURN_IF_ERROR(archiver->FirstPass());
  return archiver->Finish();
}

Result<DataDirEstimate> EstimateDataDir(const std::string& source_dir,
                                        const std::vector<std::string>& exclude) {
  DataDirEstimate estimate;
  std::vector<std::string> excluded_present;
  GB_ASSIGN_OR_RETURN(TreeStats archived,
                      MeasureTree(source_dir, DataDirSkipTop(exclude, &excluded_present)));
  estimate.entries = archived.entries;
  estimate.bytes = archived.bytes;
  std::sort(excluded_present.begin(), excluded_present.end());
  for (const std::string& name : excluded_present) {
    const std::string path = source_dir + "/" + name;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) continue;  // vanished since: nothing to exclude
    uint64_t bytes = S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size) : 0;
    if (S_ISDIR(st.st_mode)) {
      GB_ASSIGN_OR_RETURN(TreeStats excluded, MeasureTree(path));
      bytes = excluded.bytes;
    }
    estimate.excluded.emplace_back(name, bytes);
  }
  return estimate;
}

}  // namespace gb
