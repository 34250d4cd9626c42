#include "catalog/dcat.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "nlohmann/json.hpp"
#include "tests/support/status_matchers.h"

namespace hanse::catalog {
namespace {

using ::hanse::testing::IsOk;
using ::hanse::testing::StatusIs;
using ::testing::HasSubstr;
using Json = nlohmann::json;

constexpr char kSelf[] = "did:key:zDnaeSelf";
constexpr char kPeer[] = "did:key:z6MkPeer";

// The worked example of docs/policies.md (the policy fuzz corpus keeps it): uid, policy-level
// target, typed right operands, a Hanse left operand with issuers, duties and a prohibition.
const std::string& FullPolicy() {
  static const std::string* text = [] {
    std::ifstream in(std::string(HANSE_SOURCE_DIR) +
                     "/tests/fuzz_corpus/policy/01-health-offer.json");
    return new std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }();
  return *text;
}

// Expanded IRIs, no uid, a Set: still a compact DSP Offer with a derived id.
constexpr char kExpandedPolicy[] = R"({
  "@type": "http://www.w3.org/ns/odrl/2/Set",
  "http://www.w3.org/ns/odrl/2/permission": [{
    "http://www.w3.org/ns/odrl/2/action": {"@id": "http://www.w3.org/ns/odrl/2/use"},
    "http://www.w3.org/ns/odrl/2/constraint": [{
      "http://www.w3.org/ns/odrl/2/or": [
        {"leftOperand": "dateTime", "operator": "odrl:lt", "rightOperand": "2030-01-01T00:00:00Z"},
        {"leftOperand": "spatial", "operator": "isAnyOf", "rightOperand": ["fr", "de"]}
      ]}]
  }]
})";

Document Dataset(absl::string_view issuer, absl::string_view name, absl::string_view policy) {
  Document d;
  d.kind = DocumentKind::kDataset;
  d.issuer = std::string(issuer);
  d.id = DatasetId(issuer, name);
  d.sequence = 7;
  DatasetFacts& f = d.dataset;
  f.title = "Air quality in Lyon 2024";
  f.description = "Hourly PM2.5 and NO2";
  f.keywords = {"air", "pollution"};
  f.themes = {"environment"};
  f.publisher = "Metropole de Lyon";
  f.license = "CC-BY-4.0";
  f.media_type = "text/csv";
  f.byte_size = 1234;
  f.sha256 = std::string(64, 'a');
  f.language = "fr";
  f.hosting_location = "FR";
  f.personal_data_class = "none";
  f.issued = "2024-03-01";
  f.policy_json = std::string(policy);
  return d;
}

Json Offer(const Document& d) {
  auto offer = DspOffer(d);
  EXPECT_THAT(offer.status(), IsOk());
  return offer.ok() ? Json::parse(offer->dump()) : Json();
}

TEST(DspOfferTest, TakesTheUidAndWritesCompactOdrlWithTypedValues) {
  Json offer = Offer(Dataset(kSelf, "air", FullPolicy()));
  EXPECT_EQ(offer["@id"], "urn:uuid:6f1c2a7e-3b8d-4e0a-9c41-2d5e8f7a9b10");
  EXPECT_EQ(offer["@type"], "Offer");
  EXPECT_FALSE(offer.contains("target")) << offer.dump();
  EXPECT_FALSE(offer.contains("@context")) << offer.dump();
  EXPECT_EQ(offer["assigner"], "did:key:z6MkHospitalProvider");
  const Json& permission = offer["permission"][0];
  EXPECT_EQ(permission["action"], "use");
  EXPECT_FALSE(permission.contains("target")) << "inherited, not the rule's own";
  const Json& c = permission["constraint"];
  ASSERT_EQ(c.size(), 5u) << offer.dump();
  EXPECT_EQ(c[0], Json::parse(R"({"leftOperand": "purpose", "operator": "eq",
      "rightOperand": {"@id": "https://w3id.org/hanse/v1#MedicalResearch"}})"));
  EXPECT_EQ(c[1], Json::parse(R"({"leftOperand": "spatial", "operator": "isPartOf",
      "rightOperand": "EU"})"));
  EXPECT_EQ(c[2]["leftOperand"], "https://w3id.org/hanse/v1#jurisdiction");
  EXPECT_EQ(c[3]["https://w3id.org/hanse/v1#issuer"], Json::array({"did:key:z6MkCertifier"}));
  EXPECT_EQ(c[4]["rightOperand"], Json::parse(R"({"@value": 3})"));
  EXPECT_EQ(permission["duty"][0]["action"], "delete");
  EXPECT_EQ(permission["duty"][0]["constraint"][0]["rightOperand"],
            Json::parse(R"({"@value": "P30D", "@type": "xsd:duration"})"));
  EXPECT_EQ(permission["duty"][1], Json::parse(R"({"action": "inform"})"));
  EXPECT_EQ(offer["prohibition"], Json::parse(R"([{"action": "distribute"}])"));
}

TEST(DspOfferTest, DerivesAStableIdWithoutUidAndCompactsExpandedIris) {
  Json offer = Offer(Dataset(kSelf, "air", kExpandedPolicy));
  EXPECT_EQ(offer["@id"], "urn:hanse:offer:did:key:zDnaeSelf/datasets/air:7");
  EXPECT_EQ(offer["@type"], "Offer");
  const Json& permission = offer["permission"][0];
  EXPECT_EQ(permission["action"], "use");
  const Json& either = permission["constraint"][0]["or"];
  ASSERT_EQ(either.size(), 2u) << offer.dump();
  EXPECT_EQ(either[0]["operator"], "lt");
  EXPECT_EQ(either[0]["rightOperand"],
            Json::parse(R"({"@value": "2030-01-01T00:00:00Z", "@type": "xsd:dateTime"})"));
  EXPECT_EQ(either[1]["rightOperand"], Json::parse(R"(["FR", "DE"])"));
}

TEST(DspOfferTest, RefusesWhatCannotBeADspOffer) {
  EXPECT_THAT(DspOffer(Dataset(kSelf, "a", R"({"@type": "Offer",
                  "obligation": [{"action": "inform"}]})"))
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no permission")));
  EXPECT_THAT(DspOffer(Dataset(kSelf, "b", R"({"@type": "Offer", "permission": [{"action": "use",
                  "constraint": [{"leftOperand": "count", "operator": "about",
                                  "rightOperand": 1}]}]})"))
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("operator")));
  EXPECT_THAT(DspOffer(Dataset(kSelf, "c", "not json")).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("usage policy")));
}

TEST(DspDatasetTest, ResponseHasTheDspContextMetadataAndAnEmbeddedService) {
  DataService service = ParticipantDataService(kSelf, "node.example:7400");
  EXPECT_EQ(service.id, "urn:hanse:dataservice:did:key:zDnaeSelf");
  EXPECT_EQ(service.endpoint_url, "https://node.example:7400");
  auto text = DspDatasetResponse(Dataset(kSelf, "air", FullPolicy()), service);
  ASSERT_THAT(text.status(), IsOk());
  Json j = Json::parse(*text);
  EXPECT_EQ(j["@context"], Json::array({"https://w3id.org/dspace/2025/1/context.jsonld"}));
  EXPECT_EQ(j["@type"], "Dataset");
  EXPECT_EQ(j["@id"], "did:key:zDnaeSelf/datasets/air");
  EXPECT_EQ(j["dct:title"], "Air quality in Lyon 2024");
  EXPECT_EQ(j["dcat:keyword"], Json::parse(R"(["air", "pollution"])"));
  EXPECT_EQ(j["dct:license"]["@id"], "http://spdx.org/licenses/CC-BY-4.0");
  EXPECT_EQ(j["dct:publisher"]["@id"], kSelf);
  ASSERT_EQ(j["hasPolicy"].size(), 1u);
  const Json& dist = j["distribution"][0];
  EXPECT_EQ(dist["@type"], "Distribution");
  EXPECT_EQ(dist["format"], "HanseGrpc-PULL");
  EXPECT_EQ(dist["dcat:mediaType"], "text/csv");
  EXPECT_EQ(dist["accessService"]["@type"], "DataService");
  EXPECT_EQ(dist["accessService"]["@id"], service.id);
  EXPECT_EQ(dist["accessService"]["endpointURL"], "https://node.example:7400");
}

TEST(DspCatalogWriterTest, OwnDatasetsAtTheRootOthersInOneNestedCatalogPerPublisher) {
  DataService self = ParticipantDataService(kSelf, "self.example:7400");
  DataService peer = ParticipantDataService(kPeer, "peer.example:7400");
  DspCatalogWriter writer(kSelf, self);
  std::string text = writer.Begin();
  for (const char* name : {"a", "b"}) {
    auto piece = writer.OwnDataset(Dataset(kSelf, name, FullPolicy()));
    ASSERT_THAT(piece.status(), IsOk());
    text += *piece;
  }
  for (const char* name : {"c", "d"}) {
    auto piece = writer.PublisherDataset(Dataset(kPeer, name, kExpandedPolicy), peer);
    ASSERT_THAT(piece.status(), IsOk());
    text += *piece;
  }
  // Own datasets cannot follow others' (the root's array is closed by then).
  EXPECT_THAT(writer.OwnDataset(Dataset(kSelf, "e", FullPolicy())).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  text += writer.End();
  Json j = Json::parse(text, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << text;
  EXPECT_EQ(j["@type"], "Catalog");
  EXPECT_EQ(j["participantId"], kSelf);
  EXPECT_EQ(j["service"][0]["endpointURL"], "https://self.example:7400");
  ASSERT_EQ(j["dataset"].size(), 2u);
  EXPECT_EQ(j["dataset"][1]["distribution"][0]["accessService"], self.id);
  ASSERT_EQ(j["catalog"].size(), 1u) << text;
  const Json& nested = j["catalog"][0];
  EXPECT_EQ(nested["@type"], "Catalog");
  EXPECT_EQ(nested["participantId"], kPeer);
  EXPECT_EQ(nested["service"][0]["@id"], peer.id);
  ASSERT_EQ(nested["dataset"].size(), 2u);
  EXPECT_EQ(nested["dataset"][0]["distribution"][0]["accessService"], peer.id);
}

TEST(DspCatalogWriterTest, EmptyCatalogHasNoEmptyArrays) {
  DspCatalogWriter writer(kSelf, ParticipantDataService(kSelf, "self.example:7400"));
  std::string text = writer.Begin() + writer.End();
  Json j = Json::parse(text, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << text;
  EXPECT_FALSE(j.contains("dataset"));
  EXPECT_FALSE(j.contains("catalog"));
  EXPECT_EQ(j["service"].size(), 1u);
}

TEST(DspCatalogWriterTest, OnlyOtherPublishersAndAPublisherWithoutEndpoint) {
  DspCatalogWriter writer(kSelf, ParticipantDataService(kSelf, "self.example:7400"));
  std::string text = writer.Begin();
  auto piece =
      writer.PublisherDataset(Dataset(kPeer, "c", FullPolicy()), ParticipantDataService(kPeer, ""));
  ASSERT_THAT(piece.status(), IsOk());
  text += *piece + writer.End();
  Json j = Json::parse(text, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << text;
  EXPECT_FALSE(j.contains("dataset"));
  EXPECT_FALSE(j["catalog"][0].contains("service")) << "no endpoint, no DataService";
}

}  // namespace
}  // namespace hanse::catalog
