#include "tests/support/tcp_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <mutex>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace hanse::testing {
namespace {

absl::Status Errno(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

sockaddr_in Loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  return a;
}

// Binds 127.0.0.1:`port` (0: any free port); returns the socket and the bound port.
absl::StatusOr<std::pair<int, int>> BindLoopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket");
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a = Loopback(port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return Errno("bind");
  }
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return std::make_pair(fd, static_cast<int>(ntohs(a.sin_port)));
}

// Reads "CONNECT 127.0.0.1:PORT HTTP/1.1" and its headers; false for anything else.
bool ReadConnect(int fd, int* port) {
  std::string head;
  char c;
  while (head.size() < 4096 && head.find("\r\n\r\n") == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 2000) <= 0 || ::read(fd, &c, 1) != 1) return false;
    head.push_back(c);
  }
  constexpr absl::string_view kPrefix = "CONNECT 127.0.0.1:";
  if (!absl::StartsWith(head, kPrefix)) return false;
  size_t end = head.find(' ', kPrefix.size());
  return end != std::string::npos &&
         absl::SimpleAtoi(absl::string_view(head).substr(kPrefix.size(), end - kPrefix.size()),
                          port) &&
         *port > 0 && *port < 65536;
}

}  // namespace

absl::StatusOr<int> FreeLoopbackPort() {
  // The kernel's port-0 choice comes from the ephemeral range, which outgoing connections of
  // tests running beside this one also draw from: a port chosen now and listened on later may be
  // taken by then. Ports below that range are only ever taken by a listener.
  static std::mutex mu;
  static std::mt19937 random(static_cast<std::uint32_t>(::getpid()) ^
                             static_cast<std::uint32_t>(::time(nullptr)));
  for (int attempt = 0; attempt < 200; ++attempt) {
    int port;
    {
      std::lock_guard lock(mu);
      port = std::uniform_int_distribution<int>(20000, 32000)(random);
    }
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return Errno("socket");
    sockaddr_in a = Loopback(port);
    const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    ::close(fd);
    if (free) return port;
  }
  auto bound = BindLoopback(0);
  if (!bound.ok()) return bound.status();
  ::close(bound->first);
  return bound->second;
}

absl::StatusOr<std::unique_ptr<TcpProxy>> TcpProxy::Start(int target_port) {
  auto bound = BindLoopback(0);
  if (!bound.ok()) return bound.status();
  if (::listen(bound->first, 64) != 0) {
    ::close(bound->first);
    return Errno("listen");
  }
  std::unique_ptr<TcpProxy> proxy(new TcpProxy(bound->first, bound->second, target_port));
  proxy->acceptor_ = std::thread([p = proxy.get()] { p->AcceptLoop(); });
  return proxy;
}

absl::StatusOr<std::unique_ptr<TcpProxy>> TcpProxy::StartConnect() { return Start(0); }

TcpProxy::~TcpProxy() {
  stopping_ = true;
  Cut();
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
  ::close(listen_fd_);
}

std::string TcpProxy::address() const { return absl::StrCat("127.0.0.1:", port_); }

void TcpProxy::Cut() {
  cut_ = true;
  std::lock_guard lock(mu_);
  for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
}

void TcpProxy::Heal() { cut_ = false; }

void TcpProxy::AcceptLoop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    if (cut_) {  // the partition: the connection is dropped at once
      ::close(client);
      continue;
    }
    int target = target_port_;
    if (target == 0 && !ReadConnect(client, &target)) {
      ::close(client);
      continue;
    }
    int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = Loopback(target);
    if (upstream < 0 || ::connect(upstream, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      if (upstream >= 0) ::close(upstream);
      ::close(client);
      continue;
    }
    if (target_port_ == 0) {
      static constexpr char kOk[] = "HTTP/1.1 200 Connection established\r\n\r\n";
      ::send(client, kOk, sizeof(kOk) - 1, MSG_NOSIGNAL);
    }
    std::lock_guard lock(mu_);
    open_fds_.push_back(client);
    open_fds_.push_back(upstream);
    // Each direction pumps until its source ends; the second pump to finish closes both.
    auto done = std::make_shared<std::atomic<int>>(0);
    auto pump = [this, done, client, upstream](int from, int to) {
      Pump(from, to);
      if (done->fetch_add(1) == 1) {
        std::lock_guard inner(mu_);
        std::erase(open_fds_, client);
        std::erase(open_fds_, upstream);
        ::close(client);
        ::close(upstream);
      }
    };
    threads_.emplace_back(pump, client, upstream);
    threads_.emplace_back(pump, upstream, client);
  }
}

void TcpProxy::Pump(int from, int to) {
  char buf[16384];
  while (true) {
    ssize_t n = ::read(from, buf, sizeof(buf));
    if (n <= 0) break;
    ssize_t off = 0;
    while (off < n) {
      ssize_t w = ::send(to, buf + off, n - off, MSG_NOSIGNAL);
      if (w <= 0) {
        ::shutdown(from, SHUT_RDWR);
        ::shutdown(to, SHUT_RDWR);
        return;
      }
      off += w;
    }
  }
  ::shutdown(to, SHUT_WR);
  if (cut_) ::shutdown(to, SHUT_RDWR);
}

}  // namespace hanse::testing
