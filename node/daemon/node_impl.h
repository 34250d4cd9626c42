// Internal to node/: the running node's state, shared by the daemon (node.cc) and its two
// gRPC services (federation_service.cc, admin_service.cc). Includes grpcpp: never include it
// outside node/.
#ifndef HANSE_NODE_DAEMON_NODE_IMPL_H_
#define HANSE_NODE_DAEMON_NODE_IMPL_H_

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "catalog/catalog.h"
#include "catalog/store.h"
#include "hanse/v1/admin.grpc.pb.h"
#include "node/daemon/node.h"
#include "node/exchange/exchange.h"
#include "node/federation/membership.h"
#include "node/federation/peers.h"
#include "node/identity/card.h"
#include "node/identity/home.h"
#include "node/identity/sequence_ledger.h"
#include "node/rpc/gossip.h"
#include "node/rpc/tls.h"

namespace hanse::node {

inline constexpr size_t kMaxNonceBytes = 128;
inline constexpr size_t kMaxTargetBytes = 512;
inline constexpr absl::Duration kPeerCallDeadline = absl::Seconds(5);
inline constexpr absl::Duration kLiveSearchDeadline = absl::Seconds(2);

struct Node::Impl {
  Impl(Home h, const Clock* c) : home(std::move(h)), clock(c), started(c->Now()) {}
  Home home;
  const Clock* clock;
  std::unique_ptr<catalog::Store> store;
  std::unique_ptr<FileSequenceLedger> sequences;
  std::unique_ptr<catalog::Catalog> catalog;
  std::unique_ptr<Gossip> gossip;
  std::unique_ptr<Membership> membership;
  std::unique_ptr<ExchangePeer> exchange_peer;  // before the exchange that uses it
  std::unique_ptr<Exchange> exchange;
  std::shared_ptr<PeerRegistry> peers;
  std::unique_ptr<grpc::Service> federation_service;
  std::unique_ptr<grpc::Service> admin_service;
  std::unique_ptr<grpc::Service> exchange_service;
  std::unique_ptr<grpc::Service> contracts_service;
  // Runs due duties every second (and at start, for duties that fell due while down).
  std::thread duty_thread;
  std::mutex duty_mu;
  std::condition_variable duty_wake;
  bool duty_stop = false;
  std::unique_ptr<grpc::Server> federation_server;
  std::unique_ptr<grpc::Server> admin_server;
  std::string listen_address;
  absl::Time started;
  mutable std::mutex card_mu;
  std::string card_jws;
  bool shut_down = false;

  std::string Card() const {
    std::lock_guard lock(card_mu);
    return card_jws;
  }
  CaLookup Lookup() const {
    std::weak_ptr<PeerRegistry> weak = peers;
    return [weak](absl::string_view did) -> absl::StatusOr<std::string> {
      auto registry = weak.lock();
      if (!registry) return absl::UnavailableError("node is shutting down");
      return registry->CaFor(did);
    };
  }
};

std::unique_ptr<grpc::Service> NewFederationService(Node::Impl* node);
std::unique_ptr<grpc::Service> NewAdminService(Node::Impl* node);
std::unique_ptr<grpc::Service> NewExchangeService(Node::Impl* node);
std::unique_ptr<grpc::Service> NewContractsService(Node::Impl* node);

// A random id to tie log lines of one admin request together.
std::string NewRequestId();
void ToProto(const MemberCard& card, hanse::v1::Peer* out);

}  // namespace hanse::node

#endif  // HANSE_NODE_DAEMON_NODE_IMPL_H_
