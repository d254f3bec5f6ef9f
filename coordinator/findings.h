// Finding: the outcome of one check, and the one reporter that prints a list of them.
//
// `check`, `verify`, `audit` and restore's pre-flight all report in this shape, so that an
// admin (or a monitoring script reading --json) sees one layout and one set of keys:
//
//   text:  "ok    <subject>: <detail>"
//          "WARN  <subject>: <detail>"       (ok, but worth acting on)
//          "FAIL  <subject>: <problem>"
//          "      hint: <what to do>"
//   JSON:  {"subject": ..., "ok": bool, "message": detail or problem, "hint": ...}
//          (and "warning": true on a warning)
//
// A command's JSON document is {"command": ..., "ok": ..., "findings": [...]} plus fields
// of its own (see ReportJson). Plain values; the functions are stateless and thread-safe.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "io/status.h"

namespace gb {

struct Finding {
  std::string subject;  // what was checked: "config", "space", "set <id> data-dir half", a path
  Status status;        // ok, or the problem (naming the object) with its hint
  std::string detail;   // what was found, when ok
  // Ok, but the admin should act: printed "WARN", JSON "warning": true. Not a problem: it
  // fails nothing.
  bool warning = false;

  static Finding Ok(std::string subject, std::string detail) {
    return {std::move(subject), Status::Ok(), std::move(detail)};
  }
  static Finding Warning(std::string subject, std::string detail) {
    return {std::move(subject), Status::Ok(), std::move(detail), true};
  }
  // REQUIRES: !problem.ok().
  static Finding Problem(std::string subject, Status problem) {
    return {std::move(subject), std::move(problem), {}};
  }
  static Finding Problem(std::string subject, std::string message, std::string hint) {
    return Problem(std::move(subject), Status::Failed(std::move(message), std::move(hint)));
  }

  bool ok() const { return status.ok(); }
  // The detail when ok, else the problem.
  const std::string& message() const { return ok() ? detail : status.message(); }
};

// The findings of a check that goes through many things (audit's checkers): problems and
// notes added as they are found. Not thread-safe.
class FindingList {
 public:
  void Add(std::string subject, std::string problem, std::string todo) {
    findings_.push_back(Finding::Problem(std::move(subject), std::move(problem), std::move(todo)));
  }
  // Worth knowing, not a problem.
  void Note(std::string subject, std::string note) {
    findings_.push_back(Finding::Ok(std::move(subject), std::move(note)));
  }

 protected:
  std::vector<Finding> findings_;
};

// How many findings are problems.
size_t CountProblems(const std::vector<Finding>& findings);
inline bool AllOk(const std::vector<Finding>& findings) { return CountProblems(findings) == 0; }

// The subjects of the problems, comma-separated: for a one-line summary on stderr.
std::string ProblemSubjects(const std::vector<Finding>& findings);

// The fixed text layout above, one finding after the other.
void PrintFindings(const std::vector<Finding>& findings, std::ostream& out);

// {"subject", "ok", "message", "hint"}.
nlohmann::json FindingJson(const Finding& finding);

// {"command": command, "ok": AllOk(findings), "findings": [...]}; a command adds its own
// fields to the object before printing it.
nlohmann::json ReportJson(const std::string& command, const std::vector<Finding>& findings);

// One JSON document on a line of its own.
void PrintJson(const nlohmann::json& document, std::ostream& out);

}  // namespace gb
