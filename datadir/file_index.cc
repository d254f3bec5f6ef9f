#include "datadir/file_index.h"

#include <string.h>  // memmem, memrchr (GNU)

#include <algorithm>
#include <cstring>

#include <nlohmann/json.hpp>

#include "datadir/index_entry_json.h"

namespace gb {
namespace {

constexpr size_t kReadChunk = 256 << 10;
constexpr size_t kLongestLine = 64 << 20;  // a path is at most a few KiB: anything longer is damage

// Lines ending in [begin, end): memchr runs vectorised, where a byte loop did not.
uint64_t CountLines(const char* begin, const char* end) {
  uint64_t lines = 0;
  while (begin < end) {
    const void* newline = std::memchr(begin, '\n', end - begin);
    if (newline == nullptr) break;
    ++lines;
    begin = static_cast<const char*>(newline) + 1;
  }
  return lines;
}

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

bool PathIsUnder(std::string_view path, std::string_view dir) {
  if (dir.empty()) return true;
  return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
         path[dir.size()] == '/';
}

Status FileIndexWriter::Add(const FileIndexEntry& entry) {
  line_.clear();
  AppendIndexEntryJson(entry, line_);
  line_.push_back('\n');
  GB_RETURN_IF_ERROR(sink_.Write(line_.data(), line_.size()));
  ++entries_;
  return Status::Ok();
}

// A prefix as its line spells it: the key, then the escaped prefix without its closing quote.
// dump() escapes character by character, so a path starting with the prefix is written
// starting with the escaped prefix; inside a string value every '"' is escaped, so the key
// (whose closing quote follows "path" unescaped) cannot be matched there.
struct FileIndexReader::Needle {
  std::string text;
  bool searched = false;  // `hit` is valid for the bytes in the buffer
  size_t hit = kNone;     // where the search from the first unread byte found it
  static constexpr size_t kNone = std::string::npos;
};

FileIndexReader::FileIndexReader(ByteSource& source, std::string name)
    : source_(source), name_(std::move(name)) {}
FileIndexReader::~FileIndexReader() = default;

Result<bool> FileIndexReader::Refill() {
  if (!eof_) {
    for (Needle& needle : needles_) needle.searched = false;  // the bytes move
    if (start_ > 0) {
      std::memmove(buffer_.get(), buffer_.get() + start_, end_ - start_);
      end_ -= start_;
      start_ = 0;
    }
    if (end_ > kLongestLine)
      return Status::Failed(name_ + " has a line longer than " + std::to_string(kLongestLine) +
                                " bytes",
                            "the index is damaged: `govern-backup verify` checks it");
    if (capacity_ - end_ < kReadChunk) {
      const size_t capacity = std::max(2 * capacity_, end_ + kReadChunk);
      std::unique_ptr<char[]> grown(new char[capacity]);  // uninitialised: read into
      if (end_ > 0) std::memcpy(grown.get(), buffer_.get(), end_);
      buffer_ = std::move(grown);
      capacity_ = capacity;
    }
    GB_ASSIGN_OR_RETURN(size_t got, source_.Read(buffer_.get() + end_, capacity_ - end_));
    if (got > 0) {
      end_ += got;
      return true;
    }
    eof_ = true;
  }
  if (start_ < end_)
    return Status::Failed(name_ + " ends in the middle of an entry",
                          "the index is truncated: `govern-backup verify` checks it");
  return false;
}

Result<bool> FileIndexReader::NextLine(std::string_view& line) {
  for (;;) {
    const char* at = buffer_.get() + start_;
    const void* newline = start_ < end_ ? std::memchr(at, '\n', end_ - start_) : nullptr;
    if (newline != nullptr) {
      line = std::string_view(at, static_cast<const char*>(newline) - at);
      start_ += line.size() + 1;
      return true;
    }
    GB_ASSIGN_OR_RETURN(bool more, Refill());
    if (!more) return false;
  }
}

void FileIndexReader::SetPrefixes(const std::vector<std::string>& prefixes) {
  prefixes_ = prefixes;
  needles_.clear();
  for (const std::string& prefix : prefixes) {
    // Escaped one character at a time: a prefix may end inside a UTF-8 sequence ("a/\xc3" of
    // "a/\xc3\xa9"), which dump() refuses whole. It copies non-ASCII bytes as they are.
    std::string needle = "\"path\":\"";
    for (char c : prefix) {
      if (static_cast<unsigned char>(c) >= 0x80) {
        needle += c;
        continue;
      }
      const std::string quoted = nlohmann::json(std::string(1, c)).dump();
      needle.append(quoted, 1, quoted.size() - 2);
    }
    needles_.push_back(Needle{std::move(needle)});
  }
}

bool FileIndexReader::PastEveryPrefix(std::string_view line) const {
  static constexpr std::string_view kKey = "\"path\":\"";
  const size_t key = line.find(kKey);
  if (key == std::string_view::npos) return false;
  const size_t value = key + kKey.size();
  size_t close = value;
  bool escaped = false;
  while (close < line.size() && line[close] != '"') {
    escaped |= line[close] == '\\';
    close += line[close] == '\\' ? 2 : 1;
  }
  if (close >= line.size()) return false;
  std::string path(line.substr(value, close - value));
  if (escaped) {
    nlohmann::json text = nlohmann::json::parse(line.begin() + value - 1,
                                                line.begin() + close + 1, nullptr, false);
    if (!text.is_string()) return false;
    path = text.get<std::string>();
  }
  for (const std::string& prefix : prefixes_) {
    // The paths starting with `prefix` sort from `prefix` on, as one run.
    if (path.compare(0, prefix.size(), prefix) == 0) return false;
    if (ComparePaths(path, prefix) < 0) return false;
  }
  return true;
}

Result<bool> FileIndexReader::NextWithPathPrefix(FileIndexEntry& entry,
                                                 const std::vector<std::string>& prefixes) {
  if (prefixes != prefixes_) SetPrefixes(prefixes);
  for (;;) {
    // Only whole lines are searched: a needle never straddles the end of what was read.
    const char* base = buffer_.get();
    const void* last = start_ < end_ ? memrchr(base + start_, '\n', end_ - start_) : nullptr;
    if (last != nullptr) {
      const size_t lines_end = static_cast<const char*>(last) - base + 1;
      size_t first_hit = Needle::kNone;
      for (Needle& needle : needles_) {
        if (!needle.searched || (needle.hit != Needle::kNone && needle.hit < start_)) {
          const void* hit = memmem(base + start_, lines_end - start_, needle.text.data(),
                                   needle.text.size());
          needle.hit = hit ? static_cast<const char*>(hit) - base : Needle::kNone;
          needle.searched = true;
        }
        first_hit = std::min(first_hit, needle.hit);
      }
      if (first_hit != Needle::kNone) {
        const void* before = memrchr(base + start_, '\n', first_hit - start_);
        const size_t line_start = before ? static_cast<const char*>(before) - base + 1 : start_;
        const size_t line_end =
            static_cast<const char*>(std::memchr(base + first_hit, '\n', lines_end - first_hit)) -
            base;
        entries_ += CountLines(base + start_, base + line_start);
        start_ = line_end + 1;
        return ParseLine(std::string_view(base + line_start, line_end - line_start), entry);
      }
      const void* previous = memrchr(base + start_, '\n', lines_end - 1 - start_);
      const size_t last_line = previous ? static_cast<const char*>(previous) - base + 1 : start_;
      entries_ += CountLines(base + start_, base + lines_end);
      start_ = lines_end;
      if (PastEveryPrefix(std::string_view(base + last_line, lines_end - 1 - last_line)))
        return false;
    }
    GB_ASSIGN_OR_RETURN(bool more, Refill());
    if (!more) return false;
  }
}

Result<bool> FileIndexReader::Next(FileIndexEntry& entry) {
  std::string_view line;
  GB_ASSIGN_OR_RETURN(bool more, NextLine(line));
  if (!more) return false;
  return ParseLine(line, entry);
}

Result<bool> FileIndexReader::ParseLine(std::string_view line, FileIndexEntry& entry) {
  std::string why;
  if (!ParseIndexEntry(line, entry, why))
    return Status::Failed(name_ + " entry " + std::to_string(entries_ + 1) + ": " + why,
                          "the index is damaged: `govern-backup verify` checks it");
  ++entries_;
  return true;
}

}  // namespace gb
