// What the provider and consumer sides of one node share: its home, store, catalogue, peers and
// clock, the contract store, the duty scheduler and the audit log, and the helpers both use.
// Internal to node/exchange.
#ifndef HANSE_NODE_EXCHANGE_COMMON_H_
#define HANSE_NODE_EXCHANGE_COMMON_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "base/clock.h"
#include "catalog/catalog.h"
#include "catalog/store.h"
#include "hanse/v1/exchange.pb.h"
#include "nlohmann/json.hpp"
#include "node/audit/audit_log.h"
#include "node/contract/contract_store.h"
#include "node/contract/duties.h"
#include "node/federation/peers.h"
#include "node/identity/home.h"
#include "policy/request.h"

namespace hanse::node::exchange_internal {

inline constexpr size_t kChunkBytes = 1 << 20;
// How often a running transfer re-evaluates the policy (a window may close mid-stream).
inline constexpr absl::Duration kReevaluateEvery = absl::Milliseconds(500);
// Resumptions of one use before a new use must be claimed.
inline constexpr int kMaxResumes = 8;

std::string Rfc3339(absl::Time t);
// Purposes travel and are stored as full IRIs ("hanse:MedicalResearch" -> https://w3id.org/...).
std::string ExpandIri(absl::string_view iri);
// The start of a negotiation about `dataset` (as the party holds it) under request `id`.
contract::NegotiationStart StartOf(const catalog::Document& dataset, std::string id,
                                   std::string consumer, absl::string_view purpose);

// One direction of this node's transfers since it started, for the metrics.
struct TransferCounters {
  std::atomic<std::uint64_t> bytes{0};      // payload bytes sent or written
  std::atomic<std::int64_t> active{0};      // streams running now
  std::atomic<std::uint64_t> completed{0};  // ended with every byte, checked
  std::atomic<std::uint64_t> failed{0};     // ended otherwise (stopped, refused, interrupted)
};

// Counts one transfer as active while it lives; it ends as failed unless Completed() was called.
class CountedTransfer {
 public:
  explicit CountedTransfer(TransferCounters* counters) : counters_(counters) {
    counters_->active += 1;
  }
  CountedTransfer(const CountedTransfer&) = delete;
  CountedTransfer& operator=(const CountedTransfer&) = delete;
  ~CountedTransfer() {
    counters_->active -= 1;
    (completed_ ? counters_->completed : counters_->failed) += 1;
  }
  void Completed() { completed_ = true; }

 private:
  TransferCounters* counters_;
  bool completed_ = false;
};

struct Common {
  Common(const Home* home, catalog::Store* store, catalog::Catalog* catalog, PeerRegistry* peers,
         std::function<std::string()> card, const Clock* clock)
      : home(home),
        store(store),
        catalog(catalog),
        peers(peers),
        card(std::move(card)),
        clock(clock),
        contracts(store),
        duties(store) {}

  const std::string& self() const { return home->identity.did; }
  // Appends to the audit log (a failure is logged: the step it records already happened).
  void Audit(const std::string& kind, const std::string& subject, const std::string& actor,
             nlohmann::json details);
  // A negotiation step that is written together with its audit entry `kind` (one synced
  // batch; the step fails if the entry cannot be stored). The entry's subject is the
  // negotiation's agreement once it has one, else the negotiation; `details` gains "reason"
  // when `with_reason` is set.
  contract::StepWriter Audited(std::string kind, std::string actor, nlohmann::json details,
                               bool with_reason = false);
  // The facts this node has verified about `consumer` (its signed participant
  // self-description, the certifications it holds) for evaluating a policy at `now`.
  // This node's signed facts about itself: its participant self-description and the
  // certification credentials about it that it holds, for a negotiation request.
  std::vector<std::string> OwnFacts(absl::Time now) const;
  // Signs this node's participant self-description when it holds none yet (a member that was
  // just admitted, before its duty loop got to it), so that its first request carries it.
  absl::Status EnsureOwnParticipant(absl::Time now);
  // Verifies and stores the facts a consumer presented about itself (see OwnFacts): only its
  // own participant self-description and credentials whose subject it is; a document already
  // held, or older than the one held, changes nothing. A document that does not verify, or
  // that is about someone else, refuses the request.
  absl::Status AcceptFacts(const std::string& consumer,
                           const google::protobuf::RepeatedPtrField<std::string>& documents);
  absl::StatusOr<policy::Request> FactsAbout(const std::string& consumer,
                                             const hanse::v1::NegotiateRequest& req,
                                             absl::Time now);
  absl::StatusOr<hanse::v1::ContractInfo> Info(const contract::Negotiation& n);
  // Keeps a verified member card (for evidence bundles).
  absl::Status StoreCard(const std::string& did, const std::string& jws);
  absl::StatusOr<std::string> CardOf(const std::string& did);

  const Home* home;
  catalog::Store* store;
  catalog::Catalog* catalog;
  PeerRegistry* peers;
  std::function<std::string()> card;
  const Clock* clock;
  contract::ContractStore contracts;
  contract::DutyScheduler duties;
  std::unique_ptr<audit::AuditLog> audit;
  TransferCounters sent;      // provider side: Fetch streams to consumers
  TransferCounters received;  // consumer side: fetches from providers
};

}  // namespace hanse::node::exchange_internal

#endif  // HANSE_NODE_EXCHANGE_COMMON_H_
