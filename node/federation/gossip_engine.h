// The gossip protocol without a network: anti-entropy rounds (one summary first; only on a
// difference, swap per-issuer highest sequences and pull only what is missing, in sequence order,
// and fetch only the membership records not held), eager push of fresh documents along a
// spanning tree (Plumtree: links that deliver duplicates are pruned, links that missed are
// grafted), a bounded partial view of peers, equivocation evidence exchange and peer standing. The
// node runs it over gRPC (node/gossip.h); the simulator (node/sim) runs the very same code over an
// in-memory transport and a simulated clock.
//
// Every received document is verified by Catalog::IngestMany before it is stored; only stored
// (verified) documents are ever served. Peers that send invalid documents lose standing and are
// contacted less often.
#ifndef HANSE_NODE_FEDERATION_GOSSIP_ENGINE_H_
#define HANSE_NODE_FEDERATION_GOSSIP_ENGINE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "base/clock.h"
#include "base/throttle.h"
#include "catalog/catalog.h"
#include "hanse/v1/federation.pb.h"
#include "node/federation/membership.h"
#include "node/identity/card.h"

namespace hanse::node {

struct GossipOptions {
  absl::Duration interval = absl::Seconds(2);
  // Peers contacted per anti-entropy round, picked from the view.
  int fanout = 2;
  // 0: fresh documents travel the push tree (each member passes a new document on to its eager
  // links). Otherwise the publisher pushes to this many random members and nobody passes it on
  // (an epidemic: anti-entropy does the rest).
  int push_fanout = 0;
  // The partial view: the members this node runs anti-entropy with and starts its eager links
  // from, whatever the size of the federation (0: every member). One of them is swapped for a
  // random other member every `view_rotate_rounds` rounds, so the views keep mixing.
  int view_size = 8;
  int view_rotate_rounds = 32;
  int max_batch_documents = 256;
  int max_batch_bytes = 2 << 20;
  absl::Duration call_deadline = absl::Seconds(5);
};

struct GossipStats {
  std::uint64_t rounds = 0;
  std::uint64_t documents_received = 0;
  std::uint64_t documents_stored = 0;
  std::uint64_t documents_rejected = 0;
  std::uint64_t evidence_received = 0;
  // Anti-entropy exchanges that ended at the summary (nothing differed), and those that went on.
  std::uint64_t summaries_equal = 0;
  std::uint64_t summaries_differing = 0;
  // Push calls sent (documents passed on along the tree included), pruned and grafted links.
  std::uint64_t pushes_sent = 0;
  std::uint64_t prunes = 0;
  std::uint64_t grafts = 0;
  // Eager links dropped because a push or graft could not reach the member, and view members
  // replaced at once because an exchange could not reach them.
  std::uint64_t links_dropped = 0;
  std::uint64_t view_replaced = 0;
  // Serialised gossip messages (the protobuf bytes, before HTTP/2 and TLS framing) this node
  // sent and received, as caller and as callee.
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
};

// What this node knows of its gossip with one member (the ops metrics per peer): the
// anti-entropy exchanges it began with the member and how they ended, the bytes both ways (as
// caller and callee), when the member last answered or called, and how far this node was
// behind it when they last compared.
struct PeerGossip {
  std::uint64_t exchanges_ok = 0;
  std::uint64_t exchanges_failed = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  // Documents the member held that this node lacked at the last comparison: 0 after equal
  // summaries, else the sum over issuers of how far the member's head was ahead.
  std::uint64_t behind_documents = 0;
  absl::Time last_success = absl::InfinitePast();  // a call either way that worked
  absl::Time last_seen = absl::InfinitePast();     // a call either way, worked or not
};

// One call per federation RPC to `peer`. Implementations return Unavailable or
// DeadlineExceeded for a peer they cannot reach.
class GossipTransport {
 public:
  virtual ~GossipTransport() = default;
  virtual absl::Status Summary(const MemberCard& peer, const hanse::v1::SummaryRequest& req,
                               hanse::v1::SummaryResponse* resp) = 0;
  virtual absl::Status Digest(const MemberCard& peer, const hanse::v1::DigestRequest& req,
                              hanse::v1::DigestResponse* resp) = 0;
  virtual absl::Status Pull(const MemberCard& peer, const hanse::v1::PullRequest& req,
                            hanse::v1::PullResponse* resp) = 0;
  virtual absl::Status Push(const MemberCard& peer, const hanse::v1::PushRequest& req,
                            hanse::v1::PushResponse* resp) = 0;
  virtual absl::Status Membership(const MemberCard& peer, const hanse::v1::MembershipRequest& req,
                                  hanse::v1::MembershipResponse* resp) = 0;
};

class GossipEngine {
 public:
  // `peers` lists the members to gossip with (never this node itself). `membership` may be null
  // (no federation: only documents replicate). All pointers must outlive the engine.
  GossipEngine(GossipOptions options, catalog::Catalog* catalog, Membership* membership,
               std::function<std::vector<MemberCard>()> peers, GossipTransport* transport,
               const Clock* clock, std::uint64_t seed);

  const GossipOptions& options() const { return options_; }

  // Queues documents for an eager push (after a local publish).
  void QueuePush(std::string jws);
  // Queues a membership record this node signed for the same push (push_fanout 0 only).
  void QueueRecordPush(std::string jws);
  bool HasPendingPush() const;
  // Called when a received push left documents to pass on (the node wakes its loop for
  // PushPending). Set once, before the engine serves calls.
  void OnPushQueued(std::function<void()> wake) { on_push_queued_ = std::move(wake); }
  // Finds a member's card by DID (for a link another member opened); without it the engine
  // reads every member. Set once, before the engine serves calls.
  void SetPeerLookup(std::function<std::optional<MemberCard>(const std::string&)> find) {
    find_peer_ = std::move(find);
  }
  // Pushes the queued documents: along the eager links (push_fanout 0), never back to the
  // member a document came from, or to push_fanout random members.
  void PushPending();
  // One anti-entropy round: SyncWith `fanout` peers of the view picked at random, weighted by
  // standing.
  void AntiEntropyRound();
  // One exchange with `peer`: the summary, then, for what differs, membership records not held,
  // digest, pull, evidence.
  absl::Status SyncWith(const MemberCard& peer);
  // Syncs with up to `max_peers` members (picked at random) at once and returns how many
  // answered. The node runs it at start, before it signs anything: a store restored from an
  // older backup (with its sequence ledger) lacks documents this node signed since, and the
  // members hold them; once they are back, the next sequence continues past them.
  int CatchUp(int max_peers);
  // True once a SyncWith has succeeded (any member answered digest and pull) since the engine
  // was made.
  bool synced() const { return synced_.load(); }
  // Fetches and verifies membership records from `peer` (no standing kept for it).
  absl::Status FetchMembership(const MemberCard& peer);

  // Server side (the caller is already authenticated).
  absl::Status ServeSummary(const hanse::v1::SummaryRequest& req, hanse::v1::SummaryResponse* resp);
  absl::Status ServeDigest(const hanse::v1::DigestRequest& req, hanse::v1::DigestResponse* resp);
  absl::Status ServePull(const hanse::v1::PullRequest& req, hanse::v1::PullResponse* resp);
  absl::Status ServePush(const std::string& caller, const hanse::v1::PushRequest& req,
                         hanse::v1::PushResponse* resp);
  absl::Status ServeMembership(const hanse::v1::MembershipRequest& req,
                               hanse::v1::MembershipResponse* resp);
  // Counts a call `caller` made to this node (`received` in, `sent` back); the services call it.
  void AccountServed(const std::string& caller, const google::protobuf::MessageLite& received,
                     const google::protobuf::MessageLite& sent) {
    Account(caller, sent, received, absl::OkStatus());
  }

  GossipStats stats() const;
  // Per member this node gossiped with lately (bounded: members idle for an hour are dropped).
  std::map<std::string, PeerGossip> peer_stats() const;
  // The members whose last digest listed `issuer` as an equivocator (they hold evidence that it
  // signed one sequence twice). For this node's own DID: who has flagged it.
  std::vector<std::string> FlaggedBy(absl::string_view issuer) const;
  std::map<std::string, int> standing() const;
  // The members changed (an admission, a revocation, a card update): the next round re-reads
  // them. Without it, a federation of more than 64 members re-reads them every
  // view_rotate_rounds rounds.
  void PeersChanged();
  // The partial view and the eager links (DIDs), for status and tests.
  std::vector<std::string> view() const;
  std::vector<std::string> eager() const;
  // The summary this node would send now: hashes of its catalogue heads (with the flagged
  // issuers) and of its membership records.
  absl::StatusOr<hanse::v1::SummaryRequest> Summary() const;

 private:
  // A peer below this standing is contacted only every kLowStandingEvery rounds.
  static constexpr int kLowStanding = -5;
  static constexpr std::uint64_t kLowStandingEvery = 10;
  // A member that could not be reached (as opposed to one that answered with a refusal).
  static bool IsUnreachable(const absl::Status& s);

  struct IngestCounts {
    int stored = 0;
    int rejected = 0;
  };
  // With `stored` (and `stored_jws`), the results (and the documents) of those stored, in order.
  IngestCounts Ingest(const std::string& from, const std::vector<std::string>& docs, bool evidence,
                      std::vector<catalog::IngestResult>* stored = nullptr,
                      std::vector<std::string>* stored_jws = nullptr);
  void IngestMembership(const std::string& from, const hanse::v1::MembershipResponse& resp);
  // SyncWith without the per-member bookkeeping.
  absl::Status Exchange(const MemberCard& peer);
  // The exchange after a differing (or unknown) summary.
  absl::Status SyncMembership(const MemberCard& peer, bool diff);
  absl::Status SyncCatalog(const MemberCard& peer);
  // Records who flags what from a peer's list of flagged issuers.
  void NoteFlagged(const std::string& peer, const std::set<std::string>& listed);
  std::vector<MemberCard> Pick(int count, bool weighted);
  // Refreshes the view against the current members (and rotates it); returns it as cards.
  std::vector<MemberCard> View();
  void Graft(const MemberCard& peer);
  void RefreshPeers();
  // Counts a call between this node and `peer` (`sent` out, `received` back, `result`).
  void Account(const std::string& peer, const google::protobuf::MessageLite& sent,
               const google::protobuf::MessageLite& received, const absl::Status& result);
  // The entry of `peer` in peer_stats_ (mu_ held), made room for when the table is full.
  PeerGossip& PeerEntry(const std::string& peer);
  // A member that did not answer: its eager link goes (a dead link would swallow pushes), and in
  // a federation larger than the view it is swapped for another member at the next round and
  // not taken back into the view for a while.
  void Unreachable(const std::string& peer, bool from_view);

  struct Queued {
    std::string jws;
    std::string from;     // the member it came from; empty for this node's own
    bool record = false;  // a membership record, not a document
  };

  GossipOptions options_;
  catalog::Catalog* catalog_;
  Membership* membership_;
  std::function<std::vector<MemberCard>()> peers_;
  GossipTransport* transport_;
  const Clock* clock_;

  mutable std::mutex mu_;
  std::mt19937_64 rng_;
  std::vector<Queued> push_queue_;
  std::function<void()> on_push_queued_;
  std::function<std::optional<MemberCard>(const std::string&)> find_peer_;
  // The cards of the view and eager links as last read from `peers_` (not every member's: the
  // simulator runs thousands of engines in one process).
  std::map<std::string, MemberCard> known_;
  size_t members_seen_ = 0;
  bool peers_changed_ = true;
  std::uint64_t rotated_round_ = ~std::uint64_t{0};
  std::vector<std::string> view_;
  std::set<std::string> eager_;
  bool eager_started_ = false;
  // Raw hashes of membership records refused as not applicable, so a peer does not send them
  // again (bounded).
  std::set<std::string> refused_records_;
  std::map<std::string, int> standing_;
  std::map<std::string, PeerGossip> peer_stats_;
  // Members left out of the view until this round (they did not answer).
  std::map<std::string, std::uint64_t> unreachable_until_;
  // Issuer -> where documents may be missing: a push delivered a later document than the next
  // one held (pushes race anti-entropy), so the head no longer shows the hole. Syncs with peers
  // at least as far pull from `after`; the hole is settled by a sync with the issuer itself
  // (which holds all of its log), or given up after kMaxGapPulls syncs (a skipped sequence is
  // a hole that never fills).
  struct Gap {
    std::uint64_t after = 0;
    int pulls = 0;
  };
  std::map<std::string, Gap> gaps_;
  // Issuer -> members whose last digest flagged it.
  std::map<std::string, std::set<std::string>, std::less<>> flagged_by_;
  GossipStats stats_;
  Throttle failure_log_{absl::Minutes(5)};
  std::uint64_t round_ = 0;
  std::atomic<bool> synced_{false};
};

}  // namespace hanse::node

#endif  // HANSE_NODE_FEDERATION_GOSSIP_ENGINE_H_
