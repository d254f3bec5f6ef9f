#include "pg/dump.h"

#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <sstream>
#include <thread>

#include "io/subprocess.h"
#include "pg/version.h"

namespace gb {
namespace {

constexpr size_t kChunkBytes = 1 << 20;

// What happened while feeding a source into a child's stdin.
struct FeedOutcome {
  Status source_status;      // a failure to read the source
  Status write_status;       // a failure to write other than the child going away
  bool child_left = false;   // the child closed its stdin before the end (EPIPE)
  uint64_t bytes_read = 0;   // the whole source, including what the child did not take
};

// Writes `source` into `fd` (then closes it with `close_fd`), and reads whatever the child did
// not take to the end too: the caller hashes the whole source as it goes by. Runs in its own
// thread, where SIGPIPE is blocked so that a child leaving early is an EPIPE, not our death.
FeedOutcome FeedStdin(ByteSource& source, int fd, const std::function<void()>& close_fd) {
  sigset_t pipe_signal;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);

  FeedOutcome outcome;
  std::vector<char> buffer(kChunkBytes);
  bool writing = true;
  while (true) {
    Result<size_t> read = source.Read(buffer.data(), buffer.size());
    if (!read.ok()) {
      outcome.source_status = read.status();
      break;
    }
    if (*read == 0) break;
    outcome.bytes_read += *read;
    size_t written = 0;
    while (writing && written < *read) {
      ssize_t n = ::write(fd, buffer.data() + written, *read - written);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EPIPE) {
        outcome.child_left = true;
        writing = false;
        // Consume the SIGPIPE pending on this thread, so it never fires when unblocked.
        const timespec no_wait{0, 0};
        sigtimedwait(&pipe_signal, nullptr, &no_wait);
        close_fd();
        break;
      }
      if (n < 0) {
        outcome.write_status = Status::FromErrno("writing to the child's stdin", errno);
        writing = false;
        close_fd();
        break;
      }
      written += static_cast<size_t>(n);
    }
  }
  if (writing) close_fd();
  return outcome;
}

// Runs `argv` with `source` streamed into its stdin; the whole source is read in any case.
struct FedRun {
  ExitInfo exit;
  FeedOutcome feed;
};

Result<FedRun> RunFed(const std::vector<std::string>& argv,
                      const std::map<std::string, std::string>& env, ByteSource& source) {
  SubprocessOptions options;
  options.argv = argv;
  options.extra_env = env;
  options.stdin_pipe = true;
  auto started = Subprocess::Start(options);
  if (!started.ok()) {
    // Nobody will read the rest; the caller still expects the source consumed.
    std::vector<char> buffer(kChunkBytes);
    while (true) {
      auto read = source.Read(buffer.data(), buffer.size());
      if (!read.ok() || *read == 0) break;
    }
    return started.status();
  }
  std::unique_ptr<Subprocess> process = std::move(started).value();
  FedRun run;
  Subprocess* child = process.get();
  std::thread feeder([&] {
    run.feed = FeedStdin(source, child->stdin_fd(), [child] { child->CloseStdin(); });
  });
  run.exit = process->Wait();
  feeder.join();
  return run;
}

void ParseTocLine(const std::string& line, DumpToc* toc) {
  // Header lines are ";     <key> <value>"; "; Selected TOC Entries:" is not one of them.
  auto value_after = [&line](const char* key) -> std::optional<std::string> {
    if (line.empty() || line[0] != ';') return std::nullopt;
    const auto at = line.find_first_not_of(' ', 1);
    if (at == std::string::npos || line.compare(at, std::strlen(key), key) != 0) {
      return std::nullopt;
    }
    std::string value = line.substr(at + std::strlen(key));
    const auto begin = value.find_first_not_of(' ');
    return begin == std::string::npos ? "" : value.substr(begin);
  };
  if (auto value = value_after("dbname:")) {
    toc->dbname = *value;
  } else if (auto value = value_after("TOC Entries:")) {
    toc->entries = std::atoi(value->c_str());
  } else if (auto value = value_after("Dumped from database version:")) {
    toc->server_version = ShortVersion(*value);
  } else if (auto value = value_after("Dumped by pg_dump version:")) {
    toc->dump_version = ShortVersion(*value);
  } else if (!line.empty() && line[0] != ';') {
    // "3367; 0 16385 TABLE DATA public blueprints govern"
    const std::string kind = " TABLE DATA ";
    const auto at = line.find(kind);
    if (at == std::string::npos) return;
    std::string rest = line.substr(at + kind.size());
    const auto schema_end = rest.find(' ');
    const auto owner_start = rest.rfind(' ');
    if (schema_end == std::string::npos || owner_start <= schema_end) return;
    toc->tables.push_back(rest.substr(0, schema_end) + "." +
                          rest.substr(schema_end + 1, owner_start - schema_end - 1));
  }
}

// pg_dump pins DateStyle, IntervalStyle and extra_float_digits itself. The settings below
// change how a row is written too, and a database's or role's defaults may set them: pinned,
// the same rows are the same text in every dump (what DumpTableSummary hashes), and a restore
// reads them as the same values. lc_monetary is left alone: money restores only under the
// locale it was written in.
std::string PinnedTextSettings() {
  const char* inherited = std::getenv("PGOPTIONS");
  std::string options = inherited != nullptr ? std::string(inherited) + " " : std::string();
  return options + "-c TimeZone=UTC -c bytea_output=hex";
}

}  // namespace

struct PgDump::Impl {
  std::unique_ptr<Subprocess> process;
  std::string first_bytes;          // read while waiting for the snapshot, not yet pumped
  bool reached_end = false;         // stdout closed
  std::optional<ExitInfo> exit;     // once waited for
  std::string description;          // "pg_dump of user@host:port/db"

  Status Failure() {
    if (!exit) exit = process->Wait();
    return Status::Failed("pg_dump of " + description + " failed: " + exit->Describe());
  }
};

PgDump::PgDump() : impl_(std::make_unique<Impl>()) {}

PgDump::~PgDump() {
  if (impl_->process && !impl_->exit) {
    impl_->process->Signal(SIGTERM);
    impl_->process->Wait();
  }
}

Result<std::unique_ptr<PgDump>> PgDump::Start(const DumpTools& tools,
                                              const ConnectionParams& params,
                                              const std::string& snapshot_id) {
  SubprocessOptions options;
  options.argv = {tools.pg_dump, "--format=custom", "--compress=0", "--no-password"};
  if (!snapshot_id.empty()) options.argv.push_back("--snapshot=" + snapshot_id);
  // A connection string as --dbname: host, port, user and password file in one place.
  options.argv.push_back("--dbname=" + params.ConnectionString());
  options.extra_env = params.ChildEnvironment();
  options.extra_env["PGOPTIONS"] = PinnedTextSettings();
  options.stdout_pipe = true;
  std::unique_ptr<PgDump> dump(new PgDump());
  dump->impl_->description = params.Describe();
  GB_ASSIGN_OR_RETURN(dump->impl_->process, Subprocess::Start(options));
  spdlog::debug("pg_dump of {} started (pid {}, snapshot {})", params.Describe(),
                dump->impl_->process->pid(), snapshot_id.empty() ? "none" : snapshot_id);
  return dump;
}

Status PgDump::WaitUntilSnapshotHeld() {
  Impl& impl = *impl_;
  if (impl.exit) return impl.exit->success() ? Status::Ok() : impl.Failure();
  if (!impl.first_bytes.empty()) return Status::Ok();
  const int fd = impl.process->stdout_fd();
  std::vector<char> buffer(64 * 1024);
  while (true) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno("reading pg_dump's output", errno);
    if (n == 0) {
      impl.reached_end = true;
      impl.exit = impl.process->Wait();
      if (!impl.exit->success()) return impl.Failure();
      return Status::Failed("pg_dump of " + impl.description + " wrote nothing");
    }
    impl.first_bytes.assign(buffer.data(), static_cast<size_t>(n));
    spdlog::debug("pg_dump holds its snapshot ({} first bytes)", n);
    return Status::Ok();
  }
}

Result<uint64_t> PgDump::PumpTo(ByteSink& sink, const std::function<void(uint64_t)>& progress) {
  Impl& impl = *impl_;
  uint64_t total = 0;
  if (!impl.first_bytes.empty()) {
    GB_RETURN_IF_ERROR(sink.Write(impl.first_bytes.data(), impl.first_bytes.size()));
    total += impl.first_bytes.size();
    impl.first_bytes.clear();
    impl.first_bytes.shrink_to_fit();
    if (progress) progress(total);
  }
  const int fd = impl.process->stdout_fd();
  std::vector<char> chunk(kChunkBytes);
  while (!impl.reached_end) {
    size_t filled = 0;
    while (filled < chunk.size()) {
      ssize_t n = ::read(fd, chunk.data() + filled, chunk.size() - filled);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        Abort();
        return Status::FromErrno("reading pg_dump's output", errno);
      }
      if (n == 0) {
        impl.reached_end = true;
        break;
      }
      filled += static_cast<size_t>(n);
    }
    if (filled > 0) {
      Status written = sink.Write(chunk.data(), filled);
      if (!written.ok()) {
        Abort();
        return written;
      }
      total += filled;
      if (progress) progress(total);
    }
  }
  if (!impl.exit) impl.exit = impl.process->Wait();
  if (!impl.exit->success()) return impl.Failure();
  spdlog::debug("pg_dump of {} done: {} bytes", impl.description, total);
  return total;
}

void PgDump::Cancel() {
  if (impl_->process) impl_->process->Signal(SIGTERM);
}

// Stops pg_dump and reaps it; only from the thread that reads its output.
void PgDump::Abort() {
  if (impl_->process && !impl_->exit) {
    impl_->process->Signal(SIGTERM);
    impl_->exit = impl_->process->Wait();
  }
}

Result<DumpToc> ReadDumpToc(const DumpTools& tools, ByteSource& source) {
  GB_ASSIGN_OR_RETURN(FedRun run, RunFed({tools.pg_restore, "--list"}, {}, source));
  GB_RETURN_IF_ERROR(run.feed.source_status);
  if (!run.exit.success()) {
    return Status::Failed("pg_restore --list failed: " + run.exit.Describe(),
                          "the database dump is damaged or not a custom-format dump");
  }
  DumpToc toc;
  std::istringstream lines(run.exit.stdout_text);
  std::string line;
  while (std::getline(lines, line)) ParseTocLine(line, &toc);
  if (toc.entries == 0 && toc.dbname.empty()) {
    return Status::Failed("pg_restore --list gave no table of contents",
                          "the database dump is damaged or not a custom-format dump");
  }
  return toc;
}

Status RestoreDump(const DumpTools& tools, const ConnectionParams& target, ByteSource& source) {
  GB_ASSIGN_OR_RETURN(
      FedRun run,
      RunFed({tools.pg_restore, "--exit-on-error", "--no-owner", "--no-password",
              "--dbname=" + target.ConnectionString()},
             target.ChildEnvironment(), source));
  GB_RETURN_IF_ERROR(run.feed.source_status);
  if (!run.exit.success()) {
    return Status::Failed("pg_restore into " + target.Describe() + " failed: " +
                          run.exit.Describe());
  }
  GB_RETURN_IF_ERROR(run.feed.write_status);
  // pg_restore may exit once it has what it needs, before the last bytes; it succeeded.
  if (run.feed.child_left) spdlog::debug("pg_restore left before the end of the dump");
  spdlog::debug("restored {} bytes into {}", run.feed.bytes_read, target.Describe());
  return Status::Ok();
}

}  // namespace gb
