// The running node: federation server (mTLS), admin server (unix socket), store and trust
// list. No grpcpp in this header; see node.cc.
#ifndef HANSE_NODE_DAEMON_NODE_H_
#define HANSE_NODE_DAEMON_NODE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/clock.h"

namespace hanse::node {

class Node {
 public:
  struct Options {
    std::string home;
    // The node's time for everything it decides (validity, windows, duties, audit). Must
    // outlive the node; tests pass a SimulatedClock.
    const Clock* clock = &Clock::Real();
    // Sign (publish) even when no member has been reached since start. Only for a home that
    // was not restored from a backup: see docs/operations.md, "The node's own sequences".
    bool sign_without_peers = false;
  };
  // Loads the home, opens the store and starts both servers. Errors say what to do.
  static absl::StatusOr<std::unique_ptr<Node>> Start(const Options& options);
  static absl::StatusOr<std::unique_ptr<Node>> Start(const std::string& home_dir) {
    return Start(Options{.home = home_dir});
  }
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const std::string& did() const;
  // The bound federation address (the real port when the config asked for port 0).
  std::string listen_address() const;
  std::string admin_socket() const;
  absl::Duration shutdown_grace() const;

  // Stops accepting, lets calls in flight finish until `grace` has passed (then cancels
  // them), closes the store, removes the admin socket.
  absl::Status Shutdown(absl::Duration grace);

  struct Impl;

 private:
  explicit Node(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hanse::node

#endif  // HANSE_NODE_DAEMON_NODE_H_
