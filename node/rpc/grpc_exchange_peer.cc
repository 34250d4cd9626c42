#include "node/rpc/grpc_exchange_peer.h"

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
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
                     absl::Duration idle_timeout,
                     const std::function<bool(hanse::v1::FetchChunk&)>& on_chunk) override {
    grpc::ClientContext ctx;
    // A stream has no deadline (a transfer may take hours), but a provider that sends nothing
    // for `idle_timeout` (frozen, or a link that died silently) is given up on: a watchdog
    // cancels the call, so the abandoned transfer cannot complete later behind the user's back.
    std::mutex mu;
    std::condition_variable changed;
    bool finished = false, idle = false;
    // Idle is time spent waiting for the provider: time in on_chunk (writing, a rate limit) is
    // not its silence.
    bool in_callback = false;
    std::uint64_t reads = 0;  // ticks at the start of every read
    std::thread watchdog([&] {
      std::unique_lock lock(mu);
      std::uint64_t seen = reads;
      while (!finished) {
        if (in_callback) {
          changed.wait(lock, [&] { return finished || !in_callback; });
          seen = reads;
          continue;
        }
        if (changed.wait_for(lock, absl::ToChronoNanoseconds(idle_timeout),
                             [&] { return finished || reads != seen || in_callback; })) {
          seen = reads;
          continue;
        }
        idle = true;
        ctx.TryCancel();
        return;
      }
    });
    auto reader = For(provider)->Fetch(&ctx, req);
    hanse::v1::FetchChunk chunk;
    bool cancelled = false;
    auto busy = [&](bool b) {
      {
        std::lock_guard lock(mu);
        in_callback = b;
        ++reads;
      }
      changed.notify_all();
    };
    while (reader->Read(&chunk)) {
      busy(true);
      const bool go_on = on_chunk(chunk);
      busy(false);
      if (!go_on) {
        cancelled = true;
        ctx.TryCancel();
        break;
      }
    }
    grpc::Status st = reader->Finish();
    {
      std::lock_guard lock(mu);
      finished = true;
    }
    changed.notify_all();
    watchdog.join();
    if (cancelled) return absl::CancelledError("the transfer was stopped by the receiver");
    if (idle) {
      return absl::DeadlineExceededError(absl::StrCat("the provider sent nothing for ",
                                                      absl::FormatDuration(idle_timeout),
                                                      "; the transfer was abandoned"));
    }
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
