// TCP proxies the test controls: the fault layer of the partition tests. A node advertises an
// ingress proxy's address in its member card, so every peer reaches it through that proxy, and
// sends its own outgoing federation calls through an egress proxy (HTTP CONNECT, which gRPC uses
// when the `grpc_proxy` environment variable names it). Cutting both isolates the node: Cut()
// drops the open connections and refuses new ones, Heal() lets traffic through again. TLS passes
// through untouched: identity is checked end to end.
#ifndef HANSE_TESTS_SUPPORT_TCP_PROXY_H_
#define HANSE_TESTS_SUPPORT_TCP_PROXY_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace hanse::testing {

class TcpProxy {
 public:
  // Listens on 127.0.0.1 (a free port) and forwards to 127.0.0.1:`target_port`.
  static absl::StatusOr<std::unique_ptr<TcpProxy>> Start(int target_port);
  // An HTTP CONNECT proxy to loopback targets (any other target is refused).
  static absl::StatusOr<std::unique_ptr<TcpProxy>> StartConnect();
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  std::string address() const;
  void Cut();
  void Heal();

 private:
  TcpProxy(int listen_fd, int port, int target_port)
      : listen_fd_(listen_fd), port_(port), target_port_(target_port) {}
  void AcceptLoop();
  void Pump(int from, int to);

  int listen_fd_;
  int port_;
  int target_port_;  // 0: CONNECT mode
  std::atomic<bool> stopping_{false};
  std::atomic<bool> cut_{false};
  std::mutex mu_;
  std::vector<int> open_fds_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

// A port that was free a moment ago on 127.0.0.1 (for a node's --listen before it starts).
absl::StatusOr<int> FreeLoopbackPort();

}  // namespace hanse::testing

#endif  // HANSE_TESTS_SUPPORT_TCP_PROXY_H_
