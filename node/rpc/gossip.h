// The node's replication loop: the gossip protocol (node/gossip_engine.h) over mutually
// authenticated gRPC, on its own thread. Wakes every interval for an anti-entropy round, at once
// for an eager push after a local publish, and on demand (SyncSoon) after membership changes.
#ifndef HANSE_NODE_RPC_GOSSIP_H_
#define HANSE_NODE_RPC_GOSSIP_H_

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "catalog/catalog.h"
#include "node/federation/gossip_engine.h"
#include "node/federation/membership.h"
#include "node/federation/peers.h"
#include "node/identity/card.h"
#include "node/identity/home.h"

namespace hanse::node {

class GrpcGossipTransport;

class Gossip {
 public:
  Gossip(GossipOptions options, const Identity* identity, PeerRegistry* peers,
         catalog::Catalog* catalog, Membership* membership, CaLookup ca_lookup, const Clock* clock);
  ~Gossip();

  // Starts the loop. Its first step is a catch-up: a sync with up to kCatchUpPeers members at
  // once (GossipEngine::CatchUp), before the first round.
  void Start();
  void Stop();
  // Waits (in real time, at most `timeout`) until a sync with some member has completed since
  // start (GossipEngine::synced), asking for a round at once. False when none has.
  bool WaitSynced(absl::Duration timeout);
  // Queues a document for an eager push to peers (after a local publish).
  void PushSoon(std::string jws);
  // Pushes a membership record this node signed along the push tree, and runs an
  // anti-entropy round now.
  void PushRecordSoon(std::string jws);
  // Runs an anti-entropy round now (after a local membership record).
  void SyncSoon();
  // Fetches the membership records from any node (used when joining; records verify
  // themselves, the server is not trusted, nor is its certificate checked against membership).
  absl::Status FetchMembership(const std::string& endpoint);
  // Runs one anti-entropy exchange with `did` now (tests, and the admin "sync" command).
  absl::Status SyncWith(const std::string& did);

  GossipEngine& engine() { return *engine_; }

 private:
  void Run();
  void NotifySynced();

  const Identity* identity_;
  PeerRegistry* peers_;
  std::unique_ptr<GrpcGossipTransport> transport_;
  std::unique_ptr<GossipEngine> engine_;

  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool sync_now_ = false;
  bool push_now_ = false;
  std::thread thread_;
};

}  // namespace hanse::node

#endif  // HANSE_NODE_RPC_GOSSIP_H_
