#include "tests/support/fault_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace gb {
namespace testing {
namespace {

constexpr size_t kCutAfter = 64 << 10;

void SendAll(int fd, const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;  // the peer went away: nothing to do for a proxy
    sent += static_cast<size_t>(n);
  }
}

void Reset(int fd) {
  linger abort_on_close{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
  ::close(fd);
}

// Waits until `fd` or `stop_fd` is readable; false when the proxy stops.
bool WaitReadable(int fd, int stop_fd) {
  pollfd fds[2] = {{fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
  while (::poll(fds, 2, -1) < 0) {
    if (errno != EINTR) return false;
  }
  return (fds[1].revents & POLLIN) == 0;
}

}  // namespace

Result<std::unique_ptr<FaultProxy>> FaultProxy::Start(const std::string& upstream_endpoint,
                                                      Plan plan) {
  std::unique_ptr<FaultProxy> proxy(new FaultProxy());
  proxy->plan_ = std::move(plan);
  proxy->upstream_port_ = std::stoi(upstream_endpoint.substr(upstream_endpoint.rfind(':') + 1));
  proxy->listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(proxy->listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(proxy->listen_fd_, 64) != 0 ||
      ::getsockname(proxy->listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    return Status::FromErrno("fault proxy: cannot listen on 127.0.0.1", errno);
  }
  proxy->port_ = ntohs(address.sin_port);
  proxy->stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
  proxy->acceptor_ = std::thread([p = proxy.get()] { p->AcceptLoop(); });
  return proxy;
}

FaultProxy::~FaultProxy() {
  const uint64_t one = 1;
  if (::write(stop_fd_, &one, sizeof one) != sizeof one) std::abort();
  acceptor_.join();
  for (std::thread& connection : connections_) connection.join();
  ::close(listen_fd_);
  ::close(stop_fd_);
}

void FaultProxy::AcceptLoop() {
  while (WaitReadable(listen_fd_, stop_fd_)) {
    const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    std::lock_guard<std::mutex> lock(mutex_);
    connections_.emplace_back([this, client] { Serve(client); });
  }
}

void FaultProxy::Serve(int client) {
  // The request head, and whatever of the body came with it.
  std::string received;
  size_t head_end = std::string::npos;
  char buffer[16384];
  while (head_end == std::string::npos) {
    if (!WaitReadable(client, stop_fd_)) return (void)::close(client);
    const ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
    if (n <= 0) return (void)::close(client);
    received.append(buffer, static_cast<size_t>(n));
    head_end = received.find("\r\n\r\n");
  }
  std::string head = received.substr(0, head_end + 2);  // ends with the last header's CRLF
  std::string rest = received.substr(head_end + 4);
  const Fault fault = plan_(++requests_, head.substr(0, head.find("\r\n")));
  switch (fault) {
    case Fault::kSlowDown: {
      const std::string body =
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code>"
          "<Message>Please reduce your request rate.</Message></Error>";
      SendAll(client, "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\n"
                      "Content-Length: " + std::to_string(body.size()) +
                      "\r\nConnection: close\r\n\r\n" + body);
      ::shutdown(client, SHUT_WR);
      ::close(client);
      return;
    }
    case Fault::kReset:
      Reset(client);
      return;
    case Fault::kStall:
      // Until the client gives up (its stall timeout) or the proxy stops.
      while (WaitReadable(client, stop_fd_) && ::recv(client, buffer, sizeof buffer, 0) > 0) {
      }
      ::close(client);
      return;
    case Fault::kNone:
    case Fault::kCutResponse:
      Forward(client, std::move(head), std::move(rest), fault == Fault::kCutResponse);
      return;
  }
}

void FaultProxy::Forward(int client, std::string head, std::string rest, bool cut) {
  const int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(upstream_port_));
  if (::connect(upstream, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(upstream);
    Reset(client);
    return;
  }
  // One request per connection: the server closes after answering.
  SendAll(upstream, head + "Connection: close\r\n\r\n" + rest);
  size_t answered = 0;
  bool client_open = true;
  char buffer[65536];
  for (;;) {
    pollfd fds[3] = {{upstream, POLLIN, 0}, {client_open ? client : -1, POLLIN, 0},
                     {stop_fd_, POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0 && errno != EINTR) break;
    if (fds[2].revents & POLLIN) break;
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      const ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
      if (n <= 0) {
        client_open = false;
        ::shutdown(upstream, SHUT_WR);
      } else {
        SendAll(upstream, std::string(buffer, static_cast<size_t>(n)));
      }
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      const ssize_t n = ::recv(upstream, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      size_t pass = static_cast<size_t>(n);
      if (cut && answered + pass >= kCutAfter) {
        SendAll(client, std::string(buffer, kCutAfter - answered));
        ::close(upstream);
        Reset(client);
        return;
      }
      SendAll(client, std::string(buffer, pass));
      answered += pass;
    }
  }
  ::close(upstream);
  ::shutdown(client, SHUT_WR);
  ::close(client);
}

}  // namespace testing
}  // namespace gb
