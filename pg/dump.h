// The database half: pg_dump (custom format, uncompressed: we compress) streamed into a
// ByteSink; pg_restore from a ByteSource; reading a dump's table of contents.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "io/byte_stream.h"
#include "io/status.h"
#include "pg/connection.h"
#include "pg/dump_tools.h"

namespace gb {

// A running `pg_dump -Fc -Z0 [--snapshot=S]` whose stdout is pumped into a sink.
class PgDump {
 public:
  // Starts pg_dump; returns once the process runs. pg_dump has imported the snapshot when
  // WaitUntilSnapshotHeld() returns.
  static Result<std::unique_ptr<PgDump>> Start(const DumpTools& tools,
                                               const ConnectionParams& params,
                                               const std::string& snapshot_id);
  ~PgDump();  // kills a pg_dump still running

  // Blocks until pg_dump's first bytes arrive (it has imported the snapshot and taken its
  // locks) or it fails.
  Status WaitUntilSnapshotHeld();
  // Copies all of pg_dump's output into `sink`, then checks its exit status and stderr. A
  // failing pg_dump is an error with its last stderr line.
  Result<uint64_t> PumpTo(ByteSink& sink, const std::function<void(uint64_t)>& progress = {});
  // Asks pg_dump to stop (SIGTERM). Safe from another thread while PumpTo() runs: the
  // pumping thread then sees the end of the output and reaps pg_dump itself.
  void Cancel();

 private:
  PgDump();
  void Abort();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// What `pg_restore -l` says of a custom-format dump.
struct DumpToc {
  std::string dbname;          // ";     dbname: govern"
  std::string server_version;  // ";     Dumped from database version: 15.18"
  std::string dump_version;    // ";     Dumped by pg_dump version: 15.18"
  int entries = 0;             // TOC entries
  std::vector<std::string> tables;  // "schema.table" of TABLE DATA entries
};

// Feeds the dump bytes from `source` to `pg_restore -l` and parses the listing.
Result<DumpToc> ReadDumpToc(const DumpTools& tools, ByteSource& source);

// Feeds the dump bytes from `source` to `pg_restore --exit-on-error --no-owner -d <target>`.
// Stops at the first error (the target database is then partly restored: the caller drops it).
Status RestoreDump(const DumpTools& tools, const ConnectionParams& target, ByteSource& source);

}  // namespace gb
