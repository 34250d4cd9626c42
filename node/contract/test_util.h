// Helpers shared by the contract unit tests.
#ifndef HANSE_NODE_CONTRACT_TEST_UTIL_H_
#define HANSE_NODE_CONTRACT_TEST_UTIL_H_

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "catalog/store.h"
#include "node/contract/contract_store.h"
#include "trust/did_key.h"
#include "trust/encoding.h"
#include "trust/keys.h"

namespace hanse::contract::testing {

inline absl::Time Utc(int y, int m, int d, int hh = 0, int mm = 0, int ss = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, ss), absl::UTCTimeZone());
}

inline const absl::Time kT0 = Utc(2025, 1, 15, 12);

inline std::string Did(const trust::PrivateKey& key) { return trust::EncodeDidKey(key.Public()); }

inline trust::PrivateKey NewKey(trust::KeyType type = trust::KeyType::kEd25519) {
  return *trust::PrivateKey::Generate(type);
}

inline std::string Digest(absl::string_view content = "the dataset") {
  return trust::HexEncode(trust::Sha256(content));
}

// Use by consumers seated in the EU, before 2026.
inline constexpr char kEuPolicy[] = R"({
  "@context": "http://www.w3.org/ns/odrl.jsonld",
  "@type": "Offer",
  "uid": "urn:uuid:offer-1",
  "target": "urn:hanse:dataset:vitals",
  "permission": [{
    "action": "use",
    "constraint": [
      {"leftOperand": "spatial", "operator": "isPartOf", "rightOperand": "EU"},
      {"leftOperand": "dateTime", "operator": "lt", "rightOperand": "2026-01-01"}
    ]
  }]
})";

inline NegotiationStart Start(const std::string& id, const trust::PrivateKey& provider,
                              const trust::PrivateKey& consumer,
                              const std::string& policy = kEuPolicy) {
  NegotiationStart s;
  s.id = id;
  s.provider_did = Did(provider);
  s.consumer_did = Did(consumer);
  s.dataset_id = "urn:hanse:dataset:vitals";
  s.dataset_version = 3;
  s.content_digest = Digest();
  s.policy_json = policy;
  s.purpose = "https://w3id.org/hanse/v1#MedicalResearch";
  return s;
}

inline policy::Request RequestFrom(absl::string_view country, absl::Time now = kT0) {
  policy::Request r;
  r.now = now;
  r.country = std::string(country);
  return r;
}

}  // namespace hanse::contract::testing

#endif  // HANSE_NODE_CONTRACT_TEST_UTIL_H_
