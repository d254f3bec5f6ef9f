// SampleNode: generates a Govern DATA_DIR that behaves like a real one, for the demo, the
// tests and the benchmark: install.ini, dss-version.json, dip.properties pointing at a
// PostgreSQL server, an install dir, a bin/dss that acts like the real one (refuses root,
// status exit 1 when stopped, records start/stop), config files, large files, symlinks,
// hard links and the excludable folders. The fake bin/dss and installer.sh are the shell
// programs sandbox/fake_dss.sh and sandbox/fake_installer.sh, embedded at build time.
// As root, the node belongs to an unprivileged system user, created if missing (announced on
// stderr; see sandbox/system_changes.h). Generating is not thread-safe for one root; distinct
// roots may be generated concurrently.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "io/status.h"

namespace gb {

struct SampleNodeOptions {
  std::string root;               // created; holds data_dir/, install_dir/, control/
  std::string dss_version = "14.4.1";
  std::string conf_version = "14400";
  std::string node_type = "govern";
  std::string db_host = "localhost";  // may be a socket directory (then the JDBC URL uses
                                      // junixsocket's socketFactoryArg, as a real node would)
  int db_port = 5432;
  std::string db_name = "govern";
  std::string db_user = "govern";
  std::string db_schema;              // "" = no currentSchema in the URL
  int small_files = 300;              // config-like files
  int large_files = 2;
  uint64_t large_file_bytes = 1 << 20;
  std::string owner;                  // when root: this unprivileged user owns the node
                                      // (created if missing); "" = current user
  bool start_running = true;          // leave DSS "running"
  int server_port = 0;                // install.ini [server] port; 0 = a free loopback port
};

struct SampleNode {
  std::string root;
  std::string data_dir;     // <root>/data_dir
  std::string install_dir;  // <root>/install_dir (DKUINSTALLDIR)
  std::string control_dir;  // <root>/control: bin/dss's state and fault switches
  uid_t owner_uid = 0;
  gid_t owner_gid = 0;
  int server_port = 0;      // install.ini [server] port: where its DSS API would listen

  // The fake bin/dss's behaviour switches (files in control_dir; each acts while it exists):
  //   fail-stop, fail-start, hang-stop, hang-start  -> stop / start fails / hangs (sleep 3600)
  //   churn                                          -> while running, config/churn.json is
  //                                                     rewritten (atomically) every 0.2 s
  //   counter                                        -> while running, a writer counts in
  //                                                     the database and a file: see
  //                                                     sandbox/counter_writer.h
  // and its record: control_dir/events.log, one line "<unix-time> start|stop" per change.
  // Its supervisor writes data_dir/run/supervisord.pid (run/ is created if missing).
  std::string events_log() const { return control_dir + "/events.log"; }
  // A valid DSS public API key of this node (0600), for [node] api_key_file; the API itself
  // is served by sandbox/dss_api_server.h.
  std::string api_key_file() const { return control_dir + "/api-key"; }
  std::string switch_path(const std::string& name) const { return control_dir + "/" + name; }
  bool IsRunning() const;   // by the fake supervisor's pid file (and that the pid is it)
  // Kills the fake supervisor outright, whatever the switches say: cleanup for tests.
  Status KillSupervisor() const;
};

Result<SampleNode> GenerateSampleNode(const SampleNodeOptions& options);

// The unprivileged user owning generated nodes when we run as root.
inline constexpr char kSampleNodeUser[] = "govern-dss";

}  // namespace gb
