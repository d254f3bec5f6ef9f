#include "datadir/dss_api.h"

#include <curl/curl.h>

#include <memory>
#include <mutex>

#include <nlohmann/json.hpp>

#include "datadir/dss_files.h"
#include "io/age_identity_file.h"
#include "io/files.h"
#include "io/text.h"

namespace gb {
namespace {

constexpr char kFuturesPath[] =
    "/dip/publicapi/futures/?withScenarios=true&withNotScenarios=true&allUsers=true";

struct HttpAnswer {
  long status = 0;
  std::string body;
};

size_t AppendBody(char* data, size_t size, size_t count, void* answer) {
  std::string& body = static_cast<HttpAnswer*>(answer)->body;
  // DSS's list is small; a huge answer is not DSS (and must not eat our memory).
  if (body.size() > (16u << 20)) return 0;
  body.append(data, size * count);
  return size * count;
}

using CurlHandle = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;

// One GET with the key as the Basic-auth user. Transport failures are "unreachable".
Result<HttpAnswer> Get(const DssApiEndpoint& endpoint, const std::string& key,
                       const std::string& url) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  CurlHandle curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) return Status::Failed("cannot set up an HTTP request to " + url);
  HttpAnswer answer;
  char error[CURL_ERROR_SIZE] = "";
  CURL* handle = curl.get();
  curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(handle, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
  curl_easy_setopt(handle, CURLOPT_USERNAME, key.c_str());
  curl_easy_setopt(handle, CURLOPT_PASSWORD, "");
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT, static_cast<long>(endpoint.connect_timeout.count()));
  curl_easy_setopt(handle, CURLOPT_TIMEOUT, static_cast<long>(endpoint.request_timeout.count()));
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &answer);
  CURLcode code = curl_easy_perform(handle);
  if (code != CURLE_OK) {
    std::string why = error[0] ? error : curl_easy_strerror(code);
    return Status::Failed("the DSS public API at " + url + " is unreachable: " + why,
                          "is DSS running, and is [node] api_url (default: the port of "
                          "install.ini [server]) where it listens?");
  }
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &answer.status);
  return answer;
}

// The start of an answer, printable, for a message about it.
std::string Excerpt(const std::string& body) {
  std::string text;
  for (char c : body.substr(0, 80)) text += (c >= 0x20 && c < 0x7f) ? c : '.';
  return body.size() > 80 ? text + "..." : text;
}

std::string StringField(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The readable fields DSS puts in a future's state: jobDisplayName, owner, runningTime (ms),
// and for a scenario run its payload's projectKey and scenarioId. Only jobId is promised.
std::string Describe(const nlohmann::json& future) {
  std::string what = StringField(future, "jobDisplayName");
  auto payload = future.find("payload");
  if (payload != future.end() && payload->is_object()) {
    std::string scenario = StringField(*payload, "scenarioId");
    std::string project = StringField(*payload, "projectKey");
    if (what.empty() && !scenario.empty()) what = "scenario " + scenario;
    if (!project.empty()) what += (what.empty() ? "" : " ") + std::string("of project ") + project;
  }
  std::vector<std::string> details = {"jobId " + future["jobId"].get<std::string>()};
  if (std::string owner = StringField(future, "owner"); !owner.empty())
    details.push_back("owner " + owner);
  auto running = future.find("runningTime");
  if (running != future.end() && running->is_number())
    details.push_back("running " + std::to_string(running->get<int64_t>() / 1000) + " s");
  return (what.empty() ? "" : what + " ") + "(" + Join(details, ", ") + ")";
}

Result<std::vector<DssTask>> ParseFutures(const std::string& body, const std::string& url) {
  nlohmann::json document = nlohmann::json::parse(body, nullptr, false);
  if (document.is_discarded()) {
    return Status::Failed("the DSS public API at " + url + " answered something that is not JSON (\"" +
                              Excerpt(body) + "\")",
                          "is [node] api_url DSS itself (not a proxy or a login page)?");
  }
  const std::string unexpected = "the DSS public API at " + url + " answered unexpected JSON: ";
  if (!document.is_array())
    return Status::Failed(unexpected + "not a list of futures (\"" + Excerpt(body) + "\")");
  std::vector<DssTask> tasks;
  for (const nlohmann::json& future : document) {
    if (!future.is_object() || !future.contains("jobId") || !future["jobId"].is_string())
      return Status::Failed(unexpected + "a future without a jobId (\"" + Excerpt(future.dump()) + "\")");
    tasks.push_back({future["jobId"].get<std::string>(), Describe(future)});
  }
  return tasks;
}

}  // namespace

Result<DssApiEndpoint> ResolveDssApiEndpoint(const std::string& data_dir, const std::string& api_url,
                                             const std::string& key_file) {
  DssApiEndpoint endpoint;
  endpoint.key_file = key_file;
  endpoint.base_url = api_url;
  if (endpoint.base_url.empty()) {
    const std::string ini_path = data_dir + "/install.ini";
    GB_ASSIGN_OR_RETURN(InstallIni ini, ReadInstallIni(ini_path));
    if (ini.server_port == 0) {
      return Status::Failed(ini_path + " has no [server] port: the DSS public API cannot be found",
                            "set [node] api_url, e.g. \"http://127.0.0.1:11200\"");
    }
    endpoint.base_url = "http://127.0.0.1:" + std::to_string(ini.server_port);
  }
  while (!endpoint.base_url.empty() && endpoint.base_url.back() == '/') endpoint.base_url.pop_back();
  return endpoint;
}

Result<DssApiClient> DssApiClient::Open(DssApiEndpoint endpoint) {
  const std::string what = "DSS API key file";
  GB_RETURN_IF_ERROR(CheckPrivateFileMode(endpoint.key_file, what));
  GB_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(endpoint.key_file));
  std::string key = Trim(text);
  if (key.empty() || key.find_first_of("\r\n") != std::string::npos) {
    return Status::Failed(what + " " + endpoint.key_file + " does not hold one API key",
                          "write the key alone on one line ([node] api_key_file)");
  }
  return DssApiClient(std::move(endpoint), std::move(key));
}

std::string DssApiClient::FuturesUrl() const { return endpoint_.base_url + kFuturesPath; }

Result<std::vector<DssTask>> DssApiClient::RunningTasks() const {
  const std::string url = FuturesUrl();
  GB_ASSIGN_OR_RETURN(HttpAnswer answer, Get(endpoint_, key_, url));
  if (answer.status == 401 || answer.status == 403) {
    return Status::Failed("the API key in " + endpoint_.key_file + " was refused by DSS (HTTP " +
                              std::to_string(answer.status) + " from " + url + ")",
                          "the key must be a global API key of this node with admin rights "
                          "(Administration > Security > Global API keys)");
  }
  if (answer.status < 200 || answer.status > 299) {
    return Status::Failed("the DSS public API at " + url + " answered HTTP " +
                          std::to_string(answer.status) + " (\"" + Excerpt(answer.body) + "\")");
  }
  return ParseFutures(answer.body, url);
}

}  // namespace gb
