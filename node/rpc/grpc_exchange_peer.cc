#include "node/rpc/grpc_exchange_peer.h"

#include <grpcpp/grpcpp.h>

#include <utility>

#include "hanse/v1/exchange.grpc.pb.h"
#include "node/rpc/channels.h"

namespace hanse::node {
namespace {

constexpr absl::Duration kCallDeadline = absl::Seconds(30);
constexpr absl::Duration kDutyReportDeadline = absl::Seconds(5);

class GrpcExchangePeer final : public ExchangePeer {
 public:
  GrpcExchangePeer(const Identity* identity, CaLookup lookup, const Clock* clock)
      : stubs_(identity, std::move(lookup), clock, {.bulk = true, .max_receive_bytes = 8 << 20}) {}

  absl::Status Negotiate(const MemberCard& provider, const hanse::v1::NegotiateRequest& req,
                         hanse::v1::NegotiateResponse* resp) override {
    grpc::ClientContext ctx;
    ctx.set_deadline(TransportDeadline(kCallDeadline));
    return FromGrpc(For(provider)->Negotiate(&ctx, req, resp));
  }
  absl::Status Countersign(const MemberCard& provider, const hanse::v1::CountersignRequest& req,
                           hanse::v1::CountersignResponse* resp) override {
    grpc::ClientContext ctx;
    ctx.set_deadline(TransportDeadline(kCallDeadline));
    return FromGrpc(For(provider)->Countersign(&ctx, req, resp));
  }
  absl::Status Fetch(const MemberCard& provider, const hanse::v1::FetchRequest& req,
                     const std::function<bool(const hanse::v1::FetchChunk&)>& on_chunk) override {
    grpc::ClientContext ctx;
    auto reader = For(provider)->Fetch(&ctx, req);
    hanse::v1::FetchChunk chunk;
    bool cancelled = false;
    while (reader->Read(&chunk)) {
      if (!on_chunk(chunk)) {
        cancelled = true;
        ctx.TryCancel();
        break;
      }
    }
    grpc::Status st = reader->Finish();
    if (cancelled) return absl::CancelledError("the transfer was stopped by the receiver");
    return FromGrpc(st);
  }
  absl::Status Acknowledge(const MemberCard& provider, const hanse::v1::AcknowledgeRequest& req,
                           hanse::v1::AcknowledgeResponse* resp) override {
    grpc::ClientContext ctx;
    ctx.set_deadline(TransportDeadline(kCallDeadline));
    return FromGrpc(For(provider)->Acknowledge(&ctx, req, resp));
  }
  absl::Status ReportDuty(const MemberCard& provider,
                          const hanse::v1::ReportDutyRequest& req) override {
    grpc::ClientContext ctx;
    ctx.set_deadline(TransportDeadline(kDutyReportDeadline));
    hanse::v1::ReportDutyResponse resp;
    return FromGrpc(For(provider)->ReportDuty(&ctx, req, &resp));
  }

 private:
  hanse::v1::Exchange::Stub* For(const MemberCard& peer) { return stubs_.For(peer); }

  StubCache<hanse::v1::Exchange> stubs_;
};

}  // namespace

std::unique_ptr<ExchangePeer> NewGrpcExchangePeer(const Identity* identity, CaLookup ca_lookup,
                                                  const Clock* clock) {
  return std::make_unique<GrpcExchangePeer>(identity, std::move(ca_lookup), clock);
}

}  // namespace hanse::node
