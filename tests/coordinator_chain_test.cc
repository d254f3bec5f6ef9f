// Chains over manifests alone (ChainOf, DependentsOf): oldest first, and every way a chain
// breaks named with the set that is missing and the set that needs it.
#include "coordinator/chain.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace gb {
namespace {

// A set of data dir /data with an index; incremental on `parent` unless it is "".
Manifest Set(const std::string& id, const std::string& parent = "") {
  Manifest manifest;
  manifest.id = id;
  manifest.node.data_dir = "/data";
  manifest.index.emplace();
  manifest.index->file = id + ".index.jsonl.zst";
  if (!parent.empty()) {
    manifest.type = SetType::kIncremental;
    manifest.parent = parent;
  }
  return manifest;
}

TEST(Chain, OldestFirstEndingWithTheSetAskedFor) {
  std::vector<Manifest> sets = {Set("a"), Set("b", "a"), Set("c", "b"), Set("x")};
  Result<std::vector<Manifest>> chain = ChainOf(sets, "c");
  ASSERT_TRUE(chain.ok()) << chain.status().ToString();
  EXPECT_EQ(ChainIds(*chain), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(ChainIds(ChainOf(sets, "x").value()), (std::vector<std::string>{"x"}));
}

TEST(Chain, AMissingParentIsNamedWithTheSetThatNeedsIt) {
  std::vector<Manifest> sets = {Set("b", "a"), Set("c", "b")};
  Result<std::vector<Manifest>> chain = ChainOf(sets, "c");
  ASSERT_FALSE(chain.ok());
  EXPECT_NE(chain.status().message().find("set b builds on set a"), std::string::npos)
      << chain.status().ToString();
  EXPECT_NE(chain.status().hint().find("every set it builds on"), std::string::npos);
}

TEST(Chain, ALoopAnotherDataDirAndAParentWithoutIndexAreRefused) {
  std::vector<Manifest> loop = {Set("a", "b"), Set("b", "a")};
  Result<std::vector<Manifest>> looped = ChainOf(loop, "a");
  ASSERT_FALSE(looped.ok());
  EXPECT_NE(looped.status().message().find("the chain loops"), std::string::npos);

  std::vector<Manifest> other = {Set("a"), Set("b", "a")};
  other[0].node.data_dir = "/elsewhere";
  Result<std::vector<Manifest>> crossed = ChainOf(other, "b");
  ASSERT_FALSE(crossed.ok());
  EXPECT_NE(crossed.status().message().find("which is of /elsewhere, not /data"), std::string::npos)
      << crossed.status().ToString();

  std::vector<Manifest> no_index = {Set("a"), Set("b", "a")};
  no_index[0].index.reset();  // a 0.1.0 set
  Result<std::vector<Manifest>> unindexed = ChainOf(no_index, "b");
  ASSERT_FALSE(unindexed.ok());
  EXPECT_NE(unindexed.status().message().find("set b builds on set a, which has no per-file index"),
            std::string::npos)
      << unindexed.status().ToString();
  // A full set without an index is a chain of its own.
  EXPECT_TRUE(ChainOf(no_index, "a").ok());
}

TEST(Chain, DependentsAreEverySetThatBuildsOnASetDirectlyOrNot) {
  std::vector<Manifest> sets = {Set("c", "b"), Set("a"), Set("b", "a"), Set("d", "b"),
                                Set("y", "gone"), Set("x")};
  EXPECT_EQ(DependentsOf(sets), (std::map<std::string, std::vector<std::string>>{
                                    {"a", {"b", "c", "d"}}, {"b", {"c", "d"}}, {"gone", {"y"}}}));
  // A loop ends the walk instead of going round.
  std::vector<Manifest> loop = {Set("a", "b"), Set("b", "a")};
  EXPECT_EQ(DependentsOf(loop), (std::map<std::string, std::vector<std::string>>{
                                    {"a", {"b"}}, {"b", {"a"}}}));
}

}  // namespace
}  // namespace gb
