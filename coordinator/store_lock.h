// StoreLock: one writer per remote repository, whatever host it runs on. The flock of
// coordinator/repository_lock.h only excludes processes of one machine; a repository in a
// bucket is locked by lock objects under "locks/" in its Store, each holding a LockHolder
// (TOML, the flock file's format) with a `refreshed` time that a thread of the holder rewrites
// every refresh_interval. A lock not refreshed for stale_after (30 min) is stale, but is never
// broken by a taker: only `govern-backup unlock --stale` (RemoveStoreLocks) removes it, and
// `unlock --force` removes any. A lock object that cannot be parsed counts as held.
//
// Two protocols, chosen by the caller from Store::ProbeCreateProtocol():
//
// kConditionalCreate: one key, "locks/exclusive", made with Store::CreateIfAbsent (link(2),
//   or S3 PUT with If-None-Match: *). The store decides the race: exactly one creator wins.
//
// kListBased (RGW 16.2 ignores If-None-Match on versioned buckets): Lamport's bakery on
//   listings, so that the outcome depends on no clock. A taker T with a random id:
//     1. lists "locks/": any lock there -> T fails, having written nothing;
//     2. writes "locks/choosing-<id>" (T is picking a ticket);
//     3. lists again; its ticket n = 1 + the highest ticket of the "locks/ticket-..." keys seen;
//     4. writes "locks/ticket-<n, 10 digits>-<id>", then deletes its choosing object;
//     5. lists until no other choosing object remains (the wait: at most kChoosingWait, the
//        time another taker needs between its steps 2 and 4; one still there after that is a
//        dead or stuck taker, and T fails naming it);
//     6. in that last listing, T wins iff its (ticket, id) is the lowest of every lock key;
//        a key that is not a ticket of this protocol (e.g. "locks/exclusive") counts as lower
//        than any ticket. A loser deletes its ticket and fails naming the winner.
//   The oldest taker (lowest ticket) wins: a taker that chose its ticket after another
//   wrote its own draws a higher one, and two that chose at the same time both see each
//   other's ticket in step 6 (the choosing objects make the later one wait for it). This
//   needs a store whose listing shows every object written before it started (S3 and RGW
//   are strongly consistent); it never needs synchronised clocks.
//
// Clocks only judge staleness: `refreshed` is the holder's clock, compared with the reader's,
// so a skew of minutes shows in the age and in the hint, never in who wins. A refresh reads
// the object and rewrites it only if it still holds our holder. Where the object is gone or
// another holder's, Healthy() reports the lock lost and release leaves the object alone. A
// lock forced away (`unlock --force` on a live holder) between that read and write is written
// back once, on "locks/exclusive" over a new holder's, whose own refresher then reports its
// lock lost: never two holders both healthy past a refresh. (A PUT with If-Match on the ETag
// would close that window; Store has no conditional replace.) Release waits for a refresh
// under way (a store call may be retrying).
//
// Thread-safety: a StoreLock is owned by one thread; Healthy() may be called from any thread
// (the refresher runs on its own). The free functions are stateless.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "coordinator/repository_lock.h"
#include "coordinator/time_format.h"
#include "io/env.h"
#include "io/status.h"
#include "store/store.h"

namespace gb {

struct StoreLockOptions {
  LockOperation operation = LockOperation::kBackup;
  Env* env = Env::Default();  // clock, host name
  std::chrono::seconds refresh_interval{std::chrono::minutes(5)};
  std::chrono::seconds stale_after{std::chrono::minutes(30)};
};

// How long a list-based taker waits for other takers to finish choosing their tickets.
constexpr std::chrono::seconds kChoosingWait{20};

class StoreLock {
 public:
  // Takes the lock or returns a Code::kLocked error (exit 5) whose message names the holder
  // (operation, pid, host, since, last refresh age) and whose hint says `govern-backup unlock
  // --stale` when the holder's lock is stale, else to wait for it / check that host.
  static Result<std::unique_ptr<StoreLock>> Acquire(Store& store, CreateProtocol protocol,
                                                    const StoreLockOptions& options);
  ~StoreLock();  // stops the refresher thread, deletes the lock object (if still ours)
  StoreLock(const StoreLock&) = delete;
  StoreLock& operator=(const StoreLock&) = delete;

  // OK while the refresher keeps the lock fresh; the error of the refresh that failed for long
  // enough that another host may have judged the lock stale (backup checks it before its
  // manifest PUT and fails rather than commit without the lock). Also an error, at once,
  // when the lock object was removed or replaced by someone else (`unlock --force`).
  Status Healthy() const;

  const std::string& key() const { return key_; }  // the lock object, e.g. "locks/exclusive"

 private:
  StoreLock(Store& store, std::string key, LockHolder holder, const StoreLockOptions& options);
  void RefreshLoop();
  // Rewrites the lock object with a new `refreshed` time if it is still ours.
  Status RefreshOnce();

  Store& store_;
  const std::string key_;
  LockHolder holder_;  // refreshed is updated by the refresher thread only
  const StoreLockOptions options_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;                                 // guarded by mutex_
  std::chrono::steady_clock::time_point last_success_;    // guarded by mutex_
  Status last_error_;                                     // guarded by mutex_
  Status lost_;  // guarded by mutex_: set when the object is no longer ours
  std::thread refresher_;
};

struct StoreLockEntry {
  std::string key;
  LockHolder holder;  // default (pid 0) when the object cannot be parsed
  TimePoint refreshed;
  bool stale = false;
  bool parsed = true;  // false: the object is not a lock holder (counts as held, never stale)
};

// Every lock object under "locks/" of `store` (sorted by key), judged stale against `now`
// (LockHolder::IsStale).
Result<std::vector<StoreLockEntry>> ListStoreLocks(Store& store, TimePoint now,
                                                   std::chrono::seconds stale_after);
// unlock: removes the stale locks (stale_only) or every lock (--force); returns what it removed.
Result<std::vector<StoreLockEntry>> RemoveStoreLocks(Store& store, TimePoint now, bool stale_only,
                                                     std::chrono::seconds stale_after);

}  // namespace gb
