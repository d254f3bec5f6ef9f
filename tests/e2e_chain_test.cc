// End-to-end tests of chains across the commands that do not make them: list and show say
// each set's type and parent; verify checks a set and every set it builds on, each once, and
// fails a set whose chain holds a damaged or missing set, naming it; restore's pre-flight
// refuses (exit 4) such a set before anything is touched; audit reports the broken chain;
// prune keeps what a kept set builds on ("needed by"); copy takes parents first.
//
// Most chains here are full sets turned into a chain by their manifests (type and parent
// rewritten, the checksum recomputed by Manifest::ToText): what those commands read of a chain
// is its manifests and the sets' structure, which such a chain has as a captured one does,
// and damage can be put exactly where a test wants it. The last test takes a captured chain.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "coordinator/half_stream.h"
#include "coordinator/manifest.h"
#include "coordinator/pair_identity.h"
#include "coordinator/repository.h"
#include "datadir/file_index.h"
#include "io/files.h"
#include "tests/support/cli_json.h"
#include "tests/support/govern_fixture.h"

namespace gb {
namespace testing {
namespace {

namespace fs = std::filesystem;

class ChainTest : public GovernNodeTest {
 protected:
  void SetUp() override {
    GovernNodeTest::SetUp();
    second_ = root_ + "/second";
    WriteConfig("[repositories.second]\npath = \"" + second_ + "\"\n");
    // With DSS stopped a backup neither stops nor starts it: the sets come faster.
    Result<ExitInfo> stopped = RunDss("stop");
    ASSERT_TRUE(stopped.ok() && stopped->success());
  }

  std::string ManifestPath(const std::string& id) const { return repo_ + "/" + id + "/manifest.toml"; }

  // Set `id` becomes an incremental set on `parent`; its manifest checks itself again.
  void BuildOn(const std::string& id, const std::string& parent) {
    Result<Manifest> manifest = Manifest::Load(ManifestPath(id));
    ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
    manifest->type = SetType::kIncremental;
    manifest->parent = parent;
    ASSERT_TRUE(WriteFile(ManifestPath(id), manifest->ToText(), 0600).ok());
  }

  // Four sets, each in its own second: `lone_` (full), then the chain a_ (full) <- b_ <- c_.
  void MakeChain() {
    lone_ = BackupOkInItsOwnSecond({"--full"});
    a_ = BackupOkInItsOwnSecond({"--full"});
    b_ = BackupOkInItsOwnSecond({"--full"});
    c_ = BackupOk({"--full"});
    BuildOn(b_, a_);
    BuildOn(c_, b_);
  }

  std::string HalfPath(const std::string& id) {
    Result<Manifest> manifest = Manifest::Load(ManifestPath(id));
    EXPECT_TRUE(manifest.ok());
    return repo_ + "/" + id + "/" + manifest->datadir.file;
  }

  // Rewrites set `id`'s index as backup writes it (identity frame first) after `edit`, and
  // its manifest's [index] to match.
  void RewriteIndex(const std::string& id,
                    const std::function<void(std::vector<FileIndexEntry>&)>& edit) {
    std::unique_ptr<Repository> repo = Repository::Local(repo_);
    Result<Manifest> manifest = repo->LoadSet(id);
    ASSERT_TRUE(manifest.ok() && manifest->index) << manifest.status().ToString();
    std::vector<FileIndexEntry> entries;
    {
      Result<std::unique_ptr<ZstdReader>> reader = OpenHalf(*repo, id, manifest->index->file);
      ASSERT_TRUE(reader.ok()) << reader.status().ToString();
      FileIndexReader index(**reader, id);
      FileIndexEntry entry;
      for (Result<bool> more = index.Next(entry); more.ok() && *more; more = index.Next(entry))
        entries.push_back(entry);
    }
    edit(entries);
    HalfOptions options;
    options.identity = PairIdentity{id, manifest->pair_token, kRoleDatadir}.ToText();
    Result<std::unique_ptr<HalfUpload>> upload =
        HalfUpload::Start(*repo, id, manifest->index->file, options);
    ASSERT_TRUE(upload.ok()) << upload.status().ToString();
    FileIndexWriter writer((*upload)->sink());
    for (const FileIndexEntry& entry : entries) ASSERT_TRUE(writer.Add(entry).ok());
    ASSERT_TRUE((*upload)->Finish().ok());
    manifest->index->sha256 = (*upload)->sha256_hex();
    manifest->index->bytes = (*upload)->stored_bytes();
    manifest->index->entries = entries.size();
    ASSERT_TRUE(WriteFile(ManifestPath(id), manifest->ToText(), 0600).ok());
  }

  // The verify --json problems about set `id`'s index.
  std::vector<std::string> IndexProblems(const std::string& id) {
    JsonRun verified = RunJson(config_path_, {"verify", id});
    std::vector<std::string> problems;
    for (const auto& finding : FindingsAbout(verified.doc, "set " + id + " index"))
      if (!finding["ok"].get<bool>()) problems.push_back(finding["message"]);
    EXPECT_EQ(verified.exit_code, problems.empty() ? 0 : 3) << verified.out;
    return problems;
  }

  std::vector<std::string> SecondIds() {
    std::vector<std::string> ids;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(second_, error))
      if (fs::exists(entry.path() / "manifest.toml")) ids.push_back(entry.path().filename());
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  std::string second_;
  std::string lone_, a_, b_, c_;
};

// Per set id of a verify --json document, its "requested" flag and "ok".
std::map<std::string, std::pair<bool, bool>> VerifiedSets(const nlohmann::json& doc) {
  std::map<std::string, std::pair<bool, bool>> sets;
  for (const auto& set : doc["sets"]) sets[set["id"]] = {set["requested"], set["ok"]};
  return sets;
}

TEST_F(ChainTest, ListShowVerifyPruneAndCopyFollowTheChain) {
  MakeChain();

  JsonRun listed = RunJson(config_path_, {"list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  std::map<std::string, std::pair<std::string, std::string>> types;
  for (const auto& set : listed.doc["sets"]) types[set["id"]] = {set["type"], set["parent"]};
  EXPECT_EQ(types, (std::map<std::string, std::pair<std::string, std::string>>{
                       {lone_, {"full", ""}}, {a_, {"full", ""}},
                       {b_, {"incremental", a_}}, {c_, {"incremental", b_}}}));
  CommandResult text = Run({"list"});
  EXPECT_NE(text.out.find(c_ + "  "), std::string::npos);
  EXPECT_NE(text.out.find("  incr  "), std::string::npos) << text.out;
  JsonRun shown = RunJson(config_path_, {"show", c_});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_EQ(shown.doc["type"], "incremental");
  EXPECT_EQ(shown.doc["parent"], b_);

  // Two sets asked for, one chain: each set checked once, parents first.
  JsonRun verified = RunJson(config_path_, {"verify", c_, b_});
  ASSERT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  std::vector<std::string> order;
  for (const auto& set : verified.doc["sets"]) order.push_back(set["id"]);
  EXPECT_EQ(order, (std::vector<std::string>{a_, b_, c_}));
  EXPECT_EQ(VerifiedSets(verified.doc),
            (std::map<std::string, std::pair<bool, bool>>{
                {a_, {false, true}}, {b_, {true, true}}, {c_, {true, true}}}));
  // --deep test-extracts the sets asked for, from their chain; their parents are checked.
  JsonRun deep = RunJson(config_path_, {"verify", "--deep", c_});
  ASSERT_EQ(deep.exit_code, 0) << deep.out << deep.err;
  ASSERT_EQ(deep.doc["sets"].size(), 3u) << deep.out;
  EXPECT_EQ(deep.doc["sets"][2]["deep"], true);
  EXPECT_EQ(deep.doc["sets"][0]["deep"], false);

  // keep_last = 1 keeps the newest set and what it builds on; the lone full set goes.
  WriteConfig("[repositories.second]\npath = \"" + second_ + "\"\n[retention]\nkeep_last = 1\n"
              "keep_daily = 0\nkeep_weekly = 0\nkeep_monthly = 0\nkeep_within = \"0s\"\n");
  JsonRun dry = RunJson(config_path_, {"prune", "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.out << dry.err;
  std::map<std::string, std::pair<std::string, nlohmann::json>> plan;
  for (const auto& set : dry.doc["sets"]) plan[set["id"]] = {set["action"], set["reasons"]};
  EXPECT_EQ(plan[lone_].first, "remove");
  EXPECT_EQ(plan[a_], (std::pair<std::string, nlohmann::json>{"keep", {"needed by " + b_}}));
  EXPECT_EQ(plan[b_], (std::pair<std::string, nlohmann::json>{"keep", {"needed by " + c_}}));
  EXPECT_EQ(plan[c_].first, "keep");
  CommandResult dry_text = Run({"prune", "--dry-run"});
  EXPECT_NE(dry_text.out.find("keep   " + a_ + "  (needed by " + b_ + ")"), std::string::npos)
      << dry_text.out;
  JsonRun audit = RunJson(config_path_, {"audit", "--quick"});
  EXPECT_FALSE(HasProblem(audit.doc, a_, "past retention")) << audit.out;
  EXPECT_TRUE(HasProblem(audit.doc, lone_, "past retention")) << audit.out;
  CommandResult pruned = Run({"prune"});
  ASSERT_EQ(pruned.exit_code, 0) << pruned.out << pruned.err;
  EXPECT_EQ(SetIds(), (std::vector<std::string>{a_, b_, c_}));

  // Copying the newest set copies its chain, parents first; what the target has is skipped.
  JsonRun copied = RunJson(config_path_, {"copy", "--to", "second", c_});
  ASSERT_EQ(copied.exit_code, 0) << copied.out << copied.err;
  EXPECT_EQ(copied.doc["copied"], nlohmann::json({a_, b_, c_}));
  EXPECT_EQ(SecondIds(), (std::vector<std::string>{a_, b_, c_}));
  JsonRun verify_there = RunJson(config_path_, {"--repo", "second", "verify", c_});
  EXPECT_EQ(verify_there.exit_code, 0) << verify_there.out << verify_there.err;
  fs::remove_all(second_ + "/" + b_);
  fs::remove_all(second_ + "/" + c_);
  JsonRun again = RunJson(config_path_, {"copy", "--to", "second", c_});
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(again.doc["copied"], nlohmann::json({b_, c_}));
  EXPECT_EQ(again.doc["already_there"], nlohmann::json({a_}));
}

// An incremental set's index points into the sets of its chain; anywhere else, or out of the
// walk's order, or listing a path twice, it is damaged.
TEST_F(ChainTest, AnIndexMayPointIntoItsChainOnlyInTheWalksOrder) {
  MakeChain();
  // The first entries of c_ are in a_ and b_: as a captured set's unchanged files are. (The
  // offsets stay c_'s: verify does not read the members through the index.)
  RewriteIndex(c_, [&](std::vector<FileIndexEntry>& entries) {
    entries.at(0).set_id = a_;
    entries.at(1).set_id = b_;
  });
  EXPECT_TRUE(IndexProblems(c_).empty());

  // A file unlike its index entry: the structure is sound, the test extraction says which.
  std::string tampered;
  RewriteIndex(c_, [&](std::vector<FileIndexEntry>& entries) {
    for (size_t i = 0; i < 2; ++i) entries.at(i).set_id = c_;  // the members read are its own
    for (FileIndexEntry& entry : entries)
      if (entry.type == "file" && entry.size > 0) {
        entry.sha256 = std::string(64, '0');
        tampered = entry.path;
        break;
      }
  });
  ASSERT_FALSE(tampered.empty());
  EXPECT_TRUE(IndexProblems(c_).empty());
  JsonRun deep = RunJson(config_path_, {"verify", "--deep", c_});
  EXPECT_EQ(deep.exit_code, 3) << deep.out;
  EXPECT_TRUE(HasProblem(deep.doc, "set " + c_ + " data-dir half", tampered)) << deep.out;

  RewriteIndex(c_, [&](std::vector<FileIndexEntry>& entries) { entries.at(2).set_id = lone_; });
  std::vector<std::string> problems = IndexProblems(c_);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("in set " + lone_ + ", which is not a set of its chain"),
            std::string::npos) << problems[0];
  // A full set's index is all its own.
  RewriteIndex(a_, [&](std::vector<FileIndexEntry>& entries) { entries.at(0).set_id = lone_; });
  problems = IndexProblems(a_);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("in set " + lone_ + ", which is not " + a_), std::string::npos)
      << problems[0];

  RewriteIndex(b_, [&](std::vector<FileIndexEntry>& entries) {
    std::swap(entries.at(3), entries.at(4));
  });
  problems = IndexProblems(b_);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("not in the walk's order, or twice"), std::string::npos) << problems[0];
  RewriteIndex(lone_, [&](std::vector<FileIndexEntry>& entries) {
    entries.insert(entries.begin() + 5, entries.at(5));
  });
  // Listed twice: one entry more than the half holds members, too.
  problems = IndexProblems(lone_);
  ASSERT_EQ(problems.size(), 2u) << ::testing::PrintToString(problems);
  EXPECT_NE(problems[0].find("not in the walk's order, or twice"), std::string::npos) << problems[0];
  EXPECT_NE(problems[1].find("whose data-dir half holds"), std::string::npos) << problems[1];
}

TEST_F(ChainTest, ADamagedParentFailsVerifyAuditAndRestoreOfItsChildren) {
  MakeChain();
  {  // One byte of a's data-dir half: only reading it through finds it.
    std::fstream half(HalfPath(a_), std::ios::in | std::ios::out | std::ios::binary);
    half.seekp(-100, std::ios::end);
    half.put('\x5a');
  }
  JsonRun verified = RunJson(config_path_, {"verify", c_});
  EXPECT_EQ(verified.exit_code, 3) << verified.out << verified.err;
  EXPECT_EQ(VerifiedSets(verified.doc),
            (std::map<std::string, std::pair<bool, bool>>{
                {a_, {false, false}}, {b_, {false, false}}, {c_, {true, false}}}));
  EXPECT_TRUE(HasProblem(verified.doc, "set " + a_ + " data-dir half", "")) << verified.out;
  EXPECT_TRUE(HasProblem(verified.doc, "set " + c_ + " chain",
                         "builds on set " + a_ + ", which failed verification"))
      << verified.out;

  JsonRun audit = RunJson(config_path_, {"audit"});
  EXPECT_EQ(audit.exit_code, 3) << audit.out;
  EXPECT_TRUE(HasProblem(audit.doc, "set " + a_ + " chain",
                         "2 set(s) build on it (" + b_ + ", " + c_ + ")", "intact copy"))
      << audit.out;
  // lone_ is sound, and no set builds on it.
  EXPECT_TRUE(FindingsAbout(audit.doc, "set " + lone_ + " chain").empty()) << audit.out;

  // Restore's pre-flight reads the parents through: the one damaged byte refuses it (exit 4)
  // before anything is staged, and so does a truncated half.
  for (int damage = 0; damage < 2; ++damage) {
    SCOPED_TRACE(damage == 0 ? "one byte" : "truncated");
    if (damage == 1) fs::resize_file(HalfPath(a_), fs::file_size(HalfPath(a_)) - 10);
    JsonRun restore = RunJson(config_path_, {"restore", c_, "--yes"});
    EXPECT_EQ(restore.exit_code, 4) << restore.out << restore.err;
    EXPECT_TRUE(HasProblem(restore.doc, "set " + a_ + " data-dir half",
                           "set " + c_ + " builds on set " + a_, "intact copy of set " + a_))
        << restore.out;
    EXPECT_TRUE(HasOk(restore.doc, "set " + c_)) << restore.out;
  }
}

// A parent's index is not read by a restore of its child (the child's own index names every
// file), but a damaged one is still a damaged set of the chain: refused, by its SHA-256.
TEST_F(ChainTest, ADamagedParentIndexRefusesTheRestoreOfItsChildren) {
  MakeChain();
  Result<Manifest> parent = Manifest::Load(ManifestPath(a_));
  ASSERT_TRUE(parent.ok() && parent->index);
  const std::string index_path = repo_ + "/" + a_ + "/" + parent->index->file;
  {
    std::fstream index(index_path, std::ios::in | std::ios::out | std::ios::binary);
    index.seekp(-100, std::ios::end);
    const int byte = index.peek();
    index.put(static_cast<char>(byte ^ 0x5a));
  }
  JsonRun restore = RunJson(config_path_, {"restore", c_, "--yes"});
  EXPECT_EQ(restore.exit_code, 4) << restore.out << restore.err;
  EXPECT_TRUE(HasProblem(restore.doc, "set " + a_ + " index", "set " + c_ + " builds on set " + a_,
                         "intact copy of set " + a_))
      << restore.out;
  EXPECT_FALSE(fs::exists(node_.data_dir + ".restore-" + c_));
}

TEST_F(ChainTest, AMissingParentBreaksTheChainAndCopyLeavesItsChildrenBehind) {
  MakeChain();
  fs::remove_all(repo_ + "/" + a_);

  JsonRun verified = RunJson(config_path_, {"verify", c_});
  EXPECT_EQ(verified.exit_code, 3) << verified.out << verified.err;
  EXPECT_TRUE(HasProblem(verified.doc, "set " + c_ + " chain",
                         "set " + b_ + " builds on set " + a_ + ": no backup set " + a_))
      << verified.out;

  JsonRun audit = RunJson(config_path_, {"audit", "--quick"});
  EXPECT_EQ(audit.exit_code, 3) << audit.out;
  const std::string missing = "set " + b_ + " builds on set " + a_ + ": set " + a_ + " is missing";
  EXPECT_TRUE(HasProblem(audit.doc, "set " + b_ + " chain", missing)) << audit.out;
  EXPECT_TRUE(HasProblem(audit.doc, "set " + c_ + " chain", missing)) << audit.out;

  JsonRun restore = RunJson(config_path_, {"restore", c_, "--yes"});
  EXPECT_EQ(restore.exit_code, 4) << restore.out << restore.err;
  EXPECT_TRUE(HasProblem(restore.doc, "chain", "set " + b_ + " builds on set " + a_)) << restore.out;

  // The sound sets are copied, the broken chain is named (exit 1).
  CommandResult copied = Run({"copy", "--to", "second"});
  EXPECT_EQ(copied.exit_code, 1) << copied.out << copied.err;
  EXPECT_NE(copied.err.find("set " + b_ + " is not copied"), std::string::npos) << copied.err;
  EXPECT_EQ(SecondIds(), (std::vector<std::string>{lone_}));
}

// Chains as backup makes them: `backup --copy-to` copies what the target lacks of the new
// set's chain, and the copied chain verifies (--deep: test-extracted from the chain) there.
TEST_F(ChainTest, BackupCopyToCopiesTheChainOfAnIncrementalSet) {
  const std::string full = BackupOkInItsOwnSecond({"--full"});
  ASSERT_TRUE(WriteFile(node_.data_dir + "/config/chain-test.txt", "one\n", 0644).ok());
  const std::string first = BackupOkInItsOwnSecond();
  ASSERT_TRUE(WriteFile(node_.data_dir + "/config/chain-test.txt", "two, longer\n", 0644).ok());
  const std::string second = BackupOkInItsOwnSecond({"--copy-to", "second"});
  Result<Manifest> manifest = Manifest::Load(ManifestPath(second));
  ASSERT_TRUE(manifest.ok());
  ASSERT_EQ(manifest->type, SetType::kIncremental);
  ASSERT_EQ(manifest->parent, first);
  EXPECT_EQ(SecondIds(), (std::vector<std::string>{full, first, second}));
  JsonRun verified = RunJson(config_path_, {"--repo", "second", "verify", "--deep", second});
  ASSERT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  EXPECT_EQ(verified.doc["sets"].size(), 3u);
  EXPECT_EQ(verified.doc["sets"][2]["deep"], true);
  // Nothing new to copy next time but the new set.
  ASSERT_TRUE(WriteFile(node_.data_dir + "/config/chain-test.txt", "three\n", 0644).ok());
  const std::string third = BackupOk({"--copy-to", "second"});
  EXPECT_EQ(SecondIds(), (std::vector<std::string>{full, first, second, third}));
  JsonRun listed = RunJson(config_path_, {"--repo", "second", "list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(listed.doc["sets"][3]["parent"], second);

  // A set in the middle of the chain damaged: the newest set is not restored (exit 4).
  fs::resize_file(HalfPath(first), fs::file_size(HalfPath(first)) - 10);
  JsonRun restore = RunJson(config_path_, {"restore", third, "--yes"});
  EXPECT_EQ(restore.exit_code, 4) << restore.out << restore.err;
  EXPECT_TRUE(HasProblem(restore.doc, "set " + first + " data-dir half",
                         "set " + third + " builds on set " + first))
      << restore.out;
}

}  // namespace
}  // namespace testing
}  // namespace gb
