#include "tests/support/pg_test_cluster.h"

#include <cstdio>
#include <cstdlib>
#include <memory>

#include <spdlog/cfg/env.h>

#include "pg/server.h"

namespace gb {
namespace testing {
namespace {

std::unique_ptr<ThrowawayCluster>& ClusterSlot() {
  static std::unique_ptr<ThrowawayCluster> cluster;
  return cluster;
}

// Stops the cluster while gtest and spdlog are still alive (not from a static destructor).
class SharedClusterEnvironment : public ::testing::Environment {
 public:
  // SPDLOG_LEVEL=debug shows the commands run and the statements' outcomes.
  void SetUp() override { spdlog::cfg::load_env_levels(); }
  void TearDown() override {
    if (ClusterSlot()) {
      Status stopped = ClusterSlot()->Discard();
      if (!stopped.ok()) std::fprintf(stderr, "stopping the test cluster: %s\n",
                                      stopped.ToString().c_str());
      ClusterSlot().reset();
    }
  }
};

::testing::Environment* const kSharedClusterEnvironment =
    ::testing::AddGlobalTestEnvironment(new SharedClusterEnvironment);

}  // namespace

ThrowawayCluster& SharedCluster() {
  std::unique_ptr<ThrowawayCluster>& slot = ClusterSlot();
  if (!slot) {
    ThrowawayClusterOptions options;
    options.autovacuum = false;  // a test that sees no transaction commit made none itself
    Result<std::unique_ptr<ThrowawayCluster>> started = ThrowawayCluster::Start(options);
    if (!started.ok()) {
      std::fprintf(stderr, "cannot start the test PostgreSQL cluster: %s\n",
                   started.status().ToString().c_str());
      std::abort();
    }
    slot = std::move(started).value();
  }
  return *slot;
}

ConnectionParams FreshDatabase(const std::string& dbname) {
  ThrowawayCluster& cluster = SharedCluster();
  const ConnectionParams superuser = cluster.SuperuserParams();
  const ConnectionParams govern = cluster.GovernParams();
  Status dropped = DropDatabase(superuser, dbname);
  EXPECT_TRUE(dropped.ok()) << dropped.ToString();
  Status created = CreateDatabase(superuser, dbname, govern.user);
  EXPECT_TRUE(created.ok()) << created.ToString();
  return govern.WithDatabase(dbname);
}

void PgClusterTest::SetUp() {
  Status started = SharedCluster().StartServer();
  ASSERT_TRUE(started.ok()) << started.ToString();
}

}  // namespace testing
}  // namespace gb
