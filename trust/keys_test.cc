#include "trust/keys.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <string>

#include "absl/strings/escaping.h"
#include "tests/support/status_matchers.h"
#include "trust/encoding.h"

namespace hanse::trust {
namespace {

using ::hanse::testing::IsOk;
using ::hanse::testing::IsOkAndHolds;
using ::hanse::testing::StatusIs;
using ::testing::HasSubstr;

constexpr KeyType kAllTypes[] = {KeyType::kP256, KeyType::kEd25519};

const std::string kP256Order =
    absl::HexStringToBytes("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");

TEST(KeyTypeTest, NamesAndAlgs) {
  EXPECT_EQ(KeyTypeName(KeyType::kP256), "p256");
  EXPECT_EQ(KeyTypeName(KeyType::kEd25519), "ed25519");
  EXPECT_EQ(JoseAlg(KeyType::kP256), "ES256");
  EXPECT_EQ(JoseAlg(KeyType::kEd25519), "EdDSA");
  EXPECT_THAT(ParseKeyType("p256"), IsOkAndHolds(KeyType::kP256));
  EXPECT_THAT(ParseKeyType("ed25519"), IsOkAndHolds(KeyType::kEd25519));
  EXPECT_THAT(ParseKeyType("rsa"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("p256, ed25519")));
}

class KeysTest : public ::testing::TestWithParam<KeyType> {
 protected:
  // Failures must not leave stale errors in the thread's OpenSSL queue.
  void TearDown() override { EXPECT_EQ(ERR_peek_error(), 0u); }
};

TEST_P(KeysTest, SignVerifyRoundTrip) {
  HANSE_ASSERT_OK_AND_ASSIGN(PrivateKey key, PrivateKey::Generate(GetParam()));
  EXPECT_EQ(key.type(), GetParam());
  EXPECT_EQ(key.Public().type(), GetParam());
  HANSE_ASSERT_OK_AND_ASSIGN(std::string sig, key.SignJose("hello"));
  EXPECT_EQ(sig.size(), 64u);
  EXPECT_THAT(key.Public().VerifyJose("hello", sig), IsOk());
  EXPECT_THAT(key.Public().VerifyJose("hellO", sig),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("verification failed")));
  std::string flipped = sig;
  flipped[10] ^= 1;
  EXPECT_THAT(key.Public().VerifyJose("hello", flipped),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(key.Public().VerifyJose("hello", sig.substr(0, 63)),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("64 bytes")));
  EXPECT_THAT(key.Public().VerifyJose("hello", sig + "x"),
              StatusIs(absl::StatusCode::kUnauthenticated));
  // Empty messages are legal.
  HANSE_ASSERT_OK_AND_ASSIGN(std::string empty_sig, key.SignJose(""));
  EXPECT_THAT(key.Public().VerifyJose("", empty_sig), IsOk());
}

TEST_P(KeysTest, OtherKeyDoesNotVerify) {
  HANSE_ASSERT_OK_AND_ASSIGN(PrivateKey a, PrivateKey::Generate(GetParam()));
  HANSE_ASSERT_OK_AND_ASSIGN(PrivateKey b, PrivateKey::Generate(GetParam()));
  EXPECT_FALSE(a.Public() == b.Public());
  HANSE_ASSERT_OK_AND_ASSIGN(std::string sig, a.SignJose("m"));
  EXPECT_THAT(b.Public().VerifyJose("m", sig), StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_P(KeysTest, PemRoundTrip) {
  HANSE_ASSERT_OK_AND_ASSIGN(PrivateKey key, PrivateKey::Generate(GetParam()));
  const std::string pem = key.ToPem();
  EXPECT_THAT(pem, HasSubstr("-----BEGIN PRIVATE KEY-----"));
  HANSE_ASSERT_OK_AND_ASSIGN(PrivateKey loaded, PrivateKey::FromPem(pem));
  EXPECT_EQ(loaded.type(), GetParam());
  EXPECT_TRUE(loaded.Public() == key.Public());
  HANSE_ASSERT_OK_AND_ASSIGN(std::string sig, loaded.SignJose("x"));
  EXPECT_THAT(key.Public().VerifyJose("x", sig), IsOk());

  const std::string pub_pem = key.Public().ToPem();
  EXPECT_THAT(pub_pem, HasSubstr("-----BEGIN PUBLIC KEY-----"));
  HANSE_ASSERT_OK_AND_ASSIGN(PublicKey pub, PublicKey::FromPem(pub_pem));
  EXPECT_TRUE(pub == key.Public());
  EXPECT_EQ(pub.ToPem(), pub_pem);

  // Public and private PEMs are not interchangeable.
  EXPECT_THAT(PrivateKey::FromPem(pub_pem), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(PublicKey::FromPem(pem), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_P(KeysTest, RawRoundTrip) {
  HANSE_ASSERT_OK_AND_ASSIGN(PrivateKey key, PrivateKey::Generate(GetParam()));
  const std::string raw = key.Public().Raw();
  EXPECT_EQ(raw.size(), GetParam() == KeyType::kP256 ? 33u : 32u);
  HANSE_ASSERT_OK_AND_ASSIGN(PublicKey pub, PublicKey::FromRaw(GetParam(), raw));
  EXPECT_TRUE(pub == key.Public());
  EXPECT_EQ(pub.Raw(), raw);
  // Copies share the key and stay usable after the original is gone.
  PublicKey copy = pub;
  { PublicKey moved = std::move(pub); }
  EXPECT_EQ(copy.Raw(), raw);
}

INSTANTIATE_TEST_SUITE_P(AllTypes, KeysTest, ::testing::ValuesIn(kAllTypes),
                         [](const auto& info) { return std::string(KeyTypeName(info.param)); });

TEST(PublicKeyTest, P256CompressedAndUncompressedAgree) {
  HANSE_ASSERT_OK_AND_ASSIGN(PrivateKey key, PrivateKey::Generate(KeyType::kP256));
  const std::string pem = key.Public().ToPem();
  // Uncompressed SPKI is 91 DER bytes; interoperable TLS stacks need it.
  EXPECT_GT(pem.size(), 170u);
  const std::string compressed = key.Public().Raw();
  HANSE_ASSERT_OK_AND_ASSIGN(PublicKey from_compressed,
                             PublicKey::FromRaw(KeyType::kP256, compressed));
  EXPECT_EQ(from_compressed.ToPem(), pem);
}

TEST(PublicKeyTest, P256RejectsInvalidPoints) {
  // (1, 1) is not on the curve.
  std::string off_curve(65, '\0');
  off_curve[0] = 0x04;
  off_curve[32] = 1;
  off_curve[64] = 1;
  EXPECT_THAT(PublicKey::FromRaw(KeyType::kP256, off_curve),
              StatusIs(absl::StatusCode::kInvalidArgument));
  HANSE_ASSERT_OK_AND_ASSIGN(PrivateKey key, PrivateKey::Generate(KeyType::kP256));
  std::string hybrid = key.Public().Raw();
  hybrid[0] = 0x06;
  EXPECT_THAT(PublicKey::FromRaw(KeyType::kP256, hybrid),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(PublicKey::FromRaw(KeyType::kP256, std::string(33, '\0')),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(PublicKey::FromRaw(KeyType::kP256, std::string(1, '\0')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("33-byte")));
  // x = p (out of the field) with an otherwise valid prefix.
  const std::string x_is_p =
      "\x02" +
      absl::HexStringToBytes("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff");
  EXPECT_THAT(PublicKey::FromRaw(KeyType::kP256, x_is_p),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(PublicKeyTest, Ed25519RejectsWrongLength) {
  EXPECT_THAT(PublicKey::FromRaw(KeyType::kEd25519, std::string(31, 'a')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("32 bytes")));
  EXPECT_THAT(PublicKey::FromRaw(KeyType::kEd25519, std::string(33, 'a')),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(PublicKeyTest, Ed25519Rfc8032Vector) {
  // RFC 8032 section 7.1, TEST 1 (empty message).
  HANSE_ASSERT_OK_AND_ASSIGN(
      PublicKey key,
      PublicKey::FromRaw(KeyType::kEd25519,
                         absl::HexStringToBytes(
                             "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")));
  const std::string sig = absl::HexStringToBytes(
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bac"
      "c61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
  EXPECT_THAT(key.VerifyJose("", sig), IsOk());
  EXPECT_THAT(key.VerifyJose("x", sig), StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST(PublicKeyTest, Es256RejectsOutOfRangeScalars) {
  HANSE_ASSERT_OK_AND_ASSIGN(PrivateKey key, PrivateKey::Generate(KeyType::kP256));
  HANSE_ASSERT_OK_AND_ASSIGN(std::string sig, key.SignJose("m"));
  const std::string r = sig.substr(0, 32);
  const std::string s = sig.substr(32);
  const std::string zero(32, '\0');
  EXPECT_THAT(key.Public().VerifyJose("m", zero + s),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("zero")));
  EXPECT_THAT(key.Public().VerifyJose("m", r + zero),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("zero")));
  EXPECT_THAT(key.Public().VerifyJose("m", kP256Order + s),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("group order")));
  EXPECT_THAT(key.Public().VerifyJose("m", r + std::string(32, '\xff')),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("group order")));
}

TEST(PrivateKeyTest, RejectsBadPem) {
  EXPECT_THAT(PrivateKey::FromPem(""), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(PrivateKey::FromPem("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n"
                                  "-----END ENCRYPTED PRIVATE KEY-----\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("encrypted")));
  EXPECT_THAT(PrivateKey::FromPem("-----BEGIN PRIVATE KEY-----\nnot base64!\n"
                                  "-----END PRIVATE KEY-----\n"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(PrivateKey::FromPem(std::string(70000, 'a')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("larger")));
  EXPECT_THAT(PublicKey::FromPem("garbage"), StatusIs(absl::StatusCode::kInvalidArgument));
}

// Keys of other algorithms or curves must be refused, not silently used.
TEST(PrivateKeyTest, RejectsOtherCurvesAndAlgorithms) {
  for (const char* curve : {"P-384", "secp256k1"}) {
    EVP_PKEY* other = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve);
    ASSERT_NE(other, nullptr);
    BIO* bio = BIO_new(BIO_s_mem());
    ASSERT_EQ(PEM_write_bio_PrivateKey(bio, other, nullptr, nullptr, 0, nullptr, nullptr), 1);
    ASSERT_EQ(PEM_write_bio_PUBKEY(bio, other), 1);
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    const std::string pems(data, static_cast<size_t>(len));
    BIO_free(bio);
    EVP_PKEY_free(other);
    const size_t pub_at = pems.find("-----BEGIN PUBLIC KEY-----");
    EXPECT_THAT(PrivateKey::FromPem(pems.substr(0, pub_at)),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("curve")))
        << curve;
    EXPECT_THAT(PublicKey::FromPem(pems.substr(pub_at)),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("curve")))
        << curve;
  }
  EVP_PKEY* x25519 = EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519");
  ASSERT_NE(x25519, nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  ASSERT_EQ(PEM_write_bio_PrivateKey(bio, x25519, nullptr, nullptr, 0, nullptr, nullptr), 1);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  const std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  EVP_PKEY_free(x25519);
  EXPECT_THAT(PrivateKey::FromPem(pem),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unsupported key algorithm")));
}

}  // namespace
}  // namespace hanse::trust
