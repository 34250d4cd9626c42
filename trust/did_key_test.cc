#include "trust/did_key.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "tests/support/status_matchers.h"
#include "trust/encoding.h"

namespace hanse::trust {
namespace {

using ::hanse::testing::IsOkAndHolds;
using ::hanse::testing::StatusIs;
using ::testing::HasSubstr;

// Published did:key test vectors (w3c-ccg did-method-key test suite).
constexpr const char* kEd25519Vectors[] = {
    "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
    "did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG",
    "did:key:z6MknGc3ocHs3zdPiJbnaaqDi58NGb4pk1Sp9WxWufuXSdxf",
};
constexpr const char* kP256Vectors[] = {
    "did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169",
    "did:key:zDnaerx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv",
};

TEST(DidKeyTest, Ed25519VectorsRoundTrip) {
  for (const char* did : kEd25519Vectors) {
    HANSE_ASSERT_OK_AND_ASSIGN(PublicKey key, DecodeDidKey(did));
    EXPECT_EQ(key.type(), KeyType::kEd25519) << did;
    EXPECT_EQ(EncodeDidKey(key), did);
    EXPECT_TRUE(IsDidKey(did));
  }
}

TEST(DidKeyTest, P256VectorsRoundTrip) {
  for (const char* did : kP256Vectors) {
    HANSE_ASSERT_OK_AND_ASSIGN(PublicKey key, DecodeDidKey(did));
    EXPECT_EQ(key.type(), KeyType::kP256) << did;
    EXPECT_EQ(EncodeDidKey(key), did);
    EXPECT_TRUE(IsDidKey(did));
  }
}

TEST(DidKeyTest, Ed25519VectorsMatchPublishedKeys) {
  // Raw keys as published with the vectors (publicKeyBase58 and the JWK "x"
  // of the first one, 3b6a27bc...).
  struct Vector {
    const char* did;
    const char* base58_key;
  };
  const Vector vectors[] = {
      {kEd25519Vectors[0], "4zvwRjXUKGfvwnParsHAS3HuSVzV5cA4McphgmoCtajS"},
      {kEd25519Vectors[1], "6ASf5EcmmEHTgDJ4X4ZT5vT6iHVJBXPg5AN5YoTCpGWt"},
      {kEd25519Vectors[2], "8pM1DN3RiT8vbom5u1sNryaNT1nyL8CTTW3b5PwWXRBH"},
  };
  for (const Vector& v : vectors) {
    HANSE_ASSERT_OK_AND_ASSIGN(PublicKey key, DecodeDidKey(v.did));
    EXPECT_THAT(Base58BtcDecode(v.base58_key), IsOkAndHolds(key.Raw())) << v.did;
  }
  HANSE_ASSERT_OK_AND_ASSIGN(PublicKey first, DecodeDidKey(kEd25519Vectors[0]));
  EXPECT_EQ(HexEncode(first.Raw()),
            "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29");
}

TEST(DidKeyTest, P256VectorsMatchPublishedJwk) {
  // publicKeyJwk x/y published for the same DIDs.
  struct Vector {
    const char* did;
    const char* x;
    const char* y;
  };
  const Vector vectors[] = {
      {kP256Vectors[0], "fyNYMN0976ci7xqiSdag3buk-ZCwgXU4kz9XNkBlNUI",
       "hW2ojTNfH7Jbi8--CJUo3OCbH3y5n91g-IMA9MLMbTU"},
      {kP256Vectors[1], "igrFmi0whuihKnj9R3Om1SoMph72wUGeFaBbzG2vzns",
       "efsX5b10x8yjyrj4ny3pGfLcY7Xby1KzgqOdqnsrJIM"},
  };
  for (const Vector& v : vectors) {
    HANSE_ASSERT_OK_AND_ASSIGN(PublicKey key, DecodeDidKey(v.did));
    HANSE_ASSERT_OK_AND_ASSIGN(std::string x, Base64UrlDecode(v.x));
    HANSE_ASSERT_OK_AND_ASSIGN(std::string y, Base64UrlDecode(v.y));
    // The compressed key carries x; decompression must recover the same y.
    EXPECT_EQ(key.Raw().substr(1), x) << v.did;
    HANSE_ASSERT_OK_AND_ASSIGN(PublicKey from_jwk,
                               PublicKey::FromRaw(KeyType::kP256, "\x04" + x + y));
    EXPECT_TRUE(from_jwk == key) << v.did;
    EXPECT_EQ(EncodeDidKey(from_jwk), v.did);
  }
}

TEST(DidKeyTest, GeneratedKeysRoundTrip) {
  for (KeyType type : {KeyType::kP256, KeyType::kEd25519}) {
    for (int i = 0; i < 8; ++i) {
      HANSE_ASSERT_OK_AND_ASSIGN(PrivateKey key, PrivateKey::Generate(type));
      const std::string did = EncodeDidKey(key.Public());
      EXPECT_TRUE(IsDidKey(did));
      EXPECT_EQ(did.substr(0, 12), type == KeyType::kP256 ? "did:key:zDna" : "did:key:z6Mk");
      HANSE_ASSERT_OK_AND_ASSIGN(PublicKey decoded, DecodeDidKey(did));
      EXPECT_TRUE(decoded == key.Public());
      const std::string url = DidKeyVerificationMethod(did);
      HANSE_ASSERT_OK_AND_ASSIGN(PublicKey from_url, DecodeDidKey(url));
      EXPECT_TRUE(from_url == key.Public());
      EXPECT_THAT(DidFromDidUrl(url), IsOkAndHolds(did));
    }
  }
}

TEST(DidKeyTest, VerificationMethodAndDidUrl) {
  const std::string did = kEd25519Vectors[0];
  const std::string url = DidKeyVerificationMethod(did);
  EXPECT_EQ(url, did + "#z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp");
  EXPECT_THAT(DidFromDidUrl(url), IsOkAndHolds(did));
  EXPECT_THAT(DidFromDidUrl(did), IsOkAndHolds(did));
  EXPECT_THAT(DidFromDidUrl(did + "#key-1"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("fragment")));
  EXPECT_FALSE(IsDidKey(url));
}

TEST(DidKeyTest, RejectsMalformed) {
  const std::string did = kEd25519Vectors[0];
  const std::string id = did.substr(8);
  struct Case {
    std::string input;
    const char* reason;
  };
  const Case cases[] = {
      {"", "did:key:"},
      {"did:web:example.com", "did:key:"},
      {"DID:KEY:" + id, "did:key:"},
      {"did:key:", "'z'"},
      {"did:key:z", "base58btc"},
      {"did:key:" + id.substr(1), "'z'"},
      {"did:key:f" + id.substr(1), "'z'"},
      {did + "#", "fragment"},
      {did + "#other", "fragment"},
      {did + "#" + id + "#" + id, "fragment"},
      {did + "/path", "base58btc"},
      {did + "?versionId=1", "base58btc"},
      {did + ";service=x", "base58btc"},
      {did + "0", "base58btc"},
      {did.substr(0, did.size() - 3), "did:key"},
      {"did:key:z" + std::string(300, '2'), "longer"},
      // secp256k1 and X25519 did:keys: valid but unsupported multicodecs.
      {"did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme", "multicodec"},
      {"did:key:z6LSeu9HkTHSfLLeUs2nnzUSNedgDUevfNQgQjQC23ZCit6F", "multicodec"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(DecodeDidKey(c.input),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.reason)))
        << c.input;
    EXPECT_FALSE(DidFromDidUrl(c.input).ok()) << c.input;
  }
  EXPECT_FALSE(IsDidKey("did:key:z"));
  EXPECT_FALSE(IsDidKey("did:key:z0"));
  EXPECT_FALSE(IsDidKey("did:web:x"));
  EXPECT_FALSE(IsDidKey(did + "/p"));
}

TEST(DidKeyTest, RejectsBadKeyBytes) {
  // p256-pub with an uncompressed point: the method requires compressed.
  HANSE_ASSERT_OK_AND_ASSIGN(PublicKey p256, DecodeDidKey(kP256Vectors[0]));
  HANSE_ASSERT_OK_AND_ASSIGN(PublicKey again, PublicKey::FromRaw(KeyType::kP256, p256.Raw()));
  (void)again;
  std::string bad_prefix = p256.Raw();
  bad_prefix[0] = 0x05;
  EXPECT_THAT(DecodeDidKey("did:key:z" + Base58BtcEncode(std::string("\x80\x24", 2) + bad_prefix)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("did:key")));
  EXPECT_THAT(DecodeDidKey("did:key:z" +
                           Base58BtcEncode(std::string("\x80\x24", 2) + std::string(65, '\x04'))),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("33-byte")));
  EXPECT_THAT(DecodeDidKey("did:key:z" +
                           Base58BtcEncode(std::string("\xed\x01", 2) + std::string(31, 'a'))),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("32 bytes")));
  // A leading zero byte encodes as a leading '1': same key bytes after the
  // codec would be misread, so it must not decode.
  EXPECT_THAT(DecodeDidKey("did:key:z1" + std::string(kEd25519Vectors[0]).substr(9)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace hanse::trust
