// Encrypted sets in an S3 repository (a bucket on the throwaway Ceph RGW): a chain taken on a
// host holding only the public key restores with the identity; no object of the bucket holds
// a file name, file content or database row of the node in clear; and extracting one small
// file from an encrypted set fetches only the age chunks of the frames that hold it, far
// fewer bytes than the half (counted by a store wrapped around the command's).
#include <atomic>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>

#include <gtest/gtest.h>

#include "coordinator/commands.h"
#include "coordinator/manifest.h"
#include "datadir/change_rule.h"
#include "io/age_keys.h"
#include "io/byte_stream.h"
#include "io/files.h"
#include "tests/support/cli_json.h"
#include "tests/support/faulty_store.h"
#include "tests/support/restore_skips.h"
#include "tests/support/s3_node_fixture.h"
#include "tests/support/wait.h"

namespace gb {
namespace testing {
namespace {

namespace fs = std::filesystem;

constexpr char kSmallFile[] = "config/ZEBRAQUARTZ7731/OKAPI-LANTERN.json";
constexpr char kSmallContent[] = "MARKER-CONTENT-PLUM-4417\n";
constexpr char kSecretRow[] = "ROW-MARKER-VERMILION-5581";

// Bytes delivered by Gets, per key; outlives the store the command owns.
struct ReadCounts {
  std::mutex mutex;
  std::map<std::string, uint64_t> bytes;
  uint64_t Of(const std::string& key) {
    std::lock_guard<std::mutex> lock(mutex);
    return bytes[key];
  }
};

// Counts the bytes each key's Gets deliver into `counts`.
class CountingStore : public FaultyStore {
 public:
  CountingStore(std::unique_ptr<Store> inner, std::shared_ptr<ReadCounts> counts)
      : FaultyStore(std::move(inner)), counts_(std::move(counts)) {}
  Status Get(const std::string& key, uint64_t offset, uint64_t length, ByteSink& sink) override {
    struct Counting : ByteSink {
      ByteSink& inner;
      uint64_t bytes = 0;
      explicit Counting(ByteSink& target) : inner(target) {}
      Status Write(const void* data, size_t size) override {
        bytes += size;
        return inner.Write(data, size);
      }
    } counting(sink);
    Status got = FaultyStore::Get(key, offset, length, counting);
    std::lock_guard<std::mutex> lock(counts_->mutex);
    counts_->bytes[key] += counting.bytes;
    return got;
  }

 private:
  std::shared_ptr<ReadCounts> counts_;
};

class S3EncryptionTest : public S3NodeTest {
 protected:
  void SetUp() override {
    S3NodeTest::SetUp();
    if (HasFatalFailure() || bucket_ == nullptr) return;
    const AgeIdentity identity = AgeIdentity::Generate();
    recipient_ = identity.Recipient().ToString();
    identity_file_ = root_ + "/identity.txt";
    ASSERT_TRUE(WriteFile(identity_file_, identity.ToString() + "\n", 0600).ok());
    fs::create_directories(fs::path(node_.data_dir + "/" + kSmallFile).parent_path());
    ASSERT_TRUE(WriteFile(node_.data_dir + "/" + kSmallFile, kSmallContent, 0644).ok());
    // Enough incompressible bytes for several 4 MiB frames in the data-dir half.
    std::mt19937_64 random(42);
    fs::create_directories(node_.data_dir + "/config/blobs");
    for (int file = 0; file < 5; ++file) {
      std::string bytes(4 << 20, '\0');
      for (size_t i = 0; i + 8 <= bytes.size(); i += 8) {
        const uint64_t word = random();
        std::memcpy(&bytes[i], &word, 8);
      }
      ASSERT_TRUE(
          WriteFile(node_.data_dir + "/config/blobs/blob" + std::to_string(file), bytes, 0644).ok());
    }
    Sql(db_, std::string("CREATE TABLE probe_rows (v text); INSERT INTO probe_rows VALUES ('") +
                 kSecretRow + "')");
    // Files changed within the racy window of a backup are archived again by the next set:
    // these must stay in the full set, for the extract below to read that set's big half.
    const int64_t written = WallClockNs();
    ASSERT_TRUE(WaitUntil([&] { return WallClockNs() > written + kRacyWindowNs + 1000000; },
                          std::chrono::seconds(5)));
    UseKeys(false);
  }

  void UseKeys(bool with_identity) {
    WriteS3Config("[backup]\ncache_dir = \"" + root_ + "/cache\"\n\n[encryption]\n" +
                  "recipients = [\"" + recipient_ + "\"]\n" +
                  (with_identity ? "identity_file = \"" + identity_file_ + "\"\n" : ""));
  }

  std::string recipient_;
  std::string identity_file_;
};

TEST_F(S3EncryptionTest, ChainRestoresWithTheIdentityAndExtractFetchesOnlyWhatItNeeds) {
  S3_NODE_TEST_OR_SKIP();
  const std::string full = BackupOkInItsOwnSecond();
  ASSERT_TRUE(WriteFile(node_.data_dir + "/config/later.txt", "later\n", 0644).ok());
  const std::string child = BackupOkInItsOwnSecond();
  const auto tree = TreeDigest(node_.data_dir, SkippedByRestore());
  const auto rows = DatabaseDigest(db_);

  // Every object of the bucket but the manifests is ciphertext.
  int scanned = 0;
  for (const std::string& key : Keys()) {
    StringSink bytes;
    ASSERT_TRUE(bucket_->Get(key, 0, Store::kToEnd, bytes).ok()) << key;
    ++scanned;
    for (const std::string marker : {"ZEBRAQUARTZ7731", "OKAPI-LANTERN", "MARKER-CONTENT-PLUM",
                                     "blob0", kSecretRow})
      EXPECT_EQ(bytes.bytes().find(marker), std::string::npos) << marker << " in " << key;
  }
  EXPECT_GE(scanned, 8);
  StringSink text;
  ASSERT_TRUE(bucket_->Get("manifests/" + child + ".toml", 0, Store::kToEnd, text).ok());
  Result<Manifest> manifest = Manifest::Parse(text.bytes(), child);
  ASSERT_TRUE(manifest.ok());
  EXPECT_EQ(manifest->type, SetType::kIncremental);  // built on the index cache, no identity
  EXPECT_TRUE(manifest->datadir.encrypted);

  JsonRun verify = RunJson(config_path_, {"verify", "--all"});  // no identity: stanzas, hashes
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;

  UseKeys(true);
  const std::string target = root_ + "/restored";
  JsonRun restore = RunJson(config_path_, {"restore", child, "--data-dir", target, "--dbname",
                                           dbname_ + "_r", "--yes"});
  ASSERT_EQ(restore.exit_code, 0) << restore.out << restore.err;
  EXPECT_EQ(TreeDigest(target, SkippedByRestore()), tree);
  EXPECT_EQ(DatabaseDigest(db_.WithDatabase(dbname_ + "_r")), rows);

  // One small file of the full set, extracted through the incremental one.
  Result<Manifest> parent = Manifest::Parse(
      [&] {
        StringSink parent_text;
        EXPECT_TRUE(bucket_->Get("manifests/" + full + ".toml", 0, Store::kToEnd, parent_text).ok());
        return parent_text.bytes();
      }(),
      full);
  ASSERT_TRUE(parent.ok());
  ASSERT_GT(parent->datadir.bytes, 20u << 20);
  auto counts = std::make_shared<ReadCounts>();
  GlobalOptions global;
  global.config_path = config_path_;
  global.wrap_store = [counts](std::unique_ptr<Store> inner) -> std::unique_ptr<Store> {
    return std::make_unique<CountingStore>(std::move(inner), counts);
  };
  ExtractCommandOptions extract;
  extract.id = child;
  extract.paths = {kSmallFile};
  extract.to = root_ + "/extracted";
  Status extracted = RunExtract(global, extract);
  ASSERT_TRUE(extracted.ok()) << extracted.ToString();
  EXPECT_EQ(ReadWholeFile(extract.to + "/" + kSmallFile).value(), kSmallContent);
  const uint64_t read = counts->Of("sets/" + full + "/" + full + ".datadir.tar.zst");
  EXPECT_GT(read, 0u);
  RecordProperty("half_bytes_read_by_extract", std::to_string(read));
  RecordProperty("half_bytes", std::to_string(parent->datadir.bytes));
  EXPECT_LT(read, parent->datadir.bytes / 3) << "of " << parent->datadir.bytes;
}

}  // namespace
}  // namespace testing
}  // namespace gb
