// JsonWriter: a small streaming JSON writer for --json output.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gb {

class JsonWriter {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(const std::string& key);
  JsonWriter& String(const std::string& value);
  JsonWriter& Number(double value);
  JsonWriter& Integer(int64_t value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();
  // Inserts an already-formed JSON value (e.g. a manifest converted from TOML).
  JsonWriter& Raw(const std::string& json);

  const std::string& str() const { return out_; }

 private:
  void BeforeValue();
  std::string out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
};

// A quoted, escaped string; also a valid TOML basic string (same escapes).
std::string JsonQuote(const std::string& text);

}  // namespace gb
