#include "datadir/index_entry_json.h"

#include <cstdint>
#include <limits>

#include <nlohmann/json.hpp>

namespace gb {
namespace {

using json = nlohmann::json;

enum Field : unsigned {
  kPath, kType, kMode, kUid, kGid, kUser, kGroup, kSize, kMtime, kCtime, kInode, kRacy,
  kLink, kSha256, kSet, kOffset, kLength, kUnknown,
};

constexpr unsigned kRequired = 1u << kPath | 1u << kType | 1u << kMode | 1u << kUid |
                               1u << kGid | 1u << kSize | 1u << kMtime | 1u << kSet |
                               1u << kOffset | 1u << kLength;

// Indexed by Field.
constexpr std::string_view kFieldNames[] = {
    "path", "type", "mode", "uid", "gid", "user", "group", "size", "mtime_ns", "ctime_ns",
    "inode", "racy", "link", "sha256", "set", "offset", "length",
};
static_assert(sizeof(kFieldNames) / sizeof(kFieldNames[0]) == kUnknown);

Field FieldNamed(std::string_view key) {
  for (unsigned field = 0; field < kUnknown; ++field)
    if (kFieldNames[field] == key) return static_cast<Field>(field);
  return kUnknown;
}

class EntrySax : public nlohmann::json_sax<json> {
 public:
  EntrySax(FileIndexEntry& entry, std::string& why) : entry_(entry), why_(why) {}

  bool complete() const {
    for (unsigned field = 0; field < kUnknown; ++field)
      if ((kRequired >> field & 1) && !(seen_ >> field & 1)) {
        why_ = "no \"" + std::string(kFieldNames[field]) + "\"";
        return false;
      }
    return true;
  }

  bool null() override { return Scalar("null"); }
  bool boolean(bool value) override {
    if (Skipping()) return true;
    if (field_ != kRacy) return Wrong("a boolean");
    entry_.racy = value;
    return Seen();
  }
  bool number_integer(number_integer_t value) override {
    if (Skipping()) return true;
    if (value >= 0) return number_unsigned(static_cast<number_unsigned_t>(value));
    if (field_ != kMtime && field_ != kCtime) return Wrong("a negative number");
    (field_ == kMtime ? entry_.mtime_ns : entry_.ctime_ns) = value;
    return Seen();
  }
  bool number_unsigned(number_unsigned_t value) override {
    if (Skipping()) return true;
    switch (field_) {
      case kMode: entry_.mode = static_cast<uint32_t>(value); break;
      case kUid: entry_.uid = value; break;
      case kGid: entry_.gid = value; break;
      case kSize: entry_.size = value; break;
      case kInode: entry_.inode = value; break;
      case kOffset: entry_.offset = value; break;
      case kLength: entry_.length = value; break;
      case kMtime:
      case kCtime:
        if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
          return Wrong("a number out of range");
        (field_ == kMtime ? entry_.mtime_ns : entry_.ctime_ns) = static_cast<int64_t>(value);
        break;
      default: return Wrong("a number");
    }
    return Seen();
  }
  bool number_float(number_float_t, const string_t&) override { return Scalar("a fraction"); }
  bool string(string_t& value) override {
    if (Skipping()) return true;
    std::string* target = nullptr;
    switch (field_) {
      case kPath: target = &entry_.path; break;
      case kType: target = &entry_.type; break;
      case kUser: target = &entry_.user; break;
      case kGroup: target = &entry_.group; break;
      case kLink: target = &entry_.link_target; break;
      case kSha256: target = &entry_.sha256; break;
      case kSet: target = &entry_.set_id; break;
      default: return Wrong("a string");
    }
    *target = std::move(value);
    return Seen();
  }
  bool binary(binary_t&) override { return Scalar("binary data"); }
  bool start_object(std::size_t) override { return Open(false); }
  bool end_object() override { return Close(); }
  bool start_array(std::size_t) override { return Open(true); }
  bool end_array() override { return Close(); }
  bool key(string_t& name) override {
    if (depth_ == 1) field_ = FieldNamed(name);
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& error) override {
    why_ = std::string("not JSON (") + error.what() + ")";
    return false;
  }

 private:
  // A value under an unknown key (of a newer writer), or inside one, is not ours to read.
  bool Skipping() const { return depth_ > 1 || (depth_ == 1 && field_ == kUnknown); }
  bool Scalar(const char* what) { return Skipping() || Wrong(what); }
  bool Open(bool array) {
    if (!Skipping() && (depth_ > 0 || array)) return Wrong(array ? "an array" : "an object");
    ++depth_;
    return true;
  }
  bool Close() {
    --depth_;
    return true;
  }
  bool Seen() {
    seen_ |= 1u << field_;
    return true;
  }
  bool Wrong(const char* what) {
    why_ = depth_ == 0 ? std::string("not an object")
                       : "\"" + std::string(kFieldNames[field_]) + "\" is " + what;
    return false;
  }

  FileIndexEntry& entry_;
  std::string& why_;
  int depth_ = 0;
  Field field_ = kUnknown;
  unsigned seen_ = 0;
};

// A JSON string as dump() writes it: printable ASCII other than '"' and '\\' as it is, the
// rest as the serializer escapes (and checks) it.
void AppendString(std::string_view value, std::string& out) {
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7f || c == '"' || c == '\\') {
      out += json(std::string(value)).dump();
      return;
    }
  }
  out.push_back('"');
  out.append(value);
  out.push_back('"');
}

// One "key":value pair, a comma before every pair but the first.
class Pairs {
 public:
  explicit Pairs(std::string& out) : out_(out) {}
  void String(const char* key, std::string_view value) {
    Key(key);
    AppendString(value, out_);
  }
  template <typename Number>
  void Integer(const char* key, Number value) {
    Key(key);
    out_ += std::to_string(value);
  }
  void True(const char* key) {
    Key(key);
    out_ += "true";
  }

 private:
  void Key(const char* key) {
    out_.push_back(first_ ? '{' : ',');
    first_ = false;
    out_.push_back('"');
    out_ += key;
    out_ += "\":";
  }
  std::string& out_;
  bool first_ = true;
};

}  // namespace

void AppendIndexEntryJson(const FileIndexEntry& entry, std::string& out) {
  // The keys in the document's order: sorted.
  Pairs pairs(out);
  if (entry.ctime_ns != 0) pairs.Integer("ctime_ns", entry.ctime_ns);
  pairs.Integer("gid", entry.gid);
  pairs.String("group", entry.group);
  if (entry.inode != 0) pairs.Integer("inode", entry.inode);
  pairs.Integer("length", entry.length);
  if (!entry.link_target.empty()) pairs.String("link", entry.link_target);
  pairs.Integer("mode", entry.mode);
  pairs.Integer("mtime_ns", entry.mtime_ns);
  pairs.Integer("offset", entry.offset);
  pairs.String("path", entry.path);
  if (entry.racy) pairs.True("racy");
  pairs.String("set", entry.set_id);
  if (!entry.sha256.empty()) pairs.String("sha256", entry.sha256);
  pairs.Integer("size", entry.size);
  pairs.String("type", entry.type);
  pairs.Integer("uid", entry.uid);
  pairs.String("user", entry.user);
  out.push_back('}');
}

bool ParseIndexEntry(std::string_view line, FileIndexEntry& entry, std::string& why) {
  entry = FileIndexEntry();
  EntrySax sax(entry, why);
  if (!json::sax_parse(line.begin(), line.end(), &sax)) return false;
  if (!sax.complete()) return false;
  if (entry.path.empty()) {
    why = "an index entry without a path";
    return false;
  }
  return true;
}

}  // namespace gb
