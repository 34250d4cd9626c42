// What a policy is evaluated against: the requested action and the facts about the consumer and
// the moment, all supplied by the caller (the evaluator reads no clock and does no I/O).
#ifndef HANSE_POLICY_REQUEST_H_
#define HANSE_POLICY_REQUEST_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace hanse::policy {

// A certification the consumer holds, from a credential the node has verified.
struct Certification {
  std::string name;    // e.g. "health-data-hosting"
  std::string issuer;  // the issuer's DID
  // The certification counts while now < valid_until.
  absl::Time valid_until = absl::InfiniteFuture();
};

struct Request {
  // An ODRL 2.2 action (a short name, "odrl:" term or full ODRL IRI): "use", "read", "print"...
  std::string action = "use";
  // The instant of evaluation (dateTime, elapsedTime, certification validity).
  absl::Time now = absl::UnixEpoch();
  // The consumer's DID (recipient, assignee).
  std::string consumer;
  // The consumer's country of legal seat, ISO 3166-1 alpha-2 (spatial). Empty = unknown.
  std::string country;
  // The jurisdictions the consumer is subject to (country codes; "EU"/"EEA" allowed). Empty =
  // unknown.
  std::vector<std::string> jurisdictions;
  // The consumer's verified certifications (empty = none held).
  std::vector<Certification> certifications;
  // The declared purpose, an IRI (compact "dpv:X" is expanded). Empty = unknown.
  std::string purpose;
  // Classes the purpose belongs to, as the consumer declares them (e.g. the DPV parents of its
  // purpose); used by isA/isPartOf/isAnyOf/... on purpose.
  std::vector<std::string> purpose_classes;
  // Uses counted so far under this agreement (count compares use_count + 1).
  int64_t use_count = 0;
  // The reference time for elapsedTime (the agreement's start). Unset = unknown.
  std::optional<absl::Time> agreement_start;
  // The dataset the request is for; when set, rules with another target do not apply.
  std::string target;
  // The party collections the consumer belongs to, as the caller verified them (the node: the
  // names of the consumer's verified certifications), and the asset collections the target is
  // in (the node: the dataset's themes). Each list is complete; unset = membership unknown.
  std::optional<std::vector<std::string>> party_collections;
  std::optional<std::vector<std::string>> asset_collections;
  // Precondition duties already fulfilled: a duty's path ("permission[0].duty[0]"), its uid or
  // its action ("compensate").
  std::vector<std::string> fulfilled_duties;
};

inline constexpr size_t kMaxRequestBytes = 64 * 1024;
inline constexpr size_t kMaxRequestListItems = 256;

// Parses the request format of `hanse policy check --request FILE` (docs/policies.md):
//
//   {"action": "use", "now": "2025-03-01T12:00:00Z", "consumer": "did:key:z6Mk...",
//    "country": "DE", "jurisdictions": ["DE", "EU"],
//    "certifications": [{"name": "health-data-hosting", "issuer": "did:key:z6Mk...",
//                        "validUntil": "2026-01-01T00:00:00Z"}],
//    "purpose": "https://w3id.org/hanse/v1#MedicalResearch", "purposeClasses":
//    ["dpv:ScientificResearch"], "useCount": 2, "agreementStart": "2025-02-01T00:00:00Z", "target":
//    "urn:uuid:...", "partyCollections": ["urn:x:eu-hospitals"], "assetCollections":
//    ["urn:x:icu"], "fulfilledDuties": ["permission[0].duty[0]"]}
//
// Every field is optional except "now", which falls back to `default_now` (the CLI passes the
// current time); unknown fields are errors (a typo must not silently drop a fact). Country codes
// are upper-cased; InvalidArgument names the field.
// A purpose (or purpose class) as the evaluator compares it: compact IRIs with a known prefix
// ("hanse:", "dpv:", "odrl:") expanded, anything else unchanged.
std::string ExpandPurposeIri(absl::string_view iri);

absl::StatusOr<Request> ParseRequest(absl::string_view json,
                                     std::optional<absl::Time> default_now = std::nullopt);

}  // namespace hanse::policy

#endif  // HANSE_POLICY_REQUEST_H_
