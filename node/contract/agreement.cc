#include "node/contract/agreement.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/json.h"
#include "base/status.h"
#include "nlohmann/json.hpp"
#include "node/contract/internal.h"
#include "policy/policy.h"
#include "trust/did_key.h"
#include "trust/encoding.h"
#include "trust/jws.h"

namespace hanse::contract {
namespace {

// nlohmann::json keeps object members in a std::map: dump() sorts keys at every level, which
// makes the payload canonical without a separate canonicaliser.
using Json = nlohmann::json;

// Room for the JWS header and base64url growth within trust::kMaxJwsBytes.
constexpr size_t kMaxPayloadBytes = 40 * 1024;

absl::Status PayloadError(absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("agreement payload: ", problem));
}

// Every spelling of a policy-level property we overwrite, so that the result never holds the
// same ODRL property twice (which ParsePolicy rejects).
constexpr absl::string_view kReplacedProperties[] = {
    "@type",    "type",          "@id",
    "uid",      "odrl:uid",      "http://www.w3.org/ns/odrl/2/uid",
    "assigner", "odrl:assigner", "http://www.w3.org/ns/odrl/2/assigner",
    "assignee", "odrl:assignee", "http://www.w3.org/ns/odrl/2/assignee",
};

absl::StatusOr<std::string> Field(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return PayloadError(absl::StrCat("missing \"", key, "\""));
  if (!it->is_string()) return PayloadError(absl::StrCat("\"", key, "\" is not a string"));
  return it->get<std::string>();
}

absl::Status CheckFields(const Agreement& a) {
  if (!internal::IsValidId(a.id)) return PayloadError("id: missing or not a printable id");
  if (!internal::IsValidId(a.negotiation_id)) {
    return PayloadError("negotiationId: missing or not a printable id");
  }
  if (a.dataset_id.empty() || a.dataset_id.size() > 1024) {
    return PayloadError("datasetId: missing or longer than 1024 bytes");
  }
  if (a.dataset_version > internal::kMaxJsonInteger) {
    return PayloadError("datasetVersion: larger than 2^53 - 1");
  }
  if (!internal::IsSha256Hex(a.content_digest)) {
    return PayloadError("contentDigest: not 64 lower-case hex digits");
  }
  if (!trust::IsDidKey(a.provider_did)) return PayloadError("provider: not a did:key DID");
  if (!trust::IsDidKey(a.consumer_did)) return PayloadError("consumer: not a did:key DID");
  if (a.provider_did == a.consumer_did) {
    return PayloadError("provider and consumer are the same participant");
  }
  if (a.purpose.size() > 1024) return PayloadError("purpose: longer than 1024 bytes");
  if (a.issued_at == absl::InfinitePast() || a.issued_at == absl::InfiniteFuture()) {
    return PayloadError("issuedAt: not a finite time");
  }
  HANSE_ASSIGN_OR_RETURN(policy::Policy p, policy::ParsePolicy(a.policy_json),
                         "agreement payload: policy");
  if (p.type != policy::PolicyType::kAgreement) {
    return PayloadError(absl::StrCat("policy: @type is \"", p.type_name, "\", not Agreement"));
  }
  if (p.uid != a.id) return PayloadError("policy: uid is not the agreement id");
  if (p.assigner != a.provider_did) return PayloadError("policy: assigner is not the provider");
  if (p.assignee != a.consumer_did) return PayloadError("policy: assignee is not the consumer");
  return absl::OkStatus();
}

absl::StatusOr<std::string> CanonicalPolicy(absl::string_view policy_json) {
  Json policy = ParseJson(policy_json).value_or(Json());
  if (!policy.is_object()) return absl::InvalidArgumentError("policy: not a JSON object");
  return policy.dump();
}

absl::Status Mismatch(absl::string_view field, absl::string_view agreed,
                      absl::string_view negotiated) {
  return absl::FailedPreconditionError(absl::StrCat("agreement ", field, " \"", agreed,
                                                    "\" differs from the negotiation's \"",
                                                    negotiated, "\""));
}

}  // namespace

std::string AgreementIdFor(absl::string_view provider_did, absl::string_view negotiation_id) {
  std::string digest =
      trust::HexEncode(trust::Sha256(absl::StrCat(provider_did, "\n", negotiation_id)));
  return absl::StrCat("urn:hanse:agreement:", digest.substr(0, 32));
}

absl::StatusOr<std::string> OfferToAgreementPolicy(absl::string_view offer_json,
                                                   absl::string_view agreement_id,
                                                   absl::string_view provider_did,
                                                   absl::string_view consumer_did) {
  Json policy = ParseJson(offer_json).value_or(Json());
  if (!policy.is_object()) return absl::InvalidArgumentError("offer: not a JSON object");
  for (absl::string_view key : kReplacedProperties) policy.erase(std::string(key));
  policy["@type"] = "Agreement";
  policy["uid"] = std::string(agreement_id);
  policy["assigner"] = std::string(provider_did);
  policy["assignee"] = std::string(consumer_did);
  std::string text = policy.dump();
  HANSE_ASSIGN_OR_RETURN(policy::Policy parsed, policy::ParsePolicy(text), "agreement policy");
  if (parsed.type != policy::PolicyType::kAgreement || parsed.assigner != provider_did ||
      parsed.assignee != consumer_did) {
    // Only possible when an inline @context redefines the ODRL terms.
    return absl::InvalidArgumentError(
        "agreement policy: the offer's @context changes the meaning of @type, assigner or "
        "assignee");
  }
  return text;
}

absl::StatusOr<Agreement> AgreementForNegotiation(const Negotiation& negotiation,
                                                  absl::Time issued_at) {
  Agreement a;
  a.id = AgreementIdFor(negotiation.provider_did, negotiation.id);
  a.negotiation_id = negotiation.id;
  a.dataset_id = negotiation.dataset_id;
  a.dataset_version = negotiation.dataset_version;
  a.content_digest = negotiation.content_digest;
  HANSE_ASSIGN_OR_RETURN(
      a.policy_json, OfferToAgreementPolicy(negotiation.policy_json, a.id, negotiation.provider_did,
                                            negotiation.consumer_did));
  a.provider_did = negotiation.provider_did;
  a.consumer_did = negotiation.consumer_did;
  a.purpose = negotiation.purpose;
  a.issued_at = issued_at;
  HANSE_RETURN_IF_ERROR(BuildAgreementPayload(a));
  return a;
}

absl::Status BuildAgreementPayload(Agreement& a) {
  HANSE_ASSIGN_OR_RETURN(a.policy_json, CanonicalPolicy(a.policy_json), "agreement payload");
  HANSE_RETURN_IF_ERROR(CheckFields(a));
  Json j;
  j["@type"] = std::string(kAgreementPayloadType);
  j["id"] = a.id;
  j["negotiationId"] = a.negotiation_id;
  j["datasetId"] = a.dataset_id;
  j["datasetVersion"] = a.dataset_version;
  j["contentDigest"] = a.content_digest;
  j["policy"] = Json::parse(a.policy_json);
  j["provider"] = a.provider_did;
  j["consumer"] = a.consumer_did;
  j["purpose"] = a.purpose;
  j["issuedAt"] = internal::FormatTime(a.issued_at);
  std::string payload = j.dump();
  if (payload.size() > kMaxPayloadBytes) {
    return absl::ResourceExhaustedError(absl::StrCat("agreement payload: ", payload.size(),
                                                     " bytes, more than ", kMaxPayloadBytes));
  }
  a.payload = std::move(payload);
  return absl::OkStatus();
}

absl::StatusOr<Agreement> ParseAgreementPayload(absl::string_view payload) {
  if (payload.size() > kMaxPayloadBytes) {
    return absl::ResourceExhaustedError("agreement payload: too large");
  }
  Json j = ParseJson(payload).value_or(Json());
  if (!j.is_object()) return PayloadError("not a JSON object");
  static constexpr absl::string_view kKnown[] = {
      "@type",  "id",       "negotiationId", "datasetId", "datasetVersion", "contentDigest",
      "policy", "provider", "consumer",      "purpose",   "issuedAt"};
  for (const auto& [key, value] : j.items()) {
    bool known = false;
    for (absl::string_view k : kKnown) known = known || k == key;
    if (!known) return PayloadError(absl::StrCat("unknown field \"", key, "\""));
  }
  HANSE_ASSIGN_OR_RETURN(std::string type, Field(j, "@type"));
  if (type != kAgreementPayloadType) {
    return PayloadError(absl::StrCat("@type is \"", type, "\", not ", kAgreementPayloadType));
  }
  Agreement a;
  HANSE_ASSIGN_OR_RETURN(a.id, Field(j, "id"));
  HANSE_ASSIGN_OR_RETURN(a.negotiation_id, Field(j, "negotiationId"));
  HANSE_ASSIGN_OR_RETURN(a.dataset_id, Field(j, "datasetId"));
  auto version = j.find("datasetVersion");
  if (version == j.end() || !version->is_number_unsigned()) {
    return PayloadError("datasetVersion: missing or not a non-negative integer");
  }
  a.dataset_version = version->get<std::uint64_t>();
  HANSE_ASSIGN_OR_RETURN(a.content_digest, Field(j, "contentDigest"));
  auto policy = j.find("policy");
  if (policy == j.end() || !policy->is_object()) return PayloadError("policy: not an object");
  a.policy_json = policy->dump();
  HANSE_ASSIGN_OR_RETURN(a.provider_did, Field(j, "provider"));
  HANSE_ASSIGN_OR_RETURN(a.consumer_did, Field(j, "consumer"));
  HANSE_ASSIGN_OR_RETURN(a.purpose, Field(j, "purpose"));
  HANSE_ASSIGN_OR_RETURN(std::string issued, Field(j, "issuedAt"));
  std::optional<absl::Time> t = internal::ParseTime(issued);
  if (!t) return PayloadError("issuedAt: not an RFC 3339 date-time");
  a.issued_at = *t;
  HANSE_RETURN_IF_ERROR(CheckFields(a));
  a.payload = std::string(payload);
  return a;
}

absl::StatusOr<std::string> SignAgreementAsProvider(const Agreement& agreement,
                                                    const trust::PrivateKey& key) {
  // Re-parse what will be signed so that a hand-edited struct cannot be signed unchecked.
  HANSE_ASSIGN_OR_RETURN(Agreement parsed, ParseAgreementPayload(agreement.payload));
  const std::string did = trust::EncodeDidKey(key.Public());
  if (did != parsed.provider_did) {
    return absl::PermissionDeniedError(absl::StrCat("agreement: the signing key (", did,
                                                    ") is not the provider's (",
                                                    parsed.provider_did, ")"));
  }
  return trust::SignCompact(key, trust::DidKeyVerificationMethod(did), kAgreementJwsType,
                            agreement.payload);
}

absl::StatusOr<Agreement> VerifyProviderAgreement(absl::string_view provider_jws) {
  HANSE_ASSIGN_OR_RETURN(
      trust::VerifiedJws v,
      trust::VerifyCompact(provider_jws, {.expected_typ = std::string(kAgreementJwsType)}),
      "provider's agreement signature");
  HANSE_ASSIGN_OR_RETURN(Agreement a, ParseAgreementPayload(v.payload));
  if (v.signer_did != a.provider_did) {
    return absl::PermissionDeniedError(
        absl::StrCat("agreement ", a.id, ": signed by ", v.signer_did,
                     " as provider, but the provider is ", a.provider_did));
  }
  return a;
}

absl::StatusOr<std::string> CountersignAgreement(absl::string_view provider_jws,
                                                 const trust::PrivateKey& key) {
  HANSE_ASSIGN_OR_RETURN(Agreement a, VerifyProviderAgreement(provider_jws));
  const std::string did = trust::EncodeDidKey(key.Public());
  if (did != a.consumer_did) {
    return absl::PermissionDeniedError(absl::StrCat(
        "agreement: the signing key (", did, ") is not the consumer's (", a.consumer_did, ")"));
  }
  return trust::SignCompact(key, trust::DidKeyVerificationMethod(did), kAgreementJwsType,
                            a.payload);
}

absl::StatusOr<Agreement> VerifyAgreement(absl::string_view provider_jws,
                                          absl::string_view consumer_jws) {
  HANSE_ASSIGN_OR_RETURN(Agreement a, VerifyProviderAgreement(provider_jws));
  HANSE_ASSIGN_OR_RETURN(
      trust::VerifiedJws c,
      trust::VerifyCompact(consumer_jws, {.expected_typ = std::string(kAgreementJwsType)}),
      "consumer's agreement signature");
  if (c.payload != a.payload) {
    return absl::InvalidArgumentError(absl::StrCat(
        "agreement ", a.id, ": the consumer signed a different payload than the provider"));
  }
  if (c.signer_did != a.consumer_did) {
    return absl::PermissionDeniedError(absl::StrCat("agreement ", a.id, ": countersigned by ",
                                                    c.signer_did, ", but the consumer is ",
                                                    a.consumer_did));
  }
  return a;
}

absl::Status CheckAgreementMatches(const Agreement& a, const Negotiation& n) {
  if (a.negotiation_id != n.id) return Mismatch("negotiationId", a.negotiation_id, n.id);
  if (a.provider_did != n.provider_did) return Mismatch("provider", a.provider_did, n.provider_did);
  if (a.consumer_did != n.consumer_did) return Mismatch("consumer", a.consumer_did, n.consumer_did);
  if (a.dataset_id != n.dataset_id) return Mismatch("datasetId", a.dataset_id, n.dataset_id);
  if (a.dataset_version != n.dataset_version) {
    return Mismatch("datasetVersion", absl::StrCat(a.dataset_version),
                    absl::StrCat(n.dataset_version));
  }
  if (a.content_digest != n.content_digest) {
    return Mismatch("contentDigest", a.content_digest, n.content_digest);
  }
  if (a.purpose != n.purpose) return Mismatch("purpose", a.purpose, n.purpose);
  if (a.id != AgreementIdFor(n.provider_did, n.id)) {
    return Mismatch("id", a.id, AgreementIdFor(n.provider_did, n.id));
  }
  HANSE_ASSIGN_OR_RETURN(
      std::string expected,
      OfferToAgreementPolicy(n.policy_json, a.id, n.provider_did, n.consumer_did));
  if (Json::parse(expected) != Json::parse(a.policy_json)) {
    return absl::FailedPreconditionError(
        absl::StrCat("agreement ", a.id, ": the policy is not the offer the negotiation froze"));
  }
  return absl::OkStatus();
}

}  // namespace hanse::contract
