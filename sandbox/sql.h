// ExecuteSql: runs one SQL script in a transaction as the given role, for the demo (it changes
// the sample database after a backup). Stateless; each call opens its own connection.
#pragma once

#include <string>

#include "io/status.h"
#include "pg/connection.h"

namespace gb {

Status ExecuteSql(const ConnectionParams& params, const std::string& sql);

}  // namespace gb
