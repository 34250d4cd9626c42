#include "node/identity/card.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "base/json.h"
#include "base/status.h"
#include "nlohmann/json.hpp"
#include "trust/did_key.h"
#include "trust/jws.h"
#include "trust/x509.h"

namespace hanse::node {
namespace {

using Json = nlohmann::json;

absl::Status CardError(absl::string_view msg) {
  return absl::InvalidArgumentError(absl::StrCat("member card: ", msg));
}

absl::StatusOr<std::string> StringField(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) {
    return CardError(absl::StrCat("field \"", key, "\" missing or not a string"));
  }
  return it->get<std::string>();
}

}  // namespace

absl::StatusOr<std::string> SignCard(const MemberCard& card, const trust::PrivateKey& key) {
  if (trust::EncodeDidKey(key.Public()) != card.did) {
    return absl::InvalidArgumentError("card DID does not match the signing key");
  }
  nlohmann::ordered_json j;
  j["did"] = card.did;
  j["legal_name"] = card.legal_name;
  j["country"] = card.country;
  j["endpoint"] = card.endpoint;
  j["ca_certificate"] = card.ca_pem;
  j["issued"] = absl::FormatTime(absl::RFC3339_full, card.issued, absl::UTCTimeZone());
  return trust::SignCompact(key, trust::DidKeyVerificationMethod(card.did), kCardType, j.dump());
}

absl::StatusOr<MemberCard> VerifyCard(absl::string_view jws, absl::Time now) {
  HANSE_ASSIGN_OR_RETURN(trust::VerifiedJws v,
                         trust::VerifyCompact(absl::StripAsciiWhitespace(jws),
                                              {.expected_typ = std::string(kCardType)}),
                         "member card");
  absl::StatusOr<Json> parsed = ParseJson(v.payload);
  if (!parsed.ok() || !parsed->is_object()) return CardError("payload is not a JSON object");
  const Json& j = *parsed;
  MemberCard card;
  HANSE_ASSIGN_OR_RETURN(card.did, StringField(j, "did"));
  HANSE_ASSIGN_OR_RETURN(card.legal_name, StringField(j, "legal_name"));
  HANSE_ASSIGN_OR_RETURN(card.country, StringField(j, "country"));
  HANSE_ASSIGN_OR_RETURN(card.endpoint, StringField(j, "endpoint"));
  HANSE_ASSIGN_OR_RETURN(card.ca_pem, StringField(j, "ca_certificate"));
  HANSE_ASSIGN_OR_RETURN(std::string issued, StringField(j, "issued"));
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, issued, &card.issued, &err)) {
    return CardError(absl::StrCat("field \"issued\": ", err));
  }
  if (card.did != v.signer_did) {
    return absl::UnauthenticatedError(
        absl::StrCat("member card: names ", card.did, " but is signed by ", v.signer_did));
  }
  HANSE_ASSIGN_OR_RETURN(std::string ca_did, trust::CheckParticipantCa(card.ca_pem, now),
                         "member card CA certificate");
  if (ca_did != card.did) {
    return absl::UnauthenticatedError(
        absl::StrCat("member card: CA certificate is for ", ca_did, ", not ", card.did));
  }
  return card;
}

std::string CardFileJson(absl::string_view jws, const MemberCard& card) {
  nlohmann::ordered_json j;
  j["card"] = std::string(jws);
  j["did"] = card.did;
  j["legal_name"] = card.legal_name;
  j["country"] = card.country;
  j["endpoint"] = card.endpoint;
  j["ca_certificate"] = card.ca_pem;
  return j.dump(2) + "\n";
}

absl::StatusOr<std::pair<std::string, MemberCard>> ParseCardFile(absl::string_view text,
                                                                 absl::Time now) {
  absl::string_view trimmed = absl::StripAsciiWhitespace(text);
  if (!trimmed.empty() && trimmed.front() != '{') {
    HANSE_ASSIGN_OR_RETURN(MemberCard card, VerifyCard(trimmed, now));
    return std::make_pair(std::string(trimmed), std::move(card));
  }
  absl::StatusOr<Json> parsed = ParseJson(trimmed);
  if (!parsed.ok() || !parsed->is_object()) {
    return CardError("file is neither a card JSON object nor a compact JWS");
  }
  const Json& j = *parsed;
  HANSE_ASSIGN_OR_RETURN(std::string jws, StringField(j, "card"));
  HANSE_ASSIGN_OR_RETURN(MemberCard card, VerifyCard(jws, now));
  const std::pair<const char*, const std::string*> shown[] = {{"did", &card.did},
                                                              {"legal_name", &card.legal_name},
                                                              {"country", &card.country},
                                                              {"endpoint", &card.endpoint},
                                                              {"ca_certificate", &card.ca_pem}};
  for (const auto& [key, signed_value] : shown) {
    auto it = j.find(key);
    if (it != j.end() && (!it->is_string() || it->get<std::string>() != *signed_value)) {
      return CardError(absl::StrCat("field \"", key,
                                    "\" differs from the signed card; the file was edited "
                                    "(ask the peer for a fresh `hanse card`)"));
    }
  }
  return std::make_pair(std::move(jws), std::move(card));
}

}  // namespace hanse::node
