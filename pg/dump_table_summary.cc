#include "pg/dump_table_summary.h"

#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <optional>

#include "io/sha256.h"

namespace gb {
namespace {

constexpr char kMagic[] = "PGDMP";
constexpr int kFollowedMajor = 1;
constexpr int kFollowedMinor = 14;  // pg_dump 12 to 15 (K_VERS_1_14: table access methods)
constexpr int kCustomFormat = 1;    // archCustom
constexpr int kBlockData = 1;       // BLK_DATA
constexpr int kBlockBlobs = 3;      // BLK_BLOBS
// The head (header and table of contents) is a few hundred bytes per object; one that never
// ends is not a dump we can follow.
constexpr size_t kMaxHeadBytes = 64 << 20;

// The head as pg_dump wrote it, read from bytes that may not hold all of it yet. Every read
// returns false when the bytes run out (wait for more) or the head is malformed (error set).
class HeadReader {
 public:
  explicit HeadReader(const std::string& bytes) : bytes_(bytes) {}

  bool Byte(int* value) {
    if (at_ >= bytes_.size()) return false;
    *value = static_cast<unsigned char>(bytes_[at_++]);
    return true;
  }
  // pg_dump's ReadInt: a sign byte, then int_size bytes, least significant first.
  bool Int(int64_t* value) {
    if (at_ + 1 + int_size_ > bytes_.size()) return false;
    const bool negative = bytes_[at_] != 0;
    uint64_t magnitude = 0;
    for (int i = int_size_; i >= 1; --i)
      magnitude = (magnitude << 8) | static_cast<unsigned char>(bytes_[at_ + i]);
    at_ += 1 + int_size_;
    *value = negative ? -static_cast<int64_t>(magnitude) : static_cast<int64_t>(magnitude);
    return true;
  }
  // pg_dump's ReadStr: a length (-1: no string), then the bytes.
  bool Str(std::optional<std::string>* value) {
    int64_t length = 0;
    const size_t start = at_;
    if (!Int(&length)) return false;
    if (length < -1 || length > static_cast<int64_t>(kMaxHeadBytes)) {
      error_ = "a string of " + std::to_string(length) + " bytes";
      return false;
    }
    if (length == -1) {
      value->reset();
      return true;
    }
    if (at_ + static_cast<size_t>(length) > bytes_.size()) {
      at_ = start;
      return false;
    }
    *value = bytes_.substr(at_, static_cast<size_t>(length));
    at_ += static_cast<size_t>(length);
    return true;
  }
  bool Bytes(size_t count, std::optional<std::string>* value) {
    if (at_ + count > bytes_.size()) return false;
    *value = bytes_.substr(at_, count);
    at_ += count;
    return true;
  }
  bool Skip(size_t count) {
    if (at_ + count > bytes_.size()) return false;
    at_ += count;
    return true;
  }

  void set_int_size(int size) { int_size_ = size; }
  int int_size() const { return int_size_; }
  size_t at() const { return at_; }
  const std::string& error() const { return error_; }
  void Fail(std::string why) { error_ = std::move(why); }

 private:
  const std::string& bytes_;
  size_t at_ = 0;
  int int_size_ = 4;
  std::string error_;
};

struct Head {
  int int_size = 4;
  int offset_size = 8;
  std::string scheme;                     // "copysha64sum-pg15:"
  std::map<int64_t, std::string> tables;  // TABLE DATA entries: dump id -> "schema.table"
  size_t bytes = 0;                       // the head's length
};

// "15.18 (Debian 15.18-0+deb12u1)" -> "copysha64sum-pg15:".
std::string SchemeFor(const std::string& dump_version) {
  std::string major;
  for (char c : dump_version) {
    if (!std::isdigit(static_cast<unsigned char>(c))) break;
    major.push_back(c);
  }
  return "copysha64sum-pg" + (major.empty() ? std::string("unknown") : major) + ":";
}

// The header: false when more bytes are needed or it is not one we follow (reader's error).
bool ReadHeader(HeadReader& in, Head* head) {
  std::optional<std::string> magic;
  if (!in.Bytes(std::strlen(kMagic), &magic)) return false;
  if (*magic != kMagic) {
    in.Fail("not a pg_dump custom-format archive");
    return false;
  }
  int major = 0, minor = 0, revision = 0, int_size = 0, offset_size = 0, format = 0;
  if (!in.Byte(&major) || !in.Byte(&minor) || !in.Byte(&revision) || !in.Byte(&int_size) ||
      !in.Byte(&offset_size) || !in.Byte(&format))
    return false;
  if (major != kFollowedMajor || minor != kFollowedMinor) {
    in.Fail("archive version " + std::to_string(major) + "." + std::to_string(minor) +
            " (only 1.14, pg_dump 12 to 15, is read as it streams)");
    return false;
  }
  if (int_size < 1 || int_size > 8 || offset_size < 1 || offset_size > 16 ||
      format != kCustomFormat) {
    in.Fail("an archive of format " + std::to_string(format) + " with " +
            std::to_string(int_size) + "-byte integers");
    return false;
  }
  in.set_int_size(int_size);
  head->int_size = int_size;
  head->offset_size = offset_size;
  int64_t compression = 0, field = 0;
  if (!in.Int(&compression)) return false;
  if (compression != 0) {
    in.Fail("a compressed archive (level " + std::to_string(compression) + ")");
    return false;
  }
  for (int i = 0; i < 7; ++i)  // the creation time's fields
    if (!in.Int(&field)) return false;
  std::optional<std::string> dbname, server_version, dump_version;
  if (!in.Str(&dbname) || !in.Str(&server_version) || !in.Str(&dump_version)) return false;
  head->scheme = SchemeFor(dump_version.value_or(""));
  return true;
}

// One table-of-contents entry (WriteToc, archive 1.14, with the custom format's data offset).
bool ReadTocEntry(HeadReader& in, Head* head) {
  int64_t dump_id = 0, had_dumper = 0, section = 0;
  std::optional<std::string> tableoid, oid, tag, desc, defn, drop, copy, name_space, tablespace,
      tableam, owner, with_oids, dependency;
  if (!in.Int(&dump_id) || !in.Int(&had_dumper) || !in.Str(&tableoid) || !in.Str(&oid) ||
      !in.Str(&tag) || !in.Str(&desc) || !in.Int(&section) || !in.Str(&defn) ||
      !in.Str(&drop) || !in.Str(&copy) || !in.Str(&name_space) || !in.Str(&tablespace) ||
      !in.Str(&tableam) || !in.Str(&owner) || !in.Str(&with_oids))
    return false;
  do {
    if (!in.Str(&dependency)) return false;
  } while (dependency);
  int offset_flag = 0;
  if (!in.Byte(&offset_flag) || !in.Skip(static_cast<size_t>(head->offset_size))) return false;
  if (desc == std::string("TABLE DATA"))
    head->tables[dump_id] = name_space.value_or("") + "." + tag.value_or("");
  return true;
}

bool ReadHead(HeadReader& in, Head* head) {
  if (!ReadHeader(in, head)) return false;
  int64_t entries = 0;
  if (!in.Int(&entries)) return false;
  for (int64_t i = 0; i < entries; ++i)
    if (!ReadTocEntry(in, head)) return false;
  head->bytes = in.at();
  return true;
}

}  // namespace

struct DumpTableSummary::State {
  enum class Step { kHead, kBlockType, kBlockId, kChunkLength, kChunkData, kBlobOid, kFailed };
  struct Table {
    uint64_t rows = 0;
    uint64_t sum = 0;
    bool seen = false;
  };

  Step step = Step::kHead;
  std::string head_bytes;
  Head head;
  std::map<int64_t, Table> tables;  // by dump id

  unsigned char int_bytes[9] = {};
  int int_have = 0;
  int block_type = 0;
  uint64_t chunk_left = 0;
  Table* table = nullptr;  // the table whose rows the current block holds, if any
  std::string line;        // a row cut by a chunk's end
  bool rows_ended = false; // the block's "\." line was met
  Sha256 hash;
  std::string why;

  void Fail(std::string reason) {
    if (step == Step::kFailed) return;
    step = Step::kFailed;
    why = std::move(reason);
  }

  void FeedHead(const char* data, size_t size) {
    head_bytes.append(data, size);
    HeadReader in(head_bytes);
    if (!ReadHead(in, &head)) {
      if (!in.error().empty()) Fail(in.error());
      else if (head_bytes.size() > kMaxHeadBytes) Fail("a table of contents over 64 MiB");
      return;
    }
    for (const auto& [id, name] : head.tables) tables[id];
    step = Step::kBlockType;
    const std::string rest = head_bytes.substr(head.bytes);
    head_bytes = std::string();
    FeedBlocks(rest.data(), rest.size());
  }

  // Collects one pg_dump integer across pieces; true (and `value` set) once whole.
  bool TakeInt(const char*& data, size_t& size, int64_t* value) {
    const int need = 1 + head.int_size;
    while (int_have < need && size > 0) {
      int_bytes[int_have++] = static_cast<unsigned char>(*data++);
      --size;
    }
    if (int_have < need) return false;
    uint64_t magnitude = 0;
    for (int i = head.int_size; i >= 1; --i) magnitude = (magnitude << 8) | int_bytes[i];
    *value = int_bytes[0] != 0 ? -static_cast<int64_t>(magnitude) : static_cast<int64_t>(magnitude);
    int_have = 0;
    return true;
  }

  void StartBlock(int64_t dump_id) {
    line.clear();
    rows_ended = false;
    table = nullptr;
    if (block_type == kBlockBlobs) {
      step = Step::kBlobOid;
      return;
    }
    auto found = tables.find(dump_id);
    if (found != tables.end()) {
      if (found->second.seen) return Fail("two data blocks for entry " + std::to_string(dump_id));
      table = &found->second;
      table->seen = true;
    }
    step = Step::kChunkLength;
  }

  void EndChunks() {
    if (block_type == kBlockBlobs) {
      step = Step::kBlobOid;
      return;
    }
    if (table != nullptr && (!line.empty() || !rows_ended))
      return Fail("table data that does not end with a \"\\.\" line");
    table = nullptr;
    step = Step::kBlockType;
  }

  void Row(const char* data, size_t size) {
    if (rows_ended) return;  // the empty lines pg_dump writes after "\."
    if (size == 2 && data[0] == '\\' && data[1] == '.') {
      rows_ended = true;
      return;
    }
    unsigned char digest[32];
    hash.Update(data, size);
    hash.DigestAndReset(digest);
    uint64_t value = 0;
    for (int i = 7; i >= 0; --i) value = (value << 8) | digest[i];
    table->sum += value;  // mod 2^64
    ++table->rows;
  }

  void Rows(const char* data, size_t size) {
    while (size > 0) {
      const char* end = static_cast<const char*>(std::memchr(data, '\n', size));
      if (end == nullptr) {
        line.append(data, size);
        return;
      }
      const size_t length = static_cast<size_t>(end - data);
      if (line.empty()) {
        Row(data, length);
      } else {
        line.append(data, length);
        Row(line.data(), line.size());
        line.clear();
      }
      data += length + 1;
      size -= length + 1;
    }
  }

  void FeedBlocks(const char* data, size_t size) {
    int64_t value = 0;
    while (size > 0 && step != Step::kFailed) {
      switch (step) {
        case Step::kBlockType:
          block_type = static_cast<unsigned char>(*data++);
          --size;
          if (block_type != kBlockData && block_type != kBlockBlobs)
            return Fail("a data block of unknown type " + std::to_string(block_type));
          step = Step::kBlockId;
          break;
        case Step::kBlockId:
          if (TakeInt(data, size, &value)) StartBlock(value);
          break;
        case Step::kBlobOid:
          if (!TakeInt(data, size, &value)) break;
          step = value == 0 ? Step::kBlockType : Step::kChunkLength;
          break;
        case Step::kChunkLength:
          if (!TakeInt(data, size, &value)) break;
          if (value < 0) return Fail("a data chunk of " + std::to_string(value) + " bytes");
          if (value == 0) {
            EndChunks();
          } else {
            chunk_left = static_cast<uint64_t>(value);
            step = Step::kChunkData;
          }
          break;
        case Step::kChunkData: {
          const size_t take = static_cast<size_t>(std::min<uint64_t>(chunk_left, size));
          if (table != nullptr) Rows(data, take);
          data += take;
          size -= take;
          chunk_left -= take;
          if (chunk_left == 0) step = Step::kChunkLength;
          break;
        }
        case Step::kHead:
        case Step::kFailed:
          return;
      }
    }
  }
};

DumpTableSummary::DumpTableSummary() : state_(std::make_unique<State>()) {}
DumpTableSummary::~DumpTableSummary() = default;

void DumpTableSummary::Feed(const char* data, size_t size) {
  State& state = *state_;
  if (state.step == State::Step::kHead) {
    state.FeedHead(data, size);
  } else {
    state.FeedBlocks(data, size);
  }
}

bool DumpTableSummary::failed() const { return state_->step == State::Step::kFailed; }
const std::string& DumpTableSummary::why() const { return state_->why; }

Result<std::map<std::string, TableSummary>> DumpTableSummary::Finish() {
  State& state = *state_;
  if (state.step != State::Step::kFailed && state.step != State::Step::kBlockType)
    state.Fail("the archive ends inside its " +
               std::string(state.step == State::Step::kHead ? "table of contents" : "data"));
  std::map<std::string, TableSummary> summaries;
  for (const auto& [id, table] : state.tables) {
    if (state.step == State::Step::kFailed) break;
    const std::string& name = state.head.tables.at(id);
    if (!table.seen) {
      state.Fail("the archive holds no data for table " + name);
      break;
    }
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016" PRIx64, table.sum);
    summaries[name] = TableSummary{table.rows, state.head.scheme + hex};
  }
  if (state.step == State::Step::kFailed)
    return Status::Failed("the dump's tables cannot be summarized as it streams: " + state.why);
  return summaries;
}

}  // namespace gb
