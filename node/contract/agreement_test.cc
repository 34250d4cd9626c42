#include "node/contract/agreement.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "node/contract/test_util.h"
#include "policy/policy.h"
#include "tests/support/status_matchers.h"
#include "trust/encoding.h"
#include "trust/jws.h"

namespace hanse::contract {
namespace {

using ::hanse::testing::IsOk;
using ::hanse::testing::StatusIs;
using ::testing::HasSubstr;
using namespace ::hanse::contract::testing;  // NOLINT
using Json = nlohmann::json;

class AgreementTest : public ::testing::Test {
 protected:
  Negotiation MakeNegotiation() const {
    Negotiation n;
    n.id = "urn:uuid:neg-1";
    n.role = Role::kProvider;
    n.provider_did = Did(provider_);
    n.consumer_did = Did(consumer_);
    n.dataset_id = "urn:hanse:dataset:vitals";
    n.dataset_version = 3;
    n.content_digest = Digest();
    n.policy_json = kEuPolicy;
    n.purpose = "https://w3id.org/hanse/v1#MedicalResearch";
    return n;
  }

  std::string Sign(const trust::PrivateKey& key, absl::string_view payload) const {
    return *trust::SignCompact(key, trust::DidKeyVerificationMethod(Did(key)), kAgreementJwsType,
                               payload);
  }

  trust::PrivateKey provider_ = NewKey(trust::KeyType::kP256);
  trust::PrivateKey consumer_ = NewKey();
  trust::PrivateKey stranger_ = NewKey();
};

TEST_F(AgreementTest, PayloadFreezesTheNegotiation) {
  HANSE_ASSERT_OK_AND_ASSIGN(Agreement a, AgreementForNegotiation(MakeNegotiation(), kT0));
  EXPECT_EQ(a.id, AgreementIdFor(Did(provider_), "urn:uuid:neg-1"));
  EXPECT_THAT(a.id, ::testing::StartsWith("urn:hanse:agreement:"));
  Json j = Json::parse(a.payload);
  EXPECT_EQ(j["@type"], "HanseAgreement");
  EXPECT_EQ(j["negotiationId"], "urn:uuid:neg-1");
  EXPECT_EQ(j["datasetId"], "urn:hanse:dataset:vitals");
  EXPECT_EQ(j["datasetVersion"], 3);
  EXPECT_EQ(j["contentDigest"], Digest());
  EXPECT_EQ(j["provider"], Did(provider_));
  EXPECT_EQ(j["consumer"], Did(consumer_));
  EXPECT_EQ(j["issuedAt"], "2025-01-15T12:00:00Z");
  EXPECT_EQ(j["policy"]["@type"], "Agreement");
  EXPECT_EQ(j["policy"]["uid"], a.id);
  EXPECT_EQ(j["policy"]["assigner"], Did(provider_));
  EXPECT_EQ(j["policy"]["assignee"], Did(consumer_));
  EXPECT_EQ(j["policy"]["permission"], Json::parse(kEuPolicy)["permission"]);
  // Canonical: the same inputs give the same bytes.
  HANSE_ASSERT_OK_AND_ASSIGN(Agreement again, AgreementForNegotiation(MakeNegotiation(), kT0));
  EXPECT_EQ(again.payload, a.payload);
  EXPECT_THAT(ParseAgreementPayload(a.payload), IsOk());
}

TEST_F(AgreementTest, SignCountersignVerify) {
  HANSE_ASSERT_OK_AND_ASSIGN(Agreement a, AgreementForNegotiation(MakeNegotiation(), kT0));
  HANSE_ASSERT_OK_AND_ASSIGN(std::string provider_jws, SignAgreementAsProvider(a, provider_));
  HANSE_ASSERT_OK_AND_ASSIGN(Agreement seen, VerifyProviderAgreement(provider_jws));
  EXPECT_EQ(seen.payload, a.payload);
  HANSE_ASSERT_OK_AND_ASSIGN(std::string consumer_jws,
                             CountersignAgreement(provider_jws, consumer_));
  HANSE_ASSERT_OK_AND_ASSIGN(Agreement verified, VerifyAgreement(provider_jws, consumer_jws));
  EXPECT_EQ(verified.id, a.id);
  EXPECT_EQ(verified.provider_did, Did(provider_));
  EXPECT_EQ(verified.consumer_did, Did(consumer_));
  EXPECT_EQ(verified.dataset_version, 3u);
  EXPECT_EQ(verified.issued_at, kT0);
  EXPECT_THAT(CheckAgreementMatches(verified, MakeNegotiation()), IsOk());
  // Both tokens carry the identical payload bytes.
  EXPECT_EQ(trust::DecodeUnverified(provider_jws)->payload,
            trust::DecodeUnverified(consumer_jws)->payload);
}

TEST_F(AgreementTest, OnlyTheRightPartiesMaySign) {
  HANSE_ASSERT_OK_AND_ASSIGN(Agreement a, AgreementForNegotiation(MakeNegotiation(), kT0));
  EXPECT_THAT(SignAgreementAsProvider(a, consumer_),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("not the provider's")));
  HANSE_ASSERT_OK_AND_ASSIGN(std::string provider_jws, SignAgreementAsProvider(a, provider_));
  EXPECT_THAT(CountersignAgreement(provider_jws, stranger_),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("not the consumer's")));
  // A provider token signed by someone else than the payload's provider.
  EXPECT_THAT(CountersignAgreement(Sign(stranger_, a.payload), consumer_),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("as provider")));
}

TEST_F(AgreementTest, TamperedPayloadIsRejected) {
  HANSE_ASSERT_OK_AND_ASSIGN(Agreement a, AgreementForNegotiation(MakeNegotiation(), kT0));
  HANSE_ASSERT_OK_AND_ASSIGN(std::string provider_jws, SignAgreementAsProvider(a, provider_));
  HANSE_ASSERT_OK_AND_ASSIGN(std::string consumer_jws,
                             CountersignAgreement(provider_jws, consumer_));
  // Swap the payload segment of the provider's token, keeping its signature.
  std::vector<std::string> parts = absl::StrSplit(provider_jws, '.');
  ASSERT_EQ(parts.size(), 3u);
  std::string tampered_payload = a.payload;
  tampered_payload.replace(tampered_payload.find("\"datasetVersion\":3"), 18,
                           "\"datasetVersion\":4");
  std::string tampered =
      absl::StrCat(parts[0], ".", trust::Base64UrlEncode(tampered_payload), ".", parts[2]);
  EXPECT_THAT(VerifyAgreement(tampered, consumer_jws),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(CountersignAgreement(tampered, consumer_),
              StatusIs(absl::StatusCode::kUnauthenticated));
  // The consumer signs (validly) a payload that differs from the provider's.
  std::string consumer_other = Sign(consumer_, tampered_payload);
  EXPECT_THAT(VerifyAgreement(provider_jws, consumer_other),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("different payload")));
  // Same content, different bytes (whitespace) is also refused: the bytes are what is signed.
  std::string spaced = Json::parse(a.payload).dump(1);
  EXPECT_THAT(VerifyAgreement(provider_jws, Sign(consumer_, spaced)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("different payload")));
}

TEST_F(AgreementTest, WrongSignerAndSwappedRolesAreRejected) {
  HANSE_ASSERT_OK_AND_ASSIGN(Agreement a, AgreementForNegotiation(MakeNegotiation(), kT0));
  HANSE_ASSERT_OK_AND_ASSIGN(std::string provider_jws, SignAgreementAsProvider(a, provider_));
  HANSE_ASSERT_OK_AND_ASSIGN(std::string consumer_jws,
                             CountersignAgreement(provider_jws, consumer_));
  EXPECT_THAT(VerifyAgreement(provider_jws, Sign(stranger_, a.payload)),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("countersigned by")));
  EXPECT_THAT(VerifyAgreement(consumer_jws, provider_jws),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(VerifyAgreement(provider_jws, provider_jws),
              StatusIs(absl::StatusCode::kPermissionDenied));
  // A token of another type with the same payload.
  std::string other_typ = *trust::SignCompact(
      consumer_, trust::DidKeyVerificationMethod(Did(consumer_)), "vc+jwt", a.payload);
  EXPECT_THAT(VerifyAgreement(provider_jws, other_typ),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(AgreementTest, PayloadParserIsStrict) {
  HANSE_ASSERT_OK_AND_ASSIGN(Agreement a, AgreementForNegotiation(MakeNegotiation(), kT0));
  Json j = Json::parse(a.payload);
  Json extra = j;
  extra["note"] = "hidden";
  EXPECT_THAT(ParseAgreementPayload(extra.dump()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown field \"note\"")));
  Json wrong_assignee = j;
  wrong_assignee["policy"]["assignee"] = Did(stranger_);
  EXPECT_THAT(ParseAgreementPayload(wrong_assignee.dump()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("assignee")));
  Json offer = j;
  offer["policy"]["@type"] = "Offer";
  EXPECT_THAT(ParseAgreementPayload(offer.dump()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not Agreement")));
  Json no_digest = j;
  no_digest["contentDigest"] = "ABC";
  EXPECT_THAT(ParseAgreementPayload(no_digest.dump()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("contentDigest")));
  EXPECT_THAT(ParseAgreementPayload("[]"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(AgreementTest, OfferBecomesAgreementWhateverTheSpelling) {
  constexpr char kExpanded[] = R"({
    "@type": "http://www.w3.org/ns/odrl/2/Offer",
    "@id": "urn:uuid:offer",
    "http://www.w3.org/ns/odrl/2/assigner": "did:key:z6MkSomeoneElse",
    "http://www.w3.org/ns/odrl/2/permission": [{"http://www.w3.org/ns/odrl/2/action": "use"}]
  })";
  HANSE_ASSERT_OK_AND_ASSIGN(
      std::string p,
      OfferToAgreementPolicy(kExpanded, "urn:hanse:agreement:x", Did(provider_), Did(consumer_)));
  HANSE_ASSERT_OK_AND_ASSIGN(policy::Policy parsed, policy::ParsePolicy(p));
  EXPECT_EQ(parsed.type, policy::PolicyType::kAgreement);
  EXPECT_EQ(parsed.assigner, Did(provider_));
  EXPECT_EQ(parsed.assignee, Did(consumer_));
  EXPECT_EQ(parsed.uid, "urn:hanse:agreement:x");
  EXPECT_THAT(OfferToAgreementPolicy("[1]", "x", Did(provider_), Did(consumer_)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(AgreementTest, MismatchWithTheNegotiationIsNamed) {
  HANSE_ASSERT_OK_AND_ASSIGN(Agreement a, AgreementForNegotiation(MakeNegotiation(), kT0));
  Negotiation other = MakeNegotiation();
  other.dataset_version = 4;
  EXPECT_THAT(CheckAgreementMatches(a, other),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("datasetVersion")));
  other = MakeNegotiation();
  other.policy_json = R"({"@type":"Offer","permission":[{"action":"read"}]})";
  EXPECT_THAT(CheckAgreementMatches(a, other),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("policy")));
  other = MakeNegotiation();
  other.purpose = "dpv:Marketing";
  EXPECT_THAT(CheckAgreementMatches(a, other),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("purpose")));
}

}  // namespace
}  // namespace hanse::contract
