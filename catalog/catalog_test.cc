#include "catalog/catalog.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/bn.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "base/clock.h"
#include "catalog/document.h"
#include "catalog/store.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include "trust/did_key.h"
#include "trust/encoding.h"
#include "trust/jws.h"
#include "trust/keys.h"

namespace hanse::catalog {
namespace {

using ::hanse::testing::IsOk;
using ::hanse::testing::IsOkAndHolds;
using ::hanse::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

absl::Time Utc(int y, int m, int d, int hh = 0, int mm = 0, int ss = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, ss), absl::UTCTimeZone());
}

const absl::Time kStart = Utc(2024, 6, 1);

constexpr char kPolicy[] = R"({"@type":"Offer","permission":[{"action":"use"}]})";

std::string Did(const trust::PrivateKey& key) { return trust::EncodeDidKey(key.Public()); }

Document Participant(const trust::PrivateKey& key, std::uint64_t sequence,
                     absl::string_view country) {
  Document d;
  d.kind = DocumentKind::kParticipant;
  d.issuer = Did(key);
  d.id = d.issuer;
  d.sequence = sequence;
  d.valid_from = Utc(2024, 1, 1);
  d.participant.legal_name = absl::StrCat("Participant of ", country);
  d.participant.country = std::string(country);
  d.participant.jurisdictions = {std::string(country), "EU"};
  d.participant.endpoints = {"node.example:7443"};
  return d;
}

struct DatasetSpec {
  absl::string_view name;
  std::uint64_t sequence;
  absl::string_view title;
  std::vector<std::string> themes = {"environment"};
  absl::string_view language = "en";
  absl::string_view issued = "2024-01-15";
  std::vector<std::string> keywords = {};
};

Document Dataset(const trust::PrivateKey& key, const DatasetSpec& s) {
  Document d;
  d.kind = DocumentKind::kDataset;
  d.issuer = Did(key);
  d.id = DatasetId(d.issuer, s.name);
  d.sequence = s.sequence;
  d.valid_from = Utc(2024, 1, 1);
  d.valid_until = Utc(2026, 1, 1);
  DatasetFacts& f = d.dataset;
  f.title = std::string(s.title);
  f.description = "Collected by the port authority.";
  f.keywords = s.keywords;
  f.themes = s.themes;
  f.publisher = "Port authority";
  f.license = "CC-BY-4.0";
  f.media_type = "text/csv";
  f.byte_size = 1000;
  f.sha256 = trust::HexEncode(trust::Sha256(s.title));
  f.language = std::string(s.language);
  f.hosting_location = "DE";
  f.personal_data_class = "none";
  f.issued = std::string(s.issued);
  f.policy_json = kPolicy;
  return d;
}

Document Tombstone(const trust::PrivateKey& key, absl::string_view name, std::uint64_t sequence) {
  Document d;
  d.kind = DocumentKind::kTombstone;
  d.issuer = Did(key);
  d.id = DatasetId(d.issuer, name);
  d.sequence = sequence;
  d.valid_from = Utc(2024, 1, 1);
  return d;
}

std::string Sign(const Document& d, const trust::PrivateKey& key) {
  return SignDocument(d, key).value();
}

// The same signed statement with the ECDSA signature (r, s) replaced by (r, n - s): also a valid
// ES256 signature over the same header and payload (ECDSA signatures are malleable). Anyone can
// compute it from a published token, without the key.
std::string MalleateEs256(absl::string_view jws) {
  std::vector<std::string> parts = absl::StrSplit(jws, '.');
  std::string sig = trust::Base64UrlDecode(parts[2]).value();
  BIGNUM* n = nullptr;
  BN_hex2bn(&n, "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()) + 32, 32, nullptr);
  BIGNUM* ns = BN_new();
  BN_sub(ns, n, s);
  unsigned char out[32];
  BN_bn2binpad(ns, out, 32);
  sig.replace(32, 32, reinterpret_cast<const char*>(out), 32);
  BN_free(n);
  BN_free(s);
  BN_free(ns);
  return absl::StrCat(parts[0], ".", parts[1], ".", trust::Base64UrlEncode(sig));
}

// A token with the same header and signature but another payload: fails verification.
std::string TamperPayload(absl::string_view jws, const Document& changed) {
  std::vector<std::string> parts = absl::StrSplit(jws, '.');
  return absl::StrCat(parts[0], ".", trust::Base64UrlEncode(DocumentPayload(changed)), ".",
                      parts[2]);
}

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    alice_ = trust::PrivateKey::Generate(trust::KeyType::kP256).value();
    bob_ = trust::PrivateKey::Generate(trust::KeyType::kEd25519).value();
    Open(/*create=*/true);
  }

  void Open(bool create) {
    HANSE_ASSERT_OK_AND_ASSIGN(store_,
                               OpenRocksStore(tmp_.Sub("store"), {.create_if_missing = create}));
    HANSE_ASSERT_OK_AND_ASSIGN(catalog_, Catalog::Open(store_.get(), &clock_));
  }

  void Reopen() {
    catalog_.reset();
    ASSERT_THAT(store_->Close(), IsOk());
    store_.reset();
    Open(/*create=*/false);
  }

  IngestOutcome MustIngest(absl::string_view jws) {
    absl::StatusOr<IngestResult> r = catalog_->Ingest(jws);
    EXPECT_THAT(r, IsOk());
    return r.ok() ? r->outcome : IngestOutcome::kDuplicate;
  }

  std::vector<std::string> Find(absl::string_view query) {
    absl::StatusOr<SearchPage> page = catalog_->Search(query, 100, "");
    EXPECT_THAT(page, IsOk()) << query;
    std::vector<std::string> ids;
    if (page.ok()) {
      for (const SearchHit& h : page->hits) ids.push_back(h.id);
    }
    return ids;
  }

  std::string CurrentJws(absl::string_view id) {
    absl::StatusOr<StoredDocument> d = catalog_->Get(id);
    return d.ok() ? d->jws : absl::StrCat("<", d.status().ToString(), ">");
  }

  std::string AliceId(absl::string_view name) { return DatasetId(Did(alice_), name); }
  std::string BobId(absl::string_view name) { return DatasetId(Did(bob_), name); }

  testing::TempDir tmp_;
  SimulatedClock clock_{kStart};
  trust::PrivateKey alice_ = trust::PrivateKey::Generate(trust::KeyType::kP256).value();
  trust::PrivateKey bob_ = trust::PrivateKey::Generate(trust::KeyType::kEd25519).value();
  std::unique_ptr<Store> store_;
  std::unique_ptr<Catalog> catalog_;
};

// Two issuers: alice (P-256, seat DE) and bob (Ed25519, seat FR), two datasets each.
class PopulatedCatalogTest : public CatalogTest {
 protected:
  void SetUp() override {
    CatalogTest::SetUp();
    alice_p_ = Sign(Participant(alice_, 1, "DE"), alice_);
    bob_p_ = Sign(Participant(bob_, 1, "FR"), bob_);
    air_ = Sign(Dataset(alice_, {.name = "air",
                                 .sequence = 2,
                                 .title = "Harbour air quality",
                                 .themes = {"environment"},
                                 .language = "de",
                                 .issued = "2024-02-01",
                                 .keywords = {"NO2", "emissions"}}),
                alice_);
    ships_ = Sign(Dataset(alice_, {.name = "ships",
                                   .sequence = 3,
                                   .title = "Ship arrivals",
                                   .themes = {"transport"},
                                   .language = "en",
                                   .issued = "2023-05-01"}),
                  alice_);
    water_ = Sign(Dataset(bob_, {.name = "water",
                                 .sequence = 2,
                                 .title = "Seine water quality",
                                 .themes = {"environment"},
                                 .language = "fr",
                                 .issued = "2024-04-01"}),
                  bob_);
    bikes_ = Sign(Dataset(bob_, {.name = "bikes",
                                 .sequence = 3,
                                 .title = "Bike counts in Paris",
                                 .themes = {"transport", "mobility"},
                                 .language = "en",
                                 .issued = "2022-01-01"}),
                  bob_);
    for (const std::string* jws : {&alice_p_, &bob_p_, &air_, &ships_, &water_, &bikes_}) {
      HANSE_ASSERT_OK_AND_ASSIGN(IngestResult r, catalog_->Ingest(*jws));
      ASSERT_EQ(r.outcome, IngestOutcome::kStored) << IngestOutcomeName(r.outcome);
    }
  }

  std::string alice_p_, bob_p_, air_, ships_, water_, bikes_;
};

// ------------------------------------------------------------------ publish, get, search

TEST_F(PopulatedCatalogTest, GetReturnsTheStoredDocuments) {
  for (auto [id, jws, kind, seq] :
       std::vector<std::tuple<std::string, std::string, DocumentKind, std::uint64_t>>{
           {Did(alice_), alice_p_, DocumentKind::kParticipant, 1},
           {Did(bob_), bob_p_, DocumentKind::kParticipant, 1},
           {AliceId("air"), air_, DocumentKind::kDataset, 2},
           {AliceId("ships"), ships_, DocumentKind::kDataset, 3},
           {BobId("water"), water_, DocumentKind::kDataset, 2},
           {BobId("bikes"), bikes_, DocumentKind::kDataset, 3}}) {
    HANSE_ASSERT_OK_AND_ASSIGN(StoredDocument d, catalog_->Get(id));
    EXPECT_EQ(d.id, id);
    EXPECT_EQ(d.jws, jws);
    EXPECT_EQ(d.kind, kind);
    EXPECT_EQ(d.sequence, seq);
    HANSE_ASSERT_OK_AND_ASSIGN(std::optional<StoredDocument> any, catalog_->GetAny(id));
    ASSERT_TRUE(any.has_value());
    EXPECT_EQ(any->jws, jws);
  }
  EXPECT_THAT(catalog_->Get(AliceId("nope")), StatusIs(absl::StatusCode::kNotFound));
  HANSE_ASSERT_OK_AND_ASSIGN(std::optional<StoredDocument> none, catalog_->GetAny(AliceId("nope")));
  EXPECT_FALSE(none.has_value());
  EXPECT_EQ(catalog_->document_count(), 4u);
}

TEST_F(PopulatedCatalogTest, IngestResultDescribesTheDocument) {
  Document d = Dataset(alice_, {.name = "noise", .sequence = 4, .title = "Noise"});
  HANSE_ASSERT_OK_AND_ASSIGN(IngestResult r, catalog_->Ingest(Sign(d, alice_)));
  EXPECT_EQ(r.outcome, IngestOutcome::kStored);
  EXPECT_EQ(r.id, d.id);
  EXPECT_EQ(r.sequence, 4u);
  EXPECT_EQ(r.kind, DocumentKind::kDataset);
  EXPECT_EQ(IngestOutcomeName(IngestOutcome::kStored), "stored");
  EXPECT_EQ(IngestOutcomeName(IngestOutcome::kDuplicate), "duplicate");
  EXPECT_EQ(IngestOutcomeName(IngestOutcome::kStale), "stale");
  EXPECT_EQ(IngestOutcomeName(IngestOutcome::kEquivocation), "equivocation");
}

TEST_F(PopulatedCatalogTest, SearchWordsAndFilters) {
  EXPECT_THAT(Find("quality"), UnorderedElementsAre(AliceId("air"), BobId("water")));
  EXPECT_THAT(Find("Seine"), ElementsAre(BobId("water")));
  EXPECT_THAT(Find("emissions"), ElementsAre(AliceId("air")));  // a keyword
  EXPECT_THAT(Find("submarine"), IsEmpty());
  EXPECT_THAT(Find("theme:environment"), UnorderedElementsAre(AliceId("air"), BobId("water")));
  EXPECT_THAT(Find("theme:mobility"), ElementsAre(BobId("bikes")));
  // The country is the issuer's country of legal seat, from its participant description.
  EXPECT_THAT(Find("country:FR"), UnorderedElementsAre(BobId("water"), BobId("bikes")));
  EXPECT_THAT(Find("country:de"), UnorderedElementsAre(AliceId("air"), AliceId("ships")));
  EXPECT_THAT(Find("country:IT"), IsEmpty());
  EXPECT_THAT(Find("language:en"), UnorderedElementsAre(AliceId("ships"), BobId("bikes")));
  EXPECT_THAT(Find("language:fr"), ElementsAre(BobId("water")));
  // Only filters: newest first.
  EXPECT_THAT(Find("issued>=2024-01-01"), ElementsAre(BobId("water"), AliceId("air")));
  EXPECT_THAT(Find("issued<2023-06-01"), ElementsAre(AliceId("ships"), BobId("bikes")));
  EXPECT_THAT(Find("quality country:FR"), ElementsAre(BobId("water")));
  EXPECT_THAT(Find("theme:transport language:en issued>=2023-01-01"),
              ElementsAre(AliceId("ships")));
  EXPECT_THAT(Find(""),
              ElementsAre(BobId("water"), AliceId("air"), AliceId("ships"), BobId("bikes")));
  EXPECT_THAT(catalog_->Search("colour:red", 10, ""), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(PopulatedCatalogTest, ForEachVisitsCurrentDocumentsInIdOrder) {
  std::vector<std::string> ids;
  ASSERT_THAT(catalog_->ForEach([&](const StoredDocument& d) {
    ids.push_back(d.id);
    return true;
  }),
              IsOk());
  std::vector<std::string> want = {Did(alice_),      Did(bob_),      AliceId("air"),
                                   AliceId("ships"), BobId("water"), BobId("bikes")};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(ids, want);
  // Stops when asked to.
  int visits = 0;
  ASSERT_THAT(catalog_->ForEach([&](const StoredDocument&) { return ++visits < 2; }), IsOk());
  EXPECT_EQ(visits, 2);
}

// ------------------------------------------------------------------------ versions

TEST_F(PopulatedCatalogTest, HigherSequenceReplaces) {
  std::string v2 = Sign(Dataset(alice_, {.name = "air",
                                         .sequence = 4,
                                         .title = "Harbour noise levels",
                                         .themes = {"health"},
                                         .language = "de",
                                         .issued = "2024-02-01"}),
                        alice_);
  HANSE_ASSERT_OK_AND_ASSIGN(IngestResult r, catalog_->Ingest(v2));
  EXPECT_EQ(r.outcome, IngestOutcome::kStored);
  EXPECT_EQ(CurrentJws(AliceId("air")), v2);
  HANSE_ASSERT_OK_AND_ASSIGN(StoredDocument d, catalog_->Get(AliceId("air")));
  EXPECT_EQ(d.sequence, 4u);
  EXPECT_THAT(Find("noise"), ElementsAre(AliceId("air")));
  EXPECT_THAT(Find("quality"), ElementsAre(BobId("water")));
  EXPECT_THAT(Find("emissions"), IsEmpty());
  EXPECT_THAT(Find("theme:environment"), ElementsAre(BobId("water")));
  EXPECT_THAT(Find("theme:health"), ElementsAre(AliceId("air")));
  EXPECT_EQ(catalog_->document_count(), 4u);
}

TEST_F(PopulatedCatalogTest, LowerSequenceIsStaleAndChangesNothing) {
  // Move air to sequence 10, then a version with sequence 5 (never used by alice) arrives late.
  std::string v10 =
      Sign(Dataset(alice_, {.name = "air", .sequence = 10, .title = "Air v10"}), alice_);
  ASSERT_EQ(MustIngest(v10), IngestOutcome::kStored);
  std::string v5 =
      Sign(Dataset(alice_, {.name = "air", .sequence = 5, .title = "Air late"}), alice_);
  HANSE_ASSERT_OK_AND_ASSIGN(IngestResult r, catalog_->Ingest(v5));
  EXPECT_EQ(r.outcome, IngestOutcome::kStale);
  EXPECT_EQ(r.id, AliceId("air"));
  EXPECT_EQ(r.sequence, 5u);
  EXPECT_EQ(CurrentJws(AliceId("air")), v10);
  EXPECT_THAT(Find("late"), IsEmpty());
  EXPECT_EQ(catalog_->document_count(), 4u);
  EXPECT_FALSE(catalog_->IsFlagged(Did(alice_)));
  EXPECT_THAT(catalog_->NextSequence(Did(alice_)), IsOkAndHolds(11u));

  // The replaced version (sequence 2) replayed: already known, changes nothing.
  HANSE_ASSERT_OK_AND_ASSIGN(r, catalog_->Ingest(air_));
  EXPECT_THAT(r.outcome, ::testing::AnyOf(IngestOutcome::kDuplicate, IngestOutcome::kStale));
  EXPECT_EQ(CurrentJws(AliceId("air")), v10);
  EXPECT_THAT(Find("emissions"), IsEmpty());
}

// An equal sequence for the same id with other content is not "stale": sequences are per issuer,
// so it is two different statements at one sequence (equivocation).
TEST_F(PopulatedCatalogTest, EqualSequenceWithOtherContentIsEquivocationNotStale) {
  std::string other =
      Sign(Dataset(alice_, {.name = "air", .sequence = 2, .title = "Air again"}), alice_);
  HANSE_ASSERT_OK_AND_ASSIGN(IngestResult r, catalog_->Ingest(other));
  EXPECT_EQ(r.outcome, IngestOutcome::kEquivocation);
  EXPECT_EQ(CurrentJws(AliceId("air")), air_);
  EXPECT_THAT(Find("again"), IsEmpty());
  EXPECT_EQ(catalog_->document_count(), 4u);
}

TEST_F(PopulatedCatalogTest, ExactSameJwsIsDuplicate) {
  for (const std::string* jws : {&alice_p_, &air_, &water_}) {
    HANSE_ASSERT_OK_AND_ASSIGN(IngestResult r, catalog_->Ingest(*jws));
    EXPECT_EQ(r.outcome, IngestOutcome::kDuplicate);
  }
  EXPECT_EQ(CurrentJws(AliceId("air")), air_);
  EXPECT_EQ(catalog_->document_count(), 4u);
  EXPECT_FALSE(catalog_->IsFlagged(Did(alice_)));
  EXPECT_FALSE(catalog_->IsFlagged(Did(bob_)));
  HANSE_ASSERT_OK_AND_ASSIGN(auto evidence, catalog_->Evidence());
  EXPECT_THAT(evidence, IsEmpty());
}

// ------------------------------------------------------------------------ tombstones

TEST_F(PopulatedCatalogTest, TombstoneUnpublishes) {
  std::string t = Sign(Tombstone(bob_, "water", 5), bob_);
  HANSE_ASSERT_OK_AND_ASSIGN(IngestResult r, catalog_->Ingest(t));
  EXPECT_EQ(r.outcome, IngestOutcome::kStored);
  EXPECT_EQ(r.kind, DocumentKind::kTombstone);
  EXPECT_THAT(catalog_->Get(BobId("water")), StatusIs(absl::StatusCode::kNotFound));
  HANSE_ASSERT_OK_AND_ASSIGN(std::optional<StoredDocument> any, catalog_->GetAny(BobId("water")));
  ASSERT_TRUE(any.has_value());
  EXPECT_EQ(any->kind, DocumentKind::kTombstone);
  EXPECT_EQ(any->sequence, 5u);
  EXPECT_EQ(any->jws, t);
  EXPECT_THAT(Find("quality"), ElementsAre(AliceId("air")));
  EXPECT_THAT(Find("Seine"), IsEmpty());
  EXPECT_THAT(Find("country:FR"), ElementsAre(BobId("bikes")));
  EXPECT_EQ(catalog_->document_count(), 3u);
  bool visited = false;
  ASSERT_THAT(catalog_->ForEach([&](const StoredDocument& d) {
    visited = visited || d.id == BobId("water");
    return true;
  }),
              IsOk());
  EXPECT_FALSE(visited);

  // An older dataset version (sequence 4, never seen) arriving after the tombstone is stale.
  std::string late =
      Sign(Dataset(bob_, {.name = "water", .sequence = 4, .title = "Seine late"}), bob_);
  HANSE_ASSERT_OK_AND_ASSIGN(r, catalog_->Ingest(late));
  EXPECT_EQ(r.outcome, IngestOutcome::kStale);
  EXPECT_THAT(catalog_->Get(BobId("water")), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(Find("Seine"), IsEmpty());
  // So is the original version replayed (already known).
  HANSE_ASSERT_OK_AND_ASSIGN(r, catalog_->Ingest(water_));
  EXPECT_THAT(r.outcome, ::testing::AnyOf(IngestOutcome::kDuplicate, IngestOutcome::kStale));
  EXPECT_THAT(catalog_->Get(BobId("water")), StatusIs(absl::StatusCode::kNotFound));

  // Republishing with a higher sequence works again.
  std::string back = Sign(
      Dataset(bob_, {.name = "water", .sequence = 6, .title = "Seine water temperature"}), bob_);
  HANSE_ASSERT_OK_AND_ASSIGN(r, catalog_->Ingest(back));
  EXPECT_EQ(r.outcome, IngestOutcome::kStored);
  EXPECT_EQ(CurrentJws(BobId("water")), back);
  EXPECT_THAT(Find("temperature"), ElementsAre(BobId("water")));
  EXPECT_THAT(Find("country:FR"), UnorderedElementsAre(BobId("water"), BobId("bikes")));
  EXPECT_EQ(catalog_->document_count(), 4u);
}

TEST_F(CatalogTest, TombstoneForAnUnknownDataset) {
  std::string t = Sign(Tombstone(alice_, "never", 2), alice_);
  EXPECT_EQ(MustIngest(t), IngestOutcome::kStored);
  EXPECT_THAT(catalog_->Get(AliceId("never")), StatusIs(absl::StatusCode::kNotFound));
  HANSE_ASSERT_OK_AND_ASSIGN(auto any, catalog_->GetAny(AliceId("never")));
  ASSERT_TRUE(any.has_value());
  EXPECT_EQ(any->kind, DocumentKind::kTombstone);
  EXPECT_EQ(catalog_->document_count(), 0u);
  // A dataset version older than the tombstone stays unpublished.
  std::string old = Sign(Dataset(alice_, {.name = "never", .sequence = 1, .title = "x"}), alice_);
  HANSE_ASSERT_OK_AND_ASSIGN(IngestResult r, catalog_->Ingest(old));
  EXPECT_EQ(r.outcome, IngestOutcome::kStale);
  EXPECT_THAT(catalog_->Get(AliceId("never")), StatusIs(absl::StatusCode::kNotFound));
}

// ---------------------------------------------------------------------- equivocation

TEST_F(PopulatedCatalogTest, EquivocationIsFlaggedWithEvidence) {
  // Another document of alice's with sequence 3 (ships has it).
  std::string conflicting =
      Sign(Dataset(alice_, {.name = "cranes", .sequence = 3, .title = "Crane schedules"}), alice_);
  HANSE_ASSERT_OK_AND_ASSIGN(IngestResult r, catalog_->Ingest(conflicting));
  EXPECT_EQ(r.outcome, IngestOutcome::kEquivocation);
  EXPECT_EQ(r.sequence, 3u);
  EXPECT_TRUE(catalog_->IsFlagged(Did(alice_)));
  EXPECT_FALSE(catalog_->IsFlagged(Did(bob_)));
  HANSE_ASSERT_OK_AND_ASSIGN(std::vector<EquivocationEvidence> evidence, catalog_->Evidence());
  ASSERT_EQ(evidence.size(), 1u);
  EXPECT_EQ(evidence[0].issuer, Did(alice_));
  EXPECT_EQ(evidence[0].sequence, 3u);
  EXPECT_THAT((std::vector<std::string>{evidence[0].first_jws, evidence[0].second_jws}),
              UnorderedElementsAre(ships_, conflicting));
  // The first stays current; the second is not published.
  EXPECT_EQ(CurrentJws(AliceId("ships")), ships_);
  EXPECT_THAT(catalog_->Get(AliceId("cranes")), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(Find("crane"), IsEmpty());
  EXPECT_THAT(Find("arrivals"), ElementsAre(AliceId("ships")));
  EXPECT_EQ(catalog_->document_count(), 4u);

  // Same id, same sequence, other content: also equivocation (bob, water at 2).
  std::string water2 =
      Sign(Dataset(bob_, {.name = "water", .sequence = 2, .title = "Seine water levels"}), bob_);
  HANSE_ASSERT_OK_AND_ASSIGN(r, catalog_->Ingest(water2));
  EXPECT_EQ(r.outcome, IngestOutcome::kEquivocation);
  EXPECT_TRUE(catalog_->IsFlagged(Did(bob_)));
  EXPECT_EQ(CurrentJws(BobId("water")), water_);
  EXPECT_THAT(Find("levels"), IsEmpty());
  HANSE_ASSERT_OK_AND_ASSIGN(evidence, catalog_->Evidence());
  ASSERT_EQ(evidence.size(), 2u);
}

// EquivocationEvidence documents first_jws as "the one held as current (or that was) at that
// sequence". Evidence() fills first/second in the order of the evidence keys, which end in the
// SHA-256 of each JWS, so the order is by hash, not by arrival. This test builds the case where
// the conflicting token's hash sorts first.
// Regression (catalog/catalog.cc, Catalog::Evidence).
TEST_F(CatalogTest, EvidenceFirstIsTheHeldDocument) {
  // Two conflicting statements for sequence 1; the one whose hash sorts last is ingested first,
  // so hash order and arrival order disagree whatever the signatures come out as.
  std::string a = Sign(Dataset(alice_, {.name = "a", .sequence = 1, .title = "Held"}), alice_);
  std::string b = Sign(Dataset(alice_, {.name = "b", .sequence = 1, .title = "Conflict"}), alice_);
  ASSERT_NE(trust::Sha256(a), trust::Sha256(b));
  const bool a_sorts_last = trust::Sha256(b) < trust::Sha256(a);
  std::string held = a_sorts_last ? a : b;
  std::string conflicting = a_sorts_last ? b : a;
  ASSERT_EQ(MustIngest(held), IngestOutcome::kStored);
  ASSERT_EQ(MustIngest(conflicting), IngestOutcome::kEquivocation);
  HANSE_ASSERT_OK_AND_ASSIGN(std::vector<EquivocationEvidence> evidence, catalog_->Evidence());
  ASSERT_EQ(evidence.size(), 1u);
  EXPECT_EQ(evidence[0].first_jws, held);
  EXPECT_EQ(evidence[0].second_jws, conflicting);
}

// Equivocation proof needs both signed statements. When the first document at a sequence was
// already replaced by a later version of the same id, Ingest still detects the conflict (from
// the issuer log) but keeps only the second token: the first one is no longer held anywhere, so
// Evidence() cannot prove anything (first_jws is the conflicting token, second_jws is empty).
// Regression (catalog/catalog.cc, IngestMany equivocation branch).
TEST_F(CatalogTest, EvidenceHoldsBothEvenAfterTheFirstWasReplaced) {
  std::string v1 = Sign(Dataset(alice_, {.name = "a", .sequence = 1, .title = "First"}), alice_);
  std::string v2 = Sign(Dataset(alice_, {.name = "a", .sequence = 2, .title = "Second"}), alice_);
  ASSERT_EQ(MustIngest(v1), IngestOutcome::kStored);
  ASSERT_EQ(MustIngest(v2), IngestOutcome::kStored);
  std::string other = Sign(Dataset(alice_, {.name = "b", .sequence = 1, .title = "Other"}), alice_);
  ASSERT_EQ(MustIngest(other), IngestOutcome::kEquivocation);
  EXPECT_TRUE(catalog_->IsFlagged(Did(alice_)));
  HANSE_ASSERT_OK_AND_ASSIGN(std::vector<EquivocationEvidence> evidence, catalog_->Evidence());
  ASSERT_EQ(evidence.size(), 1u);
  EXPECT_THAT((std::vector<std::string>{evidence[0].first_jws, evidence[0].second_jws}),
              UnorderedElementsAre(v1, other));
}

// ES256 signatures are malleable: (r, n - s) verifies as well as (r, s). Anyone relaying alice's
// published token can produce a second, byte-different but equally valid token for the same
// header and payload. The catalogue compares whole JWS bytes (hash) to tell documents apart,
// so that token is treated as "a different document at the same sequence" and alice, who signed
// only one statement, is flagged as an equivocator. Re-signing the identical payload (ECDSA uses
// a fresh nonce) does the same. Neither is equivocation: the signed statement is identical.
// Regression: duplicate/equivocation are decided by the signed payload, not the JWS bytes
// (ECDSA signatures are malleable: s and n-s both verify).
TEST_F(PopulatedCatalogTest, SameStatementWithAnotherSignatureIsNotEquivocation) {
  std::string malleated = MalleateEs256(air_);
  ASSERT_NE(malleated, air_);
  // The malleated token is valid on its own.
  HANSE_ASSERT_OK_AND_ASSIGN(VerifiedDocument v, VerifyDocument(malleated, clock_.Now()));
  EXPECT_EQ(v.doc.id, AliceId("air"));

  HANSE_ASSERT_OK_AND_ASSIGN(IngestResult r, catalog_->Ingest(malleated));
  EXPECT_NE(r.outcome, IngestOutcome::kEquivocation) << "third party framed alice";
  EXPECT_FALSE(catalog_->IsFlagged(Did(alice_)));

  // Alice's own node re-signing the same document (for instance after a crash before it recorded
  // the token) produces another valid ES256 token for the identical payload.
  std::string resigned = Sign(Dataset(alice_, {.name = "ships",
                                               .sequence = 3,
                                               .title = "Ship arrivals",
                                               .themes = {"transport"},
                                               .language = "en",
                                               .issued = "2023-05-01"}),
                              alice_);
  ASSERT_NE(resigned, ships_);
  HANSE_ASSERT_OK_AND_ASSIGN(r, catalog_->Ingest(resigned));
  EXPECT_NE(r.outcome, IngestOutcome::kEquivocation);
  EXPECT_FALSE(catalog_->IsFlagged(Did(alice_)));
  EXPECT_EQ(CurrentJws(AliceId("air")), air_);
}

// --------------------------------------------------------------- invalid documents

TEST_F(PopulatedCatalogTest, InvalidDocumentsChangeNothing) {
  const std::uint64_t count = catalog_->document_count();
  HANSE_ASSERT_OK_AND_ASSIGN(std::uint64_t next_alice, catalog_->NextSequence(Did(alice_)));

  Document changed = Dataset(alice_, {.name = "air", .sequence = 9, .title = "Forged title"});
  std::string tampered = TamperPayload(air_, changed);
  EXPECT_THAT(catalog_->Ingest(tampered), StatusIs(absl::StatusCode::kUnauthenticated));

  // Signed by bob, claiming alice as issuer.
  std::string impostor = trust::SignCompact(bob_, trust::DidKeyVerificationMethod(Did(bob_)),
                                            kVcType, DocumentPayload(changed))
                             .value();
  EXPECT_THAT(catalog_->Ingest(impostor), StatusIs(absl::StatusCode::kUnauthenticated));

  // Bad fields, signed with alice's key.
  Document bad = changed;
  bad.dataset.language = "ENGLISH";
  std::string bad_fields = trust::SignCompact(alice_, trust::DidKeyVerificationMethod(Did(alice_)),
                                              kVcType, DocumentPayload(bad))
                               .value();
  EXPECT_THAT(catalog_->Ingest(bad_fields), StatusIs(absl::StatusCode::kInvalidArgument));

  // Expired at the catalogue's clock.
  Document expired = changed;
  expired.valid_until = clock_.Now() - absl::Hours(1);
  EXPECT_THAT(catalog_->Ingest(Sign(expired, alice_)),
              StatusIs(absl::StatusCode::kFailedPrecondition));

  EXPECT_THAT(catalog_->Ingest(std::string(kMaxDocumentBytes + 1, 'x')),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(catalog_->Ingest("not a token"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(catalog_->Ingest(""), StatusIs(absl::StatusCode::kInvalidArgument));

  EXPECT_EQ(catalog_->document_count(), count);
  EXPECT_EQ(CurrentJws(AliceId("air")), air_);
  EXPECT_THAT(Find("forged"), IsEmpty());
  EXPECT_THAT(Find("emissions"), ElementsAre(AliceId("air")));
  EXPECT_THAT(catalog_->NextSequence(Did(alice_)), IsOkAndHolds(next_alice));
  EXPECT_FALSE(catalog_->IsFlagged(Did(alice_)));
  EXPECT_FALSE(catalog_->IsFlagged(Did(bob_)));
  HANSE_ASSERT_OK_AND_ASSIGN(auto evidence, catalog_->Evidence());
  EXPECT_THAT(evidence, IsEmpty());

  // A refused token is not remembered as seen: once valid (clock), the same bytes are accepted.
  Document future = changed;
  future.valid_from = clock_.Now() + absl::Hours(2);
  std::string early = Sign(future, alice_);
  EXPECT_THAT(catalog_->Ingest(early), StatusIs(absl::StatusCode::kFailedPrecondition));
  clock_.Advance(absl::Hours(3));
  HANSE_ASSERT_OK_AND_ASSIGN(IngestResult r, catalog_->Ingest(early));
  EXPECT_EQ(r.outcome, IngestOutcome::kStored);
}

TEST_F(PopulatedCatalogTest, ParticipantCannotBeReplacedByADataset) {
  // Only reachable with a participant id; a dataset id is always ISSUER/datasets/NAME, so the
  // rule is enforced by CheckIdBelongsToIssuer first.
  Document d = Dataset(alice_, {.name = "x", .sequence = 20, .title = "x"});
  d.id = Did(alice_);
  EXPECT_THAT(SignDocument(d, alice_), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(CurrentJws(Did(alice_)), alice_p_);
}

// -------------------------------------------------------------------------- batches

TEST_F(PopulatedCatalogTest, IngestManyReportsPerDocumentInOrder) {
  std::string noise =
      Sign(Dataset(alice_, {.name = "noise", .sequence = 4, .title = "Harbour noise"}), alice_);
  std::string bad = TamperPayload(
      noise, Dataset(alice_, {.name = "noise", .sequence = 4, .title = "Harbour silence"}));
  std::string trains1 =
      Sign(Dataset(bob_, {.name = "trains", .sequence = 4, .title = "Train delays"}), bob_);
  std::string trains2 =
      Sign(Dataset(bob_, {.name = "trains", .sequence = 5, .title = "Train punctuality"}), bob_);
  Document expired = Dataset(bob_, {.name = "old", .sequence = 6, .title = "Old"});
  expired.valid_until = clock_.Now() - absl::Hours(24);
  std::string tomb = Sign(Tombstone(alice_, "ships", 5), alice_);

  std::vector<absl::StatusOr<IngestResult>> results = catalog_->IngestMany(
      {noise, bad, trains1, noise, air_, trains2, Sign(expired, bob_), tomb, "garbage"});
  ASSERT_EQ(results.size(), 9u);
  ASSERT_THAT(results[0], IsOk());
  EXPECT_EQ(results[0]->outcome, IngestOutcome::kStored);
  EXPECT_EQ(results[0]->id, AliceId("noise"));
  EXPECT_THAT(results[1], StatusIs(absl::StatusCode::kUnauthenticated));
  ASSERT_THAT(results[2], IsOk());
  EXPECT_EQ(results[2]->outcome, IngestOutcome::kStored);
  ASSERT_THAT(results[3], IsOk());
  EXPECT_EQ(results[3]->outcome, IngestOutcome::kDuplicate);  // duplicate within the batch
  ASSERT_THAT(results[4], IsOk());
  EXPECT_EQ(results[4]->outcome, IngestOutcome::kDuplicate);  // duplicate of the store
  ASSERT_THAT(results[5], IsOk());
  EXPECT_EQ(results[5]->outcome, IngestOutcome::kStored);  // replaces trains1 in the batch
  EXPECT_THAT(results[6], StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_THAT(results[7], IsOk());
  EXPECT_EQ(results[7]->outcome, IngestOutcome::kStored);
  EXPECT_EQ(results[7]->kind, DocumentKind::kTombstone);
  EXPECT_THAT(results[8], StatusIs(absl::StatusCode::kInvalidArgument));

  EXPECT_EQ(CurrentJws(AliceId("noise")), noise);
  EXPECT_EQ(CurrentJws(BobId("trains")), trains2);
  EXPECT_THAT(catalog_->Get(AliceId("ships")), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(catalog_->Get(BobId("old")), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(Find("noise"), ElementsAre(AliceId("noise")));
  EXPECT_THAT(Find("silence"), IsEmpty());
  EXPECT_THAT(Find("punctuality"), ElementsAre(BobId("trains")));
  EXPECT_THAT(Find("delays"), IsEmpty());
  EXPECT_THAT(Find("arrivals"), IsEmpty());
  // air, water, bikes, noise, trains.
  EXPECT_EQ(catalog_->document_count(), 5u);
  EXPECT_THAT(catalog_->NextSequence(Did(bob_)), IsOkAndHolds(6u));
  EXPECT_THAT(catalog_->NextSequence(Did(alice_)), IsOkAndHolds(6u));
}

TEST_F(CatalogTest, IngestManyEmpty) {
  EXPECT_THAT(catalog_->IngestMany({}), IsEmpty());
  EXPECT_EQ(catalog_->document_count(), 0u);
}

TEST_F(CatalogTest, EquivocationWithinOneBatch) {
  std::string a = Sign(Dataset(bob_, {.name = "a", .sequence = 1, .title = "One"}), bob_);
  std::string b = Sign(Dataset(bob_, {.name = "b", .sequence = 1, .title = "Two"}), bob_);
  auto results = catalog_->IngestMany({a, b});
  ASSERT_EQ(results.size(), 2u);
  ASSERT_THAT(results[0], IsOk());
  ASSERT_THAT(results[1], IsOk());
  EXPECT_EQ(results[0]->outcome, IngestOutcome::kStored);
  EXPECT_EQ(results[1]->outcome, IngestOutcome::kEquivocation);
  EXPECT_TRUE(catalog_->IsFlagged(Did(bob_)));
  EXPECT_EQ(CurrentJws(BobId("a")), a);
  HANSE_ASSERT_OK_AND_ASSIGN(auto evidence, catalog_->Evidence());
  ASSERT_EQ(evidence.size(), 1u);
  EXPECT_THAT((std::vector<std::string>{evidence[0].first_jws, evidence[0].second_jws}),
              UnorderedElementsAre(a, b));
}

// -------------------------------------------------------------------------- restart

TEST_F(PopulatedCatalogTest, EverythingSurvivesARestart) {
  // Some history first: a replacement, a tombstone, an equivocation.
  std::string air2 = Sign(Dataset(alice_, {.name = "air",
                                           .sequence = 4,
                                           .title = "Harbour smog",
                                           .language = "de",
                                           .issued = "2024-02-01"}),
                          alice_);
  ASSERT_EQ(MustIngest(air2), IngestOutcome::kStored);
  ASSERT_EQ(MustIngest(Sign(Tombstone(bob_, "bikes", 4), bob_)), IngestOutcome::kStored);
  ASSERT_EQ(
      MustIngest(Sign(Dataset(bob_, {.name = "dup", .sequence = 2, .title = "Conflict"}), bob_)),
      IngestOutcome::kEquivocation);

  struct Snapshot {
    std::vector<std::string> jws;
    std::vector<std::vector<std::string>> searches;
    std::uint64_t next_alice, next_bob, count;
    bool alice_flagged, bob_flagged;
    size_t evidence;
  };
  const std::vector<std::string> ids = {Did(alice_),      Did(bob_),      AliceId("air"),
                                        AliceId("ships"), BobId("water"), BobId("bikes")};
  const std::vector<std::string> queries = {
      "smog", "quality", "country:FR", "country:DE", "language:en", "issued>=2024-01-01", ""};
  auto snapshot = [&]() {
    Snapshot s;
    for (const auto& id : ids) s.jws.push_back(CurrentJws(id));
    for (const auto& q : queries) s.searches.push_back(Find(q));
    s.next_alice = catalog_->NextSequence(Did(alice_)).value();
    s.next_bob = catalog_->NextSequence(Did(bob_)).value();
    s.count = catalog_->document_count();
    s.alice_flagged = catalog_->IsFlagged(Did(alice_));
    s.bob_flagged = catalog_->IsFlagged(Did(bob_));
    s.evidence = catalog_->Evidence().value().size();
    return s;
  };
  Snapshot before = snapshot();
  EXPECT_EQ(before.next_alice, 5u);
  EXPECT_EQ(before.next_bob, 5u);
  EXPECT_EQ(before.count, 3u);
  EXPECT_TRUE(before.bob_flagged);
  EXPECT_FALSE(before.alice_flagged);
  EXPECT_EQ(before.evidence, 1u);
  EXPECT_THAT(before.searches[0], ElementsAre(AliceId("air")));

  ASSERT_NO_FATAL_FAILURE(Reopen());
  Snapshot after = snapshot();
  EXPECT_EQ(after.jws, before.jws);
  EXPECT_EQ(after.searches, before.searches);
  EXPECT_EQ(after.next_alice, before.next_alice);
  EXPECT_EQ(after.next_bob, before.next_bob);
  EXPECT_EQ(after.count, before.count);
  EXPECT_EQ(after.alice_flagged, before.alice_flagged);
  EXPECT_EQ(after.bob_flagged, before.bob_flagged);
  EXPECT_EQ(after.evidence, before.evidence);
  HANSE_ASSERT_OK_AND_ASSIGN(auto tomb, catalog_->GetAny(BobId("bikes")));
  ASSERT_TRUE(tomb.has_value());
  EXPECT_EQ(tomb->kind, DocumentKind::kTombstone);

  // The reopened catalogue keeps working: duplicates are known, replacements re-index.
  HANSE_ASSERT_OK_AND_ASSIGN(IngestResult r, catalog_->Ingest(air2));
  EXPECT_EQ(r.outcome, IngestOutcome::kDuplicate);
  std::string air3 = Sign(Dataset(alice_, {.name = "air",
                                           .sequence = 5,
                                           .title = "Harbour fog",
                                           .language = "de",
                                           .issued = "2024-02-01"}),
                          alice_);
  EXPECT_EQ(MustIngest(air3), IngestOutcome::kStored);
  EXPECT_THAT(Find("fog"), ElementsAre(AliceId("air")));
  EXPECT_THAT(Find("smog"), IsEmpty());
  EXPECT_THAT(Find("country:DE"), UnorderedElementsAre(AliceId("air"), AliceId("ships")));
  EXPECT_EQ(catalog_->document_count(), 3u);
}

// --------------------------------------------------------------------- NextSequence

TEST_F(CatalogTest, NextSequenceIncrementsPerIssuer) {
  EXPECT_THAT(catalog_->NextSequence(Did(alice_)), IsOkAndHolds(1u));
  EXPECT_THAT(catalog_->NextSequence(Did(bob_)), IsOkAndHolds(1u));
  ASSERT_EQ(MustIngest(Sign(Participant(alice_, 1, "DE"), alice_)), IngestOutcome::kStored);
  EXPECT_THAT(catalog_->NextSequence(Did(alice_)), IsOkAndHolds(2u));
  EXPECT_THAT(catalog_->NextSequence(Did(bob_)), IsOkAndHolds(1u));
  for (std::uint64_t seq = 2; seq <= 4; ++seq) {
    ASSERT_EQ(MustIngest(Sign(
                  Dataset(alice_, {.name = absl::StrCat("d", seq), .sequence = seq, .title = "d"}),
                  alice_)),
              IngestOutcome::kStored);
    EXPECT_THAT(catalog_->NextSequence(Did(alice_)), IsOkAndHolds(seq + 1));
  }
  // Gaps are allowed; the next is one past the highest.
  ASSERT_EQ(
      MustIngest(Sign(Dataset(alice_, {.name = "far", .sequence = 300, .title = "d"}), alice_)),
      IngestOutcome::kStored);
  EXPECT_THAT(catalog_->NextSequence(Did(alice_)), IsOkAndHolds(301u));
  // A stale document does not move it, nor does an equivocation.
  ASSERT_EQ(
      MustIngest(Sign(Dataset(alice_, {.name = "far", .sequence = 200, .title = "d"}), alice_)),
      IngestOutcome::kStale);
  ASSERT_EQ(MustIngest(Sign(Dataset(alice_, {.name = "x", .sequence = 300, .title = "e"}), alice_)),
            IngestOutcome::kEquivocation);
  EXPECT_THAT(catalog_->NextSequence(Did(alice_)), IsOkAndHolds(301u));
  // Bob's own.
  ASSERT_EQ(MustIngest(Sign(Dataset(bob_, {.name = "b", .sequence = 7, .title = "b"}), bob_)),
            IngestOutcome::kStored);
  EXPECT_THAT(catalog_->NextSequence(Did(bob_)), IsOkAndHolds(8u));
  EXPECT_THAT(catalog_->NextSequence(Did(alice_)), IsOkAndHolds(301u));
  // Sequence numbers compare as numbers, not as text (256 > 255 across a byte boundary).
  ASSERT_EQ(MustIngest(Sign(Dataset(bob_, {.name = "b", .sequence = 256, .title = "b"}), bob_)),
            IngestOutcome::kStored);
  ASSERT_EQ(MustIngest(Sign(Dataset(bob_, {.name = "b", .sequence = 255, .title = "c"}), bob_)),
            IngestOutcome::kStale);
  EXPECT_THAT(catalog_->NextSequence(Did(bob_)), IsOkAndHolds(257u));
}

// ------------------------------------------------------- the country filter over time

// The country filter comes from the issuer's participant description "when this node holds it".
// A dataset that arrived before its issuer's participant description was indexed without a
// country. ToIndexed recomputes the previous version's index entry with the country known
// *now*, so its fingerprint differs from what was indexed and SearchIndex::Add refuses the
// replacement with FailedPrecondition: the dataset can never be republished or unpublished.
// Regression (catalog/catalog.cc, Catalog::ToIndexed/IngestMany).
TEST_F(CatalogTest, DatasetIndexedBeforeItsParticipantCanBeRepublished) {
  ASSERT_EQ(
      MustIngest(Sign(Dataset(alice_, {.name = "air", .sequence = 2, .title = "Air one"}), alice_)),
      IngestOutcome::kStored);
  ASSERT_EQ(MustIngest(Sign(Participant(alice_, 1, "DE"), alice_)), IngestOutcome::kStored);
  std::string v3 =
      Sign(Dataset(alice_, {.name = "air", .sequence = 3, .title = "Air two"}), alice_);
  HANSE_ASSERT_OK_AND_ASSIGN(IngestResult r, catalog_->Ingest(v3));
  EXPECT_EQ(r.outcome, IngestOutcome::kStored);
  EXPECT_EQ(CurrentJws(AliceId("air")), v3);
  EXPECT_THAT(Find("two"), ElementsAre(AliceId("air")));
  EXPECT_THAT(Find("country:DE"), ElementsAre(AliceId("air")));
  std::string tomb = Sign(Tombstone(alice_, "air", 4), alice_);
  EXPECT_THAT(catalog_->Ingest(tomb), IsOk());
  EXPECT_THAT(catalog_->Get(AliceId("air")), StatusIs(absl::StatusCode::kNotFound));
}

// Same root cause: the issuer moves its seat (a new participant description with another
// country); its datasets indexed under the old country can then not be replaced or unpublished.
// Regression (catalog/catalog.cc, Catalog::ToIndexed).
TEST_F(CatalogTest, DatasetsSurviveTheIssuerMovingCountry) {
  ASSERT_EQ(MustIngest(Sign(Participant(bob_, 1, "FR"), bob_)), IngestOutcome::kStored);
  ASSERT_EQ(MustIngest(Sign(Dataset(bob_, {.name = "w", .sequence = 2, .title = "Water"}), bob_)),
            IngestOutcome::kStored);
  EXPECT_THAT(Find("country:FR"), ElementsAre(BobId("w")));
  ASSERT_EQ(MustIngest(Sign(Participant(bob_, 3, "BE"), bob_)), IngestOutcome::kStored);
  std::string w2 = Sign(Dataset(bob_, {.name = "w", .sequence = 4, .title = "Water v2"}), bob_);
  HANSE_ASSERT_OK_AND_ASSIGN(IngestResult r, catalog_->Ingest(w2));
  EXPECT_EQ(r.outcome, IngestOutcome::kStored);
  EXPECT_EQ(CurrentJws(BobId("w")), w2);
  EXPECT_THAT(Find("country:BE"), ElementsAre(BobId("w")));
  EXPECT_THAT(Find("country:FR"), IsEmpty());
}

// A participant description and its datasets often travel together (a peer's first sync). The
// country lookup reads the store, not the batch being written, so datasets ingested in the same
// IngestMany as their participant get no country.
// Regression: the publisher country is read through the batch being written.
TEST_F(CatalogTest, ParticipantAndDatasetsInOneBatchGetTheCountry) {
  auto results = catalog_->IngestMany(
      {Sign(Participant(alice_, 1, "DE"), alice_),
       Sign(Dataset(alice_, {.name = "air", .sequence = 2, .title = "Air"}), alice_)});
  ASSERT_EQ(results.size(), 2u);
  for (const auto& r : results) {
    ASSERT_THAT(r, IsOk());
    EXPECT_EQ(r->outcome, IngestOutcome::kStored);
  }
  EXPECT_THAT(Find("country:DE"), ElementsAre(AliceId("air")));
  // And the result must not depend on whether the batch was split.
  std::string v3 = Sign(Dataset(alice_, {.name = "air", .sequence = 3, .title = "Air 3"}), alice_);
  EXPECT_THAT(catalog_->Ingest(v3), IsOk());
  EXPECT_EQ(CurrentJws(AliceId("air")), v3);
}

// ------------------------------------------------------------ certification credentials

// A certifier (Ed25519) attests certifications for alice (P-256) and bob (Ed25519).
class CertificationCatalogTest : public CatalogTest {
 protected:
  std::string Cert(const trust::PrivateKey& issuer, const trust::PrivateKey& holder,
                   absl::string_view name, std::uint64_t sequence,
                   absl::Time valid_until = absl::InfiniteFuture(),
                   absl::Time valid_from = Utc(2024, 1, 1)) {
    return Sign(
        CertificationDocument(Did(issuer), Did(holder), name, sequence, valid_from, valid_until),
        issuer);
  }
  std::string CertId(const trust::PrivateKey& issuer, const trust::PrivateKey& holder,
                     absl::string_view name) {
    return CertificationId(Did(issuer), Did(holder), name);
  }
  std::string Revocation(const trust::PrivateKey& issuer, absl::string_view id,
                         std::uint64_t sequence) {
    return Sign(TombstoneDocument(Did(issuer), id, sequence, Utc(2024, 1, 1)), issuer);
  }

  // "name from issuer" for each certification `holder` holds at `now`.
  std::vector<std::string> Held(const trust::PrivateKey& holder, absl::Time now = kStart) {
    absl::StatusOr<std::vector<CertificationRecord>> records =
        catalog_->CertificationsOf(Did(holder), now);
    EXPECT_THAT(records, IsOk());
    std::vector<std::string> out;
    if (records.ok()) {
      for (const CertificationRecord& r : *records) {
        out.push_back(absl::StrCat(r.name, " from ", r.issuer));
      }
    }
    return out;
  }
  std::string From(absl::string_view name, const trust::PrivateKey& issuer) {
    return absl::StrCat(name, " from ", Did(issuer));
  }

  // The holder index keys in the store (layout in docs/catalogue.md).
  std::vector<std::string> HolderIndexKeys() {
    std::vector<std::string> keys;
    EXPECT_THAT(store_->Scan(Family::kFields, "c|",
                             [&](absl::string_view key, absl::string_view) {
                               keys.emplace_back(key);
                               return true;
                             }),
                IsOk());
    return keys;
  }

  trust::PrivateKey certifier_ = trust::PrivateKey::Generate(trust::KeyType::kEd25519).value();
};

TEST_F(CertificationCatalogTest, StoredAndFoundByItsHolder) {
  const absl::Time until = Utc(2025, 1, 1);
  std::string hds = Cert(certifier_, alice_, "health-data-hosting", 1, until);
  HANSE_ASSERT_OK_AND_ASSIGN(IngestResult r, catalog_->Ingest(hds));
  EXPECT_EQ(r.outcome, IngestOutcome::kStored);
  EXPECT_EQ(r.kind, DocumentKind::kCertification);
  EXPECT_EQ(r.id, CertId(certifier_, alice_, "health-data-hosting"));
  EXPECT_EQ(r.sequence, 1u);

  HANSE_ASSERT_OK_AND_ASSIGN(std::vector<CertificationRecord> records,
                             catalog_->CertificationsOf(Did(alice_), kStart));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].name, "health-data-hosting");
  EXPECT_EQ(records[0].issuer, Did(certifier_));
  EXPECT_EQ(records[0].valid_until, until);
  EXPECT_EQ(records[0].id, r.id);
  EXPECT_EQ(records[0].sequence, 1u);
  EXPECT_EQ(records[0].jws, hds);
  EXPECT_THAT(Held(bob_), IsEmpty());
  EXPECT_THAT(Held(certifier_), IsEmpty());  // the issuer does not hold what it issues

  // It is a document like any other: Get returns it.
  HANSE_ASSERT_OK_AND_ASSIGN(StoredDocument d, catalog_->Get(r.id));
  EXPECT_EQ(d.kind, DocumentKind::kCertification);
  EXPECT_EQ(d.jws, hds);
  EXPECT_THAT(catalog_->NextSequence(Did(certifier_)), IsOkAndHolds(2u));

  // Another certification from another issuer; each holder sees only its own.
  ASSERT_EQ(MustIngest(Cert(bob_, alice_, "iso27001", 1)), IngestOutcome::kStored);
  ASSERT_EQ(MustIngest(Cert(certifier_, bob_, "iso27001", 2)), IngestOutcome::kStored);
  EXPECT_THAT(Held(alice_), UnorderedElementsAre(From("health-data-hosting", certifier_),
                                                 From("iso27001", bob_)));
  EXPECT_THAT(Held(bob_), ElementsAre(From("iso27001", certifier_)));
  HANSE_ASSERT_OK_AND_ASSIGN(records, catalog_->CertificationsOf(Did(alice_), kStart));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_LT(records[0].id, records[1].id);  // id order
  for (const CertificationRecord& c : records) {
    // Without validUntil, no expiry.
    EXPECT_EQ(c.valid_until, c.issuer == Did(bob_) ? absl::InfiniteFuture() : until);
  }

  EXPECT_THAT(catalog_->CertificationsOf("did:web:example.org", kStart),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(catalog_->CertificationsOf("", kStart), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(CertificationCatalogTest, NotSearchableButVisitedByForEach) {
  ASSERT_EQ(MustIngest(Sign(Participant(alice_, 1, "DE"), alice_)), IngestOutcome::kStored);
  ASSERT_EQ(
      MustIngest(Sign(Dataset(alice_, {.name = "air", .sequence = 2, .title = "Air"}), alice_)),
      IngestOutcome::kStored);
  // A name that would match the query words if it were indexed.
  std::string cert = Cert(certifier_, alice_, "air-quality-auditor", 1);
  ASSERT_EQ(MustIngest(cert), IngestOutcome::kStored);
  EXPECT_THAT(Find("air"), ElementsAre(AliceId("air")));
  EXPECT_THAT(Find("auditor"), IsEmpty());
  EXPECT_THAT(Find(""), ElementsAre(AliceId("air")));
  EXPECT_EQ(catalog_->document_count(), 1u);

  std::vector<std::pair<std::string, DocumentKind>> visited;
  ASSERT_THAT(catalog_->ForEach([&](const StoredDocument& d) {
    visited.emplace_back(d.id, d.kind);
    return true;
  }),
              IsOk());
  EXPECT_THAT(visited,
              UnorderedElementsAre(std::pair(Did(alice_), DocumentKind::kParticipant),
                                   std::pair(AliceId("air"), DocumentKind::kDataset),
                                   std::pair(CertId(certifier_, alice_, "air-quality-auditor"),
                                             DocumentKind::kCertification)));
}

TEST_F(CertificationCatalogTest, NewerVersionReplacesTheOlder) {
  std::string v1 = Cert(certifier_, alice_, "health-data-hosting", 1, Utc(2024, 12, 1));
  std::string v2 = Cert(certifier_, alice_, "health-data-hosting", 3, Utc(2026, 1, 1));
  ASSERT_EQ(MustIngest(v1), IngestOutcome::kStored);
  ASSERT_EQ(MustIngest(v2), IngestOutcome::kStored);
  HANSE_ASSERT_OK_AND_ASSIGN(std::vector<CertificationRecord> records,
                             catalog_->CertificationsOf(Did(alice_), kStart));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].sequence, 3u);
  EXPECT_EQ(records[0].jws, v2);
  EXPECT_EQ(records[0].valid_until, Utc(2026, 1, 1));
  // After v1 would have expired, v2 still counts.
  EXPECT_THAT(Held(alice_, Utc(2025, 6, 1)), ElementsAre(From("health-data-hosting", certifier_)));
  EXPECT_THAT(HolderIndexKeys(), ::testing::SizeIs(1));

  // The older version replayed, or arriving late, changes nothing.
  HANSE_ASSERT_OK_AND_ASSIGN(IngestResult r, catalog_->Ingest(v1));
  EXPECT_THAT(r.outcome, ::testing::AnyOf(IngestOutcome::kDuplicate, IngestOutcome::kStale));
  std::string v2late = Cert(certifier_, alice_, "health-data-hosting", 2, Utc(2024, 7, 1));
  HANSE_ASSERT_OK_AND_ASSIGN(r, catalog_->Ingest(v2late));
  EXPECT_EQ(r.outcome, IngestOutcome::kStale);
  HANSE_ASSERT_OK_AND_ASSIGN(records, catalog_->CertificationsOf(Did(alice_), kStart));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].jws, v2);
}

TEST_F(CertificationCatalogTest, VersionsInOneBatchAndAcrossARestart) {
  std::string v1 = Cert(certifier_, alice_, "iso27001", 1, Utc(2024, 12, 1));
  std::string v2 = Cert(certifier_, alice_, "iso27001", 2, Utc(2025, 12, 1));
  std::string other = Cert(certifier_, bob_, "iso27001", 3);
  auto results = catalog_->IngestMany({v1, v2, other});
  ASSERT_EQ(results.size(), 3u);
  for (const auto& r : results) {
    ASSERT_THAT(r, IsOk());
    EXPECT_EQ(r->outcome, IngestOutcome::kStored);
  }
  HANSE_ASSERT_OK_AND_ASSIGN(std::vector<CertificationRecord> records,
                             catalog_->CertificationsOf(Did(alice_), kStart));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].jws, v2);
  EXPECT_THAT(HolderIndexKeys(), ::testing::SizeIs(2));

  ASSERT_NO_FATAL_FAILURE(Reopen());
  HANSE_ASSERT_OK_AND_ASSIGN(records, catalog_->CertificationsOf(Did(alice_), kStart));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].jws, v2);
  EXPECT_THAT(Held(bob_), ElementsAre(From("iso27001", certifier_)));
}

TEST_F(CertificationCatalogTest, CountsOnlyInsideItsValidity) {
  const absl::Time until = kStart + absl::Hours(24 * 30);
  ASSERT_EQ(MustIngest(Cert(certifier_, alice_, "health-data-hosting", 1, until)),
            IngestOutcome::kStored);
  EXPECT_THAT(Held(alice_, kStart), ElementsAre(From("health-data-hosting", certifier_)));
  EXPECT_THAT(Held(alice_, until - absl::Seconds(1)),
              ElementsAre(From("health-data-hosting", certifier_)));
  // The instant validUntil is already expired (as the policy evaluator counts it).
  EXPECT_THAT(Held(alice_, until), IsEmpty());
  EXPECT_THAT(Held(alice_, Utc(2030, 1, 1)), IsEmpty());

  // Issued with validFrom a little ahead (within the accepted skew): stored, but it does not
  // count before it starts.
  const absl::Time from = kStart + absl::Minutes(2);
  ASSERT_EQ(MustIngest(Cert(certifier_, bob_, "iso27001", 2, absl::InfiniteFuture(), from)),
            IngestOutcome::kStored);
  EXPECT_THAT(Held(bob_, kStart), IsEmpty());
  EXPECT_THAT(Held(bob_, from), ElementsAre(From("iso27001", certifier_)));

  // Already expired when it arrives: refused like any expired document.
  EXPECT_THAT(catalog_->Ingest(Cert(certifier_, bob_, "gdpr", 3, kStart - absl::Hours(1))),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(Held(bob_, from), ElementsAre(From("iso27001", certifier_)));
}

TEST_F(CertificationCatalogTest, RevokedByItsIssuersTombstone) {
  const std::string id = CertId(certifier_, alice_, "health-data-hosting");
  std::string v1 = Cert(certifier_, alice_, "health-data-hosting", 1);
  ASSERT_EQ(MustIngest(v1), IngestOutcome::kStored);
  ASSERT_EQ(MustIngest(Cert(bob_, alice_, "iso27001", 1)), IngestOutcome::kStored);

  std::string revoke = Revocation(certifier_, id, 2);
  HANSE_ASSERT_OK_AND_ASSIGN(IngestResult r, catalog_->Ingest(revoke));
  EXPECT_EQ(r.outcome, IngestOutcome::kStored);
  EXPECT_EQ(r.kind, DocumentKind::kTombstone);
  EXPECT_EQ(r.id, id);
  EXPECT_THAT(Held(alice_), ElementsAre(From("iso27001", bob_)));
  EXPECT_THAT(catalog_->Get(id), StatusIs(absl::StatusCode::kNotFound));
  HANSE_ASSERT_OK_AND_ASSIGN(std::optional<StoredDocument> any, catalog_->GetAny(id));
  ASSERT_TRUE(any.has_value());
  EXPECT_EQ(any->kind, DocumentKind::kTombstone);
  EXPECT_EQ(any->jws, revoke);
  EXPECT_THAT(HolderIndexKeys(), ::testing::SizeIs(1));

  // The revoked version replayed stays revoked.
  HANSE_ASSERT_OK_AND_ASSIGN(r, catalog_->Ingest(v1));
  EXPECT_THAT(r.outcome, ::testing::AnyOf(IngestOutcome::kDuplicate, IngestOutcome::kStale));
  EXPECT_THAT(Held(alice_), ElementsAre(From("iso27001", bob_)));
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_THAT(Held(alice_), ElementsAre(From("iso27001", bob_)));

  // Re-certifying later (higher sequence) makes it count again.
  ASSERT_EQ(MustIngest(Cert(certifier_, alice_, "health-data-hosting", 3)), IngestOutcome::kStored);
  EXPECT_THAT(Held(alice_), UnorderedElementsAre(From("health-data-hosting", certifier_),
                                                 From("iso27001", bob_)));
}

TEST_F(CertificationCatalogTest, OnlyTheIssuerCanRevoke) {
  const std::string id = CertId(certifier_, alice_, "health-data-hosting");
  ASSERT_EQ(MustIngest(Cert(certifier_, alice_, "health-data-hosting", 1)), IngestOutcome::kStored);
  // The holder (or anyone else) signing a tombstone for the certifier's id, as its own issuer:
  // the id is not theirs. SignDocument refuses; a hand-signed token is refused on ingest.
  for (const trust::PrivateKey* who : {&alice_, &bob_}) {
    Document t = TombstoneDocument(Did(*who), id, 5, Utc(2024, 1, 1));
    EXPECT_THAT(SignDocument(t, *who),
                StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("\"id\"")));
    std::string forged = trust::SignCompact(*who, trust::DidKeyVerificationMethod(Did(*who)),
                                            kVcType, DocumentPayload(t))
                             .value();
    EXPECT_THAT(catalog_->Ingest(forged), StatusIs(absl::StatusCode::kInvalidArgument));
  }
  // Claiming to be the certifier, signed with another key.
  Document claimed = TombstoneDocument(Did(certifier_), id, 5, Utc(2024, 1, 1));
  std::string impostor = trust::SignCompact(bob_, trust::DidKeyVerificationMethod(Did(bob_)),
                                            kVcType, DocumentPayload(claimed))
                             .value();
  EXPECT_THAT(catalog_->Ingest(impostor), StatusIs(absl::StatusCode::kUnauthenticated));
  // The certifier's kid on a token bob signed (built by hand: SignCompact will not).
  std::string input =
      absl::StrCat(trust::Base64UrlEncode(absl::StrCat(
                       R"({"alg":")", trust::JoseAlg(bob_.type()), R"(","kid":")",
                       trust::DidKeyVerificationMethod(Did(certifier_)), R"(","typ":"vc+jwt"})")),
                   ".", trust::Base64UrlEncode(DocumentPayload(claimed)));
  std::string kid_lies =
      absl::StrCat(input, ".", trust::Base64UrlEncode(bob_.SignJose(input).value()));
  EXPECT_THAT(catalog_->Ingest(kid_lies), StatusIs(absl::StatusCode::kUnauthenticated));

  EXPECT_THAT(Held(alice_), ElementsAre(From("health-data-hosting", certifier_)));
  HANSE_ASSERT_OK_AND_ASSIGN(StoredDocument d, catalog_->Get(id));
  EXPECT_EQ(d.kind, DocumentKind::kCertification);
}

TEST_F(CertificationCatalogTest, RetiringTheIssuerDropsItsCertifications) {
  const std::string alice_hds = CertId(certifier_, alice_, "health-data-hosting");
  ASSERT_EQ(MustIngest(Sign(Participant(certifier_, 1, "FR"), certifier_)), IngestOutcome::kStored);
  ASSERT_EQ(MustIngest(Cert(certifier_, alice_, "health-data-hosting", 2)), IngestOutcome::kStored);
  ASSERT_EQ(MustIngest(Cert(certifier_, bob_, "health-data-hosting", 3)), IngestOutcome::kStored);
  ASSERT_EQ(MustIngest(Revocation(certifier_, CertId(certifier_, bob_, "gone"), 4)),
            IngestOutcome::kStored);
  ASSERT_EQ(MustIngest(Cert(bob_, alice_, "iso27001", 1)), IngestOutcome::kStored);
  ASSERT_THAT(HolderIndexKeys(), ::testing::SizeIs(3));

  ASSERT_THAT(catalog_->RetireIssuer(Did(certifier_)), IsOk());
  EXPECT_TRUE(catalog_->IsRetired(Did(certifier_)));
  EXPECT_THAT(Held(alice_), ElementsAre(From("iso27001", bob_)));
  EXPECT_THAT(Held(bob_), IsEmpty());
  // Out of the holder index in the same batch, not only filtered.
  HANSE_ASSERT_OK_AND_ASSIGN(std::vector<CertificationRecord> bobs,
                             catalog_->CertificationsOf(Did(alice_), kStart));
  ASSERT_EQ(bobs.size(), 1u);
  EXPECT_THAT(HolderIndexKeys(), ElementsAre(absl::StrCat("c|", Did(alice_), "|", bobs[0].id)));
  EXPECT_THAT(catalog_->Get(alice_hds), StatusIs(absl::StatusCode::kNotFound));
  bool visited = false;
  ASSERT_THAT(catalog_->ForEach([&](const StoredDocument& d) {
    visited = visited || (d.kind == DocumentKind::kCertification && d.id == alice_hds);
    return true;
  }),
              IsOk());
  EXPECT_FALSE(visited);
  // New credentials from it are refused.
  EXPECT_THAT(catalog_->Ingest(Cert(certifier_, alice_, "iso27001", 9)),
              StatusIs(absl::StatusCode::kPermissionDenied));

  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_THAT(Held(alice_), ElementsAre(From("iso27001", bob_)));
  EXPECT_THAT(Held(bob_), IsEmpty());
}

// The counts by kind follow every change (a new version, a tombstone, a republish, a
// retirement), survive a restart, and a store without them (written by an older release) is
// counted once at open.
TEST_F(CertificationCatalogTest, CountsByKindFollowEveryChange) {
  auto counts = [&] {
    Catalog::KindCounts c = catalog_->CountByKind();
    return std::vector<std::uint64_t>{c[static_cast<size_t>(DocumentKind::kParticipant)],
                                      c[static_cast<size_t>(DocumentKind::kDataset)],
                                      c[static_cast<size_t>(DocumentKind::kCertification)],
                                      c[static_cast<size_t>(DocumentKind::kTombstone)]};
  };
  using V = std::vector<std::uint64_t>;
  EXPECT_EQ(counts(), (V{0, 0, 0, 0}));
  ASSERT_EQ(MustIngest(Sign(Participant(certifier_, 1, "FR"), certifier_)), IngestOutcome::kStored);
  ASSERT_EQ(MustIngest(Sign(Participant(alice_, 1, "DE"), alice_)), IngestOutcome::kStored);
  ASSERT_EQ(MustIngest(Cert(certifier_, alice_, "health-data-hosting", 2)), IngestOutcome::kStored);
  ASSERT_EQ(MustIngest(Cert(certifier_, bob_, "health-data-hosting", 3)), IngestOutcome::kStored);
  ASSERT_EQ(
      MustIngest(Sign(Dataset(alice_, {.name = "air", .sequence = 2, .title = "Air"}), alice_)),
      IngestOutcome::kStored);
  ASSERT_EQ(
      MustIngest(Sign(Dataset(alice_, {.name = "sea", .sequence = 3, .title = "Sea"}), alice_)),
      IngestOutcome::kStored);
  // A dataset of the certifier, so that its retirement takes a dataset too.
  ASSERT_EQ(MustIngest(Sign(Dataset(certifier_, {.name = "list", .sequence = 4, .title = "List"}),
                            certifier_)),
            IngestOutcome::kStored);
  EXPECT_EQ(counts(), (V{2, 3, 2, 0}));
  // A new version replaces, a duplicate or stale one changes nothing.
  ASSERT_EQ(
      MustIngest(Sign(Dataset(alice_, {.name = "air", .sequence = 5, .title = "Air 2"}), alice_)),
      IngestOutcome::kStored);
  ASSERT_EQ(
      MustIngest(Sign(Dataset(alice_, {.name = "air", .sequence = 4, .title = "Air 1"}), alice_)),
      IngestOutcome::kStale);
  EXPECT_EQ(counts(), (V{2, 3, 2, 0}));
  // Unpublished: a dataset becomes a tombstone; a tombstone for an id never seen is one more.
  ASSERT_EQ(MustIngest(Sign(Tombstone(alice_, "sea", 6), alice_)), IngestOutcome::kStored);
  ASSERT_EQ(MustIngest(Sign(Tombstone(alice_, "never", 7), alice_)), IngestOutcome::kStored);
  EXPECT_EQ(counts(), (V{2, 2, 2, 2}));
  EXPECT_EQ(catalog_->document_count(), 2u) << "the index agrees";
  ASSERT_THAT(catalog_->RetireIssuer(Did(certifier_)), IsOk());
  EXPECT_EQ(counts(), (V{2, 1, 0, 2}));
  EXPECT_EQ(catalog_->document_count(), 1u);
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(counts(), (V{2, 1, 0, 2}));
  // An older release's store: no counts kept. Counted at open, the same.
  WriteBatch drop;
  for (absl::string_view kind : {"participant", "dataset", "certification", "tombstone"}) {
    drop.Delete(Family::kIssuerLog, absl::StrCat("n|", kind));
  }
  ASSERT_THAT(store_->Write(drop, /*sync=*/true), IsOk());
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(counts(), (V{2, 1, 0, 2}));
  // Only some kept (the first write after an older release refused, a later batch storing the
  // kinds it changed): counted again, not read as zeros.
  WriteBatch some;
  some.Delete(Family::kIssuerLog, "n|participant");
  some.Delete(Family::kIssuerLog, "n|tombstone");
  ASSERT_THAT(store_->Write(some, /*sync=*/true), IsOk());
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(counts(), (V{2, 1, 0, 2}));
}

TEST_F(CertificationCatalogTest, EquivocatingCertificationDoesNotCount) {
  ASSERT_EQ(MustIngest(Cert(certifier_, alice_, "iso27001", 1)), IngestOutcome::kStored);
  // Another statement at the same sequence, for bob.
  HANSE_ASSERT_OK_AND_ASSIGN(IngestResult r,
                             catalog_->Ingest(Cert(certifier_, bob_, "iso27001", 1)));
  EXPECT_EQ(r.outcome, IngestOutcome::kEquivocation);
  EXPECT_TRUE(catalog_->IsFlagged(Did(certifier_)));
  EXPECT_THAT(Held(alice_), ElementsAre(From("iso27001", certifier_)));
  EXPECT_THAT(Held(bob_), IsEmpty());
}

// Certifications travel by gossip like any document: DocumentsAfter serves the current version
// from the issuer's log, and a second node that ingests it finds it by holder.
TEST_F(CertificationCatalogTest, ReplicatesViaDocumentsAfter) {
  std::string participant = Sign(Participant(certifier_, 1, "FR"), certifier_);
  std::string old_cert = Cert(certifier_, alice_, "health-data-hosting", 2);
  std::string cert = Cert(certifier_, alice_, "health-data-hosting", 3, Utc(2026, 1, 1));
  std::string revoked = Cert(certifier_, bob_, "iso27001", 4);
  std::string revocation = Revocation(certifier_, CertId(certifier_, bob_, "iso27001"), 5);
  for (const std::string* jws : {&participant, &old_cert, &cert, &revoked, &revocation}) {
    ASSERT_EQ(MustIngest(*jws), IngestOutcome::kStored);
  }
  bool more = true;
  HANSE_ASSERT_OK_AND_ASSIGN(std::vector<std::string> docs,
                             catalog_->DocumentsAfter(Did(certifier_), 0, 100, 1 << 20, &more));
  EXPECT_FALSE(more);
  EXPECT_THAT(docs, ElementsAre(participant, cert, revocation));
  HANSE_ASSERT_OK_AND_ASSIGN(docs,
                             catalog_->DocumentsAfter(Did(certifier_), 3, 100, 1 << 20, &more));
  EXPECT_THAT(docs, ElementsAre(revocation));

  // Another node.
  HANSE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> other_store,
                             OpenRocksStore(tmp_.Sub("other"), {.create_if_missing = true}));
  HANSE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Catalog> other,
                             Catalog::Open(other_store.get(), &clock_));
  HANSE_ASSERT_OK_AND_ASSIGN(docs,
                             catalog_->DocumentsAfter(Did(certifier_), 0, 100, 1 << 20, &more));
  for (const auto& r : other->IngestMany(docs)) {
    ASSERT_THAT(r, IsOk());
    EXPECT_EQ(r->outcome, IngestOutcome::kStored);
  }
  HANSE_ASSERT_OK_AND_ASSIGN(std::vector<CertificationRecord> records,
                             other->CertificationsOf(Did(alice_), kStart));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].jws, cert);
  EXPECT_EQ(records[0].issuer, Did(certifier_));
  EXPECT_EQ(records[0].valid_until, Utc(2026, 1, 1));
  HANSE_ASSERT_OK_AND_ASSIGN(records, other->CertificationsOf(Did(bob_), kStart));
  EXPECT_THAT(records, IsEmpty());
  // The revoked credential arriving later (from a slower peer) stays revoked there too.
  HANSE_ASSERT_OK_AND_ASSIGN(IngestResult r, other->Ingest(revoked));
  EXPECT_EQ(r.outcome, IngestOutcome::kStale);
  HANSE_ASSERT_OK_AND_ASSIGN(records, other->CertificationsOf(Did(bob_), kStart));
  EXPECT_THAT(records, IsEmpty());
  EXPECT_THAT(other->Heads(),
              IsOkAndHolds(::testing::Contains(::testing::Pair(Did(certifier_), 5u))));
  other.reset();
  ASSERT_THAT(other_store->Close(), IsOk());
}

// ------------------------------------------------------------------ the node's own sequences

// A ledger kept in memory, that can be told to fail.
class MemoryLedger : public SequenceLedger {
 public:
  std::uint64_t Highest(absl::string_view issuer) const override {
    std::lock_guard lock(mu_);
    auto it = highest_.find(std::string(issuer));
    return it == highest_.end() ? 0 : it->second;
  }
  absl::Status Record(absl::string_view issuer, std::uint64_t sequence) override {
    std::lock_guard lock(mu_);
    if (fail) return absl::ResourceExhaustedError("ledger disk full");
    auto& h = highest_[std::string(issuer)];
    h = std::max(h, sequence);
    return absl::OkStatus();
  }
  void Set(absl::string_view issuer, std::uint64_t sequence) {
    std::lock_guard lock(mu_);
    highest_[std::string(issuer)] = sequence;
  }
  bool fail = false;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::uint64_t> highest_;
};

class OwnSequenceTest : public CatalogTest {
 protected:
  void SetUp() override {
    CatalogTest::SetUp();
    catalog_.reset();
    HANSE_ASSERT_OK_AND_ASSIGN(catalog_, Catalog::Open(store_.get(), &clock_, &ledger_));
  }
  SignAtSequence SignDataset(absl::string_view name) {
    return [this, name = std::string(name)](std::uint64_t seq) -> absl::StatusOr<std::string> {
      return SignDocument(Dataset(alice_, {.name = name, .sequence = seq, .title = name}), alice_);
    };
  }
  MemoryLedger ledger_;
};

TEST_F(OwnSequenceTest, ConcurrentSignersNeverShareASequence) {
  constexpr int kThreads = 8;
  constexpr int kEach = 40;
  std::vector<std::vector<IngestResult>> results(kThreads);
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto r = catalog_->SignAndIngest(Did(alice_), SignDataset(absl::StrCat("d", t, "-", i)));
        if (r.ok()) {
          results[t].push_back(*r);
        } else {
          ++errors;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  std::set<std::uint64_t> sequences;
  for (const auto& per_thread : results) {
    for (const IngestResult& r : per_thread) {
      EXPECT_EQ(r.outcome, IngestOutcome::kStored);
      sequences.insert(r.sequence);
      HANSE_ASSERT_OK_AND_ASSIGN(StoredDocument d, catalog_->Get(r.id));
      EXPECT_EQ(d.sequence, r.sequence);
    }
  }
  EXPECT_EQ(sequences.size(), static_cast<size_t>(kThreads * kEach));
  EXPECT_EQ(*sequences.begin(), 1u);
  EXPECT_EQ(*sequences.rbegin(), static_cast<std::uint64_t>(kThreads * kEach));
  EXPECT_FALSE(catalog_->IsFlagged(Did(alice_)));
  EXPECT_EQ(ledger_.Highest(Did(alice_)), static_cast<std::uint64_t>(kThreads * kEach));
}

TEST_F(OwnSequenceTest, ContinuesPastTheLedgerWhenTheStoreLostItsTail) {
  HANSE_ASSERT_OK_AND_ASSIGN(IngestResult first,
                             catalog_->SignAndIngest(Did(alice_), SignDataset("a")));
  EXPECT_EQ(first.sequence, 1u);
  // The store lost sequences 2..7 (a damaged log, an older backup); the ledger remembers 7.
  ledger_.Set(Did(alice_), 7);
  EXPECT_THAT(catalog_->NextSequence(Did(alice_)), IsOkAndHolds(8u));
  HANSE_ASSERT_OK_AND_ASSIGN(IngestResult next,
                             catalog_->SignAndIngest(Did(alice_), SignDataset("b")));
  EXPECT_EQ(next.sequence, 8u);
  EXPECT_EQ(ledger_.Highest(Did(alice_)), 8u);
}

TEST_F(OwnSequenceTest, ExtraWritesGoWithTheDocumentOnly) {
  WriteBatch extra;
  extra.Put(Family::kContracts, "content|a", "a.csv");
  // A signer that fails: nothing is stored, the extra write neither.
  auto failing = [](std::uint64_t) -> absl::StatusOr<std::string> {
    return absl::InvalidArgumentError("bad publish file");
  };
  EXPECT_THAT(catalog_->SignAndIngest(Did(alice_), failing, extra),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(store_->Get(Family::kContracts, "content|a"), IsOkAndHolds(std::nullopt));
  EXPECT_EQ(ledger_.Highest(Did(alice_)), 0u);

  // A document at another sequence than the one given is refused, with nothing written.
  auto wrong = [this](std::uint64_t seq) -> absl::StatusOr<std::string> {
    return SignDocument(Dataset(alice_, {.name = "a", .sequence = seq + 5, .title = "A"}), alice_);
  };
  EXPECT_THAT(catalog_->SignAndIngest(Did(alice_), wrong, extra),
              StatusIs(absl::StatusCode::kInternal));

  // The ledger cannot record: nothing is stored.
  ledger_.fail = true;
  EXPECT_THAT(catalog_->SignAndIngest(Did(alice_), SignDataset("a"), extra),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(store_->Get(Family::kContracts, "content|a"), IsOkAndHolds(std::nullopt));
  EXPECT_THAT(catalog_->Get(AliceId("a")), StatusIs(absl::StatusCode::kNotFound));
  ledger_.fail = false;

  HANSE_ASSERT_OK_AND_ASSIGN(IngestResult r,
                             catalog_->SignAndIngest(Did(alice_), SignDataset("a"), extra));
  EXPECT_EQ(r.outcome, IngestOutcome::kStored);
  EXPECT_THAT(store_->Get(Family::kContracts, "content|a"),
              IsOkAndHolds(std::optional<std::string>("a.csv")));
}

}  // namespace
}  // namespace hanse::catalog
