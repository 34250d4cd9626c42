// The running node's parts (node/daemon/node.cc builds them, node_metrics.cc exposes their
// gauges). Private to node/daemon.
#ifndef HANSE_NODE_DAEMON_NODE_IMPL_H_
#define HANSE_NODE_DAEMON_NODE_IMPL_H_

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/clock.h"
#include "base/metrics.h"
#include "catalog/catalog.h"
#include "catalog/store.h"
#include "node/daemon/node.h"
#include "node/exchange/exchange.h"
#include "node/federation/membership.h"
#include "node/federation/peers.h"
#include "node/identity/home.h"
#include "node/identity/sequence_ledger.h"
#include "node/ops/ops_server.h"
#include "node/rpc/gossip.h"
#include "node/rpc/servers.h"

namespace hanse::node {

// The running node's parts, in the order they are built (and torn down in reverse).
struct Node::Impl {
  Impl(Home h, const Clock* c) : home(std::move(h)), clock(c), started(c->Now()) {}
  Home home;
  const Clock* clock;
  // Before the servers (whose RPC interceptor counts into it) so it outlives them.
  Metrics metrics;
  std::unique_ptr<catalog::Store> store;
  std::unique_ptr<FileSequenceLedger> sequences;
  std::unique_ptr<catalog::Catalog> catalog;
  std::unique_ptr<Gossip> gossip;
  std::unique_ptr<Membership> membership;
  std::unique_ptr<ExchangePeer> exchange_peer;  // before the exchange that uses it
  std::unique_ptr<Exchange> exchange;
  std::shared_ptr<PeerRegistry> peers;
  std::unique_ptr<Servers> servers;
  std::unique_ptr<OpsServer> ops;  // last: stopped first, while what it reads still exists
  // Runs due duties every second (and at start, for duties that fell due while down).
  std::thread duty_thread;
  // Checks the store's checksums 10 s after the start and every store_scrub_hours.
  std::thread scrub_thread;
  mutable std::mutex scrub_mu;
  std::string scrub_result;  // guarded by scrub_mu: "" before the first scrub
  std::mutex duty_mu;
  std::once_flag synced_logged;
  // The stored self-description states the current facts.
  std::atomic<bool> participant_current{false};
  bool participant_warned = false;
  // The node certificate's end, as on disk (renewed by the duty loop or `hanse cert renew`).
  mutable std::mutex cert_mu;
  absl::Time cert_not_after;
  absl::Time cert_warned = absl::InfinitePast();
  int cert_tick = 0;

  absl::Time CertNotAfter() const {
    std::lock_guard lock(cert_mu);
    return cert_not_after;
  }

  // Every 10 s: notices a renewal made by `hanse cert renew` (or a half-done one), renews when
  // due, and warns once a day from 60 days (or the renewal window) before the end.
  void CheckCertificate();
  std::string endpoint;  // guarded by card_mu
  std::condition_variable duty_wake;
  bool duty_stop = false;
  std::string listen_address;
  absl::Time started;
  std::mutex update_mu;
  mutable std::mutex card_mu;
  std::string card_jws;
  bool shut_down = false;

  // Re-signs the participant self-description when its facts changed (the endpoint, the
  // config); retried by the duty loop while signing is held (no member reached yet).
  void EnsureParticipant();

  std::string Card() const {
    std::lock_guard lock(card_mu);
    return card_jws;
  }
  std::string Endpoint() const {
    std::lock_guard lock(card_mu);
    return endpoint;
  }

  // Signs this node's card with `new_endpoint`, issued after the card the federation holds, and,
  // when the node is a member, records it as a card update that gossip carries to every member
  // (and that the node offers to each member it calls). Peers dial the new address from their
  // next call. Returns the card.
  absl::StatusOr<std::string> UpdateCard(const std::string& new_endpoint);
  // Why the node cannot do its work yet (for /readyz); empty when it can.
  std::vector<std::string> NotReady() const;

  // The gauges read at each scrape; RPC counters and latencies come from the servers.
  void RegisterMetrics();

  CaLookup Lookup() const {
    std::weak_ptr<PeerRegistry> weak = peers;
    return [weak](absl::string_view did) -> absl::StatusOr<std::string> {
      auto registry = weak.lock();
      if (!registry) return absl::UnavailableError("node is shutting down");
      return registry->CaFor(did);
    };
  }
};

}  // namespace hanse::node

#endif  // HANSE_NODE_DAEMON_NODE_IMPL_H_
