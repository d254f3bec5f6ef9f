#include "config/repository_reader.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <utility>

#include "io/text.h"

namespace gb {
namespace {

// S3's own limits on a part of a multipart upload (all parts but the last).
constexpr std::uint64_t kMinPartSize = std::uint64_t{5} << 20;
constexpr std::uint64_t kMaxPartSize = std::uint64_t{5} << 30;
// Each upload in flight holds one part in memory: 64 x 5 GiB is already more than any node has.
constexpr int kMaxUploadConcurrency = 64;

const char* const kUrlHint =
    "write url = \"s3://BUCKET/PREFIX\", e.g. \"s3://govern-backups/node-a\", and the server in "
    "endpoint = \"https://HOST[:PORT]\"";

// The keys that only mean something for an S3 repository (url).
const std::vector<std::string>& S3Keys() {
  // clang-format off
  static const auto* keys = new std::vector<std::string>{
      "endpoint", "region", "uri_style", "credentials", "access_key_file", "secret_key_file",
      "profile", "shared_credentials_file", "ca_file", "part_size", "upload_concurrency",
      "retry_max_time", "object_lock", "object_lock_retain"};
  // clang-format on
  return *keys;
}

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// Why `bucket` is not a bucket name, or "" when it is one. S3's rules for new buckets, which
// every S3 implementation accepts (RGW refuses uppercase and '_' unless relaxed).
std::string BucketProblem(const std::string& bucket) {
  if (bucket.size() < 3 || bucket.size() > 63) return "a bucket name has 3 to 63 characters";
  const bool allowed = std::all_of(bucket.begin(), bucket.end(),
                                   [](char c) { return IsLowerAlnum(c) || c == '.' || c == '-'; });
  if (!allowed) return "a bucket name holds only a-z, 0-9, '.' and '-'";
  if (!IsLowerAlnum(bucket.front()) || !IsLowerAlnum(bucket.back())) {
    return "a bucket name starts and ends with a letter or a digit";
  }
  return "";
}

// Why `prefix` (without its trailing "/") cannot prefix the keys of a repository, or "". The
// characters are those every store key of the repository may hold.
std::string PrefixProblem(const std::string& prefix) {
  std::size_t start = 0;
  while (start <= prefix.size()) {
    const std::size_t end = std::min(prefix.find('/', start), prefix.size());
    const std::string segment = prefix.substr(start, end - start);
    if (segment.empty() || segment == "." || segment == "..") {
      return "the prefix has an empty, '.' or '..' part";
    }
    const bool allowed = std::all_of(segment.begin(), segment.end(), [](char c) {
      return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z') || c == '.' || c == '_' || c == '-';
    });
    if (!allowed) return "the prefix holds only letters, digits, '.', '_', '-' and '/'";
    start = end + 1;
  }
  return "";
}

// "s3://bucket/a/b" -> bucket "bucket", prefix "a/b/"; "s3://bucket" -> prefix "".
void ParseS3Url(TomlReader& reader, const std::string& section, const std::string& url,
                RepositoryConfig* out) {
  const std::string dotted = section + ".url";
  const std::uint32_t line = reader.LineOf(section, "url");
  constexpr std::string_view kScheme = "s3://";
  if (url.compare(0, kScheme.size(), kScheme) != 0) {
    reader.Report(line, dotted + ": '" + url + "' does not start with s3://", kUrlHint);
    return;
  }
  const std::string rest = url.substr(kScheme.size());
  const std::size_t slash = rest.find('/');
  const std::string bucket = rest.substr(0, slash);
  std::string prefix = slash == std::string::npos ? "" : rest.substr(slash + 1);
  if (!prefix.empty() && prefix.back() == '/') prefix.pop_back();  // "s3://b/p/" is "s3://b/p"
  std::string problem = BucketProblem(bucket);
  if (problem.empty() && !prefix.empty()) problem = PrefixProblem(prefix);
  if (!problem.empty()) {
    reader.Report(line, dotted + ": '" + url + "': " + problem, kUrlHint);
    return;
  }
  out->url = url;
  out->bucket = bucket;
  out->prefix = prefix.empty() ? "" : prefix + "/";
}

// http(s)://HOST[:PORT], with at most a trailing "/" (dropped): the store appends the bucket
// and the key to it, so a path or query would be misplaced.
void ReadEndpoint(TomlReader& reader, const std::string& section, RepositoryConfig* out) {
  const std::string dotted = section + ".endpoint";
  auto endpoint = reader.String(section, "endpoint");
  if (!endpoint) {
    if (!reader.Has(section, "endpoint")) {
      reader.Report(reader.LineOf(section, "url"), "missing key " + dotted + " (required with url)",
                    "the S3 server, e.g. endpoint = \"https://s3.example.net\"");
    }
    return;
  }
  std::string text = *endpoint;
  if (!text.empty() && text.back() == '/') text.pop_back();
  const std::size_t scheme_end = text.find("://");
  const std::string scheme = text.substr(0, scheme_end);
  const std::string host = scheme_end == std::string::npos ? "" : text.substr(scheme_end + 3);
  const bool valid = (scheme == "http" || scheme == "https") && !host.empty() &&
                     host.find_first_of("/?#@ \t") == std::string::npos;
  if (!valid) {
    // An endpoint with '@' may carry a user and password: it is not repeated.
    const std::string shown = text.find('@') == std::string::npos ? " '" + *endpoint + "'" : "";
    reader.Report(reader.LineOf(section, "endpoint"),
                  dotted + shown + " is not http://HOST[:PORT] or https://HOST[:PORT]",
                  "the scheme decides TLS; the bucket and prefix go in url, the keys in "
                  "credentials");
    return;
  }
  out->endpoint = text;
}

void ReadS3Location(TomlReader& reader, const std::string& section, RepositoryConfig* out) {
  ReadEndpoint(reader, section, out);
  std::optional<std::string> region;
  reader.NonEmptyString(section, "region", &region);
  if (region) out->region = *region;
  if (auto style = reader.OneOf(section, "uri_style", {"path", "host"},
                                "path: https://HOST/BUCKET/KEY (RGW, MinIO); host: "
                                "https://BUCKET.HOST/KEY (AWS)")) {
    out->uri_style = *style;
  }
  if (auto ca_file = reader.AbsolutePath(section, "ca_file")) out->ca_file = *ca_file;
}

// `key` (an absolute path or a name) is only read when credentials = `kind` (`out` given);
// false when it was given but is wrong (reported).
bool ReadCredentialKey(TomlReader& reader, const std::string& section, const std::string& key,
                       const std::string& kind, bool absolute, std::string* out) {
  auto value = absolute ? reader.AbsolutePath(section, key) : reader.String(section, key);
  if (!value) return !reader.Has(section, key);
  if (value->empty()) return true;
  if (out == nullptr) {
    reader.Report(reader.LineOf(section, key),
                  section + "." + key + " is set but credentials is not \"" + kind + "\"",
                  "set credentials = \"" + kind + "\", or remove " + key);
    return false;
  }
  *out = *value;
  return true;
}

void ReadS3Credentials(TomlReader& reader, const std::string& section, RepositoryConfig* out) {
  if (auto kind = reader.OneOf(section, "credentials", {"env", "file", "profile"},
                               "env: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; file: "
                               "access_key_file and secret_key_file; profile: a profile of "
                               "~/.aws/credentials")) {
    out->credentials = *kind;
  } else if (reader.Has(section, "credentials")) {
    return;  // reported; the other keys depend on it
  }
  const bool files = out->credentials == "file";
  const bool profile = out->credentials == "profile";
  ReadCredentialKey(reader, section, "profile", "profile", false,
                    profile ? &out->profile : nullptr);
  ReadCredentialKey(reader, section, "shared_credentials_file", "profile", true,
                    profile ? &out->shared_credentials_file : nullptr);
  const std::pair<const char*, std::string*> key_files[] = {
      {"access_key_file", &out->access_key_file}, {"secret_key_file", &out->secret_key_file}};
  for (const auto& [key, field] : key_files) {
    const bool fine =
        ReadCredentialKey(reader, section, key, "file", true, files ? field : nullptr);
    if (!files || !fine || !field->empty()) continue;
    reader.Report(std::max(reader.LineOf(section, key), reader.LineOf(section, "credentials")),
                  "missing key " + section + "." + key + " (required with credentials = \"file\")",
                  "the absolute path of a file (mode 0600) that holds only the key");
  }
}

void ReadS3Transfer(TomlReader& reader, const std::string& section, RepositoryConfig* out) {
  if (auto size = reader.ByteSize(section, "part_size", kMinPartSize, kMaxPartSize,
                                  "S3 parts are 5MiB to 5GiB; 16MiB suits most links")) {
    out->part_size = *size;
  }
  reader.ReadInt(section, "upload_concurrency", 1, kMaxUploadConcurrency, &out->upload_concurrency,
                 "parts sent at once; each holds part_size bytes of memory");
  if (auto time = reader.DurationAtLeast(section, "retry_max_time", std::chrono::seconds(0),
                                         "e.g. \"5m\"; \"0s\" tries each request once")) {
    out->retry_max_time = time->value;
  }
  if (auto lock = reader.OneOf(section, "object_lock", {"", "governance", "compliance"},
                               "governance: a privileged user may still delete; compliance: "
                               "nobody can before object_lock_retain has passed")) {
    out->object_lock = *lock;
  }
  if (auto retain = reader.DurationAtLeast(section, "object_lock_retain", std::chrono::seconds(1),
                                           "e.g. \"35d\": longer than the sets are kept")) {
    out->object_lock_retain = retain->value;
  }
}

// With a path, an S3 key is a mistake (a url was meant, or a copy left behind): each is named.
void RefuseS3Keys(TomlReader& reader, const std::string& section) {
  for (const std::string& key : S3Keys()) {
    if (!reader.Has(section, key)) continue;
    reader.Report(
        reader.LineOf(section, key),
        section + "." + key + ": an S3 key, but [" + section + "] is a local directory (path)",
        "remove it, or replace path by url = \"s3://BUCKET/PREFIX\"");
  }
}

// Where a repository's files are, such that one repository lies inside another if and only if
// its location starts with the other's: "file:/var/backups/govern/" (lexically normal) or
// "s3:HOST[:PORT]/BUCKET/PREFIX" (the endpoint's scheme left out: both reach the same store).
std::string RepositoryLocation(const RepositoryConfig& repository) {
  if (repository.is_s3()) {
    const std::string host = repository.endpoint.substr(repository.endpoint.find("://") + 3);
    return "s3:" + AsciiLowercase(host) + "/" + repository.bucket + "/" + repository.prefix;
  }
  std::string path = std::filesystem::path(repository.path).lexically_normal().string();
  if (path.empty() || path.back() != '/') path += '/';
  return "file:" + path;
}

// Where a repository is, as its table says it.
struct Place {
  std::string location;  // RepositoryLocation()
  std::string dotted;    // "repositories.usb.path"
  std::string value;     // "/mnt/usb"
  std::uint32_t line;
};

Place PlaceOf(const TomlReader& reader, const RepositoryConfig& repository) {
  const std::string section = RepositorySection(repository.name);
  const char* key = repository.is_s3() ? "url" : "path";
  return {RepositoryLocation(repository), section + "." + key,
          repository.is_s3() ? repository.url : repository.path, reader.LineOf(section, key)};
}

// Two repositories in one place, or one inside the other, would each list the other's files
// as their own (check, prune), and copy --to would copy a repository into itself.
void CheckApart(TomlReader& reader, const Place& a, const Place& b) {
  if (a.location.rfind(b.location, 0) != 0 && b.location.rfind(a.location, 0) != 0) return;
  const Place& later = a.line >= b.line ? a : b;  // reported where the second one is written
  const Place& earlier = a.line >= b.line ? b : a;
  reader.Report(later.line,
                later.dotted + " '" + later.value + "' overlaps " + earlier.dotted + " '" +
                    earlier.value + "': one repository would hold the other",
                "give each repository a place of its own: another directory, bucket or prefix");
}

// Is `inner` equal to or below `outer`, judged on the text of the paths alone?
bool PathIsWithin(const std::string& inner, const std::string& outer) {
  namespace fs = std::filesystem;
  const fs::path in = fs::path(inner).lexically_normal();
  const fs::path out = fs::path(outer).lexically_normal();
  auto in_it = in.begin();
  for (auto out_it = out.begin(); out_it != out.end(); ++out_it) {
    if (out_it->empty()) continue;  // the trailing "" of "/a/b/"
    if (in_it == in.end() || *in_it != *out_it) return false;
    ++in_it;
  }
  return true;
}

void CheckOutsideDataDir(TomlReader& reader, const NodeConfig& node,
                         const RepositoryConfig& repository) {
  if (node.data_dir.empty() || repository.path.empty() ||
      !PathIsWithin(repository.path, node.data_dir)) {
    return;
  }
  const std::string section = RepositorySection(repository.name);
  reader.Report(reader.LineOf(section, "path"),
                section + ".path '" + repository.path + "' is inside node.data_dir '" +
                    node.data_dir + "'",
                "keep the backups outside the data dir they back up, ideally on another disk");
}

}  // namespace

std::string RepositorySection(const std::string& name) {
  return name == RepositoryConfig::kMainName ? "repository" : "repositories." + name;
}

void CheckRepositoryPlaces(TomlReader& reader, const Config& config) {
  std::vector<const RepositoryConfig*> repositories = {&config.repository};
  for (const auto& [name, repository] : config.repositories) repositories.push_back(&repository);
  std::vector<Place> places;
  for (const RepositoryConfig* repository : repositories) {
    CheckOutsideDataDir(reader, config.node, *repository);
    places.push_back(PlaceOf(reader, *repository));
    for (std::size_t i = 0; i + 1 < places.size(); ++i) {
      CheckApart(reader, places.back(), places[i]);
    }
  }
}

const std::vector<std::string>& RepositoryKeys() {
  static const auto* keys = [] {
    auto* all = new std::vector<std::string>{"path", "url"};
    all->insert(all->end(), S3Keys().begin(), S3Keys().end());
    return all;
  }();
  return *keys;
}

void ReadRepository(TomlReader& reader, const std::string& name, RepositoryConfig* out) {
  const std::string section = RepositorySection(name);
  out->name = name;
  auto path = reader.AbsolutePath(section, "path");
  auto url = reader.String(section, "url");
  const bool has_path = path && !path->empty();
  const bool has_url = url && !url->empty();
  if (has_path && has_url) {
    reader.Report(reader.LineOf(section, "url"), "[" + section + "] sets both path and url",
                  "a repository is a local directory (path) or an S3 bucket (url): keep one");
    return;
  }
  if (has_path) {
    out->path = *path;
    RefuseS3Keys(reader, section);
    return;
  }
  if (has_url) {
    ParseS3Url(reader, section, *url, out);
    ReadS3Location(reader, section, out);
    ReadS3Credentials(reader, section, out);
    ReadS3Transfer(reader, section, out);
    return;
  }
  // Neither: unless one was given but wrong (reported already).
  if ((path || !reader.Has(section, "path")) && (url || !reader.Has(section, "url"))) {
    // The line of path = "" or url = "", else of the table's header; 0 when there is no table.
    const toml::table* table = reader.Table(section);
    const std::uint32_t line =
        std::max({reader.LineOf(section, "path"), reader.LineOf(section, "url"),
                  table == nullptr ? 0 : table->source().begin.line});
    reader.Report(line, "missing key " + section + ".path or " + section + ".url (required)",
                  "path = \"/var/backups/govern-backup\" for a local directory, or "
                  "url = \"s3://BUCKET/PREFIX\" and endpoint for an S3 bucket");
  }
}

}  // namespace gb
