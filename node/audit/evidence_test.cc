#include "node/audit/evidence.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/strings/str_replace.h"
#include "catalog/store.h"
#include "nlohmann/json.hpp"
#include "node/audit/test_util.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include "trust/did_key.h"
#include "trust/encoding.h"
#include "trust/jws.h"

namespace hanse::audit {
namespace {

using ::hanse::audit::testing::Did;
using ::hanse::audit::testing::Event;
using ::hanse::audit::testing::NewKey;
using ::hanse::audit::testing::Utc;
using ::hanse::testing::IsOk;
using ::hanse::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::SizeIs;
using Json = nlohmann::json;

std::string SignJson(const trust::PrivateKey& key, absl::string_view typ, const Json& payload) {
  return *trust::SignCompact(key, trust::DidKeyVerificationMethod(Did(key)), typ, payload.dump());
}

// Minimal stand-ins for the tokens other modules produce: the bundle treats them as opaque JWS.
std::string Agreement(const trust::PrivateKey& signer, const std::string& id,
                      const std::string& provider, const std::string& consumer) {
  return SignJson(signer, "hanse-agreement+jwt",
                  {{"id", id}, {"provider", provider}, {"consumer", consumer}});
}
std::string Card(const trust::PrivateKey& key) {
  return SignJson(key, "hanse-card+jwt", {{"did", Did(key)}, {"legal_name", "x"}});
}

class EvidenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = catalog::OpenRocksStore(dir_.Sub("store"), {.create_if_missing = true});
    ASSERT_THAT(store, IsOk());
    store_ = *std::move(store);
    auto log = AuditLog::Open(store_.get(), provider_,
                              {.head_every = 4, .tail_mark = "", .tail_mark_read_only = false});
    ASSERT_THAT(log, IsOk());
    log_ = *std::move(log);
    // 1..11: entries 2, 5, 6 and 11 are about agr-1; the rest about agr-2.
    for (int i = 1; i <= 11; ++i) {
      const bool mine = i == 2 || i == 5 || i == 6 || i == 11;
      ASSERT_THAT(log_->Append(Event(Did(consumer_), mine ? "agr-1" : "agr-2", i)), IsOk());
    }
    Receipt r;
    r.agreement_id = "agr-1";
    r.action = "transfer";
    r.use = 1;
    r.dataset_id = "air";
    r.content_digest = "sha256:" + trust::HexEncode(trust::Sha256("data"));
    r.bytes = 10;
    r.time = Utc(2024, 6, 2);
    inputs_.agreements = {Agreement(provider_, "agr-1", Did(provider_), Did(consumer_)),
                          Agreement(consumer_, "agr-1", Did(provider_), Did(consumer_))};
    inputs_.receipts = {{*SignReceipt(r, provider_), *SignReceipt(r, consumer_)}};
    inputs_.cards = {Card(provider_), Card(consumer_)};
  }

  std::string Export() {
    auto bundle = ExportEvidence(*log_, "agr-1", inputs_, Utc(2024, 7, 1));
    EXPECT_THAT(bundle, IsOk());
    return bundle.ok() ? *bundle : std::string();
  }

  hanse::testing::TempDir dir_;
  std::unique_ptr<catalog::Store> store_;
  trust::PrivateKey provider_ = NewKey();
  trust::PrivateKey consumer_ = NewKey(trust::KeyType::kP256);
  trust::PrivateKey stranger_ = NewKey();
  std::unique_ptr<AuditLog> log_;
  EvidenceInputs inputs_;
};

TEST_F(EvidenceTest, ExportedBundleVerifiesOffline) {
  const std::string text = Export();
  // Nothing from the node is needed any more.
  log_.reset();
  ASSERT_THAT(store_->Close(), IsOk());
  store_.reset();

  HANSE_ASSERT_OK_AND_ASSIGN(EvidenceReport report, VerifyEvidenceBundle(text));
  EXPECT_EQ(report.subject, "agr-1");
  EXPECT_EQ(report.log_owner, Did(provider_));
  EXPECT_EQ(report.agreement.provider, Did(provider_));
  EXPECT_EQ(report.agreement.consumer, Did(consumer_));
  ASSERT_THAT(report.entries, SizeIs(4));
  EXPECT_EQ(report.entries[0].index, 2u);
  EXPECT_EQ(report.entries[3].index, 11u);
  for (const AuditEntry& e : report.entries) EXPECT_EQ(e.event.subject, "agr-1");
  EXPECT_THAT(report.receipts, SizeIs(1));
  // Segments [2..4], [5..8] at the automatic heads, [11..11] at a head signed on export.
  ASSERT_THAT(report.heads, SizeIs(3));
  EXPECT_EQ(report.heads[0].index, 4u);
  EXPECT_EQ(report.heads[1].index, 8u);
  EXPECT_EQ(report.heads[2].index, 11u);
  EXPECT_EQ(report.redacted_entries, 4u);  // entries 3, 4, 7 and 8
}

TEST_F(EvidenceTest, OtherSubjectsAreOnlyShownByDigest) {
  const std::string text = Export();
  Json b = Json::parse(text);
  for (const Json& seg : b["segments"]) {
    for (const Json& e : seg["entries"]) {
      if (e.contains("body")) {
        EXPECT_THAT(e["body"].get<std::string>(), HasSubstr("\"subject\":\"agr-1\""));
      } else {
        EXPECT_TRUE(e.contains("body_sha256"));
      }
    }
  }
  EXPECT_EQ(text.find("agr-2"), std::string::npos);
}

TEST_F(EvidenceTest, OneAlteredByteInAnEntryFails) {
  const std::string text = Export();
  // Entry 5's details say "bytes":1005; make it 1006.
  const size_t at = text.find(R"(\"bytes\":1005)");
  ASSERT_NE(at, std::string::npos);
  std::string altered = text;
  altered[at + 13] = '6';
  EXPECT_THAT(VerifyEvidenceBundle(altered),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("segments[1]: entry 5 does not hash to the prev hash recorded in "
                                 "entry 6")));
  // The last entry of a segment is checked against the head itself.
  const size_t at6 = text.find(R"(\"bytes\":1011)");
  ASSERT_NE(at6, std::string::npos);
  altered = text;
  altered[at6 + 13] = '2';
  EXPECT_THAT(VerifyEvidenceBundle(altered),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("segments[2]: entry 11 does not hash to the hash in the signed "
                                 "head")));
}

TEST_F(EvidenceTest, AlteredRedactedDigestFails) {
  Json b = Json::parse(Export());
  Json& e = b["segments"][0]["entries"][1];  // entry 3, redacted
  ASSERT_TRUE(e.contains("body_sha256"));
  e["body_sha256"] = trust::HexEncode(trust::Sha256("something else"));
  EXPECT_THAT(VerifyEvidenceBundle(b.dump()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("segments[0]: entry 3 does not hash to the prev hash recorded in "
                                 "entry 4")));
}

TEST_F(EvidenceTest, RemovedHeadFails) {
  Json b = Json::parse(Export());
  b["segments"][1].erase("head");
  EXPECT_THAT(VerifyEvidenceBundle(b.dump()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("segments[1]: field \"head\" missing")));
}

TEST_F(EvidenceTest, HeadOfAnotherSegmentOrKeyFails) {
  Json b = Json::parse(Export());
  Json swapped = b;
  swapped["segments"][1]["head"] = b["segments"][0]["head"];
  EXPECT_THAT(VerifyEvidenceBundle(swapped.dump()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("segments[1]: ends at entry 8 but its head is for entry 4")));
  // A head the consumer signed over the right hash is not the log owner's.
  HANSE_ASSERT_OK_AND_ASSIGN(auto h4, log_->HeadAtOrAfter(4));
  HANSE_ASSERT_OK_AND_ASSIGN(SignedHead by_consumer,
                             SignHead(consumer_, 4, h4->hash, Utc(2024, 6, 1)));
  Json other = b;
  other["segments"][0]["head"] = by_consumer.jws;
  EXPECT_THAT(VerifyEvidenceBundle(other.dump()),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("segments[0] head: signed by " + Did(consumer_))));
}

TEST_F(EvidenceTest, SwappedCardFails) {
  Json b = Json::parse(Export());
  b["cards"][1] = Card(stranger_);
  EXPECT_THAT(VerifyEvidenceBundle(b.dump()),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       AllOf(HasSubstr("cards[1]: card of " + Did(stranger_)),
                             HasSubstr("neither provider, consumer nor log owner"))));
  // A card that names the consumer but is signed by someone else.
  b["cards"][1] = SignJson(stranger_, "hanse-card+jwt", {{"did", Did(consumer_)}});
  EXPECT_THAT(VerifyEvidenceBundle(b.dump()),
              StatusIs(absl::StatusCode::kUnauthenticated,
                       HasSubstr("cards[1]: names " + Did(consumer_) + " but is signed by")));
  // A missing card.
  b["cards"].erase(1);
  EXPECT_THAT(VerifyEvidenceBundle(b.dump()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("cards: no member card for the consumer " + Did(consumer_))));
}

TEST_F(EvidenceTest, AgreementProblemsAreNamed) {
  Json b = Json::parse(Export());
  Json one = b;
  one["agreements"].erase(1);
  EXPECT_THAT(VerifyEvidenceBundle(one.dump()),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("agreements: none is signed by the consumer")));
  Json other = b;
  other["agreements"][1] = Agreement(consumer_, "agr-9", Did(provider_), Did(consumer_));
  EXPECT_THAT(
      VerifyEvidenceBundle(other.dump()),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("agreements[1]: names another")));
  Json stranger = b;
  stranger["agreements"][1] = Agreement(stranger_, "agr-1", Did(provider_), Did(consumer_));
  EXPECT_THAT(VerifyEvidenceBundle(stranger.dump()),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("agreements[1]: signed by")));
}

TEST_F(EvidenceTest, ReceiptProblemsAreNamed) {
  Json b = Json::parse(Export());
  b["receipts"][0]["consumer"] = b["receipts"][0]["provider"];
  EXPECT_THAT(VerifyEvidenceBundle(b.dump()), StatusIs(absl::StatusCode::kPermissionDenied,
                                                       HasSubstr("receipts[0]: receipt consumer")));
  // Export refuses to build a bundle around a bad receipt.
  inputs_.receipts[0].consumer_jws = inputs_.receipts[0].provider_jws;
  EXPECT_THAT(ExportEvidence(*log_, "agr-1", inputs_, Utc(2024, 7, 1)),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("evidence export")));
}

TEST_F(EvidenceTest, MalformedAndOversizeInputIsRefused) {
  EXPECT_THAT(VerifyEvidenceBundle("not json"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not valid JSON")));
  EXPECT_THAT(VerifyEvidenceBundle(std::string(kMaxBundleBytes + 1, ' ')),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(VerifyEvidenceBundle(std::string(10000, '[')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nests deeper")));
  Json b = Json::parse(Export());
  Json wrong = b;
  wrong["type"] = "something";
  EXPECT_THAT(VerifyEvidenceBundle(wrong.dump()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("type")));
  wrong = b;
  wrong["segments"][0]["entries"][0].erase("prev");
  EXPECT_THAT(VerifyEvidenceBundle(wrong.dump()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("segments[0] entry 2: field \"prev\" missing")));
  wrong = b;
  wrong["segments"][1]["entries"].erase(1);  // drop entry 6
  EXPECT_THAT(VerifyEvidenceBundle(wrong.dump()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("segments[1] entry 7: does not follow entry 5")));
}

}  // namespace
}  // namespace hanse::audit
