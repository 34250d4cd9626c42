// Contract negotiation records and the Dataspace Protocol state machine they follow. Pure data:
// persistence is contract_store.h, signatures are agreement.h. docs/contracts.md describes the
// states, the transition table and what each record holds.
#ifndef HANSE_NODE_CONTRACT_NEGOTIATION_H_
#define HANSE_NODE_CONTRACT_NEGOTIATION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace hanse::contract {

// Dataspace Protocol contract negotiation states. FINALIZED and TERMINATED are final.
enum class State {
  kRequested,
  kOffered,
  kAccepted,
  kAgreed,
  kVerified,
  kFinalized,
  kTerminated,
};

inline constexpr State kAllStates[] = {State::kRequested, State::kOffered,  State::kAccepted,
                                       State::kAgreed,    State::kVerified, State::kFinalized,
                                       State::kTerminated};

// "REQUESTED", "OFFERED", ... (the protocol's names).
absl::string_view StateName(State state);
// Inverse of StateName; InvalidArgument lists the states.
absl::StatusOr<State> ParseState(absl::string_view name);
bool IsFinal(State state);

// The transition table (docs/contracts.md):
//   REQUESTED -> OFFERED | AGREED | TERMINATED
//   OFFERED   -> REQUESTED | ACCEPTED | TERMINATED
//   ACCEPTED  -> AGREED | TERMINATED
//   AGREED    -> VERIFIED | TERMINATED
//   VERIFIED  -> FINALIZED | TERMINATED
//   FINALIZED, TERMINATED -> nothing
// A state never moves to itself.
bool IsLegalTransition(State from, State to);
// OK, or FailedPrecondition "illegal transition FINALIZED -> AGREED".
absl::Status CheckTransition(State from, State to);

// Which side of the negotiation this node is.
enum class Role { kProvider, kConsumer };
absl::string_view RoleName(Role role);  // "provider" / "consumer"
absl::StatusOr<Role> ParseRole(absl::string_view name);

struct HistoryEntry {
  State state = State::kRequested;
  absl::Time time;
  std::string reason;  // why the negotiation entered `state` (may be empty)
};

// One negotiation as this node sees it. Everything the agreement freezes is copied in when the
// negotiation starts and never changes afterwards.
struct Negotiation {
  // The consumer-chosen request id (e.g. "urn:uuid:..."): the same on both nodes. Together with
  // `role` it is the record's key, so a node may be provider and consumer of the same id.
  std::string id;
  Role role = Role::kProvider;
  std::string provider_did;
  std::string consumer_did;
  std::string dataset_id;
  std::uint64_t dataset_version = 0;  // the dataset self-description's sequence
  std::string content_digest;         // lower-case hex SHA-256 of the content
  std::string policy_json;            // the offer, frozen as given
  std::string purpose;                // the declared purpose (an IRI; may be empty)

  State state = State::kRequested;
  std::vector<HistoryEntry> history;  // every state entered, oldest first
  std::string termination_reason;     // set when TERMINATED

  // Provider side: the last policy evaluation, as policy::DecisionToJson, and the request facts
  // it was evaluated against (the `hanse policy check` request format, used to re-evaluate after
  // a restart). decision_permit is unset before the first evaluation.
  std::optional<bool> decision_permit;
  std::string decision_json;
  std::string request_json;

  // Set when AGREED: the agreement id and the provider's compact JWS; when VERIFIED: the
  // consumer's countersignature over the same payload.
  std::string agreement_id;
  std::string provider_token;
  std::string consumer_token;

  absl::Time created;
  absl::Time updated;
};

// Storage form (JSON, versioned). Parsing a stored record that does not fit is DataLoss.
std::string NegotiationToJson(const Negotiation& n);
absl::StatusOr<Negotiation> NegotiationFromJson(absl::string_view json);

}  // namespace hanse::contract

#endif  // HANSE_NODE_CONTRACT_NEGOTIATION_H_
