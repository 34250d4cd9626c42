// The operations endpoint: plain HTTP on its own port (config "ops_listen"), for probes and
// Prometheus. /livez answers while the process serves; /readyz says whether the node can do its
// work (and why not, one reason per line); /metrics is the Prometheus text format. It serves no
// data and takes no commands. See docs/observability.md.
#ifndef HANSE_NODE_OPS_OPS_SERVER_H_
#define HANSE_NODE_OPS_OPS_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "node/identity/config.h"

namespace hanse::node {

class OpsServer {
 public:
  struct Handlers {
    std::function<std::string()> metrics;
    // Why the node is not ready; empty when it is.
    std::function<std::vector<std::string>()> not_ready;
  };

  // Binds `listen` (port 0: any free port) and serves on a thread of its own.
  static absl::StatusOr<std::unique_ptr<OpsServer>> Start(const HostPort& listen,
                                                          Handlers handlers);
  ~OpsServer();
  OpsServer(const OpsServer&) = delete;
  OpsServer& operator=(const OpsServer&) = delete;

  // HOST:PORT as bound.
  std::string address() const;

 private:
  struct Impl;
  explicit OpsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hanse::node

#endif  // HANSE_NODE_OPS_OPS_SERVER_H_
