#include "node/federation/gossip_engine.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "base/status.h"
#include "base/throttle.h"
#include "trust/encoding.h"

namespace hanse::node {
namespace {

constexpr int kMinStanding = -20;
constexpr int kMaxStanding = 20;
constexpr size_t kMaxHeads = 100000;
constexpr size_t kMaxPushDocuments = 1024;
constexpr int kMaxPullRoundsPerPeer = 64;
// Syncs that ask for a hole before it is given up (see GossipEngine::gaps_).
constexpr int kMaxGapPulls = 8;
// Evidence pairs served per pull (each pair is two documents).
constexpr size_t kMaxEvidenceIssuers = 64;
// Members' statements about themselves offered per membership call.
constexpr int kMaxOfferedRecords = 64;
// Record hashes a membership diff request may carry (kMaxMembershipRecords and some).
constexpr int kMaxHeldRecords = 2 * static_cast<int>(kMaxMembershipRecords);
constexpr size_t kMaxRefusedRecords = 10000;
// Eager links kept at most (links others open to this node included).
constexpr size_t kMaxEagerLinks = 64;

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

// SHA-256 over the heads (issuer, sequence, payload hash; in issuer order) and the flagged
// issuers: equal on two nodes exactly when a digest exchange would find nothing to pull.
std::string CatalogRoot(const Heads& heads, const std::vector<std::string>& flagged) {
  std::string all;
  all.reserve(heads.size() * 100 + flagged.size() * 60);
  for (const auto& [issuer, head] : heads) {
    absl::StrAppend(&all, issuer.size(), ":", issuer, head.sequence, ":", head.payload_hash.size(),
                    ":", head.payload_hash);
  }
  std::vector<std::string> sorted = flagged;
  std::sort(sorted.begin(), sorted.end());
  all += "|flagged|";
  for (const auto& f : sorted) absl::StrAppend(&all, f.size(), ":", f);
  return trust::Sha256(all);
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
  if (push_queue_.size() < kMaxPushDocuments) push_queue_.push_back({std::move(jws), ""});
}

void GossipEngine::QueueRecordPush(std::string jws) {
  if (options_.push_fanout > 0) return;  // epidemic mode: records travel by anti-entropy
  std::lock_guard lock(mu_);
  if (push_queue_.size() < kMaxPushDocuments) {
    push_queue_.push_back({std::move(jws), "", /*record=*/true});
  }
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

void GossipEngine::PushPending() {
  std::vector<Queued> queued;
  {
    std::lock_guard lock(mu_);
    queued.swap(push_queue_);
  }
  if (queued.empty()) return;
  std::vector<MemberCard> targets;
  if (options_.push_fanout > 0) {
    targets = Pick(options_.push_fanout, /*weighted=*/false);
  } else {
    View();  // starts the eager links from the view on the first push
    std::vector<std::string> unknown;
    {
      std::lock_guard lock(mu_);
      for (const auto& did : eager_) {
        auto it = known_.find(did);
        if (it != known_.end()) {
          targets.push_back(it->second);
        } else {
          unknown.push_back(did);  // a link another member opened since the last refresh
        }
      }
    }
    std::vector<MemberCard> found;
    if (!unknown.empty() && find_peer_) {
      for (const auto& did : unknown) {
        if (auto c = find_peer_(did)) found.push_back(*std::move(c));
      }
    } else if (!unknown.empty()) {
      for (auto& c : peers_()) {
        if (std::find(unknown.begin(), unknown.end(), c.did) != unknown.end()) {
          found.push_back(std::move(c));
        }
      }
    }
    std::lock_guard lock(mu_);
    for (auto& c : found) {
      known_[c.did] = c;
      targets.push_back(std::move(c));
    }
  }
  for (const auto& peer : targets) {
    hanse::v1::PushRequest req;
    for (const auto& q : queued) {
      if (q.from == peer.did) continue;
      if (!q.record) {
        req.add_documents(q.jws);
      } else if (req.records_size() < kMaxOfferedRecords) {
        req.add_records(q.jws);
      }
    }
    if (req.documents_size() == 0 && req.records_size() == 0) continue;
    hanse::v1::PushResponse resp;
    absl::Status st = transport_->Push(peer, req, &resp);
    Account(peer.did, req, resp, st);
    if (IsUnreachable(st)) Unreachable(peer.did, /*from_view=*/false);
    std::lock_guard lock(mu_);
    ++stats_.pushes_sent;
    if (!st.ok()) {
      log::Debug("push failed", {{"peer", peer.did}, {"error", st.ToString()}});
    } else if (resp.prune() && options_.push_fanout == 0) {
      // The peer had these already: it hears of new documents by another path.
      if (eager_.erase(peer.did) > 0) ++stats_.prunes;
    }
  }
}

void GossipEngine::Graft(const MemberCard& peer) {
  if (options_.push_fanout > 0) return;
  {
    std::lock_guard lock(mu_);
    if (eager_.size() >= kMaxEagerLinks && !eager_.count(peer.did)) return;
    eager_.insert(peer.did);
    ++stats_.grafts;
  }
  hanse::v1::PushRequest req;
  req.set_graft(true);
  hanse::v1::PushResponse resp;
  absl::Status st = transport_->Push(peer, req, &resp);
  Account(peer.did, req, resp, st);
  if (IsUnreachable(st)) Unreachable(peer.did, /*from_view=*/false);
  if (!st.ok()) log::Debug("graft failed", {{"peer", peer.did}, {"error", st.ToString()}});
}

GossipEngine::IngestCounts GossipEngine::Ingest(const std::string& from,
                                                const std::vector<std::string>& docs, bool evidence,
                                                std::vector<catalog::IngestResult>* stored_out,
                                                std::vector<std::string>* stored_jws) {
  if (docs.empty()) return {};
  auto results = catalog_->IngestMany(docs);
  int stored = 0, rejected = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    if (!r.ok()) {
      if (IsPeersFault(r.status())) ++rejected;
      continue;
    }
    if (r->outcome == catalog::IngestOutcome::kStored) {
      ++stored;
      if (stored_out != nullptr) stored_out->push_back(*r);
      if (stored_jws != nullptr && i < docs.size()) stored_jws->push_back(docs[i]);
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
  if (membership_ == nullptr || !membership_->joined() || resp.records_size() == 0) return;
  std::vector<std::string> records(resp.records().begin(), resp.records().end());
  // One batch: verified one by one, stored in one write, membership computed once.
  auto results = membership_->AddRecords(records, clock_->Now());
  int rejected = 0;
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < results.size(); ++i) {
    const auto& added = results[i];
    if (added.ok()) continue;
    // Full, or a record that verifies but no longer applies (its signer left): not the peer's
    // fault. Remembered, so that peers stop offering it.
    if (added.status().code() == absl::StatusCode::kFailedPrecondition) {
      if (refused_records_.size() < kMaxRefusedRecords) {
        refused_records_.insert(trust::Sha256(records[i]));
      }
    } else if (added.status().code() != absl::StatusCode::kResourceExhausted) {
      ++rejected;
    }
  }
  if (rejected > 0 && !from.empty()) {
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
  absl::Status st = transport_->Membership(peer, req, &resp);
  Account(peer.did, req, resp, st);
  HANSE_RETURN_IF_ERROR(st, absl::StrCat("fetching membership from ", peer.endpoint));
  IngestMembership("", resp);
  return absl::OkStatus();
}

absl::StatusOr<hanse::v1::SummaryRequest> GossipEngine::Summary() const {
  hanse::v1::SummaryRequest req;
  HANSE_ASSIGN_OR_RETURN(Heads heads, catalog_->HeadDigests());
  HANSE_ASSIGN_OR_RETURN(auto flagged, catalog_->FlaggedIssuers());
  req.set_catalog_root(CatalogRoot(heads, flagged));
  if (auto charter = membership_ ? membership_->charter() : std::nullopt) {
    req.set_federation_id(charter->id);
    req.set_membership_root(membership_->RecordsRoot());
  }
  return req;
}

void GossipEngine::NoteFlagged(const std::string& peer, const std::set<std::string>& listed) {
  std::lock_guard lock(mu_);
  for (auto it = flagged_by_.begin(); it != flagged_by_.end();) {
    if (!listed.count(it->first)) it->second.erase(peer);
    it = it->second.empty() ? flagged_by_.erase(it) : std::next(it);
  }
  // A digest lists every issuer the peer flags; bounded like the evidence asked for.
  size_t n = 0;
  for (const auto& issuer : listed) {
    if (++n > kMaxHeads) break;
    flagged_by_[issuer].insert(peer);
  }
}

absl::Status GossipEngine::SyncWith(const MemberCard& peer) {
  absl::Status st = Exchange(peer);
  std::lock_guard lock(mu_);
  PeerGossip& p = PeerEntry(peer.did);
  ++(st.ok() ? p.exchanges_ok : p.exchanges_failed);
  return st;
}

absl::Status GossipEngine::Exchange(const MemberCard& peer) {
  HANSE_ASSIGN_OR_RETURN(hanse::v1::SummaryRequest sreq, Summary());
  hanse::v1::SummaryResponse sresp;
  absl::Status st = transport_->Summary(peer, sreq, &sresp);
  Account(peer.did, sreq, sresp, st);
  bool known = st.ok();
  if (!known && !absl::IsUnimplemented(st)) return st;  // unreachable, or refused
  // A peer that predates summaries gets the full exchange.
  bool membership_differs = !sreq.federation_id().empty() &&
                            (!known || (!sresp.membership_root().empty() &&
                                        sresp.membership_root() != sreq.membership_root()));
  bool gaps_open;
  {
    std::lock_guard lock(mu_);
    gaps_open = !gaps_.empty();
  }
  bool catalog_differs = !known || sresp.catalog_root() != sreq.catalog_root() || gaps_open;
  {
    std::lock_guard lock(mu_);
    ++(membership_differs || catalog_differs ? stats_.summaries_differing : stats_.summaries_equal);
  }
  if (membership_differs) {
    absl::Status ms = SyncMembership(peer, /*diff=*/known);
    if (absl::IsUnavailable(ms) || absl::IsDeadlineExceeded(ms)) return ms;
  }
  if (catalog_differs) return SyncCatalog(peer);
  // Equal roots: the peer holds the same heads and flags the same issuers as this node.
  {
    std::lock_guard lock(mu_);
    PeerEntry(peer.did).behind_documents = 0;
  }
  HANSE_ASSIGN_OR_RETURN(auto flagged, catalog_->FlaggedIssuers());
  NoteFlagged(peer.did, {flagged.begin(), flagged.end()});
  synced_ = true;
  return absl::OkStatus();
}

absl::Status GossipEngine::SyncMembership(const MemberCard& peer, bool diff) {
  auto charter = membership_ ? membership_->charter() : std::nullopt;
  if (!charter) return absl::OkStatus();
  hanse::v1::MembershipRequest mreq;
  mreq.set_federation_id(charter->id);
  for (auto& r : membership_->SelfStatements(kMaxOfferedRecords)) mreq.add_records(std::move(r));
  if (diff) {
    mreq.set_diff(true);
    for (auto& h : membership_->RecordHashes()) mreq.add_held(std::move(h));
    std::lock_guard lock(mu_);
    for (const auto& h : refused_records_) mreq.add_held(h);
  }
  hanse::v1::MembershipResponse mresp;
  absl::Status ms = transport_->Membership(peer, mreq, &mresp);
  Account(peer.did, mreq, mresp, ms);
  HANSE_RETURN_IF_ERROR(ms, "membership");
  IngestMembership(peer.did, mresp);
  return absl::OkStatus();
}

absl::Status GossipEngine::SyncCatalog(const MemberCard& peer) {
  HANSE_ASSIGN_OR_RETURN(Heads mine, catalog_->HeadDigests());
  hanse::v1::DigestRequest dreq;  // the callee needs none of this node's heads
  hanse::v1::DigestResponse dresp;
  absl::Status ds = transport_->Digest(peer, dreq, &dresp);
  Account(peer.did, dreq, dresp, ds);
  HANSE_RETURN_IF_ERROR(ds, "digest");
  NoteFlagged(peer.did, {dresp.flagged().begin(), dresp.flagged().end()});
  std::vector<std::string> evidence_for;
  for (const auto& issuer : dresp.flagged()) {
    if (evidence_for.size() >= kMaxEvidenceIssuers) break;
    if (!catalog_->IsFlagged(issuer)) evidence_for.push_back(issuer);
  }
  std::map<std::string, std::uint64_t> after = Missing(mine, dresp, *catalog_);
  std::vector<std::string> gaps_asked;
  {
    std::lock_guard lock(mu_);
    std::uint64_t behind = 0;
    for (const auto& h : dresp.heads()) {
      auto it = mine.find(h.issuer());
      std::uint64_t have = it == mine.end() ? 0 : it->second.sequence;
      if (h.sequence() > have) behind += h.sequence() - have;
    }
    PeerEntry(peer.did).behind_documents = behind;
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
  int pulled_new = 0;
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
    absl::Status ps = transport_->Pull(peer, preq, &presp);
    Account(peer.did, preq, presp, ps);
    HANSE_RETURN_IF_ERROR(ps, "pull");
    std::vector<std::string> docs(presp.documents().begin(), presp.documents().end());
    pulled_new += Ingest(peer.did, docs, /*evidence=*/false).stored;
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
  // New documents came by anti-entropy: the push tree did not bring them here.
  if (pulled_new > 0) Graft(peer);
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

absl::Status GossipEngine::ServeSummary(const hanse::v1::SummaryRequest& req,
                                        hanse::v1::SummaryResponse* resp) {
  HANSE_ASSIGN_OR_RETURN(hanse::v1::SummaryRequest mine, Summary());
  resp->set_catalog_root(mine.catalog_root());
  if (!req.federation_id().empty() && req.federation_id() == mine.federation_id()) {
    resp->set_membership_root(mine.membership_root());
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
  if (req.records_size() > kMaxOfferedRecords) {
    return absl::ResourceExhaustedError("too many membership records in one push");
  }
  const bool tree = options_.push_fanout == 0 && !caller.empty();
  if (req.graft()) {
    if (tree) {
      std::lock_guard lock(mu_);
      if (eager_.size() < kMaxEagerLinks) eager_.insert(caller);
    }
    if (req.documents_size() == 0 && req.records_size() == 0) return absl::OkStatus();
  }
  // Membership records first: a document may come from a member these records admit.
  std::vector<std::string> new_records;
  if (req.records_size() > 0 && membership_ != nullptr && membership_->joined()) {
    std::vector<std::string> records(req.records().begin(), req.records().end());
    auto results = membership_->AddRecords(records, clock_->Now());
    for (size_t i = 0; i < results.size(); ++i) {
      if (results[i].ok() && *results[i]) new_records.push_back(std::move(records[i]));
    }
  }
  std::vector<std::string> docs(req.documents().begin(), req.documents().end());
  HANSE_ASSIGN_OR_RETURN(auto heads, catalog_->Heads());
  // Counted per call: comparing global stats before and after would count concurrent ingests.
  std::vector<catalog::IngestResult> stored;
  std::vector<std::string> stored_jws;
  IngestCounts counts = Ingest(caller, docs, /*evidence=*/false, &stored, &stored_jws);
  bool queued = false;
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
    if (tree && (counts.stored > 0 || !new_records.empty())) {
      // Pass what is new on along the tree; the link it came by is (again) eager.
      if (eager_.size() < kMaxEagerLinks) eager_.insert(caller);
      for (auto& jws : stored_jws) {
        if (push_queue_.size() >= kMaxPushDocuments) break;
        push_queue_.push_back({std::move(jws), caller});
        queued = true;
      }
      for (auto& jws : new_records) {
        if (push_queue_.size() >= kMaxPushDocuments) break;
        push_queue_.push_back({std::move(jws), caller, /*record=*/true});
        queued = true;
      }
    } else if (tree && counts.stored == 0 && counts.rejected == 0 &&
               (!docs.empty() || req.records_size() > 0)) {
      // Nothing new: this node hears of these by another path. Prune the link both ways.
      resp->set_prune(true);
      if (eager_.erase(caller) > 0) ++stats_.prunes;
    }
  }
  if (queued && on_push_queued_) on_push_queued_();
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
  std::vector<std::string> offered;
  for (const auto& record : req.records()) {
    if (offered.size() >= static_cast<size_t>(kMaxOfferedRecords)) break;
    offered.push_back(record);
  }
  // A record already held, or one that does not verify, changes nothing.
  if (!offered.empty()) membership_->AddRecords(offered, clock_->Now());
  if (req.diff()) {
    if (req.held_size() > kMaxHeldRecords) {
      return absl::ResourceExhaustedError("too many record hashes in membership request");
    }
    std::set<std::string> held(req.held().begin(), req.held().end());
    for (auto& r : membership_->RecordsNotIn(held)) resp->add_records(std::move(r));
    return absl::OkStatus();
  }
  resp->set_charter(CharterFile(*charter));
  for (auto& r : membership_->records()) resp->add_records(std::move(r));
  return absl::OkStatus();
}

}  // namespace hanse::node
