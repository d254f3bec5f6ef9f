#include "coordinator/node_context.h"

#include <cstdlib>

namespace gb {

std::optional<ConnectionParams> ResolveDatabase(const Config& config, const DssNode& node,
                                                std::string* schema) {
  const DatabaseConfig& db = config.database;
  bool configured = db.host || db.port || db.dbname || db.user;
  if (!node.database && !configured) return std::nullopt;

  ConnectionParams params;
  if (node.database) {
    params.host = node.database->host;
    params.port = node.database->port;
    params.dbname = node.database->dbname;
    params.user = node.database->user;
    if (schema) *schema = node.database->schema;
  }
  if (db.host) params.host = *db.host;
  if (db.port) params.port = *db.port;
  if (db.dbname) params.dbname = *db.dbname;
  if (db.user) params.user = *db.user;
  if (params.host.empty()) params.host = "localhost";
  params.password_file = db.password_file;
  return params;
}

Result<NodeContext> ResolveNode(const Config& config) {
  NodeContext context;
  context.config = config;
  GB_ASSIGN_OR_RETURN(context.node, DiscoverNode(config.node.data_dir));
  context.database = ResolveDatabase(config, context.node, &context.schema);
  if (context.node.is_govern() && !context.database)
    return Status::Failed(
        "Govern node " + config.node.data_dir +
            " has no database settings: config/dip.properties has no psql.jdbc.url",
        "set [database] host, port, dbname and user in the config");
  if (context.database && (context.database->dbname.empty() || context.database->user.empty()))
    return Status::Failed("the database settings of " + config.node.data_dir +
                              " lack a database name or user",
                          "set [database] dbname and user in the config");
  GB_ASSIGN_OR_RETURN(context.dss, MakeDssControlOptions(config.node.data_dir,
                                                         config.node.dss_command,
                                                         config.node.dss_user));
  return context;
}

Result<Config> LoadConfig(const std::string& flag) {
  return LoadConfigFile(ResolveConfigPath(flag));
}

}  // namespace gb
