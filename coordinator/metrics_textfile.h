// The Prometheus text exposition format, as far as the metrics textfile needs it: samples
// (a name, labels, a value) written with their families' HELP and TYPE lines, and read back
// from a file we wrote, so that a command keeps the other commands' figures when it
// rewrites the file. Plain values and stateless functions: thread-safe.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "io/status.h"

namespace gb {

struct MetricFamily {
  std::string name;
  std::string type;  // gauge, counter, ...
  std::string help;
};

struct MetricSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// The samples of `text`; HELP, TYPE and other comment lines are skipped. A line that is not
// a sample (name, optional {labels}, value, optional timestamp) is an error naming it.
Result<std::vector<MetricSample>> ParseMetricSamples(const std::string& text);

// The same reading for a file other hands may have edited: the samples of the lines that
// parse, and for each line that does not, the error ParseMetricSamples would give.
struct SalvagedMetricSamples {
  std::vector<MetricSample> samples;
  std::vector<std::string> refused_lines;
};
SalvagedMetricSamples SalvageMetricSamples(const std::string& text);

// Each family that has samples: its HELP and TYPE lines, then its samples in the order given.
std::string FormatMetrics(const std::vector<MetricFamily>& families,
                          const std::vector<MetricSample>& samples);

}  // namespace gb
