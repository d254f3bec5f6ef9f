// ExecuteSql: runs one SQL script in a transaction as the given role (demo and tooling).
#pragma once

#include <string>

#include "io/status.h"
#include "pg/connection.h"

namespace gb {

Status ExecuteSql(const ConnectionParams& params, const std::string& sql);

}  // namespace gb
