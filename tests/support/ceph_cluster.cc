#include "tests/support/ceph_cluster.h"

#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>

#include <gtest/gtest.h>

#include "io/subprocess.h"
#include "io/text.h"

namespace gb {
namespace testing {
namespace {

struct Cluster {
  std::unique_ptr<Subprocess> script;
  RgwEndpoint endpoint;
};

std::unique_ptr<Cluster>& Slot() {
  static std::unique_ptr<Cluster> slot;
  return slot;
}

bool OnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string dirs = path == nullptr ? "/usr/bin:/bin" : path;
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    if (::access((dirs.substr(start, end - start) + "/" + program).c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

[[noreturn]] void Abort(const std::string& why) {
  std::fprintf(stderr, "cannot start the test Ceph cluster: %s\n", why.c_str());
  std::abort();
}

// Reads the script's first stdout line, waiting at most `timeout`; empty at end of file.
std::string ReadLine(int fd, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string line;
  char c = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{fd, POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (::poll(&pfd, 1, static_cast<int>(std::max<long>(left.count(), 1))) <= 0) continue;
    const ssize_t n = ::read(fd, &c, 1);
    if (n <= 0) return "";
    if (c == '\n') return line;
    line += c;
  }
  return "";
}

class StopCephEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    if (!Slot()) return;
    // End of stdin makes the script stop the daemons in the order that does not hang.
    Slot()->script->CloseStdin();
    const ExitInfo exit = Slot()->script->Wait();
    if (!exit.success()) {
      std::fprintf(stderr, "stopping the test Ceph cluster: %s\n", exit.Describe().c_str());
    }
    Slot().reset();
  }
};

::testing::Environment* const kStopCephEnvironment =
    ::testing::AddGlobalTestEnvironment(new StopCephEnvironment);

}  // namespace

const RgwEndpoint* SharedRgw(std::string* skip_reason) {
  if (Slot()) return &Slot()->endpoint;
  const bool in_ci = std::getenv("CI") != nullptr && *std::getenv("CI") != '\0';
  for (const char* program : {"ceph-mon", "ceph-osd", "radosgw", "radosgw-admin"}) {
    if (OnPath(program)) continue;
    const std::string why = std::string(program) +
                            " is not installed (packages ceph-mon ceph-osd radosgw ceph-common; "
                            "scripts/install-deps installs them)";
    if (in_ci) Abort(why + ", and CI is set: S3 tests must run in CI");
    *skip_reason = why;
    return nullptr;
  }
  auto cluster = std::make_unique<Cluster>();
  // AWS-shaped keys: 20 upper-case characters, 40 characters.
  cluster->endpoint.access_key = "GBTEST" + RandomHex(7);
  for (char& c : cluster->endpoint.access_key) c = static_cast<char>(std::toupper(c));
  cluster->endpoint.secret_key = RandomHex(20);
  SubprocessOptions options;
  options.argv = {std::string(GOVERN_SOURCE_DIR) + "/tests/support/start-ceph",
                  cluster->endpoint.access_key, cluster->endpoint.secret_key};
  options.stdout_pipe = true;
  options.stdin_pipe = true;
  Result<std::unique_ptr<Subprocess>> started = Subprocess::Start(options);
  if (!started.ok()) Abort(started.status().ToString());
  cluster->script = std::move(started).value();
  const std::string line = ReadLine(cluster->script->stdout_fd(), std::chrono::seconds(180));
  if (line.rfind("ready ", 0) != 0) {
    cluster->script->Signal(SIGTERM);
    const ExitInfo exit = cluster->script->Wait();
    Abort("start-ceph " + exit.Describe() + "\n" + exit.stderr_text);
  }
  std::istringstream words(line.substr(6));
  words >> cluster->endpoint.endpoint >> cluster->endpoint.tls_endpoint >>
      cluster->endpoint.ca_file;
  Slot() = std::move(cluster);
  return &Slot()->endpoint;
}

}  // namespace testing
}  // namespace gb
