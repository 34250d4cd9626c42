// How the consumer side reaches a provider. The node runs it over the federation's mutual TLS
// (node/rpc/grpc_exchange_peer); tests run provider and consumer in one process through
// MemoryExchangePeer (node/exchange/memory_peer.h), as node/federation/sim does for gossip.
#ifndef HANSE_NODE_EXCHANGE_EXCHANGE_PEER_H_
#define HANSE_NODE_EXCHANGE_EXCHANGE_PEER_H_

#include <functional>

#include "absl/status/status.h"
#include "hanse/v1/exchange.pb.h"
#include "node/identity/card.h"

namespace hanse::node {

class ExchangePeer {
 public:
  virtual ~ExchangePeer() = default;
  virtual absl::Status Negotiate(const MemberCard& provider, const hanse::v1::NegotiateRequest& req,
                                 hanse::v1::NegotiateResponse* resp) = 0;
  virtual absl::Status Countersign(const MemberCard& provider,
                                   const hanse::v1::CountersignRequest& req,
                                   hanse::v1::CountersignResponse* resp) = 0;
  // Streams a transfer: `on_chunk` sees each chunk in order (and may take its data); returning
  // false cancels the stream (the result is then Cancelled). When nothing arrives for
  // `idle_timeout` the stream is cancelled and the result is DeadlineExceeded.
  virtual absl::Status Fetch(const MemberCard& provider, const hanse::v1::FetchRequest& req,
                             absl::Duration idle_timeout,
                             const std::function<bool(hanse::v1::FetchChunk&)>& on_chunk) = 0;
  virtual absl::Status Acknowledge(const MemberCard& provider,
                                   const hanse::v1::AcknowledgeRequest& req,
                                   hanse::v1::AcknowledgeResponse* resp) = 0;
  virtual absl::Status ReportDuty(const MemberCard& provider,
                                  const hanse::v1::ReportDutyRequest& req) = 0;
};

}  // namespace hanse::node

#endif  // HANSE_NODE_EXCHANGE_EXCHANGE_PEER_H_
