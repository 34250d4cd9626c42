// The federation service: what other members may ask of this node. Every RPC first takes the
// caller's DID from its verified certificate and checks it is a current member.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <map>
#include <set>
#include <thread>
#include <type_traits>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/status.h"
#include "base/throttle.h"
#include "base/version.h"
#include "catalog/catalog.h"
#include "catalog/dcat.h"
#include "catalog/query.h"
#include "hanse/v1/admin.grpc.pb.h"
#include "hanse/v1/federation.grpc.pb.h"
#include "node/federation/live_search.h"
#include "node/publishing/publishing.h"
#include "node/rpc/services.h"
#include "trust/did_key.h"
#include "trust/jws.h"

namespace hanse::node {
namespace {

class FederationService final : public hanse::v1::Federation::Service {
 public:
  explicit FederationService(const NodeParts* node) : node_(node) {}

  grpc::Status Ping(grpc::ServerContext* context, const hanse::v1::PingRequest* request,
                    hanse::v1::PingResponse* response) override {
    auto caller = Authorize(*context);
    if (!caller.ok()) return ToGrpc(caller.status(), /*for_peer=*/true);
    if (request->nonce().size() > kMaxNonceBytes) {
      return ToGrpc(absl::InvalidArgumentError("nonce longer than 128 bytes"), /*for_peer=*/true);
    }
    log::Debug("ping", {{"peer", *caller}});
    response->set_nonce(request->nonce());
    response->set_card_jws(node_->card());
    return grpc::Status::OK;
  }

  grpc::Status Summary(grpc::ServerContext* context, const hanse::v1::SummaryRequest* request,
                       hanse::v1::SummaryResponse* response) override {
    return ServeGossip(*context, *request, response, &GossipEngine::ServeSummary);
  }

  grpc::Status Digest(grpc::ServerContext* context, const hanse::v1::DigestRequest* request,
                      hanse::v1::DigestResponse* response) override {
    return ServeGossip(*context, *request, response, &GossipEngine::ServeDigest);
  }

  grpc::Status Pull(grpc::ServerContext* context, const hanse::v1::PullRequest* request,
                    hanse::v1::PullResponse* response) override {
    return ServeGossip(*context, *request, response, &GossipEngine::ServePull);
  }

  grpc::Status Membership(grpc::ServerContext* context, const hanse::v1::MembershipRequest* request,
                          hanse::v1::MembershipResponse* response) override {
    return ServeGossip(*context, *request, response, &GossipEngine::ServeMembership);
  }

  grpc::Status Search(grpc::ServerContext* context, const hanse::v1::PeerSearchRequest* request,
                      hanse::v1::PeerSearchResponse* response) override {
    auto caller = Authorize(*context);
    if (!caller.ok()) return ToGrpc(caller.status(), true);
    const SearchTimer timer(node_->metrics, "peer");
    return ToGrpc(ServePeerSearch(*node_->catalog, *request, response), true);
  }

  grpc::Status Push(grpc::ServerContext* context, const hanse::v1::PushRequest* request,
                    hanse::v1::PushResponse* response) override {
    return ServeGossip(
        *context, *request, response,
        [](GossipEngine& engine, const std::string& caller, const hanse::v1::PushRequest& req,
           hanse::v1::PushResponse* resp) { return engine.ServePush(caller, req, resp); });
  }

 private:
  // A gossip RPC: the caller authorized, served by the engine (`serve`: a member function taking
  // the request and response, or a callable also taking the caller), its bytes counted.
  template <typename Req, typename Resp, typename Serve>
  grpc::Status ServeGossip(const grpc::ServerContext& context, const Req& request, Resp* response,
                           Serve serve) {
    auto caller = Authorize(context);
    if (!caller.ok()) return ToGrpc(caller.status(), /*for_peer=*/true);
    GossipEngine& engine = node_->gossip->engine();
    absl::Status st;
    if constexpr (std::is_member_function_pointer_v<Serve>) {
      st = (engine.*serve)(request, response);
    } else {
      st = serve(engine, *caller, request, response);
    }
    engine.AccountServed(*caller, request, *response);
    return ToGrpc(st, /*for_peer=*/true);
  }

  // Every federation RPC: the caller's DID comes from its certificate and must be trusted now.
  absl::StatusOr<std::string> Authorize(const grpc::ServerContext& context) {
    HANSE_ASSIGN_OR_RETURN(std::string did, CallerDid(context));
    if (!node_->peers->Find(did)) {
      // An applicant not yet admitted, or a member whose departure this node already holds.
      static Throttle throttle(absl::Minutes(1));
      std::uint64_t held_back = 0;
      if (throttle.Allow(did, &held_back)) {
        log::Info("refused call from untrusted peer",
                  {{"peer", did}, {"refused_since_last_line", std::to_string(held_back)}});
      }
      return absl::PermissionDeniedError("caller is not a trusted peer");
    }
    return did;
  }

  const NodeParts* node_;
};

}  // namespace

std::unique_ptr<grpc::Service> NewFederationService(const NodeParts* node) {
  return std::make_unique<FederationService>(node);
}

}  // namespace hanse::node
