// FaultProxy: a TCP proxy on 127.0.0.1 that stands between the S3 client and RGW and answers
// chosen requests with a fault instead of forwarding them: a 503 SlowDown, a connection reset,
// a stall (no answer at all), or a response cut off after its first bytes. It asks the server
// to close every connection after one request ("Connection: close"), so the client opens one
// connection per request and "request N" is well defined.
//
// Thread-safety: the plan runs on the proxy's threads; requests() may be read from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "io/status.h"

namespace gb {
namespace testing {

enum class Fault {
  kNone,           // forward to the server
  kSlowDown,       // answer 503 SlowDown and close
  kReset,          // reset the connection (RST) without answering
  kStall,          // keep the connection open, never answer
  kCutResponse,    // forward, but reset after the first 64 KiB of the answer
};

class FaultProxy {
 public:
  // `plan` decides the fate of request `number` (1-based) from its request line
  // ("PUT /bucket/key?partNumber=2&uploadId=... HTTP/1.1").
  using Plan = std::function<Fault(int number, const std::string& request_line)>;
  static Result<std::unique_ptr<FaultProxy>> Start(const std::string& upstream_endpoint, Plan plan);
  ~FaultProxy();

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int requests() const { return requests_.load(); }

 private:
  FaultProxy() = default;
  void AcceptLoop();
  void Serve(int client);
  void Forward(int client, std::string head, std::string rest, bool cut);

  int listen_fd_ = -1;
  int stop_fd_ = -1;  // an eventfd: readable once the proxy stops
  int port_ = 0;
  int upstream_port_ = 0;
  Plan plan_;
  std::atomic<int> requests_{0};
  std::thread acceptor_;
  std::mutex mutex_;
  std::vector<std::thread> connections_;  // guarded by mutex_
};

}  // namespace testing
}  // namespace gb
