// NodeContext: the Govern node as govern-backup will act on it: the config merged with what
// the data dir says (dip.properties gives every [database] default; config keys override).
// Built once per command on one thread; read-only afterwards, so safe to share.
#pragma once

#include <optional>
#include <string>

#include "config/config.h"
#include "datadir/dss_control.h"
#include "datadir/node.h"
#include "io/status.h"
#include "pg/connection.h"

namespace gb {

struct NodeContext {
  Config config;
  DssNode node;
  std::optional<ConnectionParams> database;  // absent on a node without a database
  std::string schema;                        // currentSchema, informational
  DssControlOptions dss;
};

// Discovers the node at config.node.data_dir and resolves the database settings and the DSS
// control. A Govern node without resolvable database settings is an error.
Result<NodeContext> ResolveNode(const Config& config);

// The database settings alone (no DSS control), for commands that do not need DSS.
std::optional<ConnectionParams> ResolveDatabase(const Config& config, const DssNode& node,
                                                std::string* schema);

// Loads the config named by --config / $GOVERN_BACKUP_CONFIG / the default.
Result<Config> LoadConfig(const std::string& flag);

}  // namespace gb
