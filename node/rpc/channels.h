// Channels to other members, built one way: mutual TLS with this node's certificate, the
// server's certificate checked against the CA of the DID it must prove. Stubs are cached per
// member and rebuilt when its endpoint changes.
#ifndef HANSE_NODE_RPC_CHANNELS_H_
#define HANSE_NODE_RPC_CHANNELS_H_

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "base/clock.h"
#include "node/identity/card.h"
#include "node/identity/home.h"
#include "node/rpc/tls.h"

namespace hanse::node {

struct ChannelOptions {
  // A connection of its own (a ping, a live search), not shared with long-lived traffic.
  bool own_connection = false;
  // Tuned for one long stream that should fill the link (a transfer).
  bool bulk = false;
  // The largest message accepted (0: gRPC's default).
  int max_receive_bytes = 0;
  // A channel unused this long drops its connection (and dials again when next used); 0: gRPC's
  // default (30 minutes). Keeps a node's connections to the members it talks to now.
  int idle_timeout_ms = 0;
};

// A channel to `endpoint` whose server must prove `expected_did` (any trusted member when
// empty). A member that was unreachable is retried within seconds of coming back.
std::shared_ptr<grpc::Channel> MemberChannel(const Identity& identity, const CaLookup& lookup,
                                             const std::string& endpoint, std::string expected_did,
                                             const Clock& clock,
                                             const ChannelOptions& options = {});

// Stubs of `Service` per member. `identity` and `clock` must outlive the cache.
template <typename Service>
class StubCache {
 public:
  StubCache(const Identity* identity, CaLookup lookup, const Clock* clock, ChannelOptions options)
      : identity_(identity), lookup_(std::move(lookup)), clock_(clock), options_(options) {}

  typename Service::Stub* For(const MemberCard& peer) {
    std::lock_guard lock(mu_);
    auto& entry = stubs_[peer.did];
    if (!entry.second || entry.first != peer.endpoint) {
      entry = {peer.endpoint, Service::NewStub(MemberChannel(*identity_, lookup_, peer.endpoint,
                                                             peer.did, *clock_, options_))};
    }
    return entry.second.get();
  }

 private:
  const Identity* identity_;
  CaLookup lookup_;
  const Clock* clock_;
  ChannelOptions options_;
  std::mutex mu_;
  std::map<std::string, std::pair<std::string, std::unique_ptr<typename Service::Stub>>> stubs_;
};

}  // namespace hanse::node

#endif  // HANSE_NODE_RPC_CHANNELS_H_
