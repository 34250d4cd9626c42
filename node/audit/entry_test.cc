#include "node/audit/entry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "node/audit/test_util.h"
#include "tests/support/status_matchers.h"
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
using ::testing::HasSubstr;

TEST(EntryTest, BodyEncodingIsExact) {
  const trust::PrivateKey key = NewKey();
  AuditEvent e;
  e.kind = "decision.permit";
  e.subject = "agreement-\xc3\xa9";  // non-ASCII stays UTF-8
  e.actor = Did(key);
  e.time = Utc(2024, 6, 1, 12, 30, 5) + absl::Milliseconds(250);
  e.details = {{"z", 1}, {"a", {{"y", "x"}, {"b", true}}}};
  HANSE_ASSERT_OK_AND_ASSIGN(std::string body, EncodeBody(e));
  EXPECT_EQ(body,
            absl::StrCat(R"({"time":"2024-06-01T12:30:05.250000000Z","kind":"decision.permit",)",
                         R"("subject":"agreement-)", "\xc3\xa9", R"(","actor":")", e.actor,
                         R"(","details":{"a":{"b":true,"y":"x"},"z":1}})"));
  HANSE_ASSERT_OK_AND_ASSIGN(AuditEvent back, DecodeBody(body));
  EXPECT_EQ(back.kind, e.kind);
  EXPECT_EQ(back.subject, e.subject);
  EXPECT_EQ(back.actor, e.actor);
  EXPECT_EQ(back.time, e.time);
  EXPECT_EQ(back.details, e.details);
}

TEST(EntryTest, DecodeRefusesNonCanonicalBodies) {
  const std::string actor = Did(NewKey());
  HANSE_ASSERT_OK_AND_ASSIGN(std::string body, EncodeBody(Event(actor, "s", 1)));
  // Same content, other spellings.
  std::string spaced = body;
  spaced.insert(1, " ");
  EXPECT_THAT(DecodeBody(spaced),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not in canonical form")));
  EXPECT_THAT(DecodeBody(R"({"kind":"a","time":"2024-06-01T00:00:00.000000000Z","subject":"s",)"
                         R"("actor":")" +
                         actor + R"(","details":{}})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not in canonical form")));
  EXPECT_THAT(DecodeBody(R"({"time":"2024-06-01T00:00:00Z","kind":"a","subject":"s","actor":")" +
                         actor + R"(","details":{}})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("time")));
  EXPECT_THAT(DecodeBody("[1]"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(DecodeBody(std::string(100, '[')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nests deeper")));
}

TEST(EntryTest, ValidateNamesTheBadField) {
  const std::string actor = Did(NewKey());
  AuditEvent e = Event(actor, "s", 1);
  EXPECT_THAT(ValidateEvent(e), IsOk());
  e.kind = "Transfer";
  EXPECT_THAT(ValidateEvent(e), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("kind")));
  e.kind = std::string(65, 'a');
  EXPECT_THAT(ValidateEvent(e), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("kind")));
  e = Event(actor, std::string(257, 's'), 1);
  EXPECT_THAT(ValidateEvent(e), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("subject")));
  e = Event(actor, "bad\nsubject", 1);
  EXPECT_THAT(ValidateEvent(e), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("subject")));
  e = Event("alice", "s", 1);
  EXPECT_THAT(ValidateEvent(e), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("actor")));
  e = Event(actor, "s", 1);
  e.details = nlohmann::json::array();
  EXPECT_THAT(ValidateEvent(e), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("details")));
  e.details = {{"blob", std::string(kMaxDetailsBytes, 'x')}};
  EXPECT_THAT(ValidateEvent(e),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("more than the limit")));
  e.details = {{"s", std::string("\xff\xfe")}};
  EXPECT_THAT(ValidateEvent(e), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("UTF-8")));
  e = Event(actor, "s", 1);
  e.time = absl::UnixEpoch() - absl::Seconds(1);
  EXPECT_THAT(ValidateEvent(e), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("time")));
}

TEST(EntryTest, HashFollowsTheDocumentedLink) {
  const std::string actor = Did(NewKey());
  const std::string zero(32, '\0');
  HANSE_ASSERT_OK_AND_ASSIGN(AuditEntry e1, MakeEntry(1, zero, Event(actor, "s", 1)));
  std::string link = std::string("hanse.audit.v1") + std::string(1, '\0') +
                     std::string("\0\0\0\0\0\0\0\x01", 8) + zero + trust::Sha256(e1.body);
  EXPECT_EQ(link.size(), 87u);
  EXPECT_EQ(e1.hash, trust::Sha256(link));
  HANSE_ASSERT_OK_AND_ASSIGN(AuditEntry e2, MakeEntry(2, e1.hash, Event(actor, "s", 1)));
  EXPECT_EQ(e2.body, e1.body);
  EXPECT_NE(e2.hash, e1.hash);  // the index and prev hash are part of the hash
  EXPECT_THAT(MakeEntry(0, zero, Event(actor, "s", 1)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(EntryTest, HeadsSignAndVerify) {
  const trust::PrivateKey key = NewKey(trust::KeyType::kP256);
  const std::string hash = trust::Sha256("x");
  HANSE_ASSERT_OK_AND_ASSIGN(SignedHead head, SignHead(key, 7, hash, Utc(2024, 6, 2)));
  HANSE_ASSERT_OK_AND_ASSIGN(SignedHead back, VerifyHead(head.jws));
  EXPECT_EQ(back.index, 7u);
  EXPECT_EQ(back.hash, hash);
  EXPECT_EQ(back.time, Utc(2024, 6, 2));
  EXPECT_EQ(back.signer, Did(key));

  // A head whose payload names someone else than the signer.
  const trust::PrivateKey other = NewKey();
  const std::string payload =
      absl::StrCat(R"({"index":7,"hash":")", trust::HexEncode(hash),
                   R"(","time":"2024-06-02T00:00:00.000000000Z","signer":")", Did(other), R"("})");
  HANSE_ASSERT_OK_AND_ASSIGN(
      std::string forged,
      trust::SignCompact(key, trust::DidKeyVerificationMethod(Did(key)), kHeadType, payload));
  EXPECT_THAT(VerifyHead(forged),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("is signed by")));
  // Wrong typ.
  HANSE_ASSERT_OK_AND_ASSIGN(std::string wrong_typ,
                             trust::SignCompact(key, trust::DidKeyVerificationMethod(Did(key)),
                                                "hanse-card+jwt", payload));
  EXPECT_THAT(VerifyHead(wrong_typ), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace hanse::audit
