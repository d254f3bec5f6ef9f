// The set's small files and their serialisation: the manifest (a 0.1.0 manifest kept as a
// fixture still verifies; a new one round-trips), the pair identity, the restored-from marker
// and the lock holder, each with a hostile path; half names outside the set refused; the
// repository and its parents created 0700 whatever the umask; the clock through the Env.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "coordinator/manifest.h"
#include "coordinator/pair_identity.h"
#include "coordinator/repository.h"
#include "coordinator/repository_lock.h"
#include "coordinator/restore_marker.h"
#include "io/env.h"
#include "io/files.h"
#include "io/sha256.h"

namespace gb {
namespace {

namespace fs = std::filesystem;

// Written by govern-backup 0.1.0 (its hand-made layout); the checksum covers these bytes.
const char kManifest010[] = R"TOML(# govern-backup set manifest. Do not edit: it checks itself ([checksum] below).
format = 1
id = "20261124T081500Z-3f9a1c"
pair_token = "0123456789abcdef0123456789abcdef"
created_at = 2026-11-24T08:15:00Z
consistency = "offline"
tool_version = "0.1.0"
note = "before \"upgrade\" to 14.5"

[node]
data_dir = "/srv/dss/govern-data"
node_type = "govern"
dss_version = "14.4.1"
conf_version = "14400"
install_dir = "/srv/dss/dataiku-dss-14.4.1"
node_id = "govern-a1b2"
hostname = "govern1"

[datadir]
file = "20261124T081500Z-3f9a1c.datadir.tar.zst"
sha256 = "aaaa"
bytes = 1048576
files = 812
source_bytes = 4194304
excluded = ["tmp", "caches"]

[database]
file = "20261124T081500Z-3f9a1c.database.dump.zst"
sha256 = "bbbb"
bytes = 65536
dump_bytes = 262144
dbname = "govern"
schema = "public"
server_version = "15.8"
system_identifier = "7300000000000000001"
pg_dump_version = "15.8"

[database.table_rows]
"public.blueprints" = 12
"public.artifacts" = 345

[window]
dss_stopped_at = 2026-11-24T08:15:01Z
dss_started_at = 2026-11-24T08:15:31Z
downtime_seconds = 30.250
dss_was_running = true
duration_seconds = 95.500

[checksum]
sha256 = "8d76f88ae12857d379e1c875bebce23f3c62b85178793f059ae681fc46916d70"
)TOML";

// A path with a quote, a backslash, a newline, a tab and another control character.
const std::string kHostile = std::string("/srv/a \"quoted\" \\dir\nnext\tline") + '\x01' + "end";

// `text` with its [checksum] recomputed, as if a writer had made it so.
std::string Resealed(const std::string& text) {
  std::string body = text.substr(0, text.rfind("\n[checksum]\n"));
  return body + "\n[checksum]\nsha256 = \"" + Sha256::OfString(body) + "\"\n";
}

TimePoint At(int64_t seconds) { return TimePoint(std::chrono::seconds(seconds)); }

Manifest SampleManifest() {
  Manifest manifest;
  manifest.id = "20261124T081500Z-3f9a1c";
  manifest.pair_token = "0123456789abcdef0123456789abcdef";
  manifest.created_at = At(1795508100);
  manifest.consistency = Consistency::kOnline;
  manifest.tool_version = "0.2.0";
  manifest.note = kHostile;
  manifest.node = {kHostile, "govern", "14.4.1", "14400", "/srv/install", "node-1", "host1"};
  manifest.datadir.file = Repository::DatadirFileName(manifest.id);
  manifest.datadir.sha256 = "aaaa";
  manifest.datadir.bytes = 1234;
  manifest.datadir.files = 56;
  manifest.datadir.source_bytes = 7890;
  manifest.datadir.excluded = {"tmp", kHostile};
  manifest.datadir.changed_while_read = {"config/a.json"};
  manifest.datadir.vanished_while_read = {kHostile};
  ManifestDatabase database;
  database.file = Repository::DatabaseFileName(manifest.id);
  database.sha256 = "bbbb";
  database.bytes = 99;
  database.dump_bytes = 999;
  database.dbname = "govern";
  database.schema = "public";
  database.server_version = "15.8";
  database.system_identifier = "7300000000000000001";
  database.pg_dump_version = "15.8";
  database.table_rows = {{"public.blueprints", 12}, {"weird \"table\"", 3}};
  manifest.database = database;
  manifest.window.dss_stopped_at = At(1795508101);
  manifest.window.dss_started_at = At(1795508131);
  manifest.window.downtime_seconds = 30.25;
  manifest.window.dss_was_running = true;
  manifest.window.duration_seconds = 95.5;
  return manifest;
}

TEST(Manifest, A010ManifestStillVerifiesAndReads) {
  Result<Manifest> parsed = Manifest::Parse(kManifest010, "fixture");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->id, "20261124T081500Z-3f9a1c");
  EXPECT_EQ(parsed->consistency, Consistency::kOffline);
  EXPECT_EQ(parsed->note, "before \"upgrade\" to 14.5");
  EXPECT_EQ(parsed->created_at, At(1795508100));
  EXPECT_EQ(parsed->node.data_dir, "/srv/dss/govern-data");
  EXPECT_EQ(parsed->datadir.excluded, (std::vector<std::string>{"tmp", "caches"}));
  EXPECT_EQ(parsed->datadir.files, 812u);
  ASSERT_TRUE(parsed->database.has_value());
  EXPECT_EQ(parsed->database->table_rows.at("public.artifacts"), 345u);
  EXPECT_EQ(parsed->window.dss_started_at, At(1795508131));
  EXPECT_DOUBLE_EQ(parsed->window.downtime_seconds, 30.25);
  EXPECT_TRUE(parsed->window.dss_was_running);
  EXPECT_EQ(parsed->format, 1);
  EXPECT_FALSE(parsed->datadir.seekable);
  EXPECT_FALSE(parsed->index.has_value());

  std::string edited = kManifest010;
  edited.replace(edited.find("files = 812"), 11, "files = 813");
  Result<Manifest> tampered = Manifest::Parse(edited, "fixture");
  ASSERT_FALSE(tampered.ok());
  EXPECT_NE(tampered.status().message().find("does not match its own checksum"), std::string::npos);
}

TEST(Manifest, ANewManifestRoundTripsWithAHostilePath) {
  Manifest manifest = SampleManifest();
  std::string text = manifest.ToText();
  EXPECT_EQ(text.rfind("# govern-backup set manifest.", 0), 0u) << text;
  EXPECT_NE(text.find("\n[checksum]\nsha256 = "), std::string::npos) << text;
  Result<Manifest> parsed = Manifest::Parse(text, "new");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString() << "\n" << text;
  EXPECT_EQ(parsed->ToText(), text);
  EXPECT_EQ(parsed->note, kHostile);
  EXPECT_EQ(parsed->node.data_dir, kHostile);
  EXPECT_EQ(parsed->consistency, Consistency::kOnline);
  EXPECT_EQ(parsed->created_at, manifest.created_at);
  EXPECT_EQ(parsed->datadir.excluded, manifest.datadir.excluded);
  EXPECT_EQ(parsed->datadir.vanished_while_read, manifest.datadir.vanished_while_read);
  EXPECT_EQ(parsed->database->table_rows, manifest.database->table_rows);
  EXPECT_EQ(parsed->window.dss_stopped_at, manifest.window.dss_stopped_at);
  EXPECT_DOUBLE_EQ(parsed->window.downtime_seconds, 30.25);

  nlohmann::json json = nlohmann::json::parse(manifest.ToJson().dump());
  EXPECT_EQ(json["node"]["data_dir"], kHostile);
  EXPECT_EQ(json["consistency"], "online");
  EXPECT_EQ(json["created_at"], "2026-11-24T08:15:00Z");
  EXPECT_EQ(json["database"]["table_rows"]["weird \"table\""], 3);
  EXPECT_EQ(json["datadir"]["bytes"], 1234);
  EXPECT_TRUE(json["checksum"]["sha256"].is_string());
}

TEST(Manifest, Format2RecordsTheSeekableHalfAndTheIndex) {
  Manifest manifest = SampleManifest();
  EXPECT_EQ(manifest.format, 2);
  manifest.datadir.seekable = true;
  manifest.index.emplace();
  manifest.index->file = manifest.id + ".index.jsonl.zst";
  manifest.index->sha256 = "cccc";
  manifest.index->bytes = 321;
  manifest.index->entries = 56;
  const std::string text = manifest.ToText();
  Result<Manifest> parsed = Manifest::Parse(text, "new");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->ToText(), text);
  EXPECT_TRUE(parsed->datadir.seekable);
  ASSERT_TRUE(parsed->index.has_value());
  EXPECT_EQ(parsed->index->file, manifest.index->file);
  EXPECT_EQ(parsed->index->sha256, "cccc");
  EXPECT_EQ(parsed->index->bytes, 321u);
  EXPECT_EQ(parsed->index->entries, 56u);
  nlohmann::json json = nlohmann::json::parse(manifest.ToJson().dump());
  EXPECT_EQ(json["format"], 2);
  EXPECT_EQ(json["index"]["entries"], 56);
  EXPECT_EQ(json["datadir"]["seekable"], true);

  // The index's name is a plain name of the set, like the halves'.
  manifest.index->file = "../../etc/passwd";
  Result<Manifest> outside = Manifest::Parse(manifest.ToText(), "m.toml");
  ASSERT_FALSE(outside.ok());
  EXPECT_NE(outside.status().message().find("key index.file"), std::string::npos);

  // A format this version does not know is refused, naming what it reads.
  std::string future = Resealed(std::string(kManifest010).replace(
      std::string(kManifest010).find("format = 1"), 10, "format = 3"));
  Result<Manifest> refused = Manifest::Parse(future, "future");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("formats 1 to 2"), std::string::npos)
      << refused.status().message();
}

TEST(Manifest, AFormat1ManifestIsWrittenWithoutFormat2Keys) {
  Result<Manifest> parsed = Manifest::Parse(kManifest010, "fixture");
  ASSERT_TRUE(parsed.ok());
  const std::string text = parsed->ToText();
  EXPECT_EQ(text.find("seekable"), std::string::npos) << text;
  EXPECT_EQ(text.find("[index]"), std::string::npos) << text;
  EXPECT_NE(text.find("format = 1"), std::string::npos) << text;
}

TEST(Manifest, AnIdOrHalfNameOutsideTheSetIsRefusedNamingTheKey) {
  const std::vector<std::string> bad = {"../../etc/passwd", "sub/half.zst", "", ".", "..",
                                        std::string("half\0.zst", 9)};
  for (const char* key : {"id", "datadir.file", "database.file"}) {
    for (const std::string& name : bad) {
      Manifest manifest = SampleManifest();
      std::string& field = std::string(key) == "id"             ? manifest.id
                           : std::string(key) == "datadir.file" ? manifest.datadir.file
                                                                : manifest.database->file;
      field = name;
      Result<Manifest> parsed = Manifest::Parse(manifest.ToText(), "m.toml");
      ASSERT_FALSE(parsed.ok()) << key << " = " << name;
      EXPECT_NE(parsed.status().message().find(std::string("key ") + key), std::string::npos)
          << parsed.status().message();
    }
  }
  EXPECT_TRUE(IsPlainFileName("20261124T081500Z-3f9a1c.datadir.tar.zst"));
  EXPECT_TRUE(IsPlainFileName("..hidden"));
}

TEST(Manifest, ConsistencyHasOneSpellingAndUnknownOnesAreRefused) {
  for (Consistency each : {Consistency::kOffline, Consistency::kSnapshot, Consistency::kOnline})
    EXPECT_EQ(ParseConsistency(ToString(each)), each);
  EXPECT_FALSE(ParseConsistency("Offline").has_value());
  std::string text = SampleManifest().ToText();
  text.replace(text.find("\"online\""), 8, "\"ofline\"");
  Result<Manifest> parsed = Manifest::Parse(Resealed(text), "m.toml");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("key consistency"), std::string::npos)
      << parsed.status().message();
}

TEST(PairIdentity, RoundTripsWithAHostileId) {
  PairIdentity identity{kHostile, "0123456789abcdef0123456789abcdef", kRoleDatadir};
  Result<PairIdentity> parsed = PairIdentity::Parse(identity.ToText(), "frame");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString() << "\n" << identity.ToText();
  EXPECT_EQ(parsed->id, kHostile);
  EXPECT_EQ(parsed->pair_token, identity.pair_token);
  EXPECT_EQ(parsed->role, kRoleDatadir);
  // What 0.1.0 wrote is still read.
  Result<PairIdentity> old = PairIdentity::Parse(
      "# govern-backup pair identity: this half belongs to the set below\nid = \"x\"\n"
      "pair_token = \"t\"\nrole = \"database\"\n",
      "old frame");
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  EXPECT_EQ(old->role, kRoleDatabase);
  EXPECT_EQ(NewPairToken().size(), 32u);
}

class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::string> dir = MakeTempDir(::testing::TempDir(), "coordinator-set-files-");
    ASSERT_TRUE(dir.ok()) << dir.status().ToString();
    dir_ = *dir;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

TEST_F(TempDirTest, RestoredFromMarkerRoundTripsWithAHostilePath) {
  Result<std::optional<RestoredFromMarker>> none = ReadRestoredFromMarker(dir_);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_FALSE(none->has_value());

  RestoredFromMarker marker{"20261124T081500Z-3f9a1c", "token", At(1795508100), kHostile,
                            "14.4.1", "govern \"db\""};
  ASSERT_TRUE(WriteRestoredFromMarker(dir_, marker, Env::Default()).ok());
  Result<std::optional<RestoredFromMarker>> read = ReadRestoredFromMarker(dir_);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((*read)->id, marker.id);
  EXPECT_EQ((*read)->pair_token, "token");
  EXPECT_EQ((*read)->restored_at, marker.restored_at);
  EXPECT_EQ((*read)->from_data_dir, kHostile);
  EXPECT_EQ((*read)->database, marker.database);
  struct stat info {};
  ASSERT_EQ(::stat((dir_ + "/" + kRestoredFromMarker).c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);

  ASSERT_TRUE(WriteFile(dir_ + "/" + kRestoredFromMarker, "id = \"only\"\n").ok());
  EXPECT_FALSE(ReadRestoredFromMarker(dir_).ok());
}

// The clock and the host come from the Env: a fake one is what the lock file records.
class FixedEnv : public Env {
 public:
  std::chrono::system_clock::time_point Now() override { return At(1795508100); }
  std::string HostName() override { return kHostile; }
};

TEST_F(TempDirTest, TheLockRecordsAParsedHolderAndASecondOneIsRefused) {
  FixedEnv env;
  std::string path = dir_ + "/" + kLockFileName;
  Result<std::unique_ptr<RepositoryLock>> first =
      RepositoryLock::Acquire(path, LockOperation::kBackup, &env);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  std::optional<LockHolder> holder = ReadLockHolder(path);
  ASSERT_TRUE(holder.has_value()) << *ReadWholeFile(path);
  EXPECT_EQ(holder->operation, LockOperation::kBackup);
  EXPECT_EQ(holder->pid, ::getpid());
  EXPECT_EQ(holder->host, kHostile);
  EXPECT_EQ(holder->since, At(1795508100));

  Result<std::unique_ptr<RepositoryLock>> second =
      RepositoryLock::Acquire(path, LockOperation::kRestore, &env);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kLocked);
  EXPECT_NE(second.status().message().find("backup (pid " + std::to_string(::getpid())),
            std::string::npos)
      << second.status().message();

  first->reset();
  EXPECT_FALSE(ReadLockHolder(path).has_value());
  // A 0.1.0 holder line is not a holder: unknown, never misread.
  EXPECT_FALSE(LockHolder::Parse("backup (pid 12, since 2026-11-24T08:15:00Z)\n").ok());
}

TEST_F(TempDirTest, TheRepositoryAndItsMissingParentsAre0700WhateverTheUmask) {
  std::string root = dir_ + "/one/two/repo";
  mode_t old_umask = ::umask(0);
  Status made = Repository::Local(root)->EnsureExists(Env::Default());
  ::umask(old_umask);
  ASSERT_TRUE(made.ok()) << made.ToString();
  for (const std::string& dir : {dir_ + "/one", dir_ + "/one/two", root}) {
    struct stat info {};
    ASSERT_EQ(::stat(dir.c_str(), &info), 0) << dir;
    EXPECT_EQ(info.st_mode & 07777, 0700u) << dir;
  }
  EXPECT_TRUE(Repository::Local(root)->EnsureExists(Env::Default()).ok()) << "existing is fine";
  Status trailing = Repository::Local(dir_ + "/three/repo/")->EnsureExists(Env::Default());
  EXPECT_TRUE(trailing.ok()) << trailing.ToString();
  EXPECT_TRUE(fs::is_directory(dir_ + "/three/repo"));
}

}  // namespace
}  // namespace gb
