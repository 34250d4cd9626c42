#include "node/audit/receipt.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "node/audit/test_util.h"
#include "tests/support/status_matchers.h"
#include "trust/did_key.h"
#include "trust/encoding.h"
#include "trust/jws.h"

namespace hanse::audit {
namespace {

using ::hanse::audit::testing::Did;
using ::hanse::audit::testing::NewKey;
using ::hanse::audit::testing::Utc;
using ::hanse::testing::IsOk;
using ::hanse::testing::StatusIs;
using ::testing::HasSubstr;

class ReceiptTest : public ::testing::Test {
 protected:
  static Receipt MakeReceipt() {
    Receipt r;
    r.agreement_id = "agr-1";
    r.action = "transfer";
    r.use = 3;
    r.dataset_id = "did:key:zX/datasets/air";
    r.content_digest = "sha256:" + trust::HexEncode(trust::Sha256("data"));
    r.bytes = 4096;
    r.time = Utc(2024, 6, 3, 10);
    return r;
  }

  CoSignedReceipt CoSign(const Receipt& r) {
    return {*SignReceipt(r, provider_), *SignReceipt(r, consumer_)};
  }

  trust::PrivateKey provider_ = NewKey();
  trust::PrivateKey consumer_ = NewKey(trust::KeyType::kP256);
  trust::PrivateKey stranger_ = NewKey();
  AgreementParties parties_{"agr-1", Did(provider_), Did(consumer_)};
};

TEST_F(ReceiptTest, PayloadIsCanonical) {
  HANSE_ASSERT_OK_AND_ASSIGN(std::string payload, ReceiptPayload(MakeReceipt()));
  EXPECT_EQ(payload, R"({"agreement":"agr-1","action":"transfer","use":3,)"
                     R"("dataset":"did:key:zX/datasets/air","digest":"sha256:)" +
                         trust::HexEncode(trust::Sha256("data")) +
                         R"(","bytes":4096,"time":"2024-06-03T10:00:00.000000000Z"})");
  HANSE_ASSERT_OK_AND_ASSIGN(Receipt back, ParseReceiptPayload(payload));
  EXPECT_EQ(back.use, 3u);
  EXPECT_EQ(back.time, Utc(2024, 6, 3, 10));
  std::string spaced = payload;
  spaced.insert(1, " ");
  EXPECT_THAT(ParseReceiptPayload(spaced),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("canonical")));
  Receipt bad = MakeReceipt();
  bad.content_digest = "md5:abc";
  EXPECT_THAT(ReceiptPayload(bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("digest")));
  bad = MakeReceipt();
  bad.use = 0;
  EXPECT_THAT(ReceiptPayload(bad), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("use")));
}

TEST_F(ReceiptTest, CoSignedReceiptVerifies) {
  HANSE_ASSERT_OK_AND_ASSIGN(Receipt r, VerifyCoSignedReceipt(CoSign(MakeReceipt()), parties_));
  EXPECT_EQ(r.agreement_id, "agr-1");
  EXPECT_EQ(r.bytes, 4096u);
  HANSE_ASSERT_OK_AND_ASSIGN(trust::VerifiedJws v,
                             trust::VerifyCompact(*SignReceipt(MakeReceipt(), provider_)));
  EXPECT_EQ(v.typ, "hanse-receipt+jwt");
}

TEST_F(ReceiptTest, SignedByTheWrongPartyIsRejected) {
  CoSignedReceipt c = CoSign(MakeReceipt());
  c.consumer_jws = *SignReceipt(MakeReceipt(), stranger_);
  EXPECT_THAT(VerifyCoSignedReceipt(c, parties_),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("consumer signature: signed by " + Did(stranger_))));
  // Both signatures by the provider.
  c = CoSign(MakeReceipt());
  c.consumer_jws = c.provider_jws;
  EXPECT_THAT(
      VerifyCoSignedReceipt(c, parties_),
      StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("not by the agreement's consumer")));
  // Swapped slots.
  c = CoSign(MakeReceipt());
  std::swap(c.provider_jws, c.consumer_jws);
  EXPECT_THAT(VerifyCoSignedReceipt(c, parties_),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("provider signature")));
}

TEST_F(ReceiptTest, PayloadMismatchIsRejected) {
  Receipt other = MakeReceipt();
  other.bytes = 4097;
  CoSignedReceipt c{*SignReceipt(MakeReceipt(), provider_), *SignReceipt(other, consumer_)};
  EXPECT_THAT(VerifyCoSignedReceipt(c, parties_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("different payloads")));
}

TEST_F(ReceiptTest, OtherAgreementOrBadSignatureIsRejected) {
  Receipt r = MakeReceipt();
  r.agreement_id = "agr-2";
  EXPECT_THAT(VerifyCoSignedReceipt(CoSign(r), parties_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("names agreement \"agr-2\"")));
  CoSignedReceipt c = CoSign(MakeReceipt());
  char& ch = c.provider_jws[c.provider_jws.size() - 5];
  ch = ch == 'A' ? 'B' : 'A';
  EXPECT_THAT(VerifyCoSignedReceipt(c, parties_), StatusIs(absl::StatusCode::kUnauthenticated));
  // A token of another type is not a receipt.
  HANSE_ASSERT_OK_AND_ASSIGN(std::string payload, ReceiptPayload(MakeReceipt()));
  c = CoSign(MakeReceipt());
  c.provider_jws = *trust::SignCompact(provider_, trust::DidKeyVerificationMethod(Did(provider_)),
                                       "hanse-card+jwt", payload);
  EXPECT_THAT(VerifyCoSignedReceipt(c, parties_), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace hanse::audit
