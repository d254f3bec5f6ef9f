#include "io/subprocess.h"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

#include <spdlog/spdlog.h>

#include "io/subprocess_launch.h"

namespace gb {
namespace {

constexpr size_t kStderrKept = 64 << 10;
constexpr auto kKillGrace = std::chrono::seconds(5);
constexpr int kPollMillis = 100;

// Reads `fd` until end of file into `out` (keeping only the last `keep` bytes if keep > 0).
// A grandchild may hold the pipe open after the child exited: once `child_exited` is set,
// what is already in the pipe is read and the rest is not waited for.
void Drain(int fd, std::string* out, size_t keep, const std::atomic<bool>* child_exited) {
  char buffer[65536];
  while (true) {
    pollfd poll_fd{fd, POLLIN, 0};
    bool exited = child_exited->load();
    int ready = poll(&poll_fd, 1, exited ? 0 : kPollMillis);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return;
    if (ready == 0) {
      if (exited) return;
      continue;
    }
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    out->append(buffer, static_cast<size_t>(n));
    if (keep > 0 && out->size() > 2 * keep) out->erase(0, out->size() - keep);
  }
}

// Writes `text` to the non-blocking pipe `fd`; stops when the child closes its end or exits.
void Feed(int fd, const std::string& text, const std::atomic<bool>* child_exited) {
  // A child that exits without reading all its input must cost us EPIPE, not SIGPIPE.
  sigset_t pipe_signal;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);
  size_t written = 0;
  while (written < text.size()) {
    ssize_t n = write(fd, text.data() + written, text.size() - written);
    if (n > 0) {
      written += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) break;
    if (child_exited->load()) break;
    pollfd poll_fd{fd, POLLOUT, 0};
    poll(&poll_fd, 1, kPollMillis);
  }
  timespec no_wait{0, 0};
  sigtimedwait(&pipe_signal, nullptr, &no_wait);
}

std::string LastLine(const std::string& text) {
  constexpr size_t kLongest = 400;  // a message line, not a dump
  size_t end = text.find_last_not_of(" \t\r\n");
  if (end == std::string::npos) return {};
  size_t start = text.rfind('\n', end);
  start = start == std::string::npos ? 0 : start + 1;
  if (end + 1 - start > kLongest) return "..." + text.substr(end + 1 - kLongest, kLongest);
  return text.substr(start, end - start + 1);
}

std::string DescribeDuration(std::chrono::milliseconds duration) {
  if (duration.count() % 1000 == 0) return std::to_string(duration.count() / 1000) + " s";
  return std::to_string(duration.count()) + " ms";
}

}  // namespace

std::string ExitInfo::Describe() const {
  std::string text;
  if (timed_out) {
    text = "timed out after " + DescribeDuration(timeout);
  } else if (term_signal != 0) {
    text = "killed by signal " + std::to_string(term_signal) + " (" + strsignal(term_signal) + ")";
  } else {
    text = "exited with " + std::to_string(exit_code);
  }
  std::string last = LastLine(stderr_text);
  if (!last.empty()) text += ": " + last;
  return text;
}

struct Subprocess::Impl {
  std::string program;
  std::chrono::milliseconds timeout{0};
  pid_t pid = -1;
  Fd pidfd;
  Fd stdout_pipe;  // read end, when the caller streams stdout
  Fd stdin_pipe;   // write end, when the caller streams stdin
  std::atomic<bool> reaped{false};  // read by Signal() from other threads
  ExitInfo info;

  std::atomic<bool> child_exited{false};
  std::string stdout_text;
  std::string stderr_text;
  Fd stdout_capture;
  Fd stderr_capture;
  Fd stdin_feed;
  std::string stdin_text;
  std::thread stdout_thread;
  std::thread stderr_thread;
  std::thread stdin_thread;

  void StartThreads() {
    if (stdout_capture.get() >= 0) {
      stdout_thread = std::thread(Drain, stdout_capture.get(), &stdout_text, 0, &child_exited);
    }
    stderr_thread = std::thread(Drain, stderr_capture.get(), &stderr_text, kStderrKept,
                                &child_exited);
    if (stdin_feed.get() >= 0) {
      stdin_thread = std::thread([this] {
        Feed(stdin_feed.get(), stdin_text, &child_exited);
        stdin_feed.reset();  // the child sees end of file
      });
    }
  }

  void JoinThreads() {
    if (stdin_thread.joinable()) stdin_thread.join();
    if (stdout_thread.joinable()) stdout_thread.join();
    if (stderr_thread.joinable()) stderr_thread.join();
  }

  // Reaps the child if it exits within `limit` (forever if negative); true once reaped.
  bool WaitForExit(std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (true) {
      int status = 0;
      pid_t done = waitpid(pid, &status, limit.count() < 0 ? 0 : WNOHANG);
      if (done == pid) {
        reaped = true;
        if (WIFEXITED(status)) info.exit_code = WEXITSTATUS(status);
        if (WIFSIGNALED(status)) info.term_signal = WTERMSIG(status);
        child_exited = true;
        return true;
      }
      if (done < 0 && errno != EINTR) {
        // Only possible if someone else reaped our child; nothing more can be learned.
        spdlog::warn("cannot wait for {} (pid {}): {}", program, pid, std::strerror(errno));
        reaped = true;
        child_exited = true;
        return true;
      }
      if (done < 0) continue;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      int slice = static_cast<int>(std::min<int64_t>(left.count(), 1000));
      if (pidfd.get() >= 0) {
        pollfd poll_fd{pidfd.get(), POLLIN, 0};
        poll(&poll_fd, 1, slice);
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(std::min(slice, 10)));
      }
    }
  }

  void KillGroup(int signal) {
    if (!reaped && pid > 0) kill(-pid, signal);
  }
};

Subprocess::Subprocess() : impl_(std::make_unique<Impl>()) {}

Subprocess::~Subprocess() {
  if (!impl_->reaped && impl_->pid > 0) {
    impl_->KillGroup(SIGKILL);
    impl_->WaitForExit(std::chrono::milliseconds(-1));
  }
  impl_->child_exited = true;
  impl_->JoinThreads();
}

pid_t Subprocess::pid() const { return impl_->pid; }
int Subprocess::stdout_fd() const { return impl_->stdout_pipe.get(); }
int Subprocess::stdin_fd() const { return impl_->stdin_pipe.get(); }
void Subprocess::CloseStdin() { impl_->stdin_pipe.reset(); }

void Subprocess::Signal(int signal) { impl_->KillGroup(signal); }

ExitInfo Subprocess::Wait() {
  Impl& impl = *impl_;
  if (!impl.reaped) {
    if (impl.timeout.count() > 0 && !impl.WaitForExit(impl.timeout)) {
      spdlog::warn("{} (pid {}) timed out after {}; stopping it", impl.program, impl.pid,
                   DescribeDuration(impl.timeout));
      impl.info.timed_out = true;
      impl.KillGroup(SIGTERM);
      if (!impl.WaitForExit(kKillGrace)) impl.KillGroup(SIGKILL);
    }
    if (!impl.reaped) impl.WaitForExit(std::chrono::milliseconds(-1));
  }
  impl.JoinThreads();
  impl.info.timeout = impl.timeout;
  impl.info.stdout_text = impl.stdout_text;
  impl.info.stderr_text = impl.stderr_text.size() > kStderrKept
                              ? impl.stderr_text.substr(impl.stderr_text.size() - kStderrKept)
                              : impl.stderr_text;
  spdlog::debug("{} (pid {}) {}", impl.program, impl.pid, impl.info.Describe());
  return impl.info;
}

Result<std::unique_ptr<Subprocess>> Subprocess::Start(const SubprocessOptions& options) {
  GB_ASSIGN_OR_RETURN(LaunchedChild child, LaunchChild(options));
  std::unique_ptr<Subprocess> process(new Subprocess());
  Impl& impl = *process->impl_;
  impl.program = options.argv[0];
  impl.timeout = options.timeout;
  impl.pid = child.pid;
  impl.pidfd.reset(static_cast<int>(syscall(SYS_pidfd_open, child.pid, 0)));
  if (options.stdout_pipe) {
    impl.stdout_pipe = std::move(child.stdout_read);
  } else {
    impl.stdout_capture = std::move(child.stdout_read);
  }
  impl.stderr_capture = std::move(child.stderr_read);
  if (options.stdin_pipe) {
    impl.stdin_pipe = std::move(child.stdin_write);
  } else {
    impl.stdin_text = options.stdin_text;
    impl.stdin_feed = std::move(child.stdin_write);
  }
  impl.StartThreads();
  return process;
}

Result<ExitInfo> RunSubprocess(const SubprocessOptions& options) {
  SubprocessOptions captured = options;
  captured.stdout_pipe = false;  // nobody would read the pipe
  GB_ASSIGN_OR_RETURN(std::unique_ptr<Subprocess> process, Subprocess::Start(captured));
  return process->Wait();
}

}  // namespace gb
