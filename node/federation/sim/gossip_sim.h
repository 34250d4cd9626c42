// An in-process gossip simulator: N nodes, each a real Catalog (documents verified, stored and
// indexed) driven by the real GossipEngine, connected by an in-memory transport that can crash
// nodes and partition the network, under one simulated clock.
//
// Time advances in rounds of one gossip interval. In each round every live node, in a random
// order, pushes what it published and runs one anti-entropy round; calls complete at once. The
// order models unsynchronised timers: a node informed early in a round may pass the document on
// within the same interval, as it would when its timer fires later than its neighbour's.
//
// Traffic is accounted per call as the serialised size of request and response (the protobuf
// bytes gRPC carries, before HTTP/2 and TLS framing), and as payload documents sent.
#ifndef HANSE_NODE_FEDERATION_SIM_GOSSIP_SIM_H_
#define HANSE_NODE_FEDERATION_SIM_GOSSIP_SIM_H_

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/clock.h"
#include "catalog/catalog.h"
#include "catalog/store.h"
#include "node/federation/gossip_engine.h"
#include "trust/keys.h"

namespace hanse::node::sim {

struct SimOptions {
  int nodes = 16;
  GossipOptions gossip;
  std::uint64_t seed = 1;
  // When set, node i keeps its catalogue in a RocksDB store under STORE_DIR/i (benchmarks of the
  // real ingest path); otherwise in memory.
  std::string store_dir;
};

struct Traffic {
  std::uint64_t calls = 0;
  std::uint64_t failed_calls = 0;  // to crashed or partitioned nodes
  std::uint64_t bytes = 0;         // request + response, serialised
  std::uint64_t payload_documents = 0;
  std::uint64_t payload_bytes = 0;
  std::uint64_t push_calls = 0;  // pushes and grafts
  std::uint64_t summary_calls = 0;
};

class Simulation {
 public:
  static absl::StatusOr<std::unique_ptr<Simulation>> Create(const SimOptions& options);
  ~Simulation();

  int size() const { return static_cast<int>(nodes_.size()); }
  const std::string& did(int node) const;
  // The card `node` is known by to the others (for calling its engine's SyncWith directly).
  const MemberCard& card(int node) const;
  catalog::Catalog& catalog(int node);
  GossipEngine& engine(int node);
  SimulatedClock& clock() { return clock_; }

  // A crashed node answers nothing and runs no rounds; its store is kept for a restart.
  void Crash(int node);
  void Restart(int node);
  bool alive(int node) const;
  // Splits the network: calls between nodes with different sides fail. Heal() joins it again.
  void Partition(const std::vector<int>& side_of_node);
  void Heal();

  // Signs a new dataset document as `node` (a fresh name or a new version of an existing one),
  // stores it there and queues it for the eager push. Returns the stored document.
  absl::StatusOr<catalog::StoredDocument> Publish(int node, const std::string& name);
  // Signs a document at an explicit sequence without storing it (hostile scenarios).
  absl::StatusOr<std::string> Sign(int node, const std::string& name, std::uint64_t sequence,
                                   const std::string& title);
  // Calls `to`'s Push as if `from` sent it (a peer's documents, good or bad).
  absl::Status DeliverPush(int from, int to, const std::vector<std::string>& documents);

  // One gossip interval (see the file comment).
  void Round();
  // Rounds until every live node holds `id` at `sequence` or newer; -1 after `max_rounds`.
  int RunUntilHeld(const std::string& id, std::uint64_t sequence, int max_rounds);
  // Rounds until every live node has the same per-issuer heads; -1 after `max_rounds`.
  int RunUntilConverged(int max_rounds);
  // Live nodes holding `id` at `sequence` or newer.
  int Holding(const std::string& id, std::uint64_t sequence);
  bool Converged();

  const Traffic& traffic() const { return traffic_; }
  // The most distinct members any node called, or was called by, since the last reset: the
  // connections a node would hold.
  size_t MaxPeersContacted() const;
  void ResetTraffic();

 private:
  class Transport;
  struct Node;
  explicit Simulation(const SimOptions& options);
  // The node `to` as reached from `from`: null when crashed or partitioned away.
  Node* Reach(int from, const std::string& to_did);
  void Count(int from, int to, std::uint64_t bytes, std::uint64_t payload_docs,
             std::uint64_t payload_bytes);
  // Pushes passed on along the tree go out at once, as on the network.
  void DrainPushes();

  SimOptions options_;
  SimulatedClock clock_;
  std::mt19937_64 rng_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::map<std::string, int> index_;  // DID -> node
  std::vector<int> side_;
  Traffic traffic_;
  std::vector<std::set<int>> contacted_;
  std::set<int> pushing_;  // nodes with documents to pass on
};

}  // namespace hanse::node::sim

#endif  // HANSE_NODE_FEDERATION_SIM_GOSSIP_SIM_H_
