// DumpTableSummary: the row count and content hash of every table whose data a pg_dump
// archive holds, read from the archive's bytes as they stream into the set. pg_dump
// --format=custom --compress=0 writes, after its table of contents, each TABLE DATA entry's
// rows as COPY text lines (one line a row) in length-prefixed chunks; following that layout
// costs one SHA-256 of the dump's bytes on the thread that stores them, where asking the
// server (table_summary.h) scans and writes out every table a second time beside pg_dump:
// 0.7 s of a 2-core machine's backup of the benchmark's 320 MB database.
//
// A row's hash is the first 8 bytes (little-endian) of the SHA-256 of its line; a table's, the
// sum of its rows' hashes mod 2^64: independent of the order of the rows, and two equal rows do
// not cancel out. The text is pg_dump's, written with the settings pg_dump pins (DateStyle,
// IntervalStyle, extra_float_digits) and those PgDump pins for it (TimeZone, bytea_output), in
// the way its major version writes them: the scheme names that version
// ("copysha64sum-pg15:"), so sets dumped by two major versions compare by row count only.
//
// Only the archive version whose layout was checked against the real pg_dump (1.14: pg_dump 12
// to 15) is followed. Another version, a compressed or damaged archive, or anything unexpected
// stops the summary, never the dump: failed() turns true, why() says why, and the caller asks
// the server instead.
//
// Thread-safety: one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "io/byte_stream.h"
#include "io/status.h"
#include "pg/table_summary.h"

namespace gb {

class DumpTableSummary {
 public:
  DumpTableSummary();
  ~DumpTableSummary();
  DumpTableSummary(const DumpTableSummary&) = delete;
  DumpTableSummary& operator=(const DumpTableSummary&) = delete;

  // The next bytes of the archive, in any pieces.
  void Feed(const char* data, size_t size);
  bool failed() const;
  const std::string& why() const;  // "" unless failed()
  // Every TABLE DATA entry's summary ("schema.table"), once the whole archive was fed; an
  // error when failed() or when the archive ended early.
  Result<std::map<std::string, TableSummary>> Finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Forwards every byte to `target` and feeds it to `summary` on the way.
class SummarizingSink : public ByteSink {
 public:
  SummarizingSink(ByteSink& target, DumpTableSummary& summary)
      : target_(target), summary_(summary) {}
  Status Write(const void* data, size_t size) override {
    summary_.Feed(static_cast<const char*>(data), size);
    return target_.Write(data, size);
  }

 private:
  ByteSink& target_;
  DumpTableSummary& summary_;
};

}  // namespace gb
