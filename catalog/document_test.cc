#include "catalog/document.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "tests/support/status_matchers.h"
#include "trust/did_key.h"
#include "trust/encoding.h"
#include "trust/jws.h"
#include "trust/keys.h"

namespace hanse::catalog {
namespace {

using ::hanse::testing::IsOk;
using ::hanse::testing::StatusIs;
using ::testing::HasSubstr;
using Json = nlohmann::json;

absl::Time Utc(int y, int m, int d, int hh = 0, int mm = 0, int ss = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, ss), absl::UTCTimeZone());
}

// "Now" for every check unless a test moves it: well inside the documents' validity windows.
const absl::Time kNow = Utc(2024, 6, 1);
const absl::Time kValidFrom = Utc(2024, 1, 1);
const absl::Time kValidUntil = Utc(2025, 1, 1);

constexpr char kPolicy[] =
    R"({"@context":"http://www.w3.org/ns/odrl.jsonld","@type":"Offer",)"
    R"("permission":[{"action":"use","constraint":[{"leftOperand":"purpose","operator":"eq",)"
    R"("rightOperand":"research"}]}]})";

trust::PrivateKey NewKey(trust::KeyType type) { return trust::PrivateKey::Generate(type).value(); }

std::string Did(const trust::PrivateKey& key) { return trust::EncodeDidKey(key.Public()); }

Document Participant(const trust::PrivateKey& key, std::uint64_t sequence = 1) {
  Document d;
  d.kind = DocumentKind::kParticipant;
  d.issuer = Did(key);
  d.id = d.issuer;
  d.sequence = sequence;
  d.valid_from = kValidFrom;
  d.valid_until = kValidUntil;
  d.participant.legal_name = "Hafenamt Daten GmbH";
  d.participant.registration_number = "HRB 12345";
  d.participant.country = "DE";
  d.participant.jurisdictions = {"DE", "EU"};
  d.participant.endpoints = {"hanse.hafenamt.example:7443"};
  return d;
}

Document Dataset(const trust::PrivateKey& key, absl::string_view name, std::uint64_t sequence) {
  Document d;
  d.kind = DocumentKind::kDataset;
  d.issuer = Did(key);
  d.id = DatasetId(d.issuer, name);
  d.sequence = sequence;
  d.valid_from = kValidFrom;
  d.valid_until = absl::InfiniteFuture();
  DatasetFacts& f = d.dataset;
  f.title = "Harbour air quality";
  f.description = "Hourly NO2 and PM10 readings at the harbour stations.";
  f.keywords = {"air quality", "NO2", "PM10"};
  f.themes = {"environment"};
  f.publisher = "Hafenamt";
  f.license = "CC-BY-4.0";
  f.media_type = "text/csv";
  f.byte_size = 123456;
  f.sha256 = std::string(64, 'a');
  f.language = "de";
  f.hosting_location = "DE";
  f.personal_data_class = "none";
  f.issued = "2024-02-01";
  f.modified = "2024-03-01";
  f.policy_json = kPolicy;
  return d;
}

Document Tombstone(const trust::PrivateKey& key, absl::string_view name, std::uint64_t sequence) {
  Document d;
  d.kind = DocumentKind::kTombstone;
  d.issuer = Did(key);
  d.id = DatasetId(d.issuer, name);
  d.sequence = sequence;
  d.valid_from = kValidFrom;
  return d;
}

// The holder certified in the tests: a did:key of its own (never the issuer).
const std::string& HolderDid() {
  static const std::string* did = new std::string(Did(NewKey(trust::KeyType::kEd25519)));
  return *did;
}

Document Certification(const trust::PrivateKey& key, std::uint64_t sequence = 1,
                       absl::string_view name = "health-data-hosting") {
  return CertificationDocument(Did(key), HolderDid(), name, sequence, kValidFrom, kValidUntil);
}

std::string B64(absl::string_view bytes) { return trust::Base64UrlEncode(bytes); }

// A compact JWS with exactly this header JSON, signed (validly) by `key`.
std::string HandToken(const trust::PrivateKey& key, absl::string_view header_json,
                      absl::string_view payload) {
  std::string input = absl::StrCat(B64(header_json), ".", B64(payload));
  return absl::StrCat(input, ".", B64(key.SignJose(input).value()));
}

std::string Kid(const trust::PrivateKey& key) { return trust::DidKeyVerificationMethod(Did(key)); }

std::string Header(const trust::PrivateKey& key, absl::string_view extra = "") {
  return absl::StrCat(R"({"alg":")", trust::JoseAlg(key.type()), R"(","kid":")", Kid(key),
                      R"(","typ":"vc+jwt")", extra, "}");
}

std::vector<std::string> Parts(absl::string_view jws) { return absl::StrSplit(jws, '.'); }

void ExpectSameDocument(const Document& got, const Document& want) {
  EXPECT_EQ(got.kind, want.kind);
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.issuer, want.issuer);
  EXPECT_EQ(got.sequence, want.sequence);
  EXPECT_EQ(got.valid_from, want.valid_from);
  EXPECT_EQ(got.valid_until, want.valid_until);
  if (want.kind == DocumentKind::kParticipant) {
    EXPECT_EQ(got.participant.legal_name, want.participant.legal_name);
    EXPECT_EQ(got.participant.registration_number, want.participant.registration_number);
    EXPECT_EQ(got.participant.country, want.participant.country);
    EXPECT_EQ(got.participant.jurisdictions, want.participant.jurisdictions);
    EXPECT_EQ(got.participant.endpoints, want.participant.endpoints);
  }
  if (want.kind == DocumentKind::kDataset) {
    const DatasetFacts& g = got.dataset;
    const DatasetFacts& w = want.dataset;
    EXPECT_EQ(g.title, w.title);
    EXPECT_EQ(g.description, w.description);
    EXPECT_EQ(g.keywords, w.keywords);
    EXPECT_EQ(g.themes, w.themes);
    EXPECT_EQ(g.publisher, w.publisher);
    EXPECT_EQ(g.license, w.license);
    EXPECT_EQ(g.media_type, w.media_type);
    EXPECT_EQ(g.byte_size, w.byte_size);
    EXPECT_EQ(g.sha256, w.sha256);
    EXPECT_EQ(g.language, w.language);
    EXPECT_EQ(g.hosting_location, w.hosting_location);
    EXPECT_EQ(g.personal_data_class, w.personal_data_class);
    EXPECT_EQ(g.issued, w.issued);
    EXPECT_EQ(g.modified, w.modified);
    EXPECT_EQ(Json::parse(g.policy_json), Json::parse(w.policy_json));
  }
  EXPECT_EQ(got.certification.subject, want.certification.subject);
  EXPECT_EQ(got.certification.certification, want.certification.certification);
}

// ------------------------------------------------------------------------ round trips

class DocumentRoundTripTest : public ::testing::TestWithParam<trust::KeyType> {};

INSTANTIATE_TEST_SUITE_P(Keys, DocumentRoundTripTest,
                         ::testing::Values(trust::KeyType::kP256, trust::KeyType::kEd25519),
                         [](const auto& info) {
                           return std::string(trust::KeyTypeName(info.param));
                         });

void ExpectRoundTrip(const Document& doc, const trust::PrivateKey& key) {
  HANSE_ASSERT_OK_AND_ASSIGN(std::string jws, SignDocument(doc, key));
  EXPECT_LE(jws.size(), kMaxDocumentBytes);
  HANSE_ASSERT_OK_AND_ASSIGN(VerifiedDocument v, VerifyDocument(jws, kNow));
  ExpectSameDocument(v.doc, doc);
  EXPECT_EQ(v.jws, jws);
  EXPECT_EQ(v.hash, trust::Sha256(jws));

  // The header is what VC-JOSE prescribes: the issuer's verification method as kid, typ vc+jwt.
  HANSE_ASSERT_OK_AND_ASSIGN(trust::VerifiedJws decoded, trust::DecodeUnverified(jws));
  EXPECT_EQ(decoded.typ, "vc+jwt");
  EXPECT_EQ(decoded.kid, trust::DidKeyVerificationMethod(doc.issuer));
  EXPECT_EQ(decoded.signer_did, doc.issuer);
  Json header = Json::parse(trust::Base64UrlDecode(Parts(jws)[0]).value());
  EXPECT_EQ(header["alg"], std::string(trust::JoseAlg(key.type())));

  // The payload is a VC 2.0 credential.
  Json payload = Json::parse(decoded.payload);
  EXPECT_EQ(payload["@context"][0], "https://www.w3.org/ns/credentials/v2");
  EXPECT_EQ(payload["type"][0], "VerifiableCredential");
  EXPECT_EQ(payload["issuer"], doc.issuer);
  // A certification is about its holder; every other kind is about the document itself.
  EXPECT_EQ(payload["credentialSubject"]["id"],
            doc.kind == DocumentKind::kCertification ? doc.certification.subject : doc.id);
  EXPECT_EQ(decoded.payload, DocumentPayload(doc));

  HANSE_ASSERT_OK_AND_ASSIGN(Document parsed, ParseDocumentPayload(decoded.payload));
  ExpectSameDocument(parsed, doc);
}

TEST_P(DocumentRoundTripTest, Participant) {
  trust::PrivateKey key = NewKey(GetParam());
  ExpectRoundTrip(Participant(key), key);
  Document minimal = Participant(key, 7);
  minimal.participant.registration_number.clear();
  minimal.participant.jurisdictions.clear();
  minimal.participant.endpoints.clear();
  minimal.valid_until = absl::InfiniteFuture();
  ExpectRoundTrip(minimal, key);
}

TEST_P(DocumentRoundTripTest, Dataset) {
  trust::PrivateKey key = NewKey(GetParam());
  ExpectRoundTrip(Dataset(key, "harbour-air.2024_v1", 2), key);
  Document minimal = Dataset(key, "x", 3);
  minimal.dataset.description.clear();
  minimal.dataset.keywords.clear();
  minimal.dataset.themes.clear();
  minimal.dataset.modified.clear();
  minimal.dataset.byte_size = 0;
  minimal.dataset.language = "pt-BR";
  minimal.dataset.policy_json = R"({"@type":"Set","prohibition":{"action":"distribute"}})";
  ExpectRoundTrip(minimal, key);
}

TEST_P(DocumentRoundTripTest, Tombstone) {
  trust::PrivateKey key = NewKey(GetParam());
  Document t = Tombstone(key, "harbour-air", 9);
  ExpectRoundTrip(t, key);
  Json payload = Json::parse(DocumentPayload(t));
  EXPECT_EQ(payload["type"][1], "HanseTombstone");
  EXPECT_EQ(payload["credentialSubject"]["unpublished"], true);
}

TEST_P(DocumentRoundTripTest, Certification) {
  trust::PrivateKey key = NewKey(GetParam());
  Document c = Certification(key, 4);
  ExpectRoundTrip(c, key);
  Json payload = Json::parse(DocumentPayload(c));
  EXPECT_EQ(payload["type"], Json::array({"VerifiableCredential", "HanseCertification"}));
  EXPECT_EQ(payload["id"], CertificationId(Did(key), HolderDid(), "health-data-hosting"));
  EXPECT_EQ(payload["validUntil"], "2025-01-01T00:00:00Z");
  EXPECT_EQ(payload["credentialSubject"],
            Json::object({{"id", HolderDid()}, {"certification", "health-data-hosting"}}));
  // Without validUntil the credential does not expire.
  Document open_ended = CertificationDocument(Did(key), HolderDid(), "iso27001", 5, kValidFrom);
  EXPECT_EQ(open_ended.valid_until, absl::InfiniteFuture());
  ExpectRoundTrip(open_ended, key);
  EXPECT_FALSE(Json::parse(DocumentPayload(open_ended)).contains("validUntil"));
  // The longest name.
  ExpectRoundTrip(Certification(key, 6, std::string(64, 'z')), key);
}

// Revoking a certification is a tombstone for its id, signed by its issuer.
TEST_P(DocumentRoundTripTest, TombstoneForACertification) {
  trust::PrivateKey key = NewKey(GetParam());
  Document t = TombstoneDocument(Did(key), Certification(key).id, 9, kValidFrom + absl::Hours(1));
  EXPECT_EQ(t.kind, DocumentKind::kTombstone);
  ExpectRoundTrip(t, key);
  EXPECT_THAT(ValidateDocument(TombstoneDocument(Did(key), DatasetId(Did(key), "air"), 9, kNow)),
              IsOk());
}

TEST(DocumentTest, CertificationIdIsDeterministicPerHolderAndName) {
  const std::string issuer = Did(NewKey(trust::KeyType::kP256));
  const std::string other_holder = Did(NewKey(trust::KeyType::kP256));
  const std::string id = CertificationId(issuer, HolderDid(), "health-data-hosting");
  // ISSUER/certifications/NAME-HASH, HASH the first 32 hex digits of SHA-256(holder DID).
  EXPECT_EQ(id, absl::StrCat(issuer, "/certifications/health-data-hosting-",
                             trust::HexEncode(trust::Sha256(HolderDid())).substr(0, 32)));
  EXPECT_EQ(CertificationId(issuer, HolderDid(), "health-data-hosting"), id);
  EXPECT_NE(CertificationId(issuer, other_holder, "health-data-hosting"), id);
  EXPECT_NE(CertificationId(issuer, HolderDid(), "iso27001"), id);
  EXPECT_NE(CertificationId(other_holder, HolderDid(), "health-data-hosting"), id);
  // Re-issuing to the same holder is a new version of the same id.
  Document v1 = CertificationDocument(issuer, HolderDid(), "iso27001", 1, kValidFrom);
  Document v2 = CertificationDocument(issuer, HolderDid(), "iso27001", 7, kValidFrom, kValidUntil);
  EXPECT_EQ(v1.id, v2.id);
  EXPECT_THAT(ValidateDocument(v1), IsOk());
  EXPECT_THAT(ValidateDocument(v2), IsOk());

  EXPECT_TRUE(IsCertificationName("health-data-hosting"));
  EXPECT_TRUE(IsCertificationName("iso27001"));
  EXPECT_TRUE(IsCertificationName(std::string(64, 'a')));
  for (const char* bad : {"", "Health", "health_data", "health data", "h\xc3\xa9", "a/b", "a|b"}) {
    EXPECT_FALSE(IsCertificationName(bad)) << bad;
  }
  EXPECT_FALSE(IsCertificationName(std::string(65, 'a')));
}

TEST(DocumentTest, ExpiredCertificationIsRefused) {
  trust::PrivateKey key = NewKey(trust::KeyType::kEd25519);
  HANSE_ASSERT_OK_AND_ASSIGN(std::string jws, SignDocument(Certification(key), key));
  EXPECT_THAT(VerifyDocument(jws, kNow), IsOk());
  EXPECT_THAT(VerifyDocument(jws, kValidUntil + kMaxClockSkew + absl::Seconds(1)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("expired")));
  EXPECT_THAT(VerifyDocument(jws, kValidFrom - kMaxClockSkew - absl::Seconds(1)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not yet valid")));
}

TEST(DocumentTest, SignRefusesAKeyThatIsNotTheIssuers) {
  trust::PrivateKey a = NewKey(trust::KeyType::kP256);
  trust::PrivateKey b = NewKey(trust::KeyType::kEd25519);
  EXPECT_THAT(SignDocument(Dataset(a, "d", 1), b),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("issuer")));
}

TEST(DocumentTest, KindNamesAndIds) {
  EXPECT_EQ(DocumentKindName(DocumentKind::kParticipant), "participant");
  EXPECT_EQ(DocumentKindName(DocumentKind::kDataset), "dataset");
  EXPECT_EQ(DocumentKindName(DocumentKind::kTombstone), "tombstone");
  EXPECT_EQ(DocumentKindName(DocumentKind::kCertification), "certification");
  EXPECT_EQ(DatasetId("did:key:zAbc", "air"), "did:key:zAbc/datasets/air");
  EXPECT_THAT(DayNumber("1970-01-02"), ::hanse::testing::IsOkAndHolds(1));
  EXPECT_THAT(DayNumber("1969-12-31"), ::hanse::testing::IsOkAndHolds(-1));
  EXPECT_THAT(DayNumber("2024-03-01"), ::hanse::testing::IsOkAndHolds(19783));
}

// ------------------------------------------------------------------ validation rules

struct RuleCase {
  const char* name;
  DocumentKind kind;
  std::function<void(Document&)> mutate;
  const char* field;  // the field the error must name, quoted as in the message
};

// So that gtest names the case instead of dumping its bytes.
void PrintTo(const RuleCase& c, std::ostream* os) { *os << c.name; }

std::string FieldOf(const RuleCase& c) { return absl::StrCat("\"", c.field, "\""); }

std::vector<RuleCase> RuleCases() {
  constexpr DocumentKind D = DocumentKind::kDataset;
  constexpr DocumentKind P = DocumentKind::kParticipant;
  constexpr DocumentKind C = DocumentKind::kCertification;
  constexpr DocumentKind T = DocumentKind::kTombstone;
  return {
      {"title_empty", D, [](Document& d) { d.dataset.title.clear(); }, "credentialSubject.title"},
      {"title_too_long", D, [](Document& d) { d.dataset.title = std::string(201, 'x'); },
       "credentialSubject.title"},
      {"title_control_character", D,
       [](Document& d) {
         d.dataset.title =
             "a\x01"
             "b";
       },
       "credentialSubject.title"},
      {"publisher_empty", D, [](Document& d) { d.dataset.publisher.clear(); },
       "credentialSubject.publisher"},
      {"license_empty", D, [](Document& d) { d.dataset.license.clear(); },
       "credentialSubject.license"},
      {"keyword_empty", D,
       [](Document& d) {
         d.dataset.keywords = {"ok", ""};
       },
       "credentialSubject.keywords[1]"},
      {"too_many_themes", D,
       [](Document& d) { d.dataset.themes = std::vector<std::string>(17, "t"); },
       "credentialSubject.themes"},
      {"media_type_without_slash", D, [](Document& d) { d.dataset.media_type = "csv"; },
       "credentialSubject.mediaType"},
      {"media_type_two_slashes", D, [](Document& d) { d.dataset.media_type = "text/csv/x"; },
       "credentialSubject.mediaType"},
      {"media_type_space", D, [](Document& d) { d.dataset.media_type = "text/ csv"; },
       "credentialSubject.mediaType"},
      {"sha256_upper_case", D, [](Document& d) { d.dataset.sha256 = std::string(64, 'A'); },
       "credentialSubject.sha256"},
      {"sha256_not_hex", D, [](Document& d) { d.dataset.sha256 = std::string(64, 'g'); },
       "credentialSubject.sha256"},
      {"sha256_short", D, [](Document& d) { d.dataset.sha256 = std::string(63, 'a'); },
       "credentialSubject.sha256"},
      {"language_upper_case", D, [](Document& d) { d.dataset.language = "EN"; },
       "credentialSubject.language"},
      {"language_word", D, [](Document& d) { d.dataset.language = "english"; },
       "credentialSubject.language"},
      {"language_bad_subtag", D, [](Document& d) { d.dataset.language = "en_GB"; },
       "credentialSubject.language"},
      {"language_empty", D, [](Document& d) { d.dataset.language.clear(); },
       "credentialSubject.language"},
      {"hosting_lower_case", D, [](Document& d) { d.dataset.hosting_location = "de"; },
       "credentialSubject.hostingLocation"},
      {"hosting_alpha3", D, [](Document& d) { d.dataset.hosting_location = "DEU"; },
       "credentialSubject.hostingLocation"},
      {"personal_data_class_unknown", D,
       [](Document& d) { d.dataset.personal_data_class = "secret"; },
       "credentialSubject.personalDataClass"},
      {"personal_data_class_empty", D, [](Document& d) { d.dataset.personal_data_class.clear(); },
       "credentialSubject.personalDataClass"},
      {"issued_month_13", D, [](Document& d) { d.dataset.issued = "2024-13-01"; },
       "credentialSubject.issued"},
      {"issued_slashes", D, [](Document& d) { d.dataset.issued = "2024/01/01"; },
       "credentialSubject.issued"},
      {"issued_with_time", D, [](Document& d) { d.dataset.issued = "2024-01-01T00:00:00Z"; },
       "credentialSubject.issued"},
      {"issued_empty", D, [](Document& d) { d.dataset.issued.clear(); },
       "credentialSubject.issued"},
      {"issued_february_30", D, [](Document& d) { d.dataset.issued = "2023-02-30"; },
       "credentialSubject.issued"},
      {"modified_bad_date", D, [](Document& d) { d.dataset.modified = "yesterday"; },
       "credentialSubject.modified"},
      {"modified_before_issued", D, [](Document& d) { d.dataset.modified = "2024-01-31"; },
       "credentialSubject.modified"},
      {"policy_array", D, [](Document& d) { d.dataset.policy_json = "[]"; },
       "credentialSubject.policy"},
      {"policy_string", D, [](Document& d) { d.dataset.policy_json = R"("Offer")"; },
       "credentialSubject.policy"},
      {"policy_not_json", D, [](Document& d) { d.dataset.policy_json = "{"; },
       "credentialSubject.policy"},
      {"policy_empty", D, [](Document& d) { d.dataset.policy_json.clear(); },
       "credentialSubject.policy"},
      {"policy_no_type", D,
       [](Document& d) { d.dataset.policy_json = R"({"permission":[{"action":"use"}]})"; },
       "credentialSubject.policy"},
      {"policy_type_not_string", D,
       [](Document& d) {
         d.dataset.policy_json = R"({"@type":["Offer"],"permission":[{"action":"use"}]})";
       },
       "credentialSubject.policy"},
      {"policy_unknown_type", D,
       [](Document& d) {
         d.dataset.policy_json = R"({"@type":"Agreement","permission":[{"action":"use"}]})";
       },
       "credentialSubject.policy"},
      {"policy_no_rules", D, [](Document& d) { d.dataset.policy_json = R"({"@type":"Offer"})"; },
       "credentialSubject.policy"},
      {"policy_rule_not_array", D,
       [](Document& d) { d.dataset.policy_json = R"({"@type":"Offer","permission":"use"})"; },
       "credentialSubject.policy"},
      {"id_other_issuer", D,
       [](Document& d) { d.id = DatasetId(Did(NewKey(trust::KeyType::kEd25519)), "air"); }, "id"},
      {"id_not_under_datasets", D, [](Document& d) { d.id = d.issuer + "/data/air"; }, "id"},
      {"id_is_the_issuer", D, [](Document& d) { d.id = d.issuer; }, "id"},
      {"id_name_empty", D, [](Document& d) { d.id = DatasetId(d.issuer, ""); }, "id"},
      {"id_name_with_slash", D, [](Document& d) { d.id = DatasetId(d.issuer, "a/b"); }, "id"},
      {"id_name_dotdot", D, [](Document& d) { d.id = DatasetId(d.issuer, ".."); }, "id"},
      {"id_name_too_long", D, [](Document& d) { d.id = DatasetId(d.issuer, std::string(65, 'n')); },
       "id"},
      {"tombstone_id_not_under_datasets", DocumentKind::kTombstone,
       [](Document& d) { d.id = d.issuer; }, "id"},
      {"participant_id_not_issuer", P, [](Document& d) { d.id = d.issuer + "/datasets/x"; }, "id"},
      {"sequence_zero", D, [](Document& d) { d.sequence = 0; }, "sequence"},
      {"sequence_above_2_53", D, [](Document& d) { d.sequence = std::uint64_t{1} << 53; },
       "sequence"},
      {"issuer_not_did_key", D,
       [](Document& d) {
         d.issuer = "did:web:example.org";
         d.id = DatasetId(d.issuer, "air");
       },
       "issuer"},
      {"valid_from_missing", D, [](Document& d) { d.valid_from = absl::InfinitePast(); },
       "validFrom"},
      {"valid_until_before_valid_from", D,
       [](Document& d) { d.valid_until = d.valid_from - absl::Seconds(1); }, "validUntil"},
      {"valid_until_equal_valid_from", D, [](Document& d) { d.valid_until = d.valid_from; },
       "validUntil"},
      {"legal_name_empty", P, [](Document& d) { d.participant.legal_name.clear(); },
       "credentialSubject.legalName"},
      {"country_name", P, [](Document& d) { d.participant.country = "Germany"; },
       "credentialSubject.countryOfLegalSeat"},
      {"jurisdiction_lower_case", P,
       [](Document& d) {
         d.participant.jurisdictions = {"EU", "fr"};
       },
       "credentialSubject.jurisdictions[1]"},
      {"endpoint_empty", P, [](Document& d) { d.participant.endpoints = {""}; },
       "credentialSubject.endpoints[0]"},
      // Certifications. The id follows the subject and name, so a mutation of either alone
      // leaves the id of the original: the field check must come first and be the one named.
      {"certification_subject_empty", C, [](Document& d) { d.certification.subject.clear(); },
       "credentialSubject.id"},
      {"certification_subject_did_web", C,
       [](Document& d) { d.certification.subject = "did:web:example.org"; },
       "credentialSubject.id"},
      {"certification_subject_did_url", C,
       [](Document& d) { d.certification.subject = trust::DidKeyVerificationMethod(HolderDid()); },
       "credentialSubject.id"},
      {"certification_subject_not_a_key", C,
       [](Document& d) { d.certification.subject = "did:key:z6MkNotAKey"; },
       "credentialSubject.id"},
      {"certification_subject_is_issuer", C,
       [](Document& d) {
         d.certification.subject = d.issuer;
         d.id = CertificationId(d.issuer, d.issuer, d.certification.certification);
       },
       "credentialSubject.id"},
      {"certification_name_empty", C, [](Document& d) { d.certification.certification.clear(); },
       "credentialSubject.certification"},
      {"certification_name_upper_case", C,
       [](Document& d) { d.certification.certification = "ISO27001"; },
       "credentialSubject.certification"},
      {"certification_name_underscore", C,
       [](Document& d) { d.certification.certification = "health_data"; },
       "credentialSubject.certification"},
      {"certification_name_too_long", C,
       [](Document& d) { d.certification.certification = std::string(65, 'a'); },
       "credentialSubject.certification"},
      {"certification_id_of_another_holder", C,
       [](Document& d) {
         d.id = CertificationId(d.issuer, Did(NewKey(trust::KeyType::kP256)),
                                d.certification.certification);
       },
       "id"},
      {"certification_id_of_another_name", C,
       [](Document& d) { d.id = CertificationId(d.issuer, HolderDid(), "iso27001"); }, "id"},
      {"certification_id_of_another_issuer", C,
       [](Document& d) {
         d.id = CertificationId(Did(NewKey(trust::KeyType::kP256)), HolderDid(),
                                d.certification.certification);
       },
       "id"},
      {"certification_id_under_datasets", C,
       [](Document& d) { d.id = DatasetId(d.issuer, "health-data-hosting"); }, "id"},
      {"certification_id_is_the_issuer", C, [](Document& d) { d.id = d.issuer; }, "id"},
      {"certification_valid_until_before_valid_from", C,
       [](Document& d) { d.valid_until = d.valid_from - absl::Hours(1); }, "validUntil"},
      {"certification_sequence_zero", C, [](Document& d) { d.sequence = 0; }, "sequence"},
      {"dataset_id_under_certifications", D,
       [](Document& d) { d.id = CertificationId(d.issuer, HolderDid(), "air"); }, "id"},
      // Revocation: a tombstone names a certification id of its own issuer only.
      {"tombstone_for_another_issuers_certification", T,
       [](Document& d) {
         d.id = CertificationId(Did(NewKey(trust::KeyType::kP256)), HolderDid(), "iso27001");
       },
       "id"},
      {"tombstone_certification_id_chopped", T,
       [](Document& d) {
         std::string id = CertificationId(d.issuer, HolderDid(), "iso27001");
         d.id = id.substr(0, id.size() - 1);
       },
       "id"},
      {"tombstone_certification_hash_upper_case", T,
       [](Document& d) {
         d.id = absl::StrCat(d.issuer, "/certifications/iso27001-", std::string(32, 'A'));
       },
       "id"},
      {"tombstone_certification_without_name", T,
       [](Document& d) {
         d.id = absl::StrCat(d.issuer, "/certifications/-", std::string(32, 'a'));
       },
       "id"},
  };
}

class ValidationRuleTest : public ::testing::TestWithParam<RuleCase> {};

INSTANTIATE_TEST_SUITE_P(Rules, ValidationRuleTest, ::testing::ValuesIn(RuleCases()),
                         [](const auto& info) { return std::string(info.param.name); });

Document BaseFor(DocumentKind kind, const trust::PrivateKey& key) {
  switch (kind) {
    case DocumentKind::kParticipant:
      return Participant(key);
    case DocumentKind::kDataset:
      return Dataset(key, "air", 1);
    case DocumentKind::kTombstone:
      return Tombstone(key, "air", 1);
    case DocumentKind::kCertification:
      return Certification(key);
  }
  return Document();
}

// Each violated rule is InvalidArgument naming its field, from ValidateDocument and SignDocument.
TEST_P(ValidationRuleTest, ViolationNamesTheField) {
  const RuleCase& c = GetParam();
  trust::PrivateKey key = NewKey(trust::KeyType::kEd25519);
  Document good = BaseFor(c.kind, key);
  ASSERT_THAT(ValidateDocument(good), IsOk());
  Document bad = good;
  c.mutate(bad);
  EXPECT_THAT(ValidateDocument(bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(FieldOf(c))));
  EXPECT_THAT(SignDocument(bad, key), StatusIs(absl::StatusCode::kInvalidArgument));
}

// The same rules hold for documents signed by someone else's software: a payload signed with
// SignCompact directly (bypassing SignDocument's validation) is refused by VerifyDocument.
TEST_P(ValidationRuleTest, VerifyRefusesSignedViolation) {
  const RuleCase& c = GetParam();
  if (absl::string_view(c.name) == "policy_not_json" ||
      absl::string_view(c.name) == "policy_empty") {
    GTEST_SKIP() << "not representable as a payload (DocumentPayload renders it differently)";
  }
  trust::PrivateKey key = NewKey(trust::KeyType::kP256);
  Document bad = BaseFor(c.kind, key);
  c.mutate(bad);
  HANSE_ASSERT_OK_AND_ASSIGN(std::string jws,
                             trust::SignCompact(key, Kid(key), kVcType, DocumentPayload(bad)));
  EXPECT_THAT(VerifyDocument(jws, kNow),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(FieldOf(c))));
}

// issued/modified are documented as YYYY-MM-DD (document.h) and DayNumber is "days since
// 1970-01-01 for YYYY-MM-DD"; the query language's ParseDay accepts exactly that form. DayNumber
// checks only the length (10) and then calls absl::ParseCivilTime, which skips leading and
// trailing whitespace (strtoll / cctz), takes a signed year and one-digit months and days. So
// "2024-1-1  ", "  2024-1-1" and "+024-01-01" (year 24) pass validation, get signed, verify and
// are indexed.
// Regression (catalog/document.cc DayNumber).
TEST(DocumentTest, IssuedIsExactlyYyyyMmDd) {
  trust::PrivateKey key = NewKey(trust::KeyType::kEd25519);
  for (const char* issued :
       {"2024-1-1  ", "  2024-1-1", "+024-01-01", "2024-01-1 ", " 2024-01-1"}) {
    EXPECT_THAT(DayNumber(issued), StatusIs(absl::StatusCode::kInvalidArgument)) << issued;
    Document d = Dataset(key, "x", 1);
    d.dataset.issued = issued;
    d.dataset.modified.clear();
    EXPECT_THAT(ValidateDocument(d), StatusIs(absl::StatusCode::kInvalidArgument,
                                              HasSubstr("\"credentialSubject.issued\"")))
        << "issued \"" << issued << "\"";
    d.dataset.issued = "0001-01-01";  // so that "modified is before issued" cannot be the reason
    d.dataset.modified = issued;
    EXPECT_THAT(ValidateDocument(d), StatusIs(absl::StatusCode::kInvalidArgument,
                                              HasSubstr("\"credentialSubject.modified\"")))
        << "modified \"" << issued << "\"";
  }
}

// The longest values the rules allow are accepted.
TEST(DocumentTest, LimitsAreInclusive) {
  trust::PrivateKey key = NewKey(trust::KeyType::kEd25519);
  Document d = Dataset(key, std::string(64, 'n'), (std::uint64_t{1} << 53) - 1);
  d.dataset.title = std::string(200, 't');
  d.dataset.description = "first line\nsecond line\twith a tab ";
  d.dataset.description.resize(4000, 'd');
  d.dataset.keywords = std::vector<std::string>(32, std::string(64, 'k'));
  d.dataset.themes = std::vector<std::string>(16, std::string(128, 'h'));
  d.dataset.modified = d.dataset.issued;
  d.dataset.language = "gsw-Latn";
  ASSERT_THAT(ValidateDocument(d), IsOk());
  HANSE_ASSERT_OK_AND_ASSIGN(std::string jws, SignDocument(d, key));
  HANSE_ASSERT_OK_AND_ASSIGN(VerifiedDocument v, VerifyDocument(jws, kNow));
  ExpectSameDocument(v.doc, d);
}

// A directory's distribution (docs/data-sources.md) is signed and read back; a file's is not
// written, so documents from before distributions verify unchanged.
TEST(DocumentTest, DirectoryDistributionRoundTripsAndIsChecked) {
  trust::PrivateKey key = NewKey(trust::KeyType::kEd25519);
  Document d = Dataset(key, "scans", 1);
  EXPECT_THAT(DocumentPayload(d), ::testing::Not(HasSubstr("distribution")));
  d.dataset.distribution_kind = "directory";
  d.dataset.file_count = 3;
  d.dataset.root_digest = std::string(64, 'a');
  HANSE_ASSERT_OK_AND_ASSIGN(std::string jws, SignDocument(d, key));
  HANSE_ASSERT_OK_AND_ASSIGN(VerifiedDocument v, VerifyDocument(jws, kNow));
  EXPECT_EQ(v.doc.dataset.distribution_kind, "directory");
  EXPECT_EQ(v.doc.dataset.file_count, 3u);
  EXPECT_EQ(v.doc.dataset.root_digest, std::string(64, 'a'));

  Document bad = d;
  bad.dataset.file_count = 0;
  EXPECT_THAT(ValidateDocument(bad).message(), HasSubstr("distribution.files"));
  bad = d;
  bad.dataset.root_digest = "abc";
  EXPECT_THAT(ValidateDocument(bad).message(), HasSubstr("distribution.rootDigest"));
  bad = d;
  bad.dataset.distribution_kind = "s3";
  EXPECT_THAT(ValidateDocument(bad).message(), HasSubstr("distribution.kind"));
  bad = d;
  bad.dataset.live = true;
  EXPECT_THAT(ValidateDocument(bad).message(), HasSubstr("never live"));

  Document live = Dataset(key, "admissions", 2);
  live.dataset.live = true;
  live.dataset.byte_size = 0;
  HANSE_ASSERT_OK_AND_ASSIGN(jws, SignDocument(live, key));
  HANSE_ASSERT_OK_AND_ASSIGN(v, VerifyDocument(jws, kNow));
  EXPECT_TRUE(v.doc.dataset.live);
  live.dataset.byte_size = 10;
  EXPECT_THAT(ValidateDocument(live).message(), HasSubstr("byteSize"));
}

TEST(DocumentTest, EveryPersonalDataClassIsAccepted) {
  trust::PrivateKey key = NewKey(trust::KeyType::kEd25519);
  for (const char* c : {"none", "pseudonymised", "personal", "special-category"}) {
    Document d = Dataset(key, "x", 1);
    d.dataset.personal_data_class = c;
    EXPECT_THAT(ValidateDocument(d), IsOk()) << c;
  }
}

// SignDocument must sign what it was given. Text that is not UTF-8 cannot be put in JSON as is;
// today DocumentPayload silently replaces it with U+FFFD (error_handler_t::replace) and the
// signed, verified title is not the one the caller passed. Either refusing the document (naming
// the field) or preserving it would be fine.
// Regression (catalog/document.cc, ValidateDocument/DocumentPayload).
TEST(DocumentTest, InvalidUtf8IsRefusedNotSilentlyReplaced) {
  trust::PrivateKey key = NewKey(trust::KeyType::kEd25519);
  Document d = Dataset(key, "x", 1);
  d.dataset.title = "Caf\xe9 prices";  // Latin-1, not UTF-8
  absl::StatusOr<std::string> jws = SignDocument(d, key);
  if (!jws.ok()) {
    EXPECT_THAT(jws,
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("credentialSubject.title")));
    return;
  }
  HANSE_ASSERT_OK_AND_ASSIGN(VerifiedDocument v, VerifyDocument(*jws, kNow));
  EXPECT_EQ(v.doc.dataset.title, d.dataset.title) << "the signed title differs from the input";
}

// ---------------------------------------------------------------- payload parsing

Json PayloadJson(const Document& d) { return Json::parse(DocumentPayload(d)); }

TEST(ParsePayloadTest, UnknownFieldInCredentialSubjectIsNamed) {
  trust::PrivateKey key = NewKey(trust::KeyType::kEd25519);
  for (const Document& d :
       {Dataset(key, "x", 1), Participant(key), Tombstone(key, "x", 2), Certification(key)}) {
    Json j = PayloadJson(d);
    j["credentialSubject"]["colour"] = "red";
    EXPECT_THAT(ParseDocumentPayload(j.dump()),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("\"credentialSubject.colour\": unknown field")))
        << DocumentKindName(d.kind);
    // Signed, it is refused by VerifyDocument just the same.
    HANSE_ASSERT_OK_AND_ASSIGN(std::string jws,
                               trust::SignCompact(key, Kid(key), kVcType, j.dump()));
    EXPECT_THAT(VerifyDocument(jws, kNow), StatusIs(absl::StatusCode::kInvalidArgument,
                                                    HasSubstr("credentialSubject.colour")));
  }
}

TEST(ParsePayloadTest, StructuralErrorsNameTheField) {
  trust::PrivateKey key = NewKey(trust::KeyType::kEd25519);
  const Json base = PayloadJson(Dataset(key, "x", 1));
  struct Case {
    std::function<void(Json&)> mutate;
    const char* field;
  };
  std::vector<Case> cases = {
      {[](Json& j) { j["proof"] = Json::object(); }, "\"proof\": unknown field"},
      {[](Json& j) { j.erase("@context"); }, "@context"},
      {[](Json& j) { j["@context"] = Json::array({"https://w3id.org/hanse/v1"}); }, "@context"},
      {[](Json& j) { j["@context"] = "https://www.w3.org/ns/credentials/v2"; }, "@context"},
      {[](Json& j) { j["type"] = Json::array({"VerifiableCredential"}); }, "type"},
      {[](Json& j) { j["type"][1] = "HanseOther"; }, "type"},
      {[](Json& j) { j["type"][0] = "Credential"; }, "type"},
      {[](Json& j) { j.erase("id"); }, "id"},
      {[](Json& j) {
         j["issuer"] = Json::object({{"id", j["issuer"]}});
       },
       "issuer"},
      {[](Json& j) { j["validFrom"] = "2024-01-01"; }, "validFrom"},
      {[](Json& j) { j.erase("validFrom"); }, "validFrom"},
      {[](Json& j) { j["validUntil"] = 5; }, "validUntil"},
      {[](Json& j) { j["sequence"] = -1; }, "sequence"},
      {[](Json& j) { j["sequence"] = 1.5; }, "sequence"},
      {[](Json& j) { j["sequence"] = "1"; }, "sequence"},
      {[](Json& j) { j["sequence"] = 0; }, "sequence"},
      {[](Json& j) { j["credentialSubject"] = Json::array(); }, "credentialSubject"},
      {[](Json& j) { j["credentialSubject"]["id"] = "did:key:zOther/datasets/x"; },
       "credentialSubject.id"},
      {[](Json& j) { j["credentialSubject"].erase("title"); }, "credentialSubject.title"},
      {[](Json& j) { j["credentialSubject"]["title"] = 3; }, "credentialSubject.title"},
      {[](Json& j) { j["credentialSubject"]["keywords"] = "air"; }, "credentialSubject.keywords"},
      {[](Json& j) { j["credentialSubject"]["keywords"] = Json::array({1}); },
       "credentialSubject.keywords"},
      {[](Json& j) { j["credentialSubject"]["byteSize"] = -5; }, "credentialSubject.byteSize"},
      {[](Json& j) { j["credentialSubject"].erase("byteSize"); }, "credentialSubject.byteSize"},
      {[](Json& j) { j["credentialSubject"].erase("policy"); }, "credentialSubject.policy"},
      {[](Json& j) { j["credentialSubject"]["policy"] = "Offer"; }, "credentialSubject.policy"},
  };
  ASSERT_THAT(ParseDocumentPayload(base.dump()), IsOk());
  for (size_t i = 0; i < cases.size(); ++i) {
    Json j = base;
    cases[i].mutate(j);
    EXPECT_THAT(ParseDocumentPayload(j.dump()),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(cases[i].field)))
        << "case " << i << ": " << j.dump();
  }
  EXPECT_THAT(ParseDocumentPayload("[]"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseDocumentPayload("{"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseDocumentPayload(""), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ParsePayloadTest, TombstoneMustSayUnpublished) {
  trust::PrivateKey key = NewKey(trust::KeyType::kEd25519);
  Json j = PayloadJson(Tombstone(key, "x", 1));
  ASSERT_THAT(ParseDocumentPayload(j.dump()), IsOk());
  for (Json v : {Json(false), Json("true"), Json(1)}) {
    j["credentialSubject"]["unpublished"] = v;
    EXPECT_THAT(
        ParseDocumentPayload(j.dump()),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("credentialSubject.unpublished")));
  }
  j["credentialSubject"].erase("unpublished");
  EXPECT_THAT(ParseDocumentPayload(j.dump()), StatusIs(absl::StatusCode::kInvalidArgument,
                                                       HasSubstr("credentialSubject.unpublished")));
}

TEST(ParsePayloadTest, CertificationFieldsAreNamed) {
  trust::PrivateKey key = NewKey(trust::KeyType::kEd25519);
  const Json base = PayloadJson(Certification(key));
  ASSERT_THAT(ParseDocumentPayload(base.dump()), IsOk());
  struct Case {
    std::function<void(Json&)> mutate;
    const char* field;
  };
  std::vector<Case> cases = {
      {[](Json& j) { j["credentialSubject"].erase("certification"); },
       "\"credentialSubject.certification\": missing"},
      {[](Json& j) { j["credentialSubject"]["certification"] = 27001; },
       "\"credentialSubject.certification\": must be a string"},
      {[](Json& j) { j["credentialSubject"].erase("id"); }, "\"credentialSubject.id\": missing"},
      // The subject is the holder: the document id there is not a did:key DID.
      {[](Json& j) { j["credentialSubject"]["id"] = j["id"]; }, "\"credentialSubject.id\""},
      {[](Json& j) { j["credentialSubject"]["title"] = "x"; }, "\"credentialSubject.title\""},
      {[](Json& j) { j["credentialSubject"]["unpublished"] = true; },
       "\"credentialSubject.unpublished\""},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    Json j = base;
    cases[i].mutate(j);
    EXPECT_THAT(ParseDocumentPayload(j.dump()),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(cases[i].field)))
        << "case " << i << ": " << j.dump();
  }
  // A tombstone names the id it revokes as its subject, like a dataset's tombstone.
  Json t = PayloadJson(
      TombstoneDocument(Did(key), CertificationId(Did(key), HolderDid(), "x"), 2, kValidFrom));
  ASSERT_THAT(ParseDocumentPayload(t.dump()), IsOk());
  t["credentialSubject"]["id"] = HolderDid();
  EXPECT_THAT(ParseDocumentPayload(t.dump()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("credentialSubject.id")));
}

TEST(ParsePayloadTest, DatasetFieldsOnATombstoneAreUnknown) {
  trust::PrivateKey key = NewKey(trust::KeyType::kEd25519);
  Json j = PayloadJson(Tombstone(key, "x", 1));
  j["credentialSubject"]["title"] = "still here";
  EXPECT_THAT(ParseDocumentPayload(j.dump()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("credentialSubject.title")));
}

// ------------------------------------------------------------- VerifyDocument refusals

class VerifyTest : public ::testing::TestWithParam<trust::KeyType> {
 protected:
  trust::PrivateKey key_ = NewKey(GetParam());
};

INSTANTIATE_TEST_SUITE_P(Keys, VerifyTest,
                         ::testing::Values(trust::KeyType::kP256, trust::KeyType::kEd25519),
                         [](const auto& info) {
                           return std::string(trust::KeyTypeName(info.param));
                         });

TEST_P(VerifyTest, ValidityWindowBoundariesAreExactlyTheSkew) {
  Document d = Participant(key_);
  d.valid_from = Utc(2024, 1, 1, 12, 0, 0);
  d.valid_until = Utc(2024, 1, 2, 12, 0, 0);
  HANSE_ASSERT_OK_AND_ASSIGN(std::string jws, SignDocument(d, key_));

  // validFrom - skew == now: accepted; one nanosecond (and one second) earlier: not yet valid.
  EXPECT_THAT(VerifyDocument(jws, d.valid_from - kMaxClockSkew), IsOk());
  EXPECT_THAT(VerifyDocument(jws, d.valid_from - kMaxClockSkew - absl::Nanoseconds(1)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not yet valid")));
  EXPECT_THAT(VerifyDocument(jws, d.valid_from - kMaxClockSkew - absl::Seconds(1)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not yet valid")));
  EXPECT_THAT(VerifyDocument(jws, d.valid_from - absl::Minutes(1)), IsOk());
  EXPECT_THAT(VerifyDocument(jws, d.valid_from - absl::Hours(1)),
              StatusIs(absl::StatusCode::kFailedPrecondition));

  // validUntil + skew == now: accepted; one nanosecond later: expired.
  EXPECT_THAT(VerifyDocument(jws, d.valid_until + kMaxClockSkew), IsOk());
  EXPECT_THAT(VerifyDocument(jws, d.valid_until + kMaxClockSkew + absl::Nanoseconds(1)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("expired")));
  EXPECT_THAT(VerifyDocument(jws, d.valid_until + kMaxClockSkew + absl::Seconds(1)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("expired")));
  EXPECT_THAT(VerifyDocument(jws, d.valid_until + absl::Minutes(1)), IsOk());
  EXPECT_THAT(VerifyDocument(jws, d.valid_until + absl::Hours(1)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_P(VerifyTest, NoValidUntilNeverExpires) {
  Document d = Dataset(key_, "x", 1);
  d.valid_until = absl::InfiniteFuture();
  HANSE_ASSERT_OK_AND_ASSIGN(std::string jws, SignDocument(d, key_));
  EXPECT_THAT(VerifyDocument(jws, Utc(2999, 1, 1)), IsOk());
}

TEST_P(VerifyTest, OversizeIsResourceExhausted) {
  // Not even a token: the size is checked first.
  EXPECT_THAT(VerifyDocument(std::string(kMaxDocumentBytes + 1, 'a'), kNow),
              StatusIs(absl::StatusCode::kResourceExhausted));

  // A genuinely signed document just above and just at/below the limit. The policy may carry
  // extra members, so pad it until the token crosses kMaxDocumentBytes.
  auto sign_padded = [&](size_t pad) {
    Document d = Dataset(key_, "big", 1);
    Json policy = Json::parse(kPolicy);
    policy["x-padding"] = std::string(pad, 'p');
    d.dataset.policy_json = policy.dump();
    return std::make_pair(d,
                          trust::SignCompact(key_, Kid(key_), kVcType, DocumentPayload(d)).value());
  };
  size_t pad = 0;
  {
    // Estimate: every 3 payload bytes become 4 token bytes.
    size_t base = sign_padded(0).second.size();
    pad = (kMaxDocumentBytes - base) * 3 / 4;
  }
  while (sign_padded(pad).second.size() > kMaxDocumentBytes) --pad;
  while (sign_padded(pad + 1).second.size() <= kMaxDocumentBytes) ++pad;
  auto [fits_doc, fits] = sign_padded(pad);
  auto [over_doc, over] = sign_padded(pad + 1);
  ASSERT_LE(fits.size(), kMaxDocumentBytes);
  ASSERT_GE(fits.size(), kMaxDocumentBytes - 3);
  ASSERT_GT(over.size(), kMaxDocumentBytes);
  EXPECT_THAT(VerifyDocument(fits, kNow), IsOk());
  EXPECT_THAT(SignDocument(fits_doc, key_), IsOk());
  EXPECT_THAT(VerifyDocument(over, kNow), StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(SignDocument(over_doc, key_), StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST_P(VerifyTest, PayloadChangedAfterSigningIsUnauthenticated) {
  Document d = Dataset(key_, "x", 1);
  HANSE_ASSERT_OK_AND_ASSIGN(std::string jws, SignDocument(d, key_));
  std::vector<std::string> p = Parts(jws);
  Document changed = d;
  changed.dataset.title = "Harbour air quality (corrected)";
  std::string forged = absl::StrCat(p[0], ".", B64(DocumentPayload(changed)), ".", p[2]);
  EXPECT_THAT(VerifyDocument(forged, kNow), StatusIs(absl::StatusCode::kUnauthenticated));

  // A higher sequence grafted onto an old signature.
  changed = d;
  changed.sequence = 2;
  forged = absl::StrCat(p[0], ".", B64(DocumentPayload(changed)), ".", p[2]);
  EXPECT_THAT(VerifyDocument(forged, kNow), StatusIs(absl::StatusCode::kUnauthenticated));

  // A flipped bit in the signature.
  std::string sig = trust::Base64UrlDecode(p[2]).value();
  sig[10] ^= 0x01;
  forged = absl::StrCat(p[0], ".", p[1], ".", B64(sig));
  EXPECT_THAT(VerifyDocument(forged, kNow), StatusIs(absl::StatusCode::kUnauthenticated));

  // Truncated signature, missing signature, missing part, trailing garbage.
  EXPECT_THAT(VerifyDocument(absl::StrCat(p[0], ".", p[1], ".", B64(sig.substr(0, 63))), kNow),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(VerifyDocument(absl::StrCat(p[0], ".", p[1], "."), kNow),
              StatusIs(::testing::AnyOf(absl::StatusCode::kUnauthenticated,
                                        absl::StatusCode::kInvalidArgument)));
  EXPECT_THAT(VerifyDocument(absl::StrCat(p[0], ".", p[1]), kNow),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(VerifyDocument(absl::StrCat(jws, ".x"), kNow),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(VerifyDocument("", kNow), StatusIs(absl::StatusCode::kInvalidArgument));

  // The original is still fine.
  EXPECT_THAT(VerifyDocument(jws, kNow), IsOk());
}

TEST_P(VerifyTest, KidOfAnotherDidThanTheIssuerIsUnauthenticated) {
  trust::PrivateKey other = NewKey(trust::KeyType::kEd25519);
  Document d = Dataset(key_, "x", 1);  // issuer: key_'s DID
  // Signed (validly) by another participant, whose kid it carries.
  HANSE_ASSERT_OK_AND_ASSIGN(std::string jws,
                             trust::SignCompact(other, Kid(other), kVcType, DocumentPayload(d)));
  ASSERT_THAT(trust::VerifyCompact(jws), IsOk());
  EXPECT_THAT(VerifyDocument(jws, kNow),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr(d.issuer)));

  // The same for a participant description claiming someone else's DID.
  Document p = Participant(key_);
  HANSE_ASSERT_OK_AND_ASSIGN(jws,
                             trust::SignCompact(other, Kid(other), kVcType, DocumentPayload(p)));
  EXPECT_THAT(VerifyDocument(jws, kNow), StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_P(VerifyTest, TypMustBeVcJwt) {
  Document d = Dataset(key_, "x", 1);
  for (absl::string_view typ : {"JWT", "vc+ld+json", "VC+JWT", "application/vc+jwt", ""}) {
    HANSE_ASSERT_OK_AND_ASSIGN(std::string jws,
                               trust::SignCompact(key_, Kid(key_), typ, DocumentPayload(d)));
    EXPECT_THAT(VerifyDocument(jws, kNow), StatusIs(absl::StatusCode::kInvalidArgument))
        << "typ " << typ;
  }
}

TEST_P(VerifyTest, HandBuiltHeaders) {
  const std::string payload = DocumentPayload(Dataset(key_, "x", 1));
  // The hand-built shape itself verifies (so the refusals below are about the header only).
  EXPECT_THAT(VerifyDocument(HandToken(key_, Header(key_), payload), kNow), IsOk());

  // alg none, with an empty signature as RFC 7515 unsecured JWS have.
  std::string none_header =
      absl::StrCat(R"({"alg":"none","kid":")", Kid(key_), R"(","typ":"vc+jwt"})");
  EXPECT_THAT(VerifyDocument(absl::StrCat(B64(none_header), ".", B64(payload), "."), kNow),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("none")));
  std::string none_upper =
      absl::StrCat(R"({"alg":"NONE","kid":")", Kid(key_), R"(","typ":"vc+jwt"})");
  EXPECT_THAT(VerifyDocument(HandToken(key_, none_upper, payload), kNow),
              StatusIs(absl::StatusCode::kInvalidArgument));

  // HS256 with a 32-byte "MAC" (would be keyed with the public key in the classic confusion).
  std::string hs_header =
      absl::StrCat(R"({"alg":"HS256","kid":")", Kid(key_), R"(","typ":"vc+jwt"})");
  EXPECT_THAT(
      VerifyDocument(
          absl::StrCat(B64(hs_header), ".", B64(payload), ".", B64(trust::Sha256(payload))), kNow),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("HS256")));

  // Embedded key material, even when the signature is good.
  std::string jwk =
      R"(,"jwk":{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})";
  EXPECT_THAT(VerifyDocument(HandToken(key_, Header(key_, jwk), payload), kNow),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("jwk")));
  for (absl::string_view h : {R"(,"x5u":"https://evil.example/cert.pem")",
                              R"(,"jku":"https://evil.example/jwks.json")", R"(,"x5c":["MIIB"])"}) {
    EXPECT_THAT(VerifyDocument(HandToken(key_, Header(key_, h), payload), kNow),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << h;
  }

  // Unknown critical extension.
  EXPECT_THAT(
      VerifyDocument(HandToken(key_, Header(key_, R"(,"crit":["exp"],"exp":1)"), payload), kNow),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("crit")));
  EXPECT_THAT(VerifyDocument(HandToken(key_, Header(key_, R"(,"crit":[])"), payload), kNow),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("crit")));

  // alg of the other key type, no kid, a kid without fragment, a duplicate alg member.
  absl::string_view other_alg = key_.type() == trust::KeyType::kP256 ? "EdDSA" : "ES256";
  EXPECT_THAT(VerifyDocument(HandToken(key_,
                                       absl::StrCat(R"({"alg":")", other_alg, R"(","kid":")",
                                                    Kid(key_), R"(","typ":"vc+jwt"})"),
                                       payload),
                             kNow),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(VerifyDocument(HandToken(key_,
                                       absl::StrCat(R"({"alg":")", trust::JoseAlg(key_.type()),
                                                    R"(","typ":"vc+jwt"})"),
                                       payload),
                             kNow),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      VerifyDocument(HandToken(key_,
                               absl::StrCat(R"({"alg":")", trust::JoseAlg(key_.type()),
                                            R"(","kid":")", Did(key_), R"(","typ":"vc+jwt"})"),
                               payload),
                     kNow),
      StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(VerifyDocument(HandToken(key_, Header(key_, R"(,"alg":"none")"), payload), kNow),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace hanse::catalog
