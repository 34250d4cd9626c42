// The federation's live search over mutual TLS (the PeerSearch of node/federation/live_search.h).
#include <grpcpp/grpcpp.h>

#include <memory>

#include "base/status.h"
#include "hanse/v1/federation.grpc.pb.h"
#include "node/rpc/admin_handlers.h"
#include "node/rpc/channels.h"
#include "node/rpc/services.h"
#include "node/rpc/tls.h"

namespace hanse::node {
namespace {

class GrpcPeerSearch final : public PeerSearch {
 public:
  explicit GrpcPeerSearch(const NodeParts* node) : node_(node) {}

  absl::StatusOr<hanse::v1::PeerSearchResponse> Search(
      const MemberCard& member, const hanse::v1::PeerSearchRequest& request) override {
    // An own connection per member and search: one slow member does not hold up the others'
    // streams, and the search does not queue behind a transfer on the shared channel.
    auto stub = hanse::v1::Federation::NewStub(
        MemberChannel(node_->home->identity, node_->lookup, member.endpoint, member.did,
                      *node_->clock, {.own_connection = true}));
    grpc::ClientContext ctx;
    ctx.set_deadline(TransportDeadline(kLiveSearchDeadline));
    hanse::v1::PeerSearchResponse response;
    HANSE_RETURN_IF_ERROR(FromGrpc(stub->Search(&ctx, request, &response)));
    return response;
  }

 private:
  const NodeParts* node_;
};

}  // namespace

std::unique_ptr<PeerSearch> NewGrpcPeerSearch(const NodeParts* node) {
  return std::make_unique<GrpcPeerSearch>(node);
}

}  // namespace hanse::node
