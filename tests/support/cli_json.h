// Running the real govern-backup binary with --json and reading its one JSON document, for
// end-to-end tests that assert on keys rather than on the wording of the text output.
//
// check, verify, audit and restore print {"command", "ok", "findings": [{"subject", "ok",
// "message", "hint"}], ...}; the helpers below look findings up by subject. Stateless.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace gb {
namespace testing {

struct JsonRun {
  int exit_code = -1;   // 128 + signal when killed
  nlohmann::json doc;   // null when stdout was not one JSON document (a test failure is added)
  std::string out;
  std::string err;
};

// Runs build/govern-backup --config <config_path> --json <args...>, with `extra_env` added
// to the environment (e.g. libfaketime's LD_PRELOAD and FAKETIME).
JsonRun RunJson(const std::string& config_path, const std::vector<std::string>& args,
                const std::map<std::string, std::string>& extra_env = {});

// The environment that runs the binary `seconds` ahead of the real clock (libfaketime,
// file times left real).
std::map<std::string, std::string> FakeClockAhead(int seconds);

// Every finding of a report whose subject is `subject` ("" = every finding).
std::vector<nlohmann::json> FindingsAbout(const nlohmann::json& doc, const std::string& subject);

// The findings that are problems ("ok": false).
std::vector<nlohmann::json> Problems(const nlohmann::json& doc);

// Success when `doc` has a problem about `subject` ("" = any) whose message contains `words`
// and whose hint contains `hint_words`.
::testing::AssertionResult HasProblem(const nlohmann::json& doc, const std::string& subject,
                                      const std::string& words, const std::string& hint_words = "");

// Success when `doc` has a passed finding about `subject` whose message contains `words`.
::testing::AssertionResult HasOk(const nlohmann::json& doc, const std::string& subject,
                                 const std::string& words = "");

}  // namespace testing
}  // namespace gb
