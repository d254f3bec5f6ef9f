// DssApiClient: the one question govern-backup asks the DSS public API before it stops DSS,
// "is a long task (a future: a job, a scenario, an export...) running?", answered by
// GET <url>/dip/publicapi/futures/?withScenarios=true&withNotScenarios=true&allUsers=true
// with HTTP Basic auth (the API key as the user name, an empty password), as DSS's own
// Python client asks it. The key comes from a file only its owner may read, and never
// appears in a message or a log line.
//
// Errors are distinct for an admin: the API unreachable (naming the URL), the key refused
// (naming the key file), another HTTP status, an answer that is not the expected JSON.
// A DssApiClient is immutable after Open; each call makes its own connection, so calls
// from several threads are safe.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "io/status.h"

namespace gb {

// Where the API is and which key to show it.
struct DssApiEndpoint {
  std::string base_url;  // e.g. http://127.0.0.1:11200, no trailing slash
  std::string key_file;  // absolute
  std::chrono::seconds connect_timeout{5};
  std::chrono::seconds request_timeout{30};
};

// `api_url` when given, else http://127.0.0.1:<data_dir/install.ini [server] port>; an
// install.ini without a port is an error naming the file and [node] api_url.
Result<DssApiEndpoint> ResolveDssApiEndpoint(const std::string& data_dir, const std::string& api_url,
                                             const std::string& key_file);

// One running long task, as the futures list describes it.
struct DssTask {
  std::string job_id;       // always present
  // What runs, for people: "scenario BUILD_ALL of project SALES (jobId 9fXa1, owner admin,
  // running 42 s)", with whichever of these fields DSS gave.
  std::string description;
};

class DssApiClient {
 public:
  // Reads the key; refuses a key file that group or others may read, or an empty one.
  static Result<DssApiClient> Open(DssApiEndpoint endpoint);

  // The long tasks running now, for all users (an empty list when DSS is idle).
  Result<std::vector<DssTask>> RunningTasks() const;

  // The URL RunningTasks asks (for messages and --dry-run; it holds no secret).
  std::string FuturesUrl() const;
  const DssApiEndpoint& endpoint() const { return endpoint_; }

 private:
  DssApiClient(DssApiEndpoint endpoint, std::string key)
      : endpoint_(std::move(endpoint)), key_(std::move(key)) {}

  DssApiEndpoint endpoint_;
  std::string key_;
};

}  // namespace gb
