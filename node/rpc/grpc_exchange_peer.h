// The consumer's ExchangePeer over the federation's mutual TLS: one channel per provider
// (rebuilt when its endpoint changes), the provider's certificate checked against its CA.
#ifndef HANSE_NODE_RPC_GRPC_EXCHANGE_PEER_H_
#define HANSE_NODE_RPC_GRPC_EXCHANGE_PEER_H_

#include <memory>

#include "base/clock.h"
#include "node/exchange/exchange_peer.h"
#include "node/identity/card.h"
#include "node/identity/home.h"

namespace hanse::node {

// `identity` and `clock` must outlive the peer.
std::unique_ptr<ExchangePeer> NewGrpcExchangePeer(const Identity* identity, CaLookup ca_lookup,
                                                  const Clock* clock);

}  // namespace hanse::node

#endif  // HANSE_NODE_RPC_GRPC_EXCHANGE_PEER_H_
