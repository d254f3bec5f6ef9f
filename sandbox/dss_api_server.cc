#include "sandbox/dss_api_server.h"

#include <openssl/evp.h>

#include <chrono>
#include <cstdio>

#include <httplib.h>

#include "datadir/dss_files.h"
#include "io/files.h"
#include "io/text.h"

namespace gb {
namespace {

std::string BasicAuthorization(const std::string& user) {
  const std::string credentials = user + ":";
  std::string encoded(4 * ((credentials.size() + 2) / 3) + 1, '\0');
  int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                               reinterpret_cast<const unsigned char*>(credentials.data()),
                               static_cast<int>(credentials.size()));
  encoded.resize(length);
  return "Basic " + encoded;
}

void AnswerJson(httplib::Response& response, int status, const nlohmann::json& body) {
  response.status = status;
  response.set_content(body.dump(), "application/json");
}

// How often the server looks at the supervisor: a stop is seen well before a test checks.
constexpr auto kFollowInterval = std::chrono::milliseconds(25);

}  // namespace

Result<std::unique_ptr<DssApiServer>> DssApiServer::Start(const SampleNode& node) {
  GB_ASSIGN_OR_RETURN(InstallIni ini, ReadInstallIni(node.data_dir + "/install.ini"));
  if (ini.server_port == 0)
    return Status::Failed("sample node " + node.data_dir + ": install.ini has no [server] port");
  GB_ASSIGN_OR_RETURN(std::string key, ReadWholeFile(node.api_key_file()));
  std::unique_ptr<DssApiServer> server(new DssApiServer(node, ini.server_port, Trim(key)));
  if (node.IsRunning()) GB_RETURN_IF_ERROR(server->Listen());
  server->follow_thread_ = std::thread([raw = server.get()] { raw->Follow(); });
  return server;
}

DssApiServer::DssApiServer(SampleNode node, int port, std::string key)
    : node_(std::move(node)), port_(port), expected_authorization_(BasicAuthorization(key)) {}

DssApiServer::~DssApiServer() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  stop_requested_.notify_all();
  if (follow_thread_.joinable()) follow_thread_.join();
  Close();
}

void DssApiServer::SetRunningTasks(nlohmann::json futures) {
  std::lock_guard<std::mutex> lock(mutex_);
  futures_ = std::move(futures);
}

nlohmann::json DssApiServer::ScenarioFuture(const std::string& job_id, const std::string& project,
                                            const std::string& scenario) {
  return {{"jobId", job_id},
          {"jobDisplayName", "Scenario " + scenario},
          {"owner", "admin"},
          {"hasResult", false},
          {"aborted", false},
          {"alive", true},
          {"runningTime", 42000},
          {"payload", {{"projectKey", project}, {"scenarioId", scenario}}}};
}

void DssApiServer::SetAnswerGarbage(bool garbage) {
  std::lock_guard<std::mutex> lock(mutex_);
  garbage_ = garbage;
}

bool DssApiServer::listening() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return listening_;
}

void DssApiServer::Follow() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_requested_.wait_for(lock, kFollowInterval, [this] { return stopping_; })) {
    const bool running = node_.IsRunning();
    if (running == listening_) continue;
    lock.unlock();
    if (running) {
      Status listened = Listen();
      if (!listened.ok()) std::fprintf(stderr, "DssApiServer: %s\n", listened.ToString().c_str());
    } else {
      Close();
    }
    lock.lock();
  }
}

Status DssApiServer::Listen() {
  auto server = std::make_unique<httplib::Server>();
  Route(*server);
  if (!server->bind_to_port("127.0.0.1", port_))
    return Status::Failed("the sample DSS API cannot listen on 127.0.0.1:" + std::to_string(port_));
  server_ = std::move(server);
  listen_thread_ = std::thread([server = server_.get()] { server->listen_after_bind(); });
  // httplib's stop() does nothing before its loop runs: a Close right after would hang.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!server_->is_running() && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::lock_guard<std::mutex> lock(mutex_);
  listening_ = true;
  return Status::Ok();
}

void DssApiServer::Close() {
  if (!server_) return;
  server_->stop();
  if (listen_thread_.joinable()) listen_thread_.join();
  server_.reset();
  std::lock_guard<std::mutex> lock(mutex_);
  listening_ = false;
}

void DssApiServer::Route(httplib::Server& server) {
  // Every request: the garbage switch first (a proxy answers before DSS sees a key), then the key.
  server.set_pre_routing_handler([this](const httplib::Request& request,
                                        httplib::Response& response) {
    if (request.path == "/dip/publicapi/futures/") futures_requests_.fetch_add(1);
    std::lock_guard<std::mutex> lock(mutex_);
    if (garbage_) {
      response.status = 200;
      response.set_content("<html><body>Please log in</body></html>", "text/html");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (request.get_header_value("Authorization") != expected_authorization_) {
      AnswerJson(response, 401,
                 {{"errorType", "com.dataiku.dip.exceptions.UnauthorizedException"},
                  {"message", "Unauthorized"}});
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  server.Get("/dip/publicapi/futures/", [this](const httplib::Request&, httplib::Response& response) {
    std::lock_guard<std::mutex> lock(mutex_);
    AnswerJson(response, 200, futures_);
  });
  server.Get("/dip/publicapi/instance-info",
             [](const httplib::Request&, httplib::Response& response) {
               AnswerJson(response, 200, {{"nodeType", "GOVERN"}, {"dssVersion", "14.4.1"}});
             });
}

}  // namespace gb
