// Persistent contract negotiations, agreements and use counts in the node's store (column family
// kContracts). Every state change is one WriteBatch written with sync before the call returns, so
// whatever a caller acknowledges to a peer survives kill -9. docs/contracts.md is the reference.
//
// Typical provider flow (the lead's RPC handlers drive it):
//   BeginProviderNegotiation -> Decide (deny: TERMINATED with the trace) -> Agree (AGREED, the
//   provider's signature) -> AcceptVerification (VERIFIED, the consumer's countersignature)
//   -> Finalize (FINALIZED) -> ClaimUse per transfer. The node takes the middle two as one
//   step (AcceptVerificationAndFinalize).
// Consumer flow: BeginConsumerNegotiation -> ReceiveAgreement (AGREED) -> Countersign (VERIFIED)
//   -> Finalize (FINALIZED).
// The data-bearing steps are idempotent: repeating one that already happened with the same data
// returns the stored record, so a peer may retry an RPC whose answer it lost.
#ifndef HANSE_NODE_CONTRACT_CONTRACT_STORE_H_
#define HANSE_NODE_CONTRACT_CONTRACT_STORE_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "catalog/store.h"
#include "node/contract/negotiation.h"
#include "policy/evaluate.h"
#include "policy/request.h"
#include "trust/keys.h"

namespace hanse::contract {

// What a negotiation starts from. The provider fills dataset version, digest and policy from its
// own catalogue; the consumer from the provider's verified self-description.
struct NegotiationStart {
  std::string id;  // consumer-chosen request id, 1-256 printable ASCII characters
  std::string provider_did;
  std::string consumer_did;
  std::string dataset_id;
  std::uint64_t dataset_version = 0;
  std::string content_digest;  // 64 lower-case hex digits
  std::string policy_json;     // the offer; must parse as an ODRL policy
  std::string purpose;         // an IRI, may be empty
};

// The provider's decision on a negotiation (a denial is a value, not an error).
struct ProviderDecision {
  bool permit = false;
  std::string reason;         // policy::Decision::reason: names the rule and constraint
  std::string decision_json;  // policy::DecisionToJson, trace included
  policy::Decision decision;  // the full decision (duties on permit)
  Negotiation negotiation;    // the record after the decision was stored
};

// What RecoverAfterRestart did to one non-final negotiation.
struct RecoveryAction {
  Role role = Role::kProvider;
  std::string id;
  State before = State::kRequested;
  State after = State::kRequested;
  std::string note;  // "terminated: interrupted by restart", "resume: awaiting ...", ...
};

// How a step's batch (the negotiation's new record and its index entries) becomes durable.
// Without one, the store writes it with sync; the exchange passes one that appends the step's
// audit entry in the same batch (AuditLog::Append), so a step and its record of it are one
// write. `after` is the record the batch stores, `reason` the step's reason.
using StepWriter = std::function<absl::Status(catalog::WriteBatch batch, const Negotiation& after,
                                              absl::string_view reason)>;

class ContractStore {
 public:
  // `store` must outlive this object. Use one ContractStore per Store: the use counter and the
  // read-modify-write of each negotiation's record are serialised by this object's locks, one
  // negotiation at a time (different negotiations proceed in parallel, and their synced writes
  // share the store's group commit).
  explicit ContractStore(catalog::Store* store) : store_(store) {}
  ContractStore(const ContractStore&) = delete;
  ContractStore& operator=(const ContractStore&) = delete;

  // Creates a REQUESTED negotiation for the given role. When a negotiation with the same id and
  // role exists, it is returned unchanged if the request matches (same provider, consumer,
  // dataset id and purpose) and AlreadyExists naming the differing field otherwise.
  // InvalidArgument for malformed fields.
  absl::StatusOr<Negotiation> BeginProviderNegotiation(const NegotiationStart& start,
                                                       absl::Time now,
                                                       const StepWriter& write = nullptr);
  absl::StatusOr<Negotiation> BeginConsumerNegotiation(const NegotiationStart& start,
                                                       absl::Time now,
                                                       const StepWriter& write = nullptr);

  // NotFound when there is no such negotiation.
  absl::StatusOr<Negotiation> Get(Role role, absl::string_view id) const;
  // Negotiations in key order (role, then id); `role` unset = both roles; at most `limit`.
  absl::StatusOr<std::vector<Negotiation>> List(std::optional<Role> role, size_t limit) const;
  // How many negotiations are in each state, per role: [role][state] in kAllStates order. The
  // first call counts the store (every stripe locked); the counts are then kept as steps are
  // stored, so a metrics scrape costs nothing however many negotiations the node holds.
  using StateCounts = std::array<std::array<std::int64_t, std::size(kAllStates)>, 2>;
  absl::StatusOr<StateCounts> CountByState() const;
  // The negotiation that made `agreement_id` (NotFound if none).
  absl::StatusOr<Negotiation> GetByAgreement(Role role, absl::string_view agreement_id) const;

  // A move that carries no data (REQUESTED -> OFFERED, OFFERED -> ACCEPTED, ...). Illegal
  // transitions are FailedPrecondition naming both states; AGREED and VERIFIED need their
  // signatures and are reached only through Agree/ReceiveAgreement and
  // AcceptVerification/Countersign; TERMINATED through Terminate.
  absl::StatusOr<Negotiation> Transition(Role role, absl::string_view id, State to,
                                         absl::string_view reason, absl::Time now);
  // Any non-final state -> TERMINATED with `reason` (required).
  absl::StatusOr<Negotiation> Terminate(Role role, absl::string_view id, absl::string_view reason,
                                        absl::Time now, const StepWriter& write = nullptr);

  // Provider, REQUESTED: evaluates the frozen policy against `request`. Empty request.consumer,
  // .target and .purpose are filled from the negotiation; different values are InvalidArgument.
  // The decision and the request facts are stored either way; a denial also moves the
  // negotiation to TERMINATED with reason = the decision's reason (which names the failed rule
  // and constraint).
  absl::StatusOr<ProviderDecision> Decide(absl::string_view id, policy::Request request,
                                          absl::Time now, const StepWriter& write = nullptr);

  // Provider, REQUESTED or ACCEPTED with a permit stored by Decide: builds the agreement, signs
  // it with `provider_key` (the provider's did:key) and moves to AGREED. Repeated on an AGREED
  // negotiation it returns the stored record (the same token).
  absl::StatusOr<Negotiation> Agree(absl::string_view id, const trust::PrivateKey& provider_key,
                                    absl::Time now, const StepWriter& write = nullptr);

  // Provider, AGREED: checks the consumer's countersignature against the stored provider token
  // (VerifyAgreement) and moves to VERIFIED. Repeated with the same token: the stored record.
  absl::StatusOr<Negotiation> AcceptVerification(absl::string_view id,
                                                 absl::string_view consumer_jws, absl::Time now,
                                                 const StepWriter& write = nullptr);
  // Provider, AGREED or VERIFIED: AcceptVerification and Finalize as one step (one batch; the
  // history shows both states). Repeated with the same token: the stored record.
  absl::StatusOr<Negotiation> AcceptVerificationAndFinalize(absl::string_view id,
                                                            absl::string_view consumer_jws,
                                                            absl::Time now,
                                                            const StepWriter& write = nullptr);

  // Consumer, REQUESTED or ACCEPTED: verifies the provider's token, checks that it is the
  // agreement this negotiation should produce (CheckAgreementMatches) and moves to AGREED.
  // Repeated with the same token: the stored record.
  absl::StatusOr<Negotiation> ReceiveAgreement(absl::string_view id, absl::string_view provider_jws,
                                               absl::Time now, const StepWriter& write = nullptr);

  // Consumer, AGREED: countersigns with `consumer_key` and moves to VERIFIED. Repeated on a
  // VERIFIED or FINALIZED negotiation: the stored record.
  absl::StatusOr<Negotiation> Countersign(absl::string_view id,
                                          const trust::PrivateKey& consumer_key, absl::Time now,
                                          const StepWriter& write = nullptr);

  // Either role, VERIFIED -> FINALIZED (both signatures are checked again). Repeated: the stored
  // record.
  absl::StatusOr<Negotiation> Finalize(Role role, absl::string_view id, absl::Time now,
                                       const StepWriter& write = nullptr);

  // After opening the store, before serving: settles every non-final negotiation.
  //   provider REQUESTED: evaluated again at `now` with the stored request facts; a denial
  //     terminates it (reason and trace as in Decide), a permit keeps it REQUESTED for the
  //     consumer's retry; without stored facts it is terminated.
  //   provider AGREED: kept (the consumer's countersignature may still arrive).
  //   provider VERIFIED: both signatures were verified, so it moves to FINALIZED.
  //   consumer REQUESTED, AGREED, VERIFIED: kept, to be resumed (resend the request, countersign,
  //     resend the verification; the provider answers idempotently).
  //   OFFERED and ACCEPTED (counter-offers): terminated.
  //   Anything not updated within `max_idle` before `now`: terminated.
  // Terminations here have the reason "interrupted by restart" (plus a detail in parentheses).
  absl::StatusOr<std::vector<RecoveryAction>> RecoverAfterRestart(
      absl::Time now, absl::Duration max_idle = absl::Hours(24));

  // Counts one use of a FINALIZED provider agreement and returns its number (1, 2, ...). The
  // new count is written with sync before returning; concurrent calls are serialised, so with
  // `max_uses` = N at most N calls ever succeed. Beyond it: ResourceExhausted. NotFound for an
  // unknown agreement, FailedPrecondition when its negotiation is not FINALIZED.
  absl::StatusOr<std::int64_t> ClaimUse(absl::string_view agreement_id,
                                        std::optional<std::int64_t> max_uses, absl::Time now);
  // Uses counted so far (0 when none).
  absl::StatusOr<std::int64_t> UseCount(absl::string_view agreement_id) const;
  // Takes back use `use` when it is the last one counted (the provider could not deliver the
  // published content: it changed, or came up short), with its open-use record, in one synced
  // write. FailedPrecondition when a later use was counted since: the count stays.
  absl::Status RefundUse(absl::string_view agreement_id, std::int64_t use, absl::Time now);

 private:
  absl::StatusOr<Negotiation> AcceptVerificationStep(absl::string_view id,
                                                     absl::string_view consumer_jws, absl::Time now,
                                                     const StepWriter& write, bool finalize);
  absl::StatusOr<Negotiation> Begin(Role role, const NegotiationStart& start, absl::Time now,
                                    const StepWriter& write);
  absl::StatusOr<Negotiation> GetLocked(Role role, absl::string_view id) const;
  // Moves one record of `role` from state `from` (nullopt: a new record) to `to` in the counts
  // of CountByState, once they are counted. Under the record's stripe lock.
  void CountMove(Role role, std::optional<State> from, State to);
  // Every stored negotiation record, both roles (a record that does not parse stops the scan
  // with its error).
  absl::Status ForEachNegotiation(const std::function<void(Negotiation)>& fn) const;
  // Appends the history entry for `to` (when it differs from the current state) and writes the
  // record plus `extra` in one synced batch (through `write` when given).
  // `created`: the record is new (Begin), for CountByState.
  absl::Status Commit(Negotiation& n, std::optional<State> to, absl::string_view reason,
                      absl::Time now, catalog::WriteBatch extra = {},
                      const StepWriter& write = nullptr, bool created = false);
  absl::StatusOr<ProviderDecision> DecideLocked(Negotiation n, policy::Request request,
                                                absl::Time now, const StepWriter& write);

  // Locks the stripe of one negotiation's record / every stripe (recovery).
  std::unique_lock<std::mutex> LockNegotiation(Role role, absl::string_view id) const;
  std::vector<std::unique_lock<std::mutex>> LockAll() const;

  static constexpr size_t kStripes = 64;
  catalog::Store* store_;
  mutable std::array<std::mutex, kStripes> stripes_;
  // CountByState's counts once counted_ is set (set with every stripe locked, then updated by
  // Commit under its stripe's lock).
  mutable std::atomic<bool> counted_{false};
  mutable std::array<std::array<std::atomic<std::int64_t>, std::size(kAllStates)>, 2> counts_{};
};

}  // namespace hanse::contract

#endif  // HANSE_NODE_CONTRACT_CONTRACT_STORE_H_
