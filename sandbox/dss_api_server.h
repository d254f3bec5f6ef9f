// DssApiServer: the public API of a sample node's DSS, served over real HTTP on loopback
// (cpp-httplib), so that the tests exercise govern-backup's own client end to end. It
// listens on the node's install.ini [server] port only while the node's fake supervisor
// runs, as DSS does: once bin/dss stop has stopped it, nothing listens (connection refused),
// and it listens again after bin/dss start.
//
// It answers what govern-backup asks, like DSS:
//   GET /dip/publicapi/futures/      the running long tasks: a JSON list (SetRunningTasks)
//   GET /dip/publicapi/instance-info {"nodeType": "GOVERN", ...}
// with HTTP Basic auth, the node's key (SampleNode::api_key_file) as the user name: any other
// key gets 401 and DSS's JSON error. SetAnswerGarbage makes every answer a non-JSON page.
//
// Test-only (linked into the tests, not into govern-backup). Thread-safe: the setters may be
// called while the server answers on its own threads.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "io/status.h"
#include "sandbox/sample_node.h"

namespace httplib {
class Server;
}

namespace gb {

class DssApiServer {
 public:
  // Follows `node`'s supervisor from now on (listening at once if DSS runs).
  static Result<std::unique_ptr<DssApiServer>> Start(const SampleNode& node);
  ~DssApiServer();  // stops listening and following

  // The futures list DSS reports from now on; each element needs at least a "jobId".
  void SetRunningTasks(nlohmann::json futures);
  // A future like DSS's for a running scenario of `project` (what SetRunningTasks takes).
  static nlohmann::json ScenarioFuture(const std::string& job_id, const std::string& project,
                                       const std::string& scenario);
  // Answer "200 OK" with an HTML page instead of JSON (what a proxy's login page looks like).
  void SetAnswerGarbage(bool garbage);

  // Requests for the futures list answered so far (any key): lets a test wait for a poll.
  int futures_requests() const { return futures_requests_.load(); }
  bool listening() const;
  int port() const { return port_; }

 private:
  DssApiServer(SampleNode node, int port, std::string key);
  void Follow();  // the thread: listens while the supervisor runs
  Status Listen();
  void Close();
  void Route(httplib::Server& server);

  const SampleNode node_;
  const int port_;
  const std::string expected_authorization_;  // "Basic base64(key:)"

  mutable std::mutex mutex_;
  std::condition_variable stop_requested_;
  bool stopping_ = false;
  nlohmann::json futures_ = nlohmann::json::array();
  bool garbage_ = false;
  bool listening_ = false;
  std::atomic<int> futures_requests_{0};

  std::unique_ptr<httplib::Server> server_;  // while listening; only Follow's thread changes it
  std::thread listen_thread_;
  std::thread follow_thread_;
};

}  // namespace gb
