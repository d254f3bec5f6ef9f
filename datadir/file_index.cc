#include "datadir/file_index.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "datadir/index_entry_json.h"

namespace gb {
namespace {

constexpr size_t kReadChunk = 256 << 10;
constexpr size_t kLongestLine = 64 << 20;  // a path is at most a few KiB: anything longer is damage

}  // namespace

nlohmann::json FileIndexEntry::ToJson() const {
  nlohmann::json json{{"path", path},     {"type", type},   {"mode", mode},
                      {"uid", uid},       {"gid", gid},     {"user", user},
                      {"group", group},   {"size", size},   {"mtime_ns", mtime_ns},
                      {"set", set_id},    {"offset", offset}, {"length", length}};
  if (!link_target.empty()) json["link"] = link_target;
  if (!sha256.empty()) json["sha256"] = sha256;
  if (ctime_ns != 0) json["ctime_ns"] = ctime_ns;
  if (inode != 0) json["inode"] = inode;
  if (racy) json["racy"] = true;
  return json;
}

int ComparePaths(std::string_view a, std::string_view b) {
  const size_t common = std::min(a.size(), b.size());
  for (size_t i = 0; i < common; ++i) {
    if (a[i] == b[i]) continue;
    // '/' ends a component: it sorts before every other byte.
    const unsigned char x = a[i] == '/' ? 0 : static_cast<unsigned char>(a[i]);
    const unsigned char y = b[i] == '/' ? 0 : static_cast<unsigned char>(b[i]);
    return x < y ? -1 : 1;
  }
  if (a.size() == b.size()) return 0;
  return a.size() < b.size() ? -1 : 1;
}

Status FileIndexWriter::Add(const FileIndexEntry& entry) {
  std::string line = entry.ToJson().dump();
  line.push_back('\n');
  GB_RETURN_IF_ERROR(sink_.Write(line.data(), line.size()));
  ++entries_;
  return Status::Ok();
}

Result<bool> FileIndexReader::NextLine(std::string& line) {
  for (;;) {
    const size_t newline = buffer_.find('\n', start_);
    if (newline != std::string::npos) {
      line.assign(buffer_, start_, newline - start_);
      start_ = newline + 1;
      return true;
    }
    if (eof_) {
      if (start_ < buffer_.size())
        return Status::Failed(name_ + " ends in the middle of an entry",
                              "the index is truncated: `govern-backup verify` checks it");
      return false;
    }
    buffer_.erase(0, start_);
    start_ = 0;
    if (buffer_.size() > kLongestLine)
      return Status::Failed(name_ + " has a line longer than " + std::to_string(kLongestLine) +
                                " bytes",
                            "the index is damaged: `govern-backup verify` checks it");
    const size_t old_size = buffer_.size();
    buffer_.resize(old_size + kReadChunk);
    GB_ASSIGN_OR_RETURN(size_t got, source_.Read(buffer_.data() + old_size, kReadChunk));
    buffer_.resize(old_size + got);
    if (got == 0) eof_ = true;
  }
}

Result<bool> FileIndexReader::NextWithPathPrefix(FileIndexEntry& entry,
                                                 const std::vector<std::string>& prefixes) {
  // A path is written by dump() as "path":"<escaped>", and escaping goes character by
  // character: a path starting with a prefix is written starting with the escaped prefix.
  // Inside a string value every '"' is escaped, so the key cannot be matched there.
  std::vector<std::string> needles;
  for (const std::string& prefix : prefixes) {
    std::string quoted = nlohmann::json(prefix).dump();
    quoted.pop_back();
    needles.push_back("\"path\":" + quoted);
  }
  std::string line;
  for (;;) {
    GB_ASSIGN_OR_RETURN(bool more, NextLine(line));
    if (!more) return false;
    for (const std::string& needle : needles)
      if (line.find(needle) != std::string::npos) return ParseLine(line, entry);
    ++entries_;
  }
}

Result<bool> FileIndexReader::Next(FileIndexEntry& entry) {
  std::string line;
  GB_ASSIGN_OR_RETURN(bool more, NextLine(line));
  if (!more) return false;
  return ParseLine(line, entry);
}

Result<bool> FileIndexReader::ParseLine(const std::string& line, FileIndexEntry& entry) {
  std::string why;
  if (!ParseIndexEntry(line, entry, why))
    return Status::Failed(name_ + " entry " + std::to_string(entries_ + 1) + ": " + why,
                          "the index is damaged: `govern-backup verify` checks it");
  ++entries_;
  return true;
}

}  // namespace gb
