#include "node/federation/gossip_engine.h"

#include <algorithm>
#include <set>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
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
// Syncs that ask for a hole before it is given up (see GossipEngine::gaps_).
constexpr int kMaxGapPulls = 8;
// Evidence pairs served per pull (each pair is two documents).
constexpr size_t kMaxEvidenceIssuers = 64;
// Members' statements about themselves offered per membership call.
constexpr int kMaxOfferedRecords = 64;

bool IsPeersFault(const absl::Status& s) {
  // Storage errors are ours, not the peer's fault.
  switch (s.code()) {
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kFailedPrecondition:
      return true;
    default:
      return false;
  }
}

using Heads = std::map<std::string, catalog::Catalog::Head>;

// What to pull from a peer whose digest is `theirs`: issuer -> pull everything after this
// sequence. Issuers the peer is ahead on, and issuers where both hold the same sequence but
// different statements (the peer's head is pulled, so the conflict is caught as evidence),
// unless we already hold evidence against that issuer.
std::map<std::string, std::uint64_t> Missing(const Heads& mine,
                                             const hanse::v1::DigestResponse& theirs,
                                             const catalog::Catalog& catalog) {
  std::map<std::string, std::uint64_t> after;
  for (const auto& h : theirs.heads()) {
    auto it = mine.find(h.issuer());
    std::uint64_t have = it == mine.end() ? 0 : it->second.sequence;
    if (h.sequence() > have) {
      after[h.issuer()] = have;
    } else if (h.sequence() == have && have > 0 && !h.payload_hash().empty() &&
               !it->second.payload_hash.empty() && h.payload_hash() != it->second.payload_hash &&
               !catalog.IsFlagged(h.issuer())) {
      after[h.issuer()] = have - 1;
    }
  }
  return after;
}

void AddHeads(const Heads& heads, google::protobuf::RepeatedPtrField<hanse::v1::IssuerHead>* out) {
  for (const auto& [issuer, head] : heads) {
    auto* h = out->Add();
    h->set_issuer(issuer);
    h->set_sequence(head.sequence);
    h->set_payload_hash(head.payload_hash);
  }
}

}  // namespace

GossipEngine::GossipEngine(GossipOptions options, catalog::Catalog* catalog, Membership* membership,
                           std::function<std::vector<MemberCard>()> peers,
                           GossipTransport* transport, const Clock* clock, std::uint64_t seed)
    : options_(options),
      catalog_(catalog),
      membership_(membership),
      peers_(std::move(peers)),
      transport_(transport),
      clock_(clock),
      rng_(seed) {}

void GossipEngine::QueuePush(std::string jws) {
  std::lock_guard lock(mu_);
  if (push_queue_.size() < kMaxPushDocuments) push_queue_.push_back(std::move(jws));
}

bool GossipEngine::HasPendingPush() const {
  std::lock_guard lock(mu_);
  return !push_queue_.empty();
}

std::vector<std::string> GossipEngine::FlaggedBy(absl::string_view issuer) const {
  std::lock_guard lock(mu_);
  auto it = flagged_by_.find(issuer);
  if (it == flagged_by_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

GossipStats GossipEngine::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

std::map<std::string, int> GossipEngine::standing() const {
  std::lock_guard lock(mu_);
  return standing_;
}

std::vector<MemberCard> GossipEngine::Pick(int count, bool weighted) {
  std::vector<MemberCard> all = peers_();
  std::lock_guard lock(mu_);
  std::vector<MemberCard> eligible;
  for (auto& p : all) {
    int s = standing_[p.did];
    if (!weighted || s > kLowStanding || round_ % kLowStandingEvery == 0) {
      eligible.push_back(std::move(p));
    }
  }
  std::shuffle(eligible.begin(), eligible.end(), rng_);
  if (count > 0 && eligible.size() > static_cast<size_t>(count)) eligible.resize(count);
  return eligible;
}

void GossipEngine::PushPending() {
  std::vector<std::string> docs;
  {
    std::lock_guard lock(mu_);
    docs.swap(push_queue_);
  }
  if (docs.empty()) return;
  hanse::v1::PushRequest req;
  for (auto& d : docs) req.add_documents(std::move(d));
  for (const auto& peer : Pick(options_.push_fanout, /*weighted=*/false)) {
    hanse::v1::PushResponse resp;
    absl::Status st = transport_->Push(peer, req, &resp);
    if (!st.ok()) log::Debug("push failed", {{"peer", peer.did}, {"error", st.ToString()}});
  }
}

void GossipEngine::AntiEntropyRound() {
  {
    std::lock_guard lock(mu_);
    ++round_;
    ++stats_.rounds;
  }
  for (const auto& peer : Pick(options_.fanout, /*weighted=*/true)) {
    absl::Status s = SyncWith(peer);
    if (!s.ok()) log::Debug("gossip round failed", {{"peer", peer.did}, {"error", s.ToString()}});
  }
}

int GossipEngine::CatchUp(int max_peers) {
  std::vector<MemberCard> peers = Pick(max_peers, /*weighted=*/false);
  std::vector<absl::Status> results(peers.size());
  std::vector<std::thread> threads;
  threads.reserve(peers.size());
  for (size_t i = 0; i < peers.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = SyncWith(peers[i]); });
  }
  for (auto& t : threads) t.join();
  int answered = 0;
  for (size_t i = 0; i < peers.size(); ++i) {
    if (results[i].ok()) {
      ++answered;
    } else {
      log::Debug("catch-up sync failed",
                 {{"peer", peers[i].did}, {"error", results[i].ToString()}});
    }
  }
  return answered;
}

GossipEngine::IngestCounts GossipEngine::Ingest(const std::string& from,
                                                const std::vector<std::string>& docs, bool evidence,
                                                std::vector<catalog::IngestResult>* stored_out) {
  if (docs.empty()) return {};
  auto results = catalog_->IngestMany(docs);
  int stored = 0, rejected = 0;
  for (const auto& r : results) {
    if (!r.ok()) {
      if (IsPeersFault(r.status())) ++rejected;
      continue;
    }
    if (r->outcome == catalog::IngestOutcome::kStored) {
      ++stored;
      if (stored_out != nullptr) stored_out->push_back(*r);
    }
    if (r->outcome == catalog::IngestOutcome::kEquivocation && !evidence) {
      log::Warn("equivocation received", {{"from", from}, {"id", r->id}});
    }
  }
  std::lock_guard lock(mu_);
  stats_.documents_received += docs.size();
  if (evidence) stats_.evidence_received += docs.size();
  stats_.documents_stored += stored;
  stats_.documents_rejected += rejected;
  if (from.empty()) return {stored, rejected};
  int& s = standing_[from];
  s = std::clamp(s - 2 * rejected + (stored > 0 ? 1 : 0), kMinStanding, kMaxStanding);
  if (rejected > 0) {
    log::Warn(
        "peer sent invalid documents; standing lowered",
        {{"peer", from}, {"rejected", std::to_string(rejected)}, {"standing", std::to_string(s)}});
  }
  return {stored, rejected};
}

void GossipEngine::IngestMembership(const std::string& from,
                                    const hanse::v1::MembershipResponse& resp) {
  if (membership_ == nullptr || !membership_->joined()) return;
  int rejected = 0;
  for (const auto& record : resp.records()) {
    auto added = membership_->AddRecord(record, clock_->Now());
    // Full, or a record that verifies but no longer applies (its signer left): not the peer's
    // fault.
    if (!added.ok() && added.status().code() != absl::StatusCode::kResourceExhausted &&
        added.status().code() != absl::StatusCode::kFailedPrecondition) {
      ++rejected;
    }
  }
  if (rejected > 0 && !from.empty()) {
    std::lock_guard lock(mu_);
    int& s = standing_[from];
    s = std::clamp(s - 2 * rejected, kMinStanding, kMaxStanding);
    log::Warn("peer sent invalid membership records",
              {{"peer", from}, {"rejected", std::to_string(rejected)}});
  }
}

absl::Status GossipEngine::FetchMembership(const MemberCard& peer) {
  auto charter = membership_ ? membership_->charter() : std::nullopt;
  if (!charter) return absl::FailedPreconditionError("join a federation first");
  hanse::v1::MembershipRequest req;
  req.set_federation_id(charter->id);
  for (auto& r : membership_->SelfStatements(kMaxOfferedRecords)) req.add_records(std::move(r));
  hanse::v1::MembershipResponse resp;
  HANSE_RETURN_IF_ERROR(transport_->Membership(peer, req, &resp),
                        absl::StrCat("fetching membership from ", peer.endpoint));
  IngestMembership("", resp);
  return absl::OkStatus();
}

absl::Status GossipEngine::SyncWith(const MemberCard& peer) {
  if (auto charter = membership_ ? membership_->charter() : std::nullopt) {
    hanse::v1::MembershipRequest mreq;
    mreq.set_federation_id(charter->id);
    for (auto& r : membership_->SelfStatements(kMaxOfferedRecords)) mreq.add_records(std::move(r));
    hanse::v1::MembershipResponse mresp;
    absl::Status st = transport_->Membership(peer, mreq, &mresp);
    if (st.ok()) {
      IngestMembership(peer.did, mresp);
    } else if (absl::IsUnavailable(st) || absl::IsDeadlineExceeded(st)) {
      return st;
    }
  }
  HANSE_ASSIGN_OR_RETURN(Heads mine, catalog_->HeadDigests());
  hanse::v1::DigestRequest dreq;
  AddHeads(mine, dreq.mutable_heads());
  hanse::v1::DigestResponse dresp;
  HANSE_RETURN_IF_ERROR(transport_->Digest(peer, dreq, &dresp), "digest");

  {
    std::lock_guard lock(mu_);
    std::set<std::string> listed(dresp.flagged().begin(), dresp.flagged().end());
    for (auto it = flagged_by_.begin(); it != flagged_by_.end();) {
      if (!listed.count(it->first)) it->second.erase(peer.did);
      it = it->second.empty() ? flagged_by_.erase(it) : std::next(it);
    }
    // A digest lists every issuer the peer flags; bounded like the evidence asked for.
    size_t n = 0;
    for (const auto& issuer : listed) {
      if (++n > kMaxHeads) break;
      flagged_by_[issuer].insert(peer.did);
    }
  }
  std::vector<std::string> evidence_for;
  for (const auto& issuer : dresp.flagged()) {
    if (evidence_for.size() >= kMaxEvidenceIssuers) break;
    if (!catalog_->IsFlagged(issuer)) evidence_for.push_back(issuer);
  }
  std::map<std::string, std::uint64_t> after = Missing(mine, dresp, *catalog_);
  std::vector<std::string> gaps_asked;
  {
    std::lock_guard lock(mu_);
    for (const auto& h : dresp.heads()) {
      auto gap = gaps_.find(h.issuer());
      if (gap == gaps_.end() || h.sequence() <= gap->second.after) continue;
      auto it = mine.find(h.issuer());
      if (it != mine.end() && h.sequence() < it->second.sequence) continue;  // behind us
      auto [a, added] = after.emplace(h.issuer(), gap->second.after);
      if (!added) a->second = std::min(a->second, gap->second.after);
      gaps_asked.push_back(h.issuer());
    }
  }
  bool complete = after.empty();
  for (int round = 0; (!after.empty() || !evidence_for.empty()) && round < kMaxPullRoundsPerPeer;
       ++round) {
    hanse::v1::PullRequest preq;
    for (const auto& [issuer, seq] : after) {
      auto* h = preq.add_after();
      h->set_issuer(issuer);
      h->set_sequence(seq);
    }
    for (auto& issuer : evidence_for) preq.add_evidence_for(std::move(issuer));
    evidence_for.clear();
    preq.set_max_documents(options_.max_batch_documents);
    preq.set_max_bytes(options_.max_batch_bytes);
    hanse::v1::PullResponse presp;
    HANSE_RETURN_IF_ERROR(transport_->Pull(peer, preq, &presp), "pull");
    std::vector<std::string> docs(presp.documents().begin(), presp.documents().end());
    Ingest(peer.did, docs, /*evidence=*/false);
    if (presp.evidence_size() > 0) {
      std::vector<std::string> ev(presp.evidence().begin(), presp.evidence().end());
      Ingest(peer.did, ev, /*evidence=*/true);
    }
    if (!presp.more()) {
      complete = true;
      break;
    }
    // Advance past what we now hold; stop on a peer that serves nothing new.
    HANSE_ASSIGN_OR_RETURN(Heads now_mine, catalog_->HeadDigests());
    auto next = Missing(now_mine, dresp, *catalog_);
    if (next == after) break;
    after = std::move(next);
  }
  // Holes are filled by a peer at least as far as us (or never existed: a skipped sequence).
  if (!complete) return absl::OkStatus();
  synced_ = true;  // this node now holds everything `peer` holds, its own documents included
  std::lock_guard lock(mu_);
  for (const auto& issuer : gaps_asked) {
    auto gap = gaps_.find(issuer);
    if (gap == gaps_.end()) continue;
    // Another peer may have the same hole; the issuer cannot.
    if (issuer == peer.did || ++gap->second.pulls >= kMaxGapPulls) gaps_.erase(gap);
  }
  return absl::OkStatus();
}

absl::Status GossipEngine::ServeDigest(const hanse::v1::DigestRequest& req,
                                       hanse::v1::DigestResponse* resp) {
  if (static_cast<size_t>(req.heads_size()) > kMaxHeads) {
    return absl::ResourceExhaustedError("too many heads in digest");
  }
  HANSE_ASSIGN_OR_RETURN(Heads mine, catalog_->HeadDigests());
  AddHeads(mine, resp->mutable_heads());
  HANSE_ASSIGN_OR_RETURN(auto flagged, catalog_->FlaggedIssuers());
  for (auto& f : flagged) resp->add_flagged(std::move(f));
  return absl::OkStatus();
}

absl::Status GossipEngine::ServePull(const hanse::v1::PullRequest& req,
                                     hanse::v1::PullResponse* resp) {
  if (static_cast<size_t>(req.after_size()) > kMaxHeads) {
    return absl::ResourceExhaustedError("too many issuers in pull");
  }
  if (static_cast<size_t>(req.evidence_for_size()) > kMaxEvidenceIssuers) {
    return absl::ResourceExhaustedError("too many issuers in evidence request");
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
  std::set<std::string> asked(req.evidence_for().begin(), req.evidence_for().end());
  for (const auto& issuer : asked) {
    if (issuer.empty()) continue;
    HANSE_ASSIGN_OR_RETURN(auto evidence, catalog_->Evidence(issuer));
    for (auto& e : evidence) {
      if (e.first_jws.empty() || e.second_jws.empty()) continue;
      if (bytes + e.first_jws.size() + e.second_jws.size() > max_bytes) break;
      bytes += e.first_jws.size() + e.second_jws.size();
      resp->add_evidence(std::move(e.first_jws));
      resp->add_evidence(std::move(e.second_jws));
    }
  }
  return absl::OkStatus();
}

absl::Status GossipEngine::ServePush(const std::string& caller, const hanse::v1::PushRequest& req,
                                     hanse::v1::PushResponse* resp) {
  if (static_cast<size_t>(req.documents_size()) > kMaxPushDocuments) {
    return absl::ResourceExhaustedError("too many documents in one push");
  }
  std::vector<std::string> docs(req.documents().begin(), req.documents().end());
  HANSE_ASSIGN_OR_RETURN(auto heads, catalog_->Heads());
  // Counted per call: comparing global stats before and after would count concurrent ingests.
  std::vector<catalog::IngestResult> stored;
  IngestCounts counts = Ingest(caller, docs, /*evidence=*/false, &stored);
  {
    // A document past the next one held leaves a hole that the heads no longer show.
    std::lock_guard lock(mu_);
    for (const auto& r : stored) {
      std::string issuer = r.id.substr(0, r.id.find('/'));
      std::uint64_t& held = heads[issuer];
      if (r.sequence > held + 1) {
        auto [it, added] = gaps_.emplace(issuer, Gap{held, 0});
        if (!added) it->second.after = std::min(it->second.after, held);
      }
      held = std::max(held, r.sequence);
    }
  }
  resp->set_stored(static_cast<uint32_t>(counts.stored));
  resp->set_rejected(static_cast<uint32_t>(counts.rejected));
  return absl::OkStatus();
}

absl::Status GossipEngine::ServeMembership(const hanse::v1::MembershipRequest& req,
                                           hanse::v1::MembershipResponse* resp) {
  auto charter = membership_ ? membership_->charter() : std::nullopt;
  if (!charter || charter->id != req.federation_id()) {
    return absl::NotFoundError("this node is not in that federation");
  }
  // Offered statements verify themselves; at most kMaxOfferedRecords are looked at.
  int offered = 0;
  for (const auto& record : req.records()) {
    if (++offered > kMaxOfferedRecords) break;
    auto added = membership_->AddRecord(record, clock_->Now());
    (void)added;  // a record already held, or one that does not verify, changes nothing
  }
  resp->set_charter(CharterFile(*charter));
  for (auto& r : membership_->records()) resp->add_records(std::move(r));
  return absl::OkStatus();
}

}  // namespace hanse::node
