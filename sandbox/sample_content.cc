#include "sandbox/sample_content.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/files.h"

namespace gb::sample {
namespace {

const std::vector<std::string>& Words() {
  static const std::vector<std::string> words = {
      "govern",    "project",  "model",     "version",   "blueprint", "initiative", "review",
      "approved",  "pending",  "risk",      "owner",     "dataset",   "recipe",     "deployment",
      "bundle",    "scenario", "metric",    "check",     "workflow",  "step",       "sign-off",
      "business",  "value",    "customer",  "churn",     "forecast",  "quarterly",  "revenue",
      "team",      "analytics", "pipeline", "feature",   "store",     "training",   "validation",
      "production", "staging", "audit",     "trail",     "comment",   "status",     "priority",
      "high",      "medium",   "low",       "the",       "and",       "of",         "for",
      "with",      "a",        "on",        "is",        "to",        "in",         "by",
      "2026",      "europe",   "finance",   "marketing", "compliance", "legal",     "data",
      "science"};
  return words;
}

const std::string& AnyWord(Rng& rng) { return Words()[rng.Below(Words().size())]; }

std::string WordText(Rng& rng, size_t count) {
  std::string text;
  AppendWords(rng, count, &text);
  return text;
}

// About 20% random bytes (incompressible), the rest text from the vocabulary: zstd
// compresses the mix about 2-3x, like a real data dir's managed folders.
void FillMixedData(Rng& rng, std::string* buffer, size_t size) {
  buffer->clear();
  buffer->reserve(size + 64);
  const auto& words = Words();
  while (buffer->size() < size) {
    size_t block = std::min<size_t>(4096, size - buffer->size());
    if (rng.Below(100) < 20) {
      size_t start = buffer->size();
      buffer->resize(start + block);
      for (size_t i = 0; i < block; i += 8) {
        uint64_t r = rng.Next();
        std::memcpy(&(*buffer)[start + i], &r, std::min<size_t>(8, block - i));
      }
    } else {
      size_t end = buffer->size() + block;
      while (buffer->size() < end) {
        uint64_t r = rng.Next();
        buffer->append(words[r % words.size()]);
        buffer->push_back((r >> 32) % 11 == 0 ? '\n' : (r >> 40) % 7 == 0 ? ',' : ' ');
      }
      buffer->resize(end);
    }
  }
}

}  // namespace

uint64_t RandomSeed() {
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) ^ device();
}

std::string RandomString(Rng& rng, size_t length, const std::string& alphabet) {
  std::string out;
  out.reserve(length);
  for (size_t i = 0; i < length; ++i) out.push_back(alphabet[rng.Below(alphabet.size())]);
  return out;
}

void AppendWords(Rng& rng, size_t count, std::string* out) {
  for (size_t i = 0; i < count; ++i) {
    if (i > 0) out->push_back(' ');
    out->append(AnyWord(rng));
  }
}

std::string ConfigJson(Rng& rng, const std::string& type, const std::string& id) {
  // ordered_json keeps DSS's key order, so the files read like real ones.
  nlohmann::ordered_json doc;
  doc["type"] = type;
  doc["id"] = id;
  doc["name"] = WordText(rng, 2 + rng.Below(4));
  doc["creationTag"] = {{"versionNumber", rng.Below(40)},
                        {"lastModifiedBy", {{"login", "admin"}}},
                        {"lastModifiedOn", 1700000000000ull + rng.Below(100000000000ull)}};
  doc["tags"] = nlohmann::ordered_json::array();
  for (size_t i = 0, tags = rng.Below(4); i < tags; ++i) doc["tags"].push_back(AnyWord(rng));
  nlohmann::ordered_json& params = doc["params"] = nlohmann::ordered_json::object();
  for (size_t i = 0, count = 3 + rng.Below(40); i < count; ++i) {
    params["p" + std::to_string(i) + "_" + AnyWord(rng)] = WordText(rng, 1 + rng.Below(6));
  }
  doc["checksum"] = RandomString(rng, 40, kHex);
  return doc.dump(2) + "\n";
}

Status WriteLargeFile(Rng& rng, const std::string& path, uint64_t bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno("cannot create " + path, errno);
  constexpr size_t kChunk = 4 << 20;
  std::string buffer;
  Status status;
  for (uint64_t written = 0; written < bytes && status.ok();) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, bytes - written));
    FillMixedData(rng, &buffer, n);
    status = WriteAll(fd, buffer.data(), n, path);
    written += n;
  }
  if (::close(fd) != 0 && status.ok()) status = Status::FromErrno("cannot close " + path, errno);
  return status;
}

}  // namespace gb::sample
