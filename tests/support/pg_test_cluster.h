// One throwaway PostgreSQL cluster per test binary, started on first use and stopped (and
// removed) when the tests end. Tests that need a database of their own ask for a fresh one.
#pragma once

#include <string>

#include <gtest/gtest.h>

#include "pg/connection.h"
#include "sandbox/sample_govern_schema.h"
#include "sandbox/throwaway_cluster.h"

namespace gb {
namespace testing {

// The shared cluster, started on the first call (the test binary aborts if it cannot start).
// Its server is running unless a test stopped it; PgClusterTest restarts it.
ThrowawayCluster& SharedCluster();

// Drops `dbname` if it exists and creates it empty, owned by the Govern role; returns the
// Govern role's parameters for it.
ConnectionParams FreshDatabase(const std::string& dbname);

// A fixture whose every test starts with the shared cluster's server up.
class PgClusterTest : public ::testing::Test {
 protected:
  void SetUp() override;
  ThrowawayCluster& cluster() { return SharedCluster(); }
};

}  // namespace testing
}  // namespace gb
