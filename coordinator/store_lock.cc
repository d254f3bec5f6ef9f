#include "coordinator/store_lock.h"

#include <signal.h>

#include <cerrno>

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <optional>
#include <tuple>
#include <utility>

#include <spdlog/spdlog.h>

#include "io/byte_stream.h"
#include "io/text.h"

namespace gb {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

const std::string kLocksPrefix = "locks/";
const std::string kExclusiveKey = "locks/exclusive";
const std::string kChoosingPrefix = "locks/choosing-";
const std::string kTicketPrefix = "locks/ticket-";
constexpr int kTicketDigits = 10;

// ---- Reading lock objects ----

// The object's content, or nullopt when it is absent (removed between a listing and now).
Result<std::optional<std::string>> ReadObject(Store& store, const std::string& key) {
  StringSink sink;
  Status got = store.Get(key, 0, Store::kToEnd, sink);
  if (got.ok()) return std::optional<std::string>(sink.bytes());
  // Get does not tell an absent key from a failure; Head does.
  GB_ASSIGN_OR_RETURN(const HeadResult head, store.Head(key));
  if (!head.exists) return std::optional<std::string>();
  return got;
}

StoreLockEntry MakeEntry(const std::string& key, const std::string& text, TimePoint now,
                         seconds stale_after) {
  StoreLockEntry entry;
  entry.key = key;
  Result<LockHolder> holder = LockHolder::Parse(text);
  if (!holder.ok()) {
    entry.parsed = false;  // held, never stale: only --force removes what we cannot read
    return entry;
  }
  entry.holder = *holder;
  entry.refreshed = holder->LastRefreshed();
  entry.stale = holder->IsStale(now, stale_after);
  return entry;
}

// nullopt when the object went away before it could be read.
Result<std::optional<StoreLockEntry>> ReadEntry(Store& store, const std::string& key,
                                                TimePoint now, seconds stale_after) {
  GB_ASSIGN_OR_RETURN(const std::optional<std::string> text, ReadObject(store, key));
  if (!text) return std::optional<StoreLockEntry>();
  return std::optional<StoreLockEntry>(MakeEntry(key, *text, now, stale_after));
}

Result<std::vector<std::string>> ListLockKeys(Store& store) {
  GB_ASSIGN_OR_RETURN(const std::vector<ObjectInfo> objects, store.List(kLocksPrefix));
  std::vector<std::string> keys;
  for (const ObjectInfo& object : objects) keys.push_back(object.key);
  return keys;
}

// ---- The refusal ----

std::string DescribeEntry(const StoreLockEntry& entry, TimePoint now) {
  if (!entry.parsed) return "the lock object " + entry.key + ", which is not a lock holder";
  return entry.holder.Describe() + ", last refreshed " +
         FormatAge(duration_cast<seconds>(now - entry.refreshed)) + " ago (lock object " +
         entry.key + ")";
}

// A lock taken on this host by a process that is gone (killed, or its machine rebooted): the
// admin can remove it at once instead of waiting for it to go stale. Only a hint: two machines
// may share a host name, so the lock is never broken on this evidence alone.
bool HolderDiedHere(const LockHolder& holder) {
  if (holder.pid <= 0 || holder.host.empty() || holder.host != Env::Default()->HostName())
    return false;
  return ::kill(holder.pid, 0) != 0 && errno == ESRCH;
}

Status LockedBy(const Store& store, const StoreLockEntry& entry, size_t others, TimePoint now,
                seconds stale_after) {
  std::string message = "the repository " + store.Describe() + " is locked by " +
                        DescribeEntry(entry, now);
  if (others > 0) message += " and " + std::to_string(others) + " other lock object(s)";
  const std::string host = entry.holder.host.empty() ? "its host" : entry.holder.host;
  std::string hint;
  if (!entry.parsed) {
    hint = "check what wrote " + entry.key + "; `govern-backup unlock --force` removes it";
  } else if (entry.stale) {
    hint = "it has not been refreshed for " +
           FormatAge(duration_cast<seconds>(now - entry.refreshed)) + " (stale after " +
           FormatAge(stale_after) + "): if that operation no longer runs on " + host +
           ", remove the lock with `govern-backup unlock --stale`";
  } else if (HolderDiedHere(entry.holder)) {
    hint = "pid " + std::to_string(entry.holder.pid) + " no longer runs on this host (" + host +
           "): unless another machine has the same host name, `govern-backup unlock --force` "
           "removes its lock now (it goes stale after " + FormatAge(stale_after) + ")";
  } else {
    hint = "wait for it to finish, or check on " + host +
           " that it still runs; a lock whose holder died goes stale after " +
           FormatAge(stale_after) + ", then `govern-backup unlock --stale` removes it";
  }
  return Status::Locked(std::move(message), std::move(hint));
}

// What one attempt to take the lock came to.
struct Attempt {
  enum Outcome {
    kTaken,
    kRefused,  // `refusal` says by whom
    kVanished  // the lock in the way went away while we read it: worth another attempt
  } outcome;
  Status refusal;
};

// The refusal naming the object at `keys[0]` (re-reading it).
Result<Attempt> RefusalFor(Store& store, const std::vector<std::string>& keys, TimePoint now,
                           seconds stale_after) {
  GB_ASSIGN_OR_RETURN(const std::optional<StoreLockEntry> entry,
                      ReadEntry(store, keys.front(), now, stale_after));
  if (!entry) return Attempt{Attempt::kVanished, Status::Ok()};
  return Attempt{Attempt::kRefused, LockedBy(store, *entry, keys.size() - 1, now, stale_after)};
}

// ---- The conditional protocol ----

Result<Attempt> TryCreateExclusive(Store& store, const std::string& text, TimePoint now,
                                   seconds stale_after) {
  // A lock object of another protocol (a bucket whose versioning changed) or a stale one
  // refuses as surely as "locks/exclusive" itself.
  GB_ASSIGN_OR_RETURN(std::vector<std::string> keys, ListLockKeys(store));
  if (!keys.empty()) return RefusalFor(store, keys, now, stale_after);
  GB_ASSIGN_OR_RETURN(const CreateOutcome outcome, store.CreateIfAbsent(kExclusiveKey, text));
  if (outcome == CreateOutcome::kCreated) return Attempt{Attempt::kTaken, Status::Ok()};
  return RefusalFor(store, {kExclusiveKey}, now, stale_after);
}

// ---- The list-based protocol (the bakery, see the header) ----

struct Ticket {
  uint64_t number = 0;  // 0: a key that is no ticket, lower than every ticket
  std::string id;
  bool operator<(const Ticket& other) const {
    return std::tie(number, id) < std::tie(other.number, other.id);
  }
};

std::string TicketKey(uint64_t number, const std::string& id) {
  char digits[32];
  std::snprintf(digits, sizeof digits, "%0*" PRIu64, kTicketDigits, number);
  return kTicketPrefix + digits + "-" + id;
}

Ticket ParseTicket(const std::string& key) {
  if (key.compare(0, kTicketPrefix.size(), kTicketPrefix) != 0) return Ticket{0, key};
  const std::string rest = key.substr(kTicketPrefix.size());
  if (rest.size() < kTicketDigits + 2 || rest[kTicketDigits] != '-' ||
      !std::all_of(rest.begin(), rest.begin() + kTicketDigits,
                   [](unsigned char c) { return std::isdigit(c) != 0; }))
    return Ticket{0, key};
  return Ticket{std::stoull(rest.substr(0, kTicketDigits)), rest.substr(kTicketDigits + 1)};
}

bool IsChoosing(const std::string& key) {
  return key.compare(0, kChoosingPrefix.size(), kChoosingPrefix) == 0;
}

// Step 5: lists until no choosing object remains (ours is gone already); the last listing.
Result<std::vector<std::string>> WaitForChoosers(Store& store, TimePoint now,
                                                 seconds stale_after) {
  const auto give_up = steady_clock::now() + kChoosingWait;
  milliseconds pause(20);
  for (;;) {
    GB_ASSIGN_OR_RETURN(std::vector<std::string> keys, ListLockKeys(store));
    auto chooser = std::find_if(keys.begin(), keys.end(), IsChoosing);
    if (chooser == keys.end()) return keys;
    if (steady_clock::now() >= give_up) {
      GB_ASSIGN_OR_RETURN(const Attempt stuck, RefusalFor(store, {*chooser}, now, stale_after));
      if (stuck.outcome == Attempt::kRefused)
        return stuck.refusal.WithContext("another host has been taking the lock for " +
                                         FormatAge(kChoosingWait));
      continue;  // it just finished
    }
    // Another taker is between two requests: poll briefly, then less often.
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, milliseconds(1000));
  }
}

// Steps 2-6 once step 1 found no lock; `ticket_key` is set once the ticket is written.
Result<Attempt> DrawTicket(Store& store, const std::string& id, const std::string& text,
                           TimePoint now, seconds stale_after, std::string* ticket_key) {
  const std::string choosing_key = kChoosingPrefix + id;
  StringSource choosing_text(text);
  GB_RETURN_IF_ERROR(store.Put(choosing_key, choosing_text).status());
  Result<std::vector<std::string>> seen = ListLockKeys(store);
  uint64_t highest = 0;
  if (seen.ok())
    for (const std::string& key : *seen) highest = std::max(highest, ParseTicket(key).number);
  Status wrote = seen.status();
  if (seen.ok()) {
    *ticket_key = TicketKey(highest + 1, id);
    StringSource ticket_text(text);
    wrote = store.Put(*ticket_key, ticket_text).status();
  }
  // The ticket is visible before the choosing object goes: others wait for one, then see the
  // other. A failed delete leaves others waiting; they then refuse naming it.
  Status unchosen = store.Delete(choosing_key);
  GB_RETURN_IF_ERROR(wrote);
  GB_RETURN_IF_ERROR(unchosen);
  GB_ASSIGN_OR_RETURN(std::vector<std::string> keys, WaitForChoosers(store, now, stale_after));
  const Ticket mine = ParseTicket(*ticket_key);
  std::vector<std::string> lower;
  for (const std::string& key : keys)
    if (ParseTicket(key) < mine) lower.push_back(key);
  if (lower.empty()) return Attempt{Attempt::kTaken, Status::Ok()};
  std::sort(lower.begin(), lower.end(), [](const std::string& a, const std::string& b) {
    return ParseTicket(a) < ParseTicket(b);
  });
  return RefusalFor(store, lower, now, stale_after);
}

// The list-based protocol's attempt; a ticket that did not win is removed.
Result<Attempt> TryTakeTicket(Store& store, const std::string& text, TimePoint now,
                              seconds stale_after, std::string* ticket_key) {
  GB_ASSIGN_OR_RETURN(std::vector<std::string> keys, ListLockKeys(store));
  if (!keys.empty()) return RefusalFor(store, keys, now, stale_after);
  ticket_key->clear();
  Result<Attempt> drawn = DrawTicket(store, RandomHex(8), text, now, stale_after, ticket_key);
  if (!drawn.ok() || drawn->outcome != Attempt::kTaken) {
    if (!ticket_key->empty()) {
      Status removed = store.Delete(*ticket_key);
      if (!removed.ok()) spdlog::warn("cannot remove our lost lock ticket: {}", removed.ToString());
    }
    ticket_key->clear();
  }
  return drawn;
}

// Refresh failures tolerated before Healthy() reports one: another host calls the lock stale
// after stale_after without a refresh; leave it 1.5 refresh intervals of margin (restic's).
constexpr seconds kRefreshRetry{30};

steady_clock::duration UnhealthyAfter(const StoreLockOptions& options) {
  const auto margin = options.refresh_interval * 3 / 2;
  if (options.stale_after > margin) return options.stale_after - margin;
  return options.stale_after / 2;
}

bool SameHolder(const LockHolder& a, const LockHolder& b) {
  return a.operation == b.operation && a.pid == b.pid && a.host == b.host && a.since == b.since;
}

}  // namespace

Result<std::unique_ptr<StoreLock>> StoreLock::Acquire(Store& store, CreateProtocol protocol,
                                                      const StoreLockOptions& options) {
  const TimePoint now = options.env->Now();
  const std::string text =
      LockHolder{options.operation, ::getpid(), options.env->HostName(), now, now}.ToText();
  // The holder as others read it back (whole seconds): the refresher compares it with what
  // it finds in the object.
  GB_ASSIGN_OR_RETURN(const LockHolder holder, LockHolder::Parse(text));
  // A lock object that vanishes while we read it (its holder just released it) is worth
  // one more try; more than that is a busy repository.
  for (int tries = 0; tries < 3; ++tries) {
    std::string key = kExclusiveKey;
    Result<Attempt> attempt =
        protocol == CreateProtocol::kConditionalCreate
            ? TryCreateExclusive(store, text, now, options.stale_after)
            : TryTakeTicket(store, text, now, options.stale_after, &key);
    if (!attempt.ok())
      return attempt.status().WithContext("cannot take the lock of " + store.Describe());
    if (attempt->outcome == Attempt::kTaken)
      return std::unique_ptr<StoreLock>(new StoreLock(store, key, holder, options));
    if (attempt->outcome == Attempt::kRefused) return attempt->refusal;
  }
  return Status::Locked("the lock of " + store.Describe() + " keeps changing hands",
                        "another operation is starting or ending there; try again");
}

StoreLock::StoreLock(Store& store, std::string key, LockHolder holder,
                     const StoreLockOptions& options)
    : store_(store),
      key_(std::move(key)),
      holder_(std::move(holder)),
      options_(options),
      last_success_(steady_clock::now()) {
  refresher_ = std::thread([this] { RefreshLoop(); });
}

StoreLock::~StoreLock() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  refresher_.join();
  if (!lost_.ok()) return;  // not ours any more: leave what is there
  // Only our own object goes: after an `unlock --force`, another host may hold the key.
  Result<std::optional<std::string>> text = ReadObject(store_, key_);
  if (text.ok() && text->has_value()) {
    Result<LockHolder> there = LockHolder::Parse(**text);
    if (!there.ok() || !SameHolder(*there, holder_)) return;
  }
  Status removed = text.ok() ? store_.Delete(key_) : text.status();
  if (!removed.ok())
    spdlog::warn("cannot remove the lock object {} of {}: {}; `govern-backup unlock --stale` "
                 "removes it once stale",
                 key_, store_.Describe(), removed.ToString());
}

void StoreLock::RefreshLoop() {
  // After a failed refresh, try again sooner: the lock must be refreshed before others call it
  // stale, and one failure (the store's own retries exhausted) does not make the next one.
  const seconds retry_after = std::min(options_.refresh_interval, kRefreshRetry);
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait_for(lock, last_error_.ok() ? options_.refresh_interval : retry_after,
                   [this] { return stopping_; });
    if (stopping_) return;
    lock.unlock();
    Status refreshed = RefreshOnce();
    lock.lock();
    if (!lost_.ok()) return;
    if (refreshed.ok()) last_success_ = steady_clock::now();
    last_error_ = refreshed;
  }
}

Status StoreLock::RefreshOnce() {
  GB_ASSIGN_OR_RETURN(const std::optional<std::string> text, ReadObject(store_, key_));
  Result<LockHolder> there =
      text ? LockHolder::Parse(*text) : Result<LockHolder>(Status::Failed("absent"));
  if (!there.ok() || !SameHolder(*there, holder_)) {
    std::lock_guard<std::mutex> lock(mutex_);
    lost_ = Status::Locked(
        "the lock object " + key_ + " of " + store_.Describe() +
            (text ? " was replaced by another holder" : " was removed") + " while " +
            holder_.Describe() + " held it",
        "someone ran `govern-backup unlock --force`; run the operation again once no other "
        "one runs");
    return lost_;
  }
  holder_.refreshed = options_.env->Now();
  StringSource content(holder_.ToText());
  return store_.Put(key_, content).status().WithContext("cannot refresh the lock object " +
                                                        key_ + " of " + store_.Describe());
}

Status StoreLock::Healthy() const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!lost_.ok()) return lost_;
  // Judged by the time since the last success, not by the last outcome: a refresh may hang
  // in the store's retries for longer than the margin.
  const auto unrefreshed = steady_clock::now() - last_success_;
  if (unrefreshed < UnhealthyAfter(options_)) return Status::Ok();
  const std::string why = "the lock object " + key_ + " of " + store_.Describe() +
                          " has not been refreshed for " +
                          FormatAge(duration_cast<seconds>(unrefreshed)) +
                          ", so another host may take it as stale";
  const std::string hint =
      "check the connection to " + store_.Describe() + " and run the operation again";
  if (last_error_.ok()) return Status::Failed(why + " (a refresh is still under way)", hint);
  return last_error_.WithContext(why).WithHint(hint);
}

Result<std::vector<StoreLockEntry>> ListStoreLocks(Store& store, TimePoint now,
                                                   std::chrono::seconds stale_after) {
  GB_ASSIGN_OR_RETURN(const std::vector<std::string> keys, ListLockKeys(store));
  std::vector<StoreLockEntry> entries;
  for (const std::string& key : keys) {
    GB_ASSIGN_OR_RETURN(std::optional<StoreLockEntry> entry,
                        ReadEntry(store, key, now, stale_after));
    if (entry) entries.push_back(std::move(*entry));
  }
  return entries;
}

Result<std::vector<StoreLockEntry>> RemoveStoreLocks(Store& store, TimePoint now, bool stale_only,
                                                     std::chrono::seconds stale_after) {
  GB_ASSIGN_OR_RETURN(const std::vector<StoreLockEntry> entries,
                      ListStoreLocks(store, now, stale_after));
  std::vector<StoreLockEntry> removed;
  for (const StoreLockEntry& entry : entries) {
    if (stale_only && !entry.stale) continue;
    GB_RETURN_IF_ERROR(store.Delete(entry.key).WithContext("cannot remove the lock"));
    removed.push_back(entry);
  }
  return removed;
}

}  // namespace gb
