// JsonWriter: a small streaming JSON writer for --json output. Superseded by nlohmann-json
// (coordinator/json_output.h); kept until check, verify, audit and restore move to it.
// One writer per thread.
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

  const std::string& str() const { return out_; }

 private:
  void BeforeValue();
  std::string out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
};

}  // namespace gb
