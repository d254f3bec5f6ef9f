// TomlReader: typed, line-aware reads of the keys of one parsed TOML file, for the readers of
// config/ only (config.cc, repository_reader.cc).
//
// A key is named by its table (a dotted path such as "repositories.offsite") and its name.
// Every problem is collected as a Code::kUsage error "<file>:<line>: <message>" instead of
// stopping at the first, and EarliestProblem() reports a secret (a password) before anything,
// else the problem nearest the top of the file, so that the admin fixes the file from top to
// bottom whatever order toml++ iterates its (sorted) tables in.
//
// Thread-safety: none; one reader per parse, on one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "io/status.h"

namespace gb {

// "a string", "an integer", ...: the type of a TOML value as an error message says it.
std::string TomlTypeName(toml::node_type type);

class TomlReader {
 public:
  TomlReader(const toml::table& root, std::string source);

  const toml::table& root() const { return root_; }

  // The table at a dotted path whose parts hold no '.', or nullptr (absent, or not a table).
  const toml::table* Table(const std::string& section) const;

  void Report(std::uint32_t line, const std::string& message, std::string hint = {},
              bool secret = false);
  bool HasProblems() const { return !problems_.empty(); }
  Status EarliestProblem() const;

  // Where a key or table was written (the key's line when toml++ knows it).
  static std::uint32_t LineOf(const toml::key& key, const toml::node& node);
  // The line of section.name in the file, or 0 when it is absent.
  std::uint32_t LineOf(const std::string& section, const std::string& name) const;
  bool Has(const std::string& section, const std::string& name) const {
    return Find(section, name).has_value();
  }

  // Each returns nullopt when the key is absent or wrong (the problem is then reported).
  std::optional<std::string> String(const std::string& section, const std::string& name);
  // A path that must be absolute when given ("" means not set).
  std::optional<std::string> AbsolutePath(const std::string& section, const std::string& name);
  std::optional<std::int64_t> Integer(const std::string& section, const std::string& name,
                                      std::int64_t min, std::int64_t max,
                                      const std::string& hint = {});
  std::optional<bool> Boolean(const std::string& section, const std::string& name);
  // An array (its elements are the caller's to check); `expected` names it in a type error.
  const toml::array* Array(const std::string& section, const std::string& name,
                           const std::string& expected);
  // An array of strings, each with its line. A non-string element is reported (naming the
  // key and the element's index) and the whole key read as nullopt.
  struct ArrayString {
    std::string text;
    std::uint32_t line;
    std::string dotted;  // e.g. "backup.exclude[2]", for the caller's own checks
  };
  std::optional<std::vector<ArrayString>> StringArray(const std::string& section,
                                                      const std::string& name);
  // One of `choices` ("" may be one of them).
  std::optional<std::string> OneOf(const std::string& section, const std::string& name,
                                   const std::vector<std::string>& choices,
                                   const std::string& hint = {});
  struct Duration {
    std::chrono::seconds value;
    std::string text;  // as written, e.g. "1d12h"
  };
  // A ParseDuration text of at least `min`.
  std::optional<Duration> DurationAtLeast(const std::string& section, const std::string& name,
                                          std::chrono::seconds min, const std::string& hint);
  // A ParseByteSize text between min and max bytes.
  std::optional<std::uint64_t> ByteSize(const std::string& section, const std::string& name,
                                        std::uint64_t min, std::uint64_t max,
                                        const std::string& hint);

  // The composites of the readers: a required absolute path, an int in range, a string that
  // must not be empty when given ("" would not mean "the default").
  void RequiredPath(const std::string& section, const std::string& name, std::string* out);
  void ReadInt(const std::string& section, const std::string& name, std::int64_t min,
               std::int64_t max, int* out, const std::string& hint = {});
  void NonEmptyString(const std::string& section, const std::string& name,
                      std::optional<std::string>* out);

 private:
  struct Problem {
    bool secret;         // reported first: the file holds a secret it must not hold
    std::uint32_t line;  // 0: the file as a whole (a missing key)
    Status status;
  };

  // A key found in the file.
  struct Entry {
    const toml::node* node;
    std::uint32_t line;
    std::string dotted;
  };

  std::optional<Entry> Find(const std::string& section, const std::string& name) const;
  void WrongType(const Entry& entry, const std::string& expected);

  const toml::table& root_;
  std::string source_;
  std::vector<Problem> problems_;
};

}  // namespace gb
