#include "io/sha256.h"

#include <gtest/gtest.h>

#include "io/atomic_file.h"
#include "io/subprocess.h"
#include "io_test_util.h"

namespace gb {
namespace {

using testing::Command;
using testing::MakeTestData;
using testing::ScratchDir;

TEST(Sha256, KnownVectors) {  // FIPS 180-2 examples
  EXPECT_EQ(Sha256::OfString(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256::OfString("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256::OfString("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Sha256::OfString(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, IncrementalEqualsOneShot) {
  const std::string data = MakeTestData(3 << 20, 11);
  Sha256 hash;
  for (size_t offset = 0, piece = 1; offset < data.size(); offset += piece, piece = piece * 3 + 1) {
    hash.Update(data.data() + offset, std::min(piece, data.size() - offset));
  }
  hash.Update(data.data(), 0);
  EXPECT_EQ(hash.HexDigest(), Sha256::OfString(data));
}

TEST(Sha256, ResetStartsANewDigestAfterAFinishedOrAHalfDoneOne) {
  Sha256 hash;
  hash.Update("abc", 3);
  EXPECT_EQ(hash.HexDigest(), Sha256::OfString("abc"));
  hash.Reset();
  EXPECT_EQ(hash.HexDigest(), Sha256::OfString(""));
  hash.Reset();
  hash.Update("half done", 9);
  hash.Reset();
  hash.Update("abc", 3);
  EXPECT_EQ(hash.HexDigest(), Sha256::OfString("abc"));
}

TEST(Sha256, OfFileEqualsSha256sum) {
  ScratchDir dir;
  const std::string path = dir / "data";
  ASSERT_TRUE(WriteFileAtomically(path, MakeTestData(5 << 20, 5)).ok());
  auto ours = Sha256::OfFile(path);
  ASSERT_TRUE(ours.ok());
  auto tool = RunSubprocess(Command({"sha256sum", path}));
  ASSERT_TRUE(tool.ok());
  ASSERT_TRUE(tool->success()) << tool->Describe();
  EXPECT_EQ(tool->stdout_text.substr(0, 64), *ours);
  EXPECT_EQ(ours->size(), 64u);
}

TEST(Sha256, OfMissingFileNamesIt) {
  auto missing = Sha256::OfFile("/nonexistent/gb-file");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "cannot open /nonexistent/gb-file: No such file or directory");
}

}  // namespace
}  // namespace gb
