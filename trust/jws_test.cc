#include "trust/jws.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/err.h>

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "tests/support/status_matchers.h"
#include "trust/did_key.h"
#include "trust/encoding.h"

namespace hanse::trust {
namespace {

using ::hanse::testing::IsOk;
using ::hanse::testing::StatusIs;
using ::testing::HasSubstr;

constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;
constexpr absl::StatusCode kUnauth = absl::StatusCode::kUnauthenticated;

JwsVerifyOptions Typ(std::string typ) {
  JwsVerifyOptions options;
  options.expected_typ = std::move(typ);
  return options;
}

JwsVerifyOptions MaxBytes(size_t max_bytes) {
  JwsVerifyOptions options;
  options.max_bytes = max_bytes;
  return options;
}

// Builds a token with an arbitrary header, correctly signed by `key`, so each
// rejection is tested in isolation from signature failure.
std::string SignRaw(const PrivateKey& key, absl::string_view header_json,
                    absl::string_view payload) {
  const std::string input =
      absl::StrCat(Base64UrlEncode(header_json), ".", Base64UrlEncode(payload));
  absl::StatusOr<std::string> sig = key.SignJose(input);
  EXPECT_TRUE(sig.ok());
  return absl::StrCat(input, ".", Base64UrlEncode(sig.value_or("")));
}

class JwsTest : public ::testing::TestWithParam<KeyType> {
 protected:
  void SetUp() override {
    HANSE_ASSERT_OK_AND_ASSIGN(key_, PrivateKey::Generate(GetParam()));
    did_ = EncodeDidKey(key_.Public());
    kid_ = DidKeyVerificationMethod(did_);
  }
  void TearDown() override { EXPECT_EQ(ERR_peek_error(), 0u); }
  std::string Header(const std::string& extra = "") const {
    return absl::StrCat(R"({"alg":")", std::string(JoseAlg(GetParam())), R"(","kid":")", kid_,
                        R"(")", extra, "}");
  }

  PrivateKey key_ = *PrivateKey::Generate(KeyType::kEd25519);
  std::string did_;
  std::string kid_;
};

TEST_P(JwsTest, SignAndVerify) {
  HANSE_ASSERT_OK_AND_ASSIGN(std::string token,
                             SignCompact(key_, kid_, "hanse-test+jws", "{\"a\":1}"));
  HANSE_ASSERT_OK_AND_ASSIGN(VerifiedJws v, VerifyCompact(token));
  EXPECT_EQ(v.payload, "{\"a\":1}");
  EXPECT_EQ(v.kid, kid_);
  EXPECT_EQ(v.typ, "hanse-test+jws");
  EXPECT_EQ(v.signer_did, did_);
  EXPECT_THAT(VerifyCompact(token, Typ("hanse-test+jws")), IsOk());

  // Header is exactly the documented shape.
  HANSE_ASSERT_OK_AND_ASSIGN(std::string header, Base64UrlDecode(token.substr(0, token.find('.'))));
  EXPECT_EQ(header, absl::StrCat(R"({"alg":")", std::string(JoseAlg(GetParam())), R"(","kid":")",
                                 kid_, R"(","typ":"hanse-test+jws"})"));
}

TEST_P(JwsTest, BinaryAndEmptyPayloads) {
  const std::string binary("\x00\xff\x01", 3);
  HANSE_ASSERT_OK_AND_ASSIGN(std::string token, SignCompact(key_, kid_, "", binary));
  HANSE_ASSERT_OK_AND_ASSIGN(VerifiedJws v, VerifyCompact(token));
  EXPECT_EQ(v.payload, binary);
  EXPECT_EQ(v.typ, "");
  HANSE_ASSERT_OK_AND_ASSIGN(std::string empty, SignCompact(key_, kid_, "t", ""));
  EXPECT_THAT(VerifyCompact(empty), IsOk());
}

TEST_P(JwsTest, TamperingIsUnauthenticated) {
  HANSE_ASSERT_OK_AND_ASSIGN(std::string token, SignCompact(key_, kid_, "t", "pay me 10"));
  const size_t dot1 = token.find('.');
  const size_t dot2 = token.find('.', dot1 + 1);
  const std::string tampered_payload =
      absl::StrCat(token.substr(0, dot1 + 1), Base64UrlEncode("pay me 99"), token.substr(dot2));
  EXPECT_THAT(VerifyCompact(tampered_payload), StatusIs(kUnauth, HasSubstr("verification failed")));
  // Same claims, header re-encoded with another typ.
  const std::string tampered_header =
      absl::StrCat(Base64UrlEncode(Header(R"(,"typ":"u")")), token.substr(dot1));
  EXPECT_THAT(VerifyCompact(tampered_header), StatusIs(kUnauth));
  std::string sig_flip = token;
  sig_flip[dot2 + 5] = sig_flip[dot2 + 5] == 'A' ? 'B' : 'A';
  EXPECT_THAT(VerifyCompact(sig_flip), StatusIs(kUnauth));
}

TEST_P(JwsTest, ATokenVerifiedBeforeStillRefusesEveryChangedByte) {
  // The second check of a token is served from the digests of verified tokens: a changed
  // token is another digest and gets a real signature check.
  HANSE_ASSERT_OK_AND_ASSIGN(std::string token, SignCompact(key_, kid_, "t", "pay me 10"));
  ASSERT_THAT(VerifyCompact(token), IsOk());
  ASSERT_THAT(VerifyCompact(token), IsOk());
  const size_t dot2 = token.rfind('.');
  for (size_t i : {dot2 + 1, dot2 + 10, token.size() - 2}) {
    std::string flipped = token;
    flipped[i] = flipped[i] == 'A' ? 'B' : 'A';
    EXPECT_THAT(VerifyCompact(flipped), StatusIs(kUnauth)) << "byte " << i;
  }
  // The options still apply to a token seen before.
  EXPECT_THAT(VerifyCompact(token, {.expected_typ = "other"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("typ")));
}

TEST_P(JwsTest, AnotherKeysKidDoesNotVerify) {
  HANSE_ASSERT_OK_AND_ASSIGN(PrivateKey other, PrivateKey::Generate(GetParam()));
  const std::string other_kid = DidKeyVerificationMethod(EncodeDidKey(other.Public()));
  const std::string token = SignRaw(key_,
                                    absl::StrCat(R"({"alg":")", std::string(JoseAlg(GetParam())),
                                                 R"(","kid":")", other_kid, R"("})"),
                                    "x");
  EXPECT_THAT(VerifyCompact(token), StatusIs(kUnauth));
}

TEST_P(JwsTest, SizeAndShape) {
  HANSE_ASSERT_OK_AND_ASSIGN(std::string token, SignCompact(key_, kid_, "t", "x"));
  EXPECT_THAT(VerifyCompact(token, MaxBytes(token.size() - 1)),
              StatusIs(kInvalid, HasSubstr("limit")));
  EXPECT_THAT(VerifyCompact(std::string(kMaxJwsBytes + 1, 'a')),
              StatusIs(kInvalid, HasSubstr("limit")));
  EXPECT_THAT(VerifyCompact(token.substr(0, token.rfind('.'))),
              StatusIs(kInvalid, HasSubstr("3 dot-separated parts")));
  EXPECT_THAT(VerifyCompact(token + ".x"), StatusIs(kInvalid, HasSubstr("3 dot-separated parts")));
  EXPECT_THAT(VerifyCompact(""), StatusIs(kInvalid));
  EXPECT_THAT(VerifyCompact(".."), StatusIs(kInvalid));
}

TEST_P(JwsTest, BadBase64) {
  HANSE_ASSERT_OK_AND_ASSIGN(std::string token, SignCompact(key_, kid_, "t", "x"));
  const size_t dot1 = token.find('.');
  const size_t dot2 = token.find('.', dot1 + 1);
  EXPECT_THAT(VerifyCompact("*" + token.substr(1)), StatusIs(kInvalid, HasSubstr("header")));
  EXPECT_THAT(VerifyCompact(token.substr(0, dot1 + 1) + "!!" + token.substr(dot2)),
              StatusIs(kInvalid, HasSubstr("payload")));
  EXPECT_THAT(VerifyCompact(token + "="), StatusIs(kInvalid, HasSubstr("signature")));
  // Standard-alphabet characters are not base64url.
  EXPECT_THAT(VerifyCompact(token.substr(0, dot2 + 1) + "ab+/"), StatusIs(kInvalid));
}

TEST_P(JwsTest, HeaderMustBeJsonObject) {
  EXPECT_THAT(VerifyCompact(SignRaw(key_, "[1,2]", "x")),
              StatusIs(kInvalid, HasSubstr("not a JSON object")));
  EXPECT_THAT(VerifyCompact(SignRaw(key_, "\"alg\"", "x")),
              StatusIs(kInvalid, HasSubstr("not a JSON object")));
  EXPECT_THAT(VerifyCompact(SignRaw(key_, "{\"alg\":", "x")),
              StatusIs(kInvalid, HasSubstr("not valid JSON")));
  EXPECT_THAT(VerifyCompact(SignRaw(key_, Header() + "x", "x")),
              StatusIs(kInvalid, HasSubstr("not valid JSON")));
  EXPECT_THAT(VerifyCompact(SignRaw(key_, Header(R"(,"alg":"ES256")"), "x")),
              StatusIs(kInvalid, HasSubstr("duplicate")));
  EXPECT_THAT(VerifyCompact(SignRaw(key_, Header(R"(,"deep":[[[[[[[[[[1]]]]]]]]]])"), "x")),
              StatusIs(kInvalid, HasSubstr("nested")));
  // Unknown non-critical members are ignored.
  EXPECT_THAT(VerifyCompact(SignRaw(key_, Header(R"(,"x-note":{"a":[1]})"), "x")), IsOk());
}

TEST_P(JwsTest, AlgPolicy) {
  const auto with_alg = [&](const std::string& alg_member) {
    return SignRaw(key_, absl::StrCat("{", alg_member, R"("kid":")", kid_, R"("})"), "x");
  };
  EXPECT_THAT(VerifyCompact(with_alg("")), StatusIs(kInvalid, HasSubstr("no \"alg\"")));
  EXPECT_THAT(VerifyCompact(with_alg(R"("alg":"none",)")), StatusIs(kInvalid, HasSubstr("none")));
  EXPECT_THAT(VerifyCompact(with_alg(R"("alg":"NONE",)")), StatusIs(kInvalid, HasSubstr("none")));
  EXPECT_THAT(VerifyCompact(with_alg(R"("alg":"HS256",)")),
              StatusIs(kInvalid, HasSubstr("symmetric")));
  EXPECT_THAT(VerifyCompact(with_alg(R"("alg":"RS256",)")),
              StatusIs(kInvalid, HasSubstr("unsupported")));
  EXPECT_THAT(VerifyCompact(with_alg(R"("alg":"es256",)")),
              StatusIs(kInvalid, HasSubstr("unsupported")));
  EXPECT_THAT(VerifyCompact(with_alg(R"("alg":7,)")), StatusIs(kInvalid, HasSubstr("string")));
  // alg names the other key type.
  const std::string wrong =
      GetParam() == KeyType::kP256 ? R"("alg":"EdDSA",)" : R"("alg":"ES256",)";
  EXPECT_THAT(VerifyCompact(with_alg(wrong)), StatusIs(kInvalid, HasSubstr("does not match")));
}

TEST_P(JwsTest, KeyCarryingAndCriticalHeadersAreRefused) {
  for (const char* extra : {R"(,"jwk":{"kty":"OKP"})", R"(,"x5c":["MIIB"])",
                            R"(,"x5u":"https://e.com/c")", R"(,"jku":"https://e.com/k")"}) {
    EXPECT_THAT(VerifyCompact(SignRaw(key_, Header(extra), "x")),
                StatusIs(kInvalid, HasSubstr("not accepted")))
        << extra;
  }
  EXPECT_THAT(VerifyCompact(SignRaw(key_, Header(R"(,"crit":["exp"],"exp":1)"), "x")),
              StatusIs(kInvalid, HasSubstr("crit")));
  EXPECT_THAT(VerifyCompact(SignRaw(key_, Header(R"(,"crit":[])"), "x")),
              StatusIs(kInvalid, HasSubstr("crit")));
}

TEST_P(JwsTest, KidPolicy) {
  const auto with_kid = [&](const std::string& kid_member) {
    return SignRaw(
        key_, absl::StrCat(R"({"alg":")", std::string(JoseAlg(GetParam())), "\"", kid_member, "}"),
        "x");
  };
  EXPECT_THAT(VerifyCompact(with_kid("")), StatusIs(kInvalid, HasSubstr("no \"kid\"")));
  EXPECT_THAT(VerifyCompact(with_kid(R"(,"kid":5)")), StatusIs(kInvalid, HasSubstr("string")));
  EXPECT_THAT(VerifyCompact(with_kid(R"(,"kid":"key-1")")),
              StatusIs(kInvalid, HasSubstr("DID URL")));
  EXPECT_THAT(VerifyCompact(with_kid(absl::StrCat(R"(,"kid":")", did_, R"(")"))),
              StatusIs(kInvalid, HasSubstr("DID URL")));
  EXPECT_THAT(VerifyCompact(with_kid(R"(,"kid":"did:web:example.com#key-1")")),
              StatusIs(kInvalid, HasSubstr("did:key")));
  EXPECT_THAT(VerifyCompact(with_kid(absl::StrCat(R"(,"kid":")", did_, R"(#key-1")"))),
              StatusIs(kInvalid, HasSubstr("fragment")));
}

TEST_P(JwsTest, BadSignatures) {
  HANSE_ASSERT_OK_AND_ASSIGN(std::string token, SignCompact(key_, kid_, "t", "x"));
  const std::string input = token.substr(0, token.rfind('.') + 1);
  EXPECT_THAT(VerifyCompact(input), StatusIs(kUnauth, HasSubstr("64 bytes")));
  EXPECT_THAT(VerifyCompact(input + Base64UrlEncode(std::string(63, 'a'))),
              StatusIs(kUnauth, HasSubstr("64 bytes")));
  EXPECT_THAT(VerifyCompact(input + Base64UrlEncode(std::string(72, 'a'))),
              StatusIs(kUnauth, HasSubstr("64 bytes")));
  HANSE_ASSERT_OK_AND_ASSIGN(std::string sig, Base64UrlDecode(token.substr(token.rfind('.') + 1)));
  if (GetParam() == KeyType::kP256) {
    const std::string zero(32, '\0');
    const std::string n =
        absl::HexStringToBytes("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
    EXPECT_THAT(VerifyCompact(input + Base64UrlEncode(zero + sig.substr(32))),
                StatusIs(kUnauth, HasSubstr("zero")));
    EXPECT_THAT(VerifyCompact(input + Base64UrlEncode(sig.substr(0, 32) + zero)),
                StatusIs(kUnauth, HasSubstr("zero")));
    EXPECT_THAT(VerifyCompact(input + Base64UrlEncode(n + sig.substr(32))),
                StatusIs(kUnauth, HasSubstr("group order")));
    EXPECT_THAT(VerifyCompact(input + Base64UrlEncode(sig.substr(0, 32) + n)),
                StatusIs(kUnauth, HasSubstr("group order")));
  }
  EXPECT_THAT(VerifyCompact(input + Base64UrlEncode(std::string(64, '\0'))), StatusIs(kUnauth));
}

TEST_P(JwsTest, TypPolicy) {
  HANSE_ASSERT_OK_AND_ASSIGN(std::string token, SignCompact(key_, kid_, "a+jws", "x"));
  EXPECT_THAT(VerifyCompact(token, Typ("b+jws")), StatusIs(kInvalid, HasSubstr("typ")));
  HANSE_ASSERT_OK_AND_ASSIGN(std::string untyped, SignCompact(key_, kid_, "", "x"));
  EXPECT_THAT(VerifyCompact(untyped, Typ("a+jws")), StatusIs(kInvalid));
  EXPECT_THAT(VerifyCompact(SignRaw(key_, Header(R"(,"typ":1)"), "x")),
              StatusIs(kInvalid, HasSubstr("string")));
}

TEST_P(JwsTest, SignerRefusesMismatchedKid) {
  HANSE_ASSERT_OK_AND_ASSIGN(PrivateKey other, PrivateKey::Generate(GetParam()));
  const std::string other_kid = DidKeyVerificationMethod(EncodeDidKey(other.Public()));
  EXPECT_THAT(SignCompact(key_, other_kid, "t", "x"),
              StatusIs(kInvalid, HasSubstr("does not name")));
  EXPECT_THAT(SignCompact(key_, did_, "t", "x"), StatusIs(kInvalid, HasSubstr("DID URL")));
  EXPECT_THAT(SignCompact(key_, kid_, "bad\ntyp", "x"), StatusIs(kInvalid, HasSubstr("typ")));
  EXPECT_THAT(SignCompact(key_, kid_, "caf\xc3\xa9", "x"), StatusIs(kInvalid));
}

TEST_P(JwsTest, DecodeUnverified) {
  HANSE_ASSERT_OK_AND_ASSIGN(std::string token, SignCompact(key_, kid_, "t", "hello"));
  const std::string broken = token.substr(0, token.rfind('.') + 1) + "AAAA";
  EXPECT_THAT(VerifyCompact(broken), StatusIs(kUnauth));
  HANSE_ASSERT_OK_AND_ASSIGN(VerifiedJws v, DecodeUnverified(broken));
  EXPECT_EQ(v.payload, "hello");
  EXPECT_EQ(v.kid, kid_);
  EXPECT_EQ(v.typ, "t");
  EXPECT_EQ(v.signer_did, did_);
  HANSE_ASSERT_OK_AND_ASSIGN(VerifiedJws odd,
                             DecodeUnverified(SignRaw(key_, R"({"alg":"none","kid":"k"})", "p")));
  EXPECT_EQ(odd.signer_did, "");
  EXPECT_EQ(odd.payload, "p");
  EXPECT_THAT(DecodeUnverified("a.b"), StatusIs(kInvalid));
}

INSTANTIATE_TEST_SUITE_P(AllTypes, JwsTest, ::testing::Values(KeyType::kP256, KeyType::kEd25519),
                         [](const auto& info) { return std::string(KeyTypeName(info.param)); });

}  // namespace
}  // namespace hanse::trust
