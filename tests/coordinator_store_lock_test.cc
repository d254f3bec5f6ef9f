// The lock of a remote repository (coordinator/store_lock.h), on a LocalStore and on a real
// Ceph RGW (one cluster for the whole binary): refusal naming the holder, release, stale
// locks refused with the unlock hint and removed by RemoveStoreLocks, the refresher, a lock
// removed under its holder, and races of two takers with exactly one winner, for the
// conditional protocol (unversioned bucket, link(2)) and the list-based one (versioned bucket).
// Named coordinator_ so that it links the coordinator library (tests/<area>_*_test.cc).

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "coordinator/store_lock.h"
#include "store/local_store.h"
#include "tests/store_test_util.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/wait.h"

namespace gb {
namespace testing {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

// The real clock shifted by an offset the test sets, and a fixed host name. Thread-safe.
class ShiftedClockEnv : public Env {
 public:
  explicit ShiftedClockEnv(std::string host) : host_(std::move(host)) {}
  std::chrono::system_clock::time_point Now() override {
    return std::chrono::system_clock::now() + seconds(offset_seconds_.load());
  }
  std::string HostName() override { return host_; }
  void Shift(seconds offset) { offset_seconds_ = offset.count(); }

 private:
  const std::string host_;
  std::atomic<long long> offset_seconds_{0};
};

// The real store, whose Puts fail while `failing` is set: a refresher cut off from the bucket.
class PutsFailingStore : public Store {
 public:
  explicit PutsFailingStore(Store& real) : real_(real) {}
  std::atomic<bool> failing{false};
  std::string Describe() const override { return real_.Describe(); }
  Result<ObjectInfo> Put(const std::string& key, ByteSource& source) override {
    if (failing) return Status::Failed("PUT " + key + ": the test cut the connection");
    return real_.Put(key, source);
  }
  Status Get(const std::string& key, uint64_t offset, uint64_t length, ByteSink& sink) override {
    return real_.Get(key, offset, length, sink);
  }
  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override {
    return real_.List(prefix);
  }
  Result<HeadResult> Head(const std::string& key) override { return real_.Head(key); }
  Status Delete(const std::string& key) override { return real_.Delete(key); }
  Result<CreateOutcome> CreateIfAbsent(const std::string& key,
                                       std::string_view content) override {
    return real_.CreateIfAbsent(key, content);
  }
  Result<CreateProtocol> ProbeCreateProtocol() override { return real_.ProbeCreateProtocol(); }

 private:
  Store& real_;
};

enum class Backend { kLocal, kRgw, kRgwVersioned };

struct LockCase {
  Backend backend;
  CreateProtocol protocol;
  const char* name;
};

class StoreLockTest : public ::testing::TestWithParam<LockCase> {
 protected:
  void SetUp() override {
    if (GetParam().backend == Backend::kLocal) {
      store_ = std::make_unique<LocalStore>(scratch_.path());
      return;
    }
    std::string skip_reason;
    std::unique_ptr<S3Store> s3 = FreshBucketStore(&skip_reason);
    if (s3 == nullptr && !skip_reason.empty()) GTEST_SKIP() << skip_reason;
    ASSERT_NE(s3, nullptr);
    if (GetParam().backend == Backend::kRgwVersioned) {
      ASSERT_TRUE(s3->EnableVersioning().ok());
    }
    // The protocol under test is the one the bucket calls for.
    Result<CreateProtocol> probed = s3->ProbeCreateProtocol();
    ASSERT_TRUE(probed.ok()) << probed.status().ToString();
    ASSERT_EQ(*probed, GetParam().protocol) << CreateProtocolName(*probed);
    store_ = std::move(s3);
  }

  StoreLockOptions Options(Env* env, seconds refresh = minutes(5)) {
    StoreLockOptions options;
    options.operation = LockOperation::kBackup;
    options.env = env;
    options.refresh_interval = refresh;
    return options;
  }
  Result<std::unique_ptr<StoreLock>> Take(Env* env, seconds refresh = minutes(5)) {
    return StoreLock::Acquire(*store_, GetParam().protocol, Options(env, refresh));
  }
  std::vector<StoreLockEntry> Locks() {
    Result<std::vector<StoreLockEntry>> locks =
        ListStoreLocks(*store_, std::chrono::system_clock::now(), minutes(30));
    EXPECT_TRUE(locks.ok()) << locks.status().ToString();
    return locks.ok() ? *locks : std::vector<StoreLockEntry>();
  }
  void PutObject(const std::string& key, const std::string& text) {
    StringSource source(text);
    Result<ObjectInfo> put = store_->Put(key, source);
    ASSERT_TRUE(put.ok()) << put.status().ToString();
  }

  // `count` takers started together, `rounds` times: exactly one holds the lock each time,
  // every other is refused (exit 5) and leaves nothing behind.
  void RaceTakers(int count, int rounds) {
    for (int round = 0; round < rounds; ++round) {
      std::mutex mutex;
      std::condition_variable start;
      int ready = 0;
      std::vector<Result<std::unique_ptr<StoreLock>>> results;
      for (int i = 0; i < count; ++i) results.emplace_back(Status::Failed("not run"));
      std::vector<std::unique_ptr<ShiftedClockEnv>> hosts;
      std::vector<std::thread> takers;
      for (int i = 0; i < count; ++i) {
        hosts.push_back(std::make_unique<ShiftedClockEnv>("host-" + std::to_string(i)));
        takers.emplace_back([&, i] {
          {
            std::unique_lock<std::mutex> lock(mutex);
            ++ready;
            start.notify_all();
            start.wait(lock, [&] { return ready == count; });
          }
          results[i] = Take(hosts[i].get());
        });
      }
      for (std::thread& taker : takers) taker.join();
      int winners = 0;
      for (const auto& result : results) {
        if (result.ok()) {
          ++winners;
        } else {
          EXPECT_EQ(result.status().code(), Code::kLocked) << result.status().ToString();
        }
      }
      ASSERT_EQ(winners, 1) << "round " << round;
      ASSERT_EQ(Locks().size(), 1u) << "round " << round;  // the losers cleaned up
      for (auto& result : results)
        if (result.ok()) result->reset();
      ASSERT_TRUE(Locks().empty()) << "round " << round;
    }
  }

  ScratchDir scratch_;
  std::unique_ptr<Store> store_;
  ShiftedClockEnv host_a_{"host-a"};
  ShiftedClockEnv host_b_{"host-b"};
};

const std::string kOurPid = "pid " + std::to_string(::getpid());

TEST_P(StoreLockTest, ASecondTakerIsRefusedNamingTheHolderUntilItReleases) {
  Result<std::unique_ptr<StoreLock>> first = Take(&host_a_);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE((*first)->Healthy().ok());

  Result<std::unique_ptr<StoreLock>> second = Take(&host_b_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kLocked) << second.status().ToString();
  EXPECT_NE(second.status().message().find("backup (" + kOurPid + " on host-a"),
            std::string::npos) << second.status().ToString();
  EXPECT_NE(second.status().message().find("last refreshed"), std::string::npos);
  EXPECT_NE(second.status().hint().find("check on host-a"), std::string::npos)
      << second.status().hint();
  ASSERT_EQ(Locks().size(), 1u);  // the loser left nothing behind

  first->reset();
  EXPECT_TRUE(Locks().empty());
  Result<std::unique_ptr<StoreLock>> third = Take(&host_b_);
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  std::vector<StoreLockEntry> locks = Locks();
  ASSERT_EQ(locks.size(), 1u);
  EXPECT_EQ(locks[0].key, (*third)->key());
  EXPECT_EQ(locks[0].holder.host, "host-b");
  EXPECT_FALSE(locks[0].stale);
}

TEST_P(StoreLockTest, AStaleLockIsRefusedWithTheUnlockHintAndOnlyUnlockRemovesIt) {
  // A holder whose clock said 31 minutes ago, never refreshed since: stale for everyone else.
  host_a_.Shift(-minutes(31));
  Result<std::unique_ptr<StoreLock>> stale = Take(&host_a_);
  ASSERT_TRUE(stale.ok()) << stale.status().ToString();
  const std::string stale_key = (*stale)->key();

  Result<std::unique_ptr<StoreLock>> refused = Take(&host_b_);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kLocked);
  EXPECT_NE(refused.status().message().find("host-a"), std::string::npos);
  EXPECT_NE(refused.status().message().find("last refreshed 31m ago"), std::string::npos)
      << refused.status().ToString();
  EXPECT_NE(refused.status().hint().find("govern-backup unlock --stale"), std::string::npos)
      << refused.status().hint();

  // A fresh lock beside it (another protocol's key: what a bucket whose versioning changed
  // may hold) survives unlock --stale.
  const std::string fresh_key = "locks/fresh-holder";
  PutObject(fresh_key,
            LockHolder{LockOperation::kPrune, 4242, "host-c", std::chrono::system_clock::now()}
                .ToText());
  Result<std::vector<StoreLockEntry>> removed =
      RemoveStoreLocks(*store_, std::chrono::system_clock::now(), true, minutes(30));
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  ASSERT_EQ(removed->size(), 1u);
  EXPECT_EQ((*removed)[0].key, stale_key);
  EXPECT_TRUE((*removed)[0].stale);
  std::vector<StoreLockEntry> left = Locks();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].key, fresh_key);
  EXPECT_EQ(left[0].holder.host, "host-c");

  Result<std::unique_ptr<StoreLock>> still = Take(&host_b_);
  ASSERT_FALSE(still.ok());
  EXPECT_NE(still.status().message().find("prune (pid 4242 on host-c"), std::string::npos)
      << still.status().ToString();

  removed = RemoveStoreLocks(*store_, std::chrono::system_clock::now(), false, minutes(30));
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_EQ(removed->size(), 1u);
  EXPECT_TRUE(Locks().empty());
  EXPECT_TRUE(Take(&host_b_).ok());
}

TEST_P(StoreLockTest, AnUnreadableLockObjectCountsAsHeldUntilForced) {
  PutObject("locks/exclusive", "not a holder\n");
  Result<std::unique_ptr<StoreLock>> refused = Take(&host_b_);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kLocked);
  EXPECT_NE(refused.status().message().find("locks/exclusive, which is not a lock holder"),
            std::string::npos) << refused.status().ToString();
  EXPECT_NE(refused.status().hint().find("unlock --force"), std::string::npos);

  std::vector<StoreLockEntry> locks = Locks();
  ASSERT_EQ(locks.size(), 1u);
  EXPECT_FALSE(locks[0].parsed);
  EXPECT_FALSE(locks[0].stale);
  Result<std::vector<StoreLockEntry>> removed =
      RemoveStoreLocks(*store_, std::chrono::system_clock::now() + minutes(600), true,
                       minutes(30));
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(removed->empty());
  removed = RemoveStoreLocks(*store_, std::chrono::system_clock::now(), false, minutes(30));
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(removed->size(), 1u);
  EXPECT_TRUE(Take(&host_b_).ok());
}

TEST_P(StoreLockTest, TheRefresherRewritesTheRefreshedTime) {
  Result<std::unique_ptr<StoreLock>> lock = Take(&host_a_, seconds(1));
  ASSERT_TRUE(lock.ok()) << lock.status().ToString();
  const TimePoint since = Locks().at(0).holder.since;
  // Ten minutes later by the holder's clock, its next refresh says so.
  host_a_.Shift(minutes(10));
  EXPECT_TRUE(WaitUntil(
      [&] {
        std::vector<StoreLockEntry> locks = Locks();
        return locks.size() == 1 && locks[0].refreshed >= since + minutes(10);
      },
      std::chrono::seconds(15)));
  std::vector<StoreLockEntry> locks = Locks();
  ASSERT_EQ(locks.size(), 1u);
  EXPECT_EQ(locks[0].holder.since, since);  // the holder's identity does not change
  EXPECT_TRUE((*lock)->Healthy().ok()) << (*lock)->Healthy().ToString();
}

TEST_P(StoreLockTest, ReleaseDoesNotWaitForTheNextRefresh) {
  Result<std::unique_ptr<StoreLock>> lock = Take(&host_a_, std::chrono::hours(1));
  ASSERT_TRUE(lock.ok()) << lock.status().ToString();
  const auto start = std::chrono::steady_clock::now();
  lock->reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(5));
  EXPECT_TRUE(Locks().empty());
}

TEST_P(StoreLockTest, AHolderWhoseLockWasForcedAwayKnowsAndLeavesTheNextOneAlone) {
  Result<std::unique_ptr<StoreLock>> first = Take(&host_a_, seconds(1));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  Result<std::vector<StoreLockEntry>> removed =
      RemoveStoreLocks(*store_, std::chrono::system_clock::now(), false, minutes(30));
  ASSERT_TRUE(removed.ok());
  ASSERT_EQ(removed->size(), 1u);
  EXPECT_EQ((*removed)[0].key, (*first)->key());
  // Removed again while waiting: a refresh that read the object just before the removal
  // writes it back once (the window the header describes).
  ASSERT_TRUE(WaitUntil(
      [&] {
        EXPECT_TRUE(RemoveStoreLocks(*store_, std::chrono::system_clock::now(), false,
                                     minutes(30)).ok());
        return !(*first)->Healthy().ok();
      },
      std::chrono::seconds(15)));
  EXPECT_EQ((*first)->Healthy().code(), Code::kLocked) << (*first)->Healthy().ToString();
  EXPECT_NE((*first)->Healthy().message().find("was removed"), std::string::npos);

  Result<std::unique_ptr<StoreLock>> second = Take(&host_b_);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  first->reset();  // must not remove host-b's lock
  std::vector<StoreLockEntry> locks = Locks();
  ASSERT_EQ(locks.size(), 1u);
  EXPECT_EQ(locks[0].holder.host, "host-b");
}

TEST_P(StoreLockTest, RefreshesFailingTooLongMakeTheLockUnhealthy) {
  PutsFailingStore flaky(*store_);
  StoreLockOptions options = Options(&host_a_, seconds(1));
  options.stale_after = seconds(3);  // unhealthy after 3 - 1.5 s without a refresh
  Result<std::unique_ptr<StoreLock>> lock =
      StoreLock::Acquire(flaky, GetParam().protocol, options);
  ASSERT_TRUE(lock.ok()) << lock.status().ToString();
  flaky.failing = true;
  ASSERT_TRUE(WaitUntil([&] { return !(*lock)->Healthy().ok(); }, std::chrono::seconds(15)));
  const Status health = (*lock)->Healthy();
  EXPECT_EQ(health.code(), Code::kFailed);
  EXPECT_NE(health.message().find("has not been refreshed for"), std::string::npos)
      << health.ToString();
  EXPECT_NE(health.message().find("the test cut the connection"), std::string::npos);
  flaky.failing = false;
  EXPECT_TRUE(WaitUntil([&] { return (*lock)->Healthy().ok(); }, std::chrono::seconds(15)));
}

TEST_P(StoreLockTest, TwoConcurrentTakersHaveExactlyOneWinnerEveryTime) {
  RaceTakers(2, 20);
}

TEST_P(StoreLockTest, FiveConcurrentTakersHaveExactlyOneWinner) {
  RaceTakers(5, 5);
}

INSTANTIATE_TEST_SUITE_P(
    Stores, StoreLockTest,
    ::testing::Values(
        LockCase{Backend::kLocal, CreateProtocol::kConditionalCreate, "LocalConditional"},
        LockCase{Backend::kLocal, CreateProtocol::kListBased, "LocalListBased"},
        LockCase{Backend::kRgw, CreateProtocol::kConditionalCreate, "RgwConditional"},
        LockCase{Backend::kRgwVersioned, CreateProtocol::kListBased, "RgwVersionedListBased"}),
    [](const ::testing::TestParamInfo<LockCase>& info) { return std::string(info.param.name); });

TEST(LockHolderTest, TodaysLockFilesStillParseAndRefreshedRoundTrips) {
  const std::string today =
      "operation = \"restore\"\npid = 77\nhost = \"node1\"\nsince = 2026-11-24T08:15:00Z\n";
  Result<LockHolder> parsed = LockHolder::Parse(today);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_FALSE(parsed->refreshed.has_value());
  EXPECT_EQ(parsed->LastRefreshed(), parsed->since);

  LockHolder holder = *parsed;
  holder.refreshed = holder.since + minutes(12);
  Result<LockHolder> again = LockHolder::Parse(holder.ToText());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->LastRefreshed(), holder.since + minutes(12));
  EXPECT_EQ(again->host, "node1");

  EXPECT_FALSE(LockHolder::Parse(today + "refreshed = \"soon\"\n").ok());
}

}  // namespace
}  // namespace testing
}  // namespace gb
