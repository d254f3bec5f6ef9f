// The command line's own output: --help ends with the exit codes of CONTRACT.md, and
// --version prints the version of project() in CMakeLists.txt (through version.h).
#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "coordinator/exit_codes.h"
#include "io/subprocess.h"
#include "version.h"

namespace gb {
namespace {

ExitInfo RunBinary(const std::string& flag) {
  SubprocessOptions options;
  options.argv = {GOVERN_BACKUP_BINARY, flag};
  options.timeout = std::chrono::seconds(30);
  Result<ExitInfo> exit = RunSubprocess(options);
  EXPECT_TRUE(exit.ok()) << exit.status().ToString();
  return exit.ok() ? *exit : ExitInfo{};
}

TEST(CliTest, HelpListsEveryExitCode) {
  ExitInfo help = RunBinary("--help");
  EXPECT_EQ(help.exit_code, kExitOk);
  const std::string& text = help.stdout_text;
  const size_t footer = text.find("Exit codes:\n");
  ASSERT_NE(footer, std::string::npos) << text;
  for (const auto& [code, words] : {std::pair<int, std::string>{kExitOk, "success"},
                                    {kExitFailed, "the operation failed"},
                                    {kExitUsage, "usage or configuration error"},
                                    {kExitProblems, "verify or audit found problems"},
                                    {kExitRefused, "restore refused"},
                                    {kExitLocked, "repository lock"},
                                    {6, "copying it to another repository failed"}}) {
    const std::string line = "\n  " + std::to_string(code) + "  ";
    const size_t at = text.find(line, footer);
    ASSERT_NE(at, std::string::npos) << "no exit code " << code << " in:\n" << text;
    EXPECT_NE(text.substr(at, text.find('\n', at + 1) - at).find(words), std::string::npos)
        << "exit code " << code << " should say \"" << words << "\"";
  }
}

TEST(CliTest, VersionComesFromTheProject) {
  ExitInfo version = RunBinary("--version");
  EXPECT_EQ(version.exit_code, kExitOk);
  EXPECT_EQ(version.stdout_text, std::string("govern-backup ") + kVersion + "\n");
  EXPECT_STRNE(kVersion, "");
}

}  // namespace
}  // namespace gb
