// The signed contract agreement: one canonical JSON payload that freezes what was agreed, signed
// by the provider and countersigned, byte for byte, by the consumer (two compact JWS with typ
// "hanse-agreement+jwt"). docs/contracts.md describes the payload fields.
#ifndef HANSE_NODE_CONTRACT_AGREEMENT_H_
#define HANSE_NODE_CONTRACT_AGREEMENT_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "node/contract/negotiation.h"
#include "trust/keys.h"

namespace hanse::contract {

inline constexpr absl::string_view kAgreementJwsType = "hanse-agreement+jwt";
inline constexpr absl::string_view kAgreementPayloadType = "HanseAgreement";

struct Agreement {
  std::string id;  // "urn:hanse:agreement:<hex>", see AgreementIdFor
  std::string negotiation_id;
  std::string dataset_id;
  std::uint64_t dataset_version = 0;
  std::string content_digest;  // lower-case hex SHA-256
  // The ODRL Agreement: the offer's rules with @type Agreement, uid = id, assigner = provider,
  // assignee = consumer. Canonical JSON (sorted keys, no spaces).
  std::string policy_json;
  std::string provider_did;
  std::string consumer_did;
  std::string purpose;
  absl::Time issued_at;
  // The exact payload bytes both parties sign (filled by BuildAgreementPayload and the parsers).
  std::string payload;
};

// Deterministic id of the agreement a provider makes in negotiation `negotiation_id`:
// "urn:hanse:agreement:" + the first 32 hex digits of SHA-256(provider_did "\n" negotiation_id).
std::string AgreementIdFor(absl::string_view provider_did, absl::string_view negotiation_id);

// The offer turned into the agreement's policy (see Agreement::policy_json). InvalidArgument if
// the offer is not a JSON object or the result does not parse as an ODRL policy.
absl::StatusOr<std::string> OfferToAgreementPolicy(absl::string_view offer_json,
                                                   absl::string_view agreement_id,
                                                   absl::string_view provider_did,
                                                   absl::string_view consumer_did);

// The agreement for a negotiation (provider side): id from AgreementIdFor, the policy from
// OfferToAgreementPolicy, payload filled.
absl::StatusOr<Agreement> AgreementForNegotiation(const Negotiation& negotiation,
                                                  absl::Time issued_at);

// Validates the fields and serialises them canonically into `agreement.payload`.
absl::Status BuildAgreementPayload(Agreement& agreement);

// Strict parser of a payload (unknown or missing fields, a policy that is not the ODRL Agreement
// between the named parties: InvalidArgument).
absl::StatusOr<Agreement> ParseAgreementPayload(absl::string_view payload);

// The provider's signature: `key` must be the payload provider's did:key.
absl::StatusOr<std::string> SignAgreementAsProvider(const Agreement& agreement,
                                                    const trust::PrivateKey& key);

// Verifies the provider's token alone (signature, typ, payload, signer = payload provider).
absl::StatusOr<Agreement> VerifyProviderAgreement(absl::string_view provider_jws);

// The consumer's countersignature: verifies the provider's token, checks that `key` is the
// payload consumer's did:key, and signs the identical payload bytes.
absl::StatusOr<std::string> CountersignAgreement(absl::string_view provider_jws,
                                                 const trust::PrivateKey& key);

// Both signatures verify, the payloads are byte-identical, the first is signed by the payload's
// provider and the second by its consumer (so swapped tokens are refused). Malformed input is
// InvalidArgument, a bad signature Unauthenticated, a wrong signer PermissionDenied.
absl::StatusOr<Agreement> VerifyAgreement(absl::string_view provider_jws,
                                          absl::string_view consumer_jws);

// OK when the agreement is the one `negotiation` should produce: same negotiation id, parties,
// dataset id, version, digest, purpose, and the policy derived from the negotiation's frozen
// offer. FailedPrecondition naming the first field that differs.
absl::Status CheckAgreementMatches(const Agreement& agreement, const Negotiation& negotiation);

}  // namespace hanse::contract

#endif  // HANSE_NODE_CONTRACT_AGREEMENT_H_
