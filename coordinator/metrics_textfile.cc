#include "coordinator/metrics_textfile.h"

#include <spdlog/fmt/fmt.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>

#include "io/text.h"

namespace gb {
namespace {

bool IsNameChar(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
         (!first && c >= '0' && c <= '9');
}

// A cursor over one line; each Read* advances past what it read or fails.
class LineReader {
 public:
  explicit LineReader(const std::string& line) : line_(line) {}

  bool ReadName(std::string* name) {
    size_t start = at_;
    while (at_ < line_.size() && IsNameChar(line_[at_], at_ == start)) ++at_;
    *name = line_.substr(start, at_ - start);
    return !name->empty();
  }

  bool Peek(char c) const { return at_ < line_.size() && line_[at_] == c; }
  bool Take(char c) {
    if (!Peek(c)) return false;
    ++at_;
    return true;
  }
  void SkipSpaces() {
    while (at_ < line_.size() && (line_[at_] == ' ' || line_[at_] == '\t')) ++at_;
  }

  // A quoted label value with the format's three escapes (\\, \", \n).
  bool ReadQuoted(std::string* value) {
    if (!Take('"')) return false;
    value->clear();
    while (at_ < line_.size()) {
      char c = line_[at_++];
      if (c == '"') return true;
      if (c != '\\') {
        value->push_back(c);
        continue;
      }
      if (at_ >= line_.size()) return false;
      char escaped = line_[at_++];
      value->push_back(escaped == 'n' ? '\n' : escaped);
    }
    return false;
  }

  bool ReadLabels(std::map<std::string, std::string>* labels) {
    while (!Take('}')) {
      std::string name, value;
      SkipSpaces();
      if (!ReadName(&name) || !Take('=') || !ReadQuoted(&value)) return false;
      (*labels)[name] = value;
      SkipSpaces();
      if (!Take(',') && !Peek('}')) return false;
      SkipSpaces();
    }
    return true;
  }

  // The value, then an optional timestamp (ignored: we never write one).
  bool ReadValue(double* value) {
    SkipSpaces();
    std::string rest = Trim(line_.substr(at_));
    std::string number = rest.substr(0, rest.find_first_of(" \t"));
    if (number == "+Inf" || number == "-Inf" || number == "NaN") {
      *value = number == "NaN" ? NAN : (number[0] == '-' ? -INFINITY : INFINITY);
      return true;
    }
    char* end = nullptr;
    *value = std::strtod(number.c_str(), &end);
    return !number.empty() && end == number.c_str() + number.size();
  }

 private:
  const std::string& line_;
  size_t at_ = 0;
};

std::string EscapeLabelValue(const std::string& value) {
  std::string escaped;
  for (char c : value) {
    if (c == '\\' || c == '"') escaped.push_back('\\');
    if (c == '\n') {
      escaped += "\\n";
      continue;
    }
    escaped.push_back(c);
  }
  return escaped;
}

// Whole numbers (counts, bytes, exit codes, unix seconds) as integers, the rest in full.
std::string FormatValue(double value) {
  if (std::isfinite(value) && value == std::floor(value) && std::fabs(value) < 9.0e15) {
    return std::to_string(static_cast<int64_t>(value));
  }
  return fmt::format("{}", value);  // the shortest text that reads back as the same double
}

}  // namespace

Result<std::vector<MetricSample>> ParseMetricSamples(const std::string& text) {
  SalvagedMetricSamples read = SalvageMetricSamples(text);
  if (!read.refused_lines.empty()) return Status::Failed(read.refused_lines.front());
  return std::move(read.samples);
}

SalvagedMetricSamples SalvageMetricSamples(const std::string& text) {
  SalvagedMetricSamples read;
  int number = 0;
  for (const std::string& raw : SplitLines(text)) {
    ++number;
    const std::string line = Trim(raw);
    if (line.empty() || line[0] == '#') continue;
    MetricSample sample;
    LineReader reader(line);
    bool ok = reader.ReadName(&sample.name);
    if (ok && reader.Take('{')) ok = reader.ReadLabels(&sample.labels);
    if (ok) ok = reader.ReadValue(&sample.value);
    if (ok)
      read.samples.push_back(std::move(sample));
    else
      read.refused_lines.push_back("line " + std::to_string(number) +
                                   " is not a Prometheus sample: " + line);
  }
  return read;
}

std::string FormatMetrics(const std::vector<MetricFamily>& families,
                          const std::vector<MetricSample>& samples) {
  std::string text;
  for (const MetricFamily& family : families) {
    bool any = false;
    for (const MetricSample& sample : samples) {
      if (sample.name != family.name) continue;
      if (!any) {
        text += "# HELP " + family.name + " " + family.help + "\n";
        text += "# TYPE " + family.name + " " + family.type + "\n";
        any = true;
      }
      text += sample.name;
      if (!sample.labels.empty()) {
        std::vector<std::string> labels;
        for (const auto& [name, value] : sample.labels)
          labels.push_back(name + "=\"" + EscapeLabelValue(value) + "\"");
        text += "{" + Join(labels, ",") + "}";
      }
      text += " " + FormatValue(sample.value) + "\n";
    }
  }
  return text;
}

}  // namespace gb
