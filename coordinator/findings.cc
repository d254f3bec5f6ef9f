#include "coordinator/findings.h"

#include <ostream>

#include <nlohmann/json.hpp>

namespace gb {

size_t CountProblems(const std::vector<Finding>& findings) {
  size_t problems = 0;
  for (const Finding& finding : findings) problems += finding.ok() ? 0 : 1;
  return problems;
}

std::string ProblemSubjects(const std::vector<Finding>& findings) {
  std::string subjects;
  for (const Finding& finding : findings)
    if (!finding.ok()) subjects += (subjects.empty() ? "" : ", ") + finding.subject;
  return subjects;
}

void PrintFindings(const std::vector<Finding>& findings, std::ostream& out) {
  for (const Finding& finding : findings) {
    out << (!finding.ok() ? "FAIL  " : finding.warning ? "WARN  " : "ok    ") << finding.subject << ": " << finding.message()
        << "\n";
    if (!finding.ok() && !finding.status.hint().empty())
      out << "      hint: " << finding.status.hint() << "\n";
  }
}

nlohmann::json FindingJson(const Finding& finding) {
  nlohmann::json json = {{"subject", finding.subject},
                         {"ok", finding.ok()},
                         {"message", finding.message()},
                         {"hint", finding.status.hint()}};
  if (finding.warning) json["warning"] = true;
  return json;
}

nlohmann::json ReportJson(const std::string& command, const std::vector<Finding>& findings) {
  nlohmann::json list = nlohmann::json::array();
  for (const Finding& finding : findings) list.push_back(FindingJson(finding));
  return {{"command", command}, {"ok", AllOk(findings)}, {"findings", std::move(list)}};
}

void PrintJson(const nlohmann::json& document, std::ostream& out) {
  // Invalid UTF-8 in a path must not abort the report: replace it rather than throw.
  out << document.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

}  // namespace gb
