#include "tests/support/cli_json.h"

#include "io/subprocess.h"
#include "tests/support/fake_clock.h"

namespace gb {
namespace testing {
namespace {

// `want_ok`: the finding passed (true) or is a problem (false).
::testing::AssertionResult HasFinding(const nlohmann::json& doc, const std::string& subject,
                                      const std::string& words, const std::string& hint_words,
                                      bool want_ok) {
  for (const nlohmann::json& finding : FindingsAbout(doc, subject))
    if (finding.value("ok", !want_ok) == want_ok &&
        finding.value("message", "").find(words) != std::string::npos &&
        finding.value("hint", "").find(hint_words) != std::string::npos)
      return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "no " << (want_ok ? "passed finding" : "problem") << " about \"" << subject
         << "\" saying \"" << words << "\" (hint: \"" << hint_words << "\") in:\n"
         << doc.dump(2);
}

}  // namespace

JsonRun RunJson(const std::string& config_path, const std::vector<std::string>& args,
                const std::map<std::string, std::string>& extra_env) {
  SubprocessOptions options;
  options.argv = {GOVERN_BACKUP_BINARY, "--config", config_path, "--json"};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  options.extra_env = extra_env;
  options.timeout = std::chrono::minutes(5);
  JsonRun run;
  Result<ExitInfo> exit = RunSubprocess(options);
  if (!exit.ok()) {
    ADD_FAILURE() << "cannot run govern-backup: " << exit.status().ToString();
    return run;
  }
  run.exit_code = exit->term_signal ? 128 + exit->term_signal : exit->exit_code;
  run.out = exit->stdout_text;
  run.err = exit->stderr_text;
  try {
    run.doc = nlohmann::json::parse(run.out);
  } catch (const nlohmann::json::exception& error) {
    ADD_FAILURE() << "stdout is not one JSON document (" << error.what() << "):\n"
                  << run.out << "\nstderr:\n"
                  << run.err;
  }
  return run;
}

std::map<std::string, std::string> FakeClockAhead(int seconds) {
  return FakeClockEnvironment("+" + std::to_string(seconds));
}

std::vector<nlohmann::json> FindingsAbout(const nlohmann::json& doc, const std::string& subject) {
  std::vector<nlohmann::json> found;
  if (!doc.is_object() || !doc.contains("findings")) return found;
  for (const nlohmann::json& finding : doc["findings"])
    if (subject.empty() || finding.value("subject", "") == subject) found.push_back(finding);
  return found;
}

std::vector<nlohmann::json> Problems(const nlohmann::json& doc) {
  std::vector<nlohmann::json> found;
  if (!doc.is_object() || !doc.contains("findings")) return found;
  for (const nlohmann::json& finding : doc["findings"])
    if (!finding.value("ok", true)) found.push_back(finding);
  return found;
}

::testing::AssertionResult HasProblem(const nlohmann::json& doc, const std::string& subject,
                                      const std::string& words, const std::string& hint_words) {
  return HasFinding(doc, subject, words, hint_words, false);
}

::testing::AssertionResult HasOk(const nlohmann::json& doc, const std::string& subject,
                                 const std::string& words) {
  return HasFinding(doc, subject, words, "", true);
}

}  // namespace testing
}  // namespace gb
