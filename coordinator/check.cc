// `govern-backup check`: is a backup possible now? One line per check.
#include <iostream>

#include "coordinator/commands.h"
#include "coordinator/json_writer.h"
#include "coordinator/preflight.h"

namespace gb {

Status RunCheck(const GlobalOptions& global) {
  GB_ASSIGN_OR_RETURN(Config config, LoadConfig(global.config_path));
  Preflight preflight = RunPreflight(config);

  if (global.json) {
    JsonWriter json;
    json.BeginObject().Key("ok").Bool(preflight.ok()).Key("checks").BeginArray();
    for (const auto& item : preflight.items) {
      json.BeginObject().Key("name").String(item.name).Key("ok").Bool(item.status.ok());
      if (item.status.ok()) json.Key("detail").String(item.detail);
      else json.Key("problem").String(item.status.message()).Key("hint").String(item.status.hint());
      json.EndObject();
    }
    json.EndArray().EndObject();
    std::cout << json.str() << "\n";
  } else {
    for (const auto& item : preflight.items) {
      if (item.status.ok()) {
        std::cout << "ok    " << item.name << ": " << item.detail << "\n";
      } else {
        std::cout << "FAIL  " << item.name << ": " << item.status.message() << "\n";
        if (!item.status.hint().empty()) std::cout << "      what to do: " << item.status.hint() << "\n";
      }
    }
  }
  if (preflight.ok()) return Status::Ok();
  int problems = 0;
  for (const auto& item : preflight.items) problems += item.status.ok() ? 0 : 1;
  return Status::Failed("a backup is not possible now: " + std::to_string(problems) +
                        " check(s) failed");
}

}  // namespace gb
