#include "node/gossip.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/log.h"
#include "base/status.h"

namespace hanse::node {
namespace {

constexpr int kMinStanding = -20;
constexpr int kMaxStanding = 20;
// A peer below this standing is contacted only every kLowStandingEvery rounds.
constexpr int kLowStanding = -5;
constexpr std::uint64_t kLowStandingEvery = 10;
constexpr size_t kMaxHeads = 100000;
constexpr size_t kMaxPushDocuments = 1024;
constexpr int kMaxPullRoundsPerPeer = 64;

}  // namespace

Gossip::Gossip(GossipOptions options, const Identity* identity, PeerRegistry* peers,
               catalog::Catalog* catalog, Membership* membership, CaLookup ca_lookup)
    : options_(options),
      identity_(identity),
      peers_(peers),
      catalog_(catalog),
      membership_(membership),
      ca_lookup_(std::move(ca_lookup)) {}

void Gossip::SyncSoon() {
  {
    std::lock_guard lock(mu_);
    sync_now_ = true;
  }
  wake_.notify_all();
}

void Gossip::IngestMembership(const std::string& from, const hanse::v1::MembershipResponse& resp) {
  if (!membership_->joined()) return;
  int rejected = 0;
  for (const auto& record : resp.records()) {
    auto added = membership_->AddRecord(record, absl::Now());
    if (!added.ok() && added.status().code() != absl::StatusCode::kResourceExhausted) ++rejected;
  }
  if (rejected > 0 && !from.empty()) {
    std::lock_guard lock(mu_);
    int& s = standing_[from];
    s = std::clamp(s - 2 * rejected, kMinStanding, kMaxStanding);
    log::Warn("peer sent invalid membership records",
              {{"peer", from}, {"rejected", std::to_string(rejected)}});
  }
}

absl::Status Gossip::FetchMembership(const std::string& endpoint) {
  auto charter = membership_->charter();
  if (!charter) return absl::FailedPreconditionError("join a federation first");
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto stub = hanse::v1::Federation::NewStub(
      grpc::CreateCustomChannel(endpoint, UnverifiedServerChannelCredentials(*identity_), args));
  hanse::v1::MembershipRequest req;
  req.set_federation_id(charter->id);
  hanse::v1::MembershipResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + options_.call_deadline));
  HANSE_RETURN_IF_ERROR(FromGrpc(stub->Membership(&ctx, req, &resp)),
                        absl::StrCat("fetching membership from ", endpoint));
  IngestMembership("", resp);
  return absl::OkStatus();
}

absl::Status Gossip::ServeMembership(const hanse::v1::MembershipRequest& req,
                                     hanse::v1::MembershipResponse* resp) {
  auto charter = membership_->charter();
  if (!charter || charter->id != req.federation_id()) {
    return absl::NotFoundError("this node is not in that federation");
  }
  resp->set_charter(CharterFile(*charter));
  for (auto& r : membership_->records()) resp->add_records(std::move(r));
  return absl::OkStatus();
}

Gossip::~Gossip() { Stop(); }

void Gossip::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Gossip::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Gossip::PushSoon(std::string jws) {
  {
    std::lock_guard lock(mu_);
    if (push_queue_.size() < kMaxPushDocuments) push_queue_.push_back(std::move(jws));
  }
  wake_.notify_all();
}

GossipStats Gossip::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

std::map<std::string, int> Gossip::standing() const {
  std::lock_guard lock(mu_);
  return standing_;
}

hanse::v1::Federation::Stub* Gossip::StubFor(const MemberCard& peer) {
  std::lock_guard lock(mu_);
  auto& entry = stubs_[peer.did];
  if (!entry.second || entry.first != peer.endpoint) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(options_.max_batch_bytes + (1 << 20));
    auto channel = grpc::CreateCustomChannel(
        peer.endpoint, FederationChannelCredentials(*identity_, ca_lookup_, peer.did), args);
    entry = {peer.endpoint, hanse::v1::Federation::NewStub(channel)};
  }
  return entry.second.get();
}

std::vector<MemberCard> Gossip::PickPeers() {
  std::vector<MemberCard> all = peers_->List();
  std::vector<MemberCard> eligible;
  {
    std::lock_guard lock(mu_);
    for (auto& p : all) {
      int s = standing_[p.did];
      if (s > kLowStanding || round_ % kLowStandingEvery == 0) eligible.push_back(std::move(p));
    }
  }
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::shuffle(eligible.begin(), eligible.end(), rng);
  if (eligible.size() > static_cast<size_t>(options_.fanout)) eligible.resize(options_.fanout);
  return eligible;
}

Gossip::IngestCounts Gossip::Ingest(const std::string& from, const std::vector<std::string>& docs) {
  if (docs.empty()) return {};
  auto results = catalog_->IngestMany(docs);
  int stored = 0, rejected = 0;
  for (const auto& r : results) {
    if (!r.ok()) {
      // Storage errors are ours, not the peer's fault.
      if (r.status().code() == absl::StatusCode::kResourceExhausted ||
          r.status().code() == absl::StatusCode::kInvalidArgument ||
          r.status().code() == absl::StatusCode::kUnauthenticated ||
          r.status().code() == absl::StatusCode::kFailedPrecondition) {
        ++rejected;
      }
      continue;
    }
    if (r->outcome == catalog::IngestOutcome::kStored) ++stored;
    if (r->outcome == catalog::IngestOutcome::kEquivocation) {
      log::Warn("equivocation received", {{"from", from}, {"id", r->id}});
    }
  }
  std::lock_guard lock(mu_);
  stats_.documents_received += docs.size();
  stats_.documents_stored += stored;
  stats_.documents_rejected += rejected;
  int& s = standing_[from];
  s = std::clamp(s - 2 * rejected + (stored > 0 ? 1 : 0), kMinStanding, kMaxStanding);
  if (rejected > 0) {
    log::Warn(
        "peer sent invalid documents; standing lowered",
        {{"peer", from}, {"rejected", std::to_string(rejected)}, {"standing", std::to_string(s)}});
  }
  return {stored, rejected};
}

absl::Status Gossip::SyncWith(const std::string& did) {
  auto peer = peers_->Find(did);
  if (!peer) return absl::NotFoundError(absl::StrCat(did, " is not a trusted peer"));
  auto* stub = StubFor(*peer);
  if (auto charter = membership_->charter()) {
    hanse::v1::MembershipRequest mreq;
    mreq.set_federation_id(charter->id);
    hanse::v1::MembershipResponse mresp;
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + options_.call_deadline));
    grpc::Status st = stub->Membership(&ctx, mreq, &mresp);
    if (st.ok()) {
      IngestMembership(did, mresp);
    } else if (st.error_code() == grpc::StatusCode::UNAVAILABLE ||
               st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      return FromGrpc(st);
    }
  }
  HANSE_ASSIGN_OR_RETURN(auto mine, catalog_->Heads());

  hanse::v1::DigestRequest dreq;
  for (const auto& [issuer, seq] : mine) {
    auto* h = dreq.add_heads();
    h->set_issuer(issuer);
    h->set_sequence(seq);
  }
  hanse::v1::DigestResponse dresp;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + options_.call_deadline));
    HANSE_RETURN_IF_ERROR(FromGrpc(stub->Digest(&ctx, dreq, &dresp)), "digest");
  }
  // What the peer has beyond us.
  std::map<std::string, std::uint64_t> after;
  for (const auto& h : dresp.heads()) {
    auto it = mine.find(h.issuer());
    std::uint64_t have = it == mine.end() ? 0 : it->second;
    if (h.sequence() > have) after[h.issuer()] = have;
  }
  for (int round = 0; !after.empty() && round < kMaxPullRoundsPerPeer; ++round) {
    hanse::v1::PullRequest preq;
    for (const auto& [issuer, seq] : after) {
      auto* h = preq.add_after();
      h->set_issuer(issuer);
      h->set_sequence(seq);
    }
    preq.set_max_documents(options_.max_batch_documents);
    preq.set_max_bytes(options_.max_batch_bytes);
    hanse::v1::PullResponse presp;
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + options_.call_deadline));
    HANSE_RETURN_IF_ERROR(FromGrpc(stub->Pull(&ctx, preq, &presp)), "pull");
    std::vector<std::string> docs(presp.documents().begin(), presp.documents().end());
    Ingest(did, docs);
    if (!presp.more()) break;
    // Advance past what we now hold.
    HANSE_ASSIGN_OR_RETURN(auto now_mine, catalog_->Heads());
    std::map<std::string, std::uint64_t> next;
    for (const auto& h : dresp.heads()) {
      auto it = now_mine.find(h.issuer());
      std::uint64_t have = it == now_mine.end() ? 0 : it->second;
      if (h.sequence() > have) next[h.issuer()] = have;
    }
    if (next == after) break;  // no progress: do not loop on a peer that serves nothing new
    after = std::move(next);
  }
  return absl::OkStatus();
}

void Gossip::Run() {
  while (true) {
    std::vector<std::string> to_push;
    {
      std::unique_lock lock(mu_);
      wake_.wait_for(lock, absl::ToChronoNanoseconds(options_.interval),
                     [this] { return stopping_ || sync_now_ || !push_queue_.empty(); });
      if (stopping_) return;
      sync_now_ = false;
      to_push.swap(push_queue_);
      ++round_;
      ++stats_.rounds;
    }
    if (!to_push.empty()) {
      for (const auto& peer : peers_->List()) {
        hanse::v1::PushRequest req;
        for (const auto& d : to_push) req.add_documents(d);
        hanse::v1::PushResponse resp;
        grpc::ClientContext ctx;
        ctx.set_deadline(absl::ToChronoTime(absl::Now() + options_.call_deadline));
        grpc::Status st = StubFor(peer)->Push(&ctx, req, &resp);
        if (!st.ok()) {
          log::Debug("push failed", {{"peer", peer.did}, {"error", st.error_message()}});
        }
      }
      continue;
    }
    for (const auto& peer : PickPeers()) {
      absl::Status s = SyncWith(peer.did);
      if (!s.ok()) log::Debug("gossip round failed", {{"peer", peer.did}, {"error", s.ToString()}});
    }
  }
}

absl::Status Gossip::ServeDigest(const hanse::v1::DigestRequest& req,
                                 hanse::v1::DigestResponse* resp) {
  if (static_cast<size_t>(req.heads_size()) > kMaxHeads) {
    return absl::ResourceExhaustedError("too many heads in digest");
  }
  HANSE_ASSIGN_OR_RETURN(auto mine, catalog_->Heads());
  for (const auto& [issuer, seq] : mine) {
    auto* h = resp->add_heads();
    h->set_issuer(issuer);
    h->set_sequence(seq);
  }
  return absl::OkStatus();
}

absl::Status Gossip::ServePull(const hanse::v1::PullRequest& req, hanse::v1::PullResponse* resp) {
  if (static_cast<size_t>(req.after_size()) > kMaxHeads) {
    return absl::ResourceExhaustedError("too many issuers in pull");
  }
  size_t max_docs = std::clamp<size_t>(req.max_documents(), 1, 1024);
  size_t max_bytes = std::clamp<size_t>(req.max_bytes(), 64 << 10, options_.max_batch_bytes);
  size_t bytes = 0;
  for (const auto& h : req.after()) {
    if (static_cast<size_t>(resp->documents_size()) >= max_docs || bytes >= max_bytes) {
      resp->set_more(true);
      break;
    }
    bool more = false;
    HANSE_ASSIGN_OR_RETURN(auto docs, catalog_->DocumentsAfter(h.issuer(), h.sequence(),
                                                               max_docs - resp->documents_size(),
                                                               max_bytes - bytes, &more));
    for (auto& d : docs) {
      bytes += d.size();
      resp->add_documents(std::move(d));
    }
    if (more) resp->set_more(true);
  }
  return absl::OkStatus();
}

absl::Status Gossip::ServePush(const std::string& caller, const hanse::v1::PushRequest& req,
                               hanse::v1::PushResponse* resp) {
  if (static_cast<size_t>(req.documents_size()) > kMaxPushDocuments) {
    return absl::ResourceExhaustedError("too many documents in one push");
  }
  std::vector<std::string> docs(req.documents().begin(), req.documents().end());
  // Counted per call: comparing global stats before and after would count concurrent ingests.
  IngestCounts counts = Ingest(caller, docs);
  resp->set_stored(static_cast<uint32_t>(counts.stored));
  resp->set_rejected(static_cast<uint32_t>(counts.rejected));
  return absl::OkStatus();
}

}  // namespace hanse::node
