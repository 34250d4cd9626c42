#include "node/rpc/gossip.h"

#include <grpcpp/grpcpp.h>

#include <random>

#include "absl/strings/str_cat.h"
#include "base/clock.h"
#include "hanse/v1/federation.grpc.pb.h"
#include "node/rpc/channels.h"

namespace hanse::node {

namespace {
// A member left the partial view a minute ago: its connection goes (the view rotates one
// member every few rounds, so a node holds connections to about its view, not to every member).
constexpr int kIdleConnectionMs = 60'000;
}  // namespace

// Federation stubs per member, rebuilt when its endpoint changes. Channels to members check the
// server's certificate against that member's CA; a bootstrap channel (FetchMembership) does not,
// because the records it fetches verify themselves.
class GrpcGossipTransport final : public GossipTransport {
 public:
  GrpcGossipTransport(const Identity* identity, CaLookup ca_lookup, GossipOptions options,
                      const Clock* clock)
      : identity_(identity),
        options_(options),
        stubs_(identity, std::move(ca_lookup), clock,
               {.max_receive_bytes = static_cast<int>(options.max_batch_bytes) + (1 << 20),
                .idle_timeout_ms = kIdleConnectionMs}) {}

  absl::Status Summary(const MemberCard& peer, const hanse::v1::SummaryRequest& req,
                       hanse::v1::SummaryResponse* resp) override {
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    return FromGrpc(StubFor(peer)->Summary(&ctx, req, resp));
  }
  absl::Status Digest(const MemberCard& peer, const hanse::v1::DigestRequest& req,
                      hanse::v1::DigestResponse* resp) override {
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    return FromGrpc(StubFor(peer)->Digest(&ctx, req, resp));
  }
  absl::Status Pull(const MemberCard& peer, const hanse::v1::PullRequest& req,
                    hanse::v1::PullResponse* resp) override {
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    return FromGrpc(StubFor(peer)->Pull(&ctx, req, resp));
  }
  absl::Status Push(const MemberCard& peer, const hanse::v1::PushRequest& req,
                    hanse::v1::PushResponse* resp) override {
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    return FromGrpc(StubFor(peer)->Push(&ctx, req, resp));
  }
  absl::Status Membership(const MemberCard& peer, const hanse::v1::MembershipRequest& req,
                          hanse::v1::MembershipResponse* resp) override {
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    if (peer.did.empty()) {  // bootstrap: any node's address, not yet a known member
      grpc::ChannelArguments args;
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      auto stub = hanse::v1::Federation::NewStub(grpc::CreateCustomChannel(
          peer.endpoint, UnverifiedServerChannelCredentials(*identity_), args));
      return FromGrpc(stub->Membership(&ctx, req, resp));
    }
    return FromGrpc(StubFor(peer)->Membership(&ctx, req, resp));
  }

 private:
  void SetDeadline(grpc::ClientContext* ctx) const {
    ctx->set_deadline(TransportDeadline(options_.call_deadline));
  }

  hanse::v1::Federation::Stub* StubFor(const MemberCard& peer) { return stubs_.For(peer); }

  const Identity* identity_;
  GossipOptions options_;
  StubCache<hanse::v1::Federation> stubs_;
};

Gossip::Gossip(GossipOptions options, const Identity* identity, PeerRegistry* peers,
               catalog::Catalog* catalog, Membership* membership, CaLookup ca_lookup,
               const Clock* clock)
    : identity_(identity),
      peers_(peers),
      transport_(
          std::make_unique<GrpcGossipTransport>(identity, std::move(ca_lookup), options, clock)) {
  auto list = [peers, self = identity->did] {
    std::vector<MemberCard> out = peers->List();
    std::erase_if(out, [&](const MemberCard& c) { return c.did == self; });
    return out;
  };
  engine_ = std::make_unique<GossipEngine>(options, catalog, membership, std::move(list),
                                           transport_.get(), clock, std::random_device{}());
  engine_->SetPeerLookup([peers, self = identity->did](const std::string& did) {
    return did == self ? std::nullopt : peers->Find(did);
  });
  // Documents a push brought are passed on along the tree from this loop.
  engine_->OnPushQueued([this] {
    {
      std::lock_guard lock(mu_);
      push_now_ = true;
    }
    wake_.notify_all();
  });
}

Gossip::~Gossip() { Stop(); }

namespace {
// Enough members that one of them is likely to hold this node's newest documents (eager pushes
// reach push_fanout members, anti-entropy the rest), few enough to cost one round at start.
constexpr int kCatchUpPeers = 8;
}  // namespace

void Gossip::Start() {
  thread_ = std::thread([this] {
    engine_->CatchUp(kCatchUpPeers);
    NotifySynced();
    Run();
  });
}

void Gossip::NotifySynced() {
  // Taking the lock orders the engine's flag before a waiter's check (no lost wake-up).
  { std::lock_guard lock(mu_); }
  wake_.notify_all();
}

bool Gossip::WaitSynced(absl::Duration timeout) {
  if (engine_->synced()) return true;
  SyncSoon();
  std::unique_lock lock(mu_);
  wake_.wait_until(lock, TransportDeadline(timeout),
                   [this] { return engine_->synced() || stopping_; });
  return engine_->synced();
}

void Gossip::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Gossip::SyncSoon() {
  {
    std::lock_guard lock(mu_);
    sync_now_ = true;
  }
  wake_.notify_all();
}

void Gossip::PushSoon(std::string jws) {
  engine_->QueuePush(std::move(jws));
  {
    std::lock_guard lock(mu_);
    push_now_ = true;
  }
  wake_.notify_all();
}

void Gossip::PushRecordSoon(std::string jws) {
  engine_->QueueRecordPush(std::move(jws));
  {
    std::lock_guard lock(mu_);
    push_now_ = sync_now_ = true;
  }
  wake_.notify_all();
}

absl::Status Gossip::FetchMembership(const std::string& endpoint) {
  MemberCard bootstrap;
  bootstrap.endpoint = endpoint;
  return engine_->FetchMembership(bootstrap);
}

absl::Status Gossip::SyncWith(const std::string& did) {
  auto peer = peers_->Find(did);
  if (!peer) return absl::NotFoundError(absl::StrCat(did, " is not a trusted peer"));
  return engine_->SyncWith(*peer);
}

void Gossip::Run() {
  const absl::Duration interval = engine_->options().interval;
  // Rounds are paced in real time (they are network traffic), whatever clock the engine's
  // decisions run on.
  auto next_round = TransportDeadline(interval);
  while (true) {
    bool push = false, sync = false;
    {
      std::unique_lock lock(mu_);
      bool woken = wake_.wait_until(lock, next_round,
                                    [this] { return stopping_ || sync_now_ || push_now_; });
      if (stopping_) return;
      push = push_now_;
      sync = sync_now_ || !woken;
      push_now_ = sync_now_ = false;
    }
    if (push) engine_->PushPending();
    if (sync) {
      engine_->AntiEntropyRound();
      NotifySynced();
      next_round = TransportDeadline(interval);
    }
  }
}

}  // namespace hanse::node
