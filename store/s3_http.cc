#include "store/s3_http.h"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <mutex>

#include "io/sha256.h"
#include "io/time_text.h"

namespace gb {
namespace {

// SigV4's URI encoding: everything but the unreserved characters, and "/" only if asked.
std::string UriEncode(std::string_view text, bool keep_slash) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Exchange {
  const S3Request* request = nullptr;
  S3Response* response = nullptr;
  CURL* curl = nullptr;
  size_t body_offset = 0;  // upload position
};

size_t ReadBody(char* buffer, size_t size, size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  const std::string_view body = exchange->request->body;
  const size_t n = std::min(size * count, body.size() - exchange->body_offset);
  std::memcpy(buffer, body.data() + exchange->body_offset, n);
  exchange->body_offset += n;
  return n;
}

size_t WriteBody(char* data, size_t size, size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  long status = 0;
  curl_easy_getinfo(exchange->curl, CURLINFO_RESPONSE_CODE, &status);
  const size_t n = size * count;
  if (exchange->request->sink != nullptr && status / 100 == 2) {
    Status written = exchange->request->sink->Write(data, n);
    if (!written.ok()) {
      exchange->response->sink_status = written;
      return 0;  // aborts the transfer
    }
    return n;
  }
  exchange->response->body.append(data, n);
  return n;
}

size_t WriteHeader(char* data, size_t size, size_t count, void* user) {
  auto* response = static_cast<Exchange*>(user)->response;
  const std::string line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {
    response->headers.clear();  // a new response (after 100 Continue)
    return size * count;
  }
  const size_t colon = line.find(':');
  if (colon == std::string::npos) return size * count;
  std::string name = line.substr(0, colon);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string value = line.substr(colon + 1);
  const size_t begin = value.find_first_not_of(" \t");
  const size_t end = value.find_last_not_of(" \t\r\n");
  response->headers[name] = begin == std::string::npos ? "" : value.substr(begin, end - begin + 1);
  return size * count;
}

struct HeaderList {
  curl_slist* list = nullptr;
  ~HeaderList() { curl_slist_free_all(list); }
  void Add(const std::string& header) { list = curl_slist_append(list, header.c_str()); }
};

}  // namespace

std::string S3Response::Header(const std::string& lower_name) const {
  auto found = headers.find(lower_name);
  return found == headers.end() ? "" : found->second;
}

std::string S3Url(const S3Config& config, const std::string& key,
                  const std::map<std::string, std::string>& query) {
  const size_t scheme_end = config.endpoint.find("://") + 3;
  std::string host = config.endpoint.substr(scheme_end);
  while (!host.empty() && host.back() == '/') host.pop_back();
  std::string url = config.endpoint.substr(0, scheme_end);
  if (config.uri_style == UriStyle::kHost) {
    url += config.bucket + "." + host + "/";
  } else {
    url += host + "/" + config.bucket + (key.empty() ? "" : "/");
  }
  url += UriEncode(key, true);
  // libcurl 7.88 signs the query exactly as written: sorted by name (std::map), values
  // encoded, and "name=" even for value-less flags such as "uploads".
  char separator = '?';
  for (const auto& [name, value] : query) {
    url += separator + UriEncode(name, false) + "=" + UriEncode(value, false);
    separator = '&';
  }
  return url;
}

std::string S3Name(const S3Config& config, const std::string& key) {
  return "s3://" + config.bucket + "/" + key;
}

std::vector<std::string> ObjectLockHeaders(const S3Config& config,
                                           std::chrono::system_clock::time_point now) {
  if (config.object_lock == ObjectLockMode::kNone) return {};
  return {std::string("x-amz-object-lock-mode: ") + ObjectLockModeHeader(config.object_lock),
          "x-amz-object-lock-retain-until-date: " +
              FormatRfc3339(now + config.object_lock_retain)};
}

std::string Md5Binary(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_md5(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

std::string Base64(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(data.data()),
                                static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string Hex(std::string_view data) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (const unsigned char c : data) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

struct S3Http::Impl {
  const S3Config& config;
  const S3Credentials& credentials;
  CURL* curl = nullptr;
  char error[CURL_ERROR_SIZE] = {};
};

S3Http::S3Http(const S3Config& config, const S3Credentials& credentials)
    : impl_(new Impl{config, credentials}) {
  InitCurlOnce();
  impl_->curl = curl_easy_init();
}

S3Http::~S3Http() { curl_easy_cleanup(impl_->curl); }

namespace {

// The options every request shares: signing, timeouts, TLS, callbacks.
void SetCommonOptions(CURL* curl, const S3Config& config, const S3Credentials& credentials,
                      const std::string& url, const std::string& sigv4, curl_slist* headers,
                      char* error, Exchange* exchange) {
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, sigv4.c_str());
  curl_easy_setopt(curl, CURLOPT_USERNAME, credentials.access_key.c_str());
  curl_easy_setopt(curl, CURLOPT_PASSWORD, credentials.secret_key.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(config.connect_timeout.count() * 1000));
  // A stall, not a slow large transfer, is what must end a request.
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(config.stall_timeout.count()));
  if (!config.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, config.ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, exchange);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, WriteHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, exchange);
}

void SetMethod(CURL* curl, const S3Request& request, Exchange* exchange) {
  if (request.method == "PUT") {
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, ReadBody);
    curl_easy_setopt(curl, CURLOPT_READDATA, exchange);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  } else if (request.method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  } else if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (request.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
}

}  // namespace

S3Response S3Http::Perform(const S3Request& request) {
  S3Response response;
  CURL* curl = impl_->curl;
  curl_easy_reset(curl);  // keeps the connection cache: the next request reuses the socket
  impl_->error[0] = '\0';
  Exchange exchange{&request, &response, curl, 0};

  HeaderList headers;
  for (const std::string& header : request.headers) headers.Add(header);
  std::vector<std::string> lock_headers;
  if (request.creates_object) {
    lock_headers = ObjectLockHeaders(impl_->config, std::chrono::system_clock::now());
  }
  for (const std::string& header : lock_headers) headers.Add(header);
  // libcurl 7.88 signs a payload hash but does not send it; RGW and AWS need the header.
  Sha256 payload_hash;
  payload_hash.Update(request.body.data(), request.body.size());
  headers.Add("x-amz-content-sha256: " + payload_hash.HexDigest());
  if (request.content_md5 || (!lock_headers.empty() && request.method == "PUT")) {
    headers.Add("Content-MD5: " +
                Base64(request.body_md5.empty() ? Md5Binary(request.body) : request.body_md5));
  }
  if (!impl_->credentials.session_token.empty()) {
    headers.Add("x-amz-security-token: " + impl_->credentials.session_token);
  }
  const std::string url = S3Url(impl_->config, request.key, request.query);
  const std::string sigv4 = "aws:amz:" + impl_->config.region + ":s3";
  SetCommonOptions(curl, impl_->config, impl_->credentials, url, sigv4, headers.list,
                   impl_->error, &exchange);
  SetMethod(curl, request, &exchange);

  const CURLcode code = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  if (code != CURLE_OK && response.sink_status.ok()) {
    response.stalled = code == CURLE_OPERATION_TIMEDOUT;
    response.transport_permanent =
        code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CACERT_BADFILE ||
        code == CURLE_SSL_CERTPROBLEM || code == CURLE_UNSUPPORTED_PROTOCOL ||
        code == CURLE_URL_MALFORMAT;
    response.transport_error = impl_->error[0] != '\0' ? impl_->error : curl_easy_strerror(code);
    response.status = 0;
  }
  // Do not let the handle keep pointers into this frame's header list and buffers.
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  return response;
}

}  // namespace gb
