// Interoperability with Debian's `age` 1.1.1 CLI, both directions, including our pair stanza
// (which age must ignore) and a key file protected with `age -p` (typed on a pseudo-terminal).
// Skips, saying why, only when the CLI is not installed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>

#include "io/age_identity_file.h"
#include "io/age_stream.h"
#include "io/files.h"
#include "io_test_util.h"

namespace gb {
namespace {

using testing::Command;
using testing::MakeTestData;
using testing::ScratchDir;

#define SKIP_WITHOUT_AGE_CLI()           \
  if (access("/usr/bin/age", X_OK) != 0) \
  GTEST_SKIP() << "the age CLI is not installed (apt-get install age); interop untested"

Status EncryptFile(const std::string& path, const std::string& data,
                   const AgeEncryptOptions& options) {
  GB_ASSIGN_OR_RETURN(std::string encrypted, AgeEncryptString(data, options));
  return WriteFile(path, encrypted, 0600);
}

TEST(AgeInterop, AgeCliDecryptsOurFilesWithPairStanza) {
  SKIP_WITHOUT_AGE_CLI();
  ScratchDir dir;
  auto identity = GenerateIdentityFile(dir / "key.txt");
  ASSERT_TRUE(identity.ok());
  AgeEncryptOptions options;
  options.recipients = {AgeIdentity::Generate().Recipient(), identity->Recipient()};
  options.pair_token = "set = \"20261129T151500Z\"\ntoken = \"3f2a9c\"\n";
  for (size_t size : {size_t{0}, size_t{1}, size_t{65536}, size_t{200000}}) {
    SCOPED_TRACE("size " + std::to_string(size));
    const std::string data = MakeTestData(size, static_cast<unsigned>(size));
    ASSERT_TRUE(EncryptFile(dir / "half.age", data, options).ok());
    auto run = RunSubprocess(Command({"age", "-d", "-i", dir / "key.txt", dir / "half.age"}));
    ASSERT_TRUE(run.ok());
    ASSERT_TRUE(run->success()) << run->Describe();
    EXPECT_TRUE(run->stdout_text == data);
  }
}

TEST(AgeInterop, OurDecryptorReadsAgeCliFiles) {
  SKIP_WITHOUT_AGE_CLI();
  ScratchDir dir;
  auto identity = GenerateIdentityFile(dir / "key.txt");
  ASSERT_TRUE(identity.ok());
  auto identities = ReadIdentityFile(dir / "key.txt");
  ASSERT_TRUE(identities.ok());
  for (size_t size :
       {size_t{0}, size_t{1}, size_t{65535}, size_t{65536}, size_t{131072}, size_t{200000}}) {
    SCOPED_TRACE("size " + std::to_string(size));
    const std::string data = MakeTestData(size, static_cast<unsigned>(size) + 1);
    ASSERT_TRUE(WriteFile(dir / "plain", data).ok());
    auto run = RunSubprocess(Command(
        {"age", "-r", identity->Recipient().ToString(), "-o", dir / "half.age", dir / "plain"}));
    ASSERT_TRUE(run.ok() && run->success()) << (run.ok() ? run->Describe() : "");
    auto encrypted = ReadWholeFile(dir / "half.age");
    ASSERT_TRUE(encrypted.ok());
    auto plain = AgeDecryptString(*encrypted, *identities, dir / "half.age");
    ASSERT_TRUE(plain.ok()) << plain.status().ToString();
    EXPECT_TRUE(*plain == data);
  }
}

// What the admin runs by hand: age -d -i identity.txt HALF | zstd -dc | tar -x
TEST(AgeInterop, ByHandRestorePipeline) {
  SKIP_WITHOUT_AGE_CLI();
  ScratchDir dir;
  const std::string tree = dir / "tree";
  ASSERT_EQ(mkdir(tree.c_str(), 0700), 0);
  ASSERT_TRUE(WriteFile(tree + "/config.json", "{\"node\": \"govern\"}\n").ok());
  ASSERT_TRUE(WriteFile(tree + "/blob.bin", MakeTestData(300000, 9)).ok());
  auto archive = RunSubprocess(Command({"sh", "-c", "tar -c -C " + tree + " . | zstd -q -c"}));
  ASSERT_TRUE(archive.ok() && archive->success());
  auto identity = GenerateIdentityFile(dir / "identity.txt");
  ASSERT_TRUE(identity.ok());
  AgeEncryptOptions options;
  options.recipients = {identity->Recipient()};
  options.pair_token = "token = \"3f2a9c\"\n";
  ASSERT_TRUE(EncryptFile(dir / "half.tar.zst.age", archive->stdout_text, options).ok());

  const std::string out = dir / "out";
  ASSERT_EQ(mkdir(out.c_str(), 0700), 0);
  auto restore =
      RunSubprocess(Command({"sh", "-c",
                             "age -d -i " + dir / "identity.txt" + " " + dir / "half.tar.zst.age" +
                                 " | zstd -dc | tar -x -C " + out}));
  ASSERT_TRUE(restore.ok() && restore->success()) << (restore.ok() ? restore->Describe() : "");
  EXPECT_EQ(*ReadWholeFile(out + "/config.json"), *ReadWholeFile(tree + "/config.json"));
  EXPECT_EQ(*ReadWholeFile(out + "/blob.bin"), *ReadWholeFile(tree + "/blob.bin"));
}

// Runs `child` in a new process whose controlling terminal is a new pseudo-terminal, typing
// `answer` at each passphrase prompt; returns its exit status. `child` must end with _exit or
// exec. Waits on the terminal's output with a deadline, never sleeps.
int RunOnTerminal(const std::function<void()>& child, const std::string& answer) {
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) return -1;
  const std::string terminal = ptsname(master);
  pid_t pid = fork();
  if (pid == 0) {
    setsid();
    int slave = open(terminal.c_str(), O_RDWR);  // becomes the controlling terminal
    dup2(slave, 0), dup2(slave, 1), dup2(slave, 2);
    child();
    _exit(127);
  }
  std::string output;
  size_t answered = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd wait_for{master, POLLIN, 0};
    if (poll(&wait_for, 1, 1000) <= 0) continue;
    char buffer[512];
    ssize_t n = read(master, buffer, sizeof(buffer));
    if (n <= 0) break;  // EIO: the child closed the terminal
    output.append(buffer, static_cast<size_t>(n));
    size_t prompts = 0;
    for (size_t at = output.find("passphrase"); at != std::string::npos;
         at = output.find("passphrase", at + 1)) {
      ++prompts;
    }
    for (; answered < prompts; ++answered) {
      const std::string line = answer + "\n";
      if (write(master, line.data(), line.size()) < 0) break;
    }
  }
  if (std::chrono::steady_clock::now() >= deadline) kill(pid, SIGKILL);  // a hung child
  int status = 0;
  waitpid(pid, &status, 0);
  close(master);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void Exec(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  execvp(args[0], args.data());
}

TEST(AgeInterop, KeyFileProtectedWithAgeCliPassphrase) {
  SKIP_WITHOUT_AGE_CLI();
  ScratchDir dir;
  auto identity = GenerateIdentityFile(dir / "key.txt");
  ASSERT_TRUE(identity.ok());
  ASSERT_EQ(RunOnTerminal(
                [&] {
                  Exec({"age", "-p", "-o", dir / "key.age", dir / "key.txt"});
                },
                "tiger lily"),
            0);
  auto protected_file = ReadWholeFile(dir / "key.age");
  ASSERT_TRUE(protected_file.ok());
  ASSERT_EQ(protected_file->rfind("age-encryption.org/v1\n-> scrypt ", 0), 0u);
  ASSERT_EQ(chmod((dir / "key.age").c_str(), 0600), 0);
  ASSERT_TRUE(WriteFile(dir / "passphrase", "tiger lily\n", 0600).ok());
  auto identities = ReadIdentityFile(dir / "key.age", {dir / "passphrase"});
  ASSERT_TRUE(identities.ok()) << identities.status().ToString();
  ASSERT_EQ(identities->size(), 1u);
  EXPECT_EQ((*identities)[0].secret_key(), identity->secret_key());

  // The same file with the passphrase typed at our own prompt (echo off) on the terminal.
  const std::string secret = identity->secret_key();
  auto read_on_terminal = [&] {
    auto typed = ReadIdentityFile(dir / "key.age");
    _exit(typed.ok() && typed->size() == 1 && (*typed)[0].secret_key() == secret ? 0 : 1);
  };
  EXPECT_EQ(RunOnTerminal(read_on_terminal, "tiger lily"), 0);
  EXPECT_EQ(RunOnTerminal(read_on_terminal, "tiger lilies"), 1);
}

// The other direction: a key file we protect with a passphrase opens with `age -d`.
TEST(AgeInterop, AgeCliDecryptsOurPassphraseProtectedKeyFile) {
  SKIP_WITHOUT_AGE_CLI();
  ScratchDir dir;
  AgeIdentity identity = AgeIdentity::Generate();
  const std::string text = FormatIdentityFile(identity, 0);
  AgeEncryptOptions options;
  options.recipients = {AgeRecipient::Passphrase("tiger lily", 12)};
  ASSERT_TRUE(EncryptFile(dir / "key.age", text, options).ok());
  ASSERT_EQ(RunOnTerminal(
                [&] {
                  Exec({"age", "-d", "-o", dir / "key.txt", dir / "key.age"});
                },
                "tiger lily"),
            0);
  auto decrypted = ReadWholeFile(dir / "key.txt");
  ASSERT_TRUE(decrypted.ok());
  EXPECT_EQ(*decrypted, text);
}

}  // namespace
}  // namespace gb
