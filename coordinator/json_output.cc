#include "coordinator/json_output.h"

#include <iostream>

namespace gb {

void PrintJson(const nlohmann::json& document) {
  std::cout << document.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::cout.flush();
}

}  // namespace gb
