// The node's two gRPC servers, behind a header without grpcpp: the federation server (mutual
// TLS, for peers: gossip, negotiation, transfer) and the admin server (a private unix socket,
// for the local `hanse` CLI). The composition root (node/daemon) owns the parts and hands the
// services a NodeParts: the narrow view they work on.
#ifndef HANSE_NODE_RPC_SERVERS_H_
#define HANSE_NODE_RPC_SERVERS_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/clock.h"
#include "base/metrics.h"
#include "catalog/catalog.h"
#include "catalog/store.h"
#include "node/exchange/exchange.h"
#include "node/federation/membership.h"
#include "node/federation/peers.h"
#include "node/identity/card.h"
#include "node/identity/config.h"
#include "node/identity/home.h"
#include "node/identity/sequence_ledger.h"
#include "node/rpc/gossip.h"

namespace hanse::node {

// What the services work on. Every pointer is owned by the composition root and outlives the
// servers.
struct NodeParts {
  const Home* home = nullptr;
  const Clock* clock = nullptr;
  catalog::Store* store = nullptr;
  const FileSequenceLedger* sequences = nullptr;
  catalog::Catalog* catalog = nullptr;
  Membership* membership = nullptr;
  Exchange* exchange = nullptr;
  PeerRegistry* peers = nullptr;
  Gossip* gossip = nullptr;
  // This node's current member card (JWS).
  std::function<std::string()> card;
  // The trust list: the CA of a trusted DID.
  CaLookup lookup;
  absl::Time started;
  // The end of the node certificate's validity (it changes when renewed).
  std::function<absl::Time()> node_cert_not_after;
  // Signs and records a card with a new endpoint (see `hanse card update`); returns the card.
  std::function<absl::StatusOr<std::string>(const std::string& endpoint)> update_card;
  // The last store scrub's result ("ok: ...", "FAILED: ..."; "" before the first).
  std::function<std::string()> store_scrub;
  // Where the servers count RPCs (by service, method and code) and their latency; may be null.
  Metrics* metrics = nullptr;
  // The bound federation address (set by Servers::Start once bound).
  std::string listen_address;
};

// Times one search, local (the replica), live (asking every member) or peer (answering a
// member's live search), into hanse_search_duration_seconds{scope} when it goes out of scope.
class SearchTimer {
 public:
  SearchTimer(Metrics* metrics, const char* scope) : metrics_(metrics), scope_(scope) {}
  SearchTimer(const SearchTimer&) = delete;
  SearchTimer& operator=(const SearchTimer&) = delete;
  ~SearchTimer() {
    if (metrics_ != nullptr) {
      Family(metrics_)->Observe({{"scope", scope_}}, absl::ToDoubleSeconds(watch_.Elapsed()));
    }
  }
  // The histogram family (created at start-up, so it is exported before the first search).
  static HistogramFamily* Family(Metrics* metrics) {
    return metrics->Histogram("hanse_search_duration_seconds",
                              "Time to answer a catalogue search, by scope (local, live, peer)");
  }

 private:
  Metrics* metrics_;
  const char* scope_;
  Stopwatch watch_;
};

class Servers {
 public:
  // Starts the federation server on `listen` (the real port when it asks for port 0), then the
  // admin server on the home's admin socket (mode 0600). Errors say what to do.
  static absl::StatusOr<std::unique_ptr<Servers>> Start(const NodeParts& parts,
                                                        const HostPort& listen);
  ~Servers();
  Servers(const Servers&) = delete;
  Servers& operator=(const Servers&) = delete;

  // The bound federation address.
  const std::string& listen_address() const;

  // Health checks report NOT_SERVING, no new calls are accepted, calls in flight may finish
  // until `grace` has passed (then they are cancelled). Idempotent.
  void Shutdown(absl::Duration grace);

  struct Impl;

 private:
  explicit Servers(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hanse::node

#endif  // HANSE_NODE_RPC_SERVERS_H_
