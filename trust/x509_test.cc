#include "trust/x509.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <functional>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "tests/support/status_matchers.h"
#include "trust/did_key.h"

namespace hanse::trust {
namespace {

using ::hanse::testing::IsOkAndHolds;
using ::hanse::testing::StatusIs;
using ::testing::HasSubstr;

const absl::Time kNotBefore = absl::FromUnixSeconds(1'700'000'000);  // 2023-11-14
const absl::Duration kValidity = absl::Hours(24 * 365);
const absl::Time kNow = kNotBefore + absl::Hours(1);

struct Participant {
  PrivateKey key;
  std::string did;
  std::string ca_pem;
};

absl::StatusOr<Participant> MakeParticipant(KeyType type, absl::string_view name) {
  absl::StatusOr<PrivateKey> key = PrivateKey::Generate(type);
  if (!key.ok()) return key.status();
  const std::string did = EncodeDidKey(key->Public());
  absl::StatusOr<std::string> ca = IssueParticipantCa(*key, did, name, kNotBefore, kValidity);
  if (!ca.ok()) return ca.status();
  return Participant{*key, did, *ca};
}

// Test-only surgery on an issued certificate: `edit` changes it, then it is
// re-signed with `signer`. Lets us build certificates our issuer refuses to.
std::string EditAndResign(const std::string& pem, const PrivateKey& signer,
                          const std::function<void(X509*)>& edit) {
  BIO* in = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(in, nullptr, nullptr, nullptr);
  BIO_free(in);
  EXPECT_NE(cert, nullptr);
  if (cert == nullptr) return "";
  edit(cert);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const EVP_MD* md = signer.type() == KeyType::kP256 ? EVP_sha256() : nullptr;
  EXPECT_EQ(EVP_DigestSignInit(ctx, nullptr, md, nullptr, signer.evp()), 1);
  EXPECT_GT(X509_sign_ctx(cert, ctx), 0);
  EVP_MD_CTX_free(ctx);
  BIO* out = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(out, cert);
  char* data = nullptr;
  const long len = BIO_get_mem_data(out, &data);
  std::string result(data, static_cast<size_t>(len));
  BIO_free(out);
  X509_free(cert);
  return result;
}

void ReplaceExtension(X509* cert, int nid, const char* value) {
  const int idx = X509_get_ext_by_NID(cert, nid, -1);
  if (idx >= 0) X509_EXTENSION_free(X509_delete_ext(cert, idx));
  X509V3_CTX ctx{};
  X509V3_set_ctx(&ctx, nullptr, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value);
  ASSERT_NE(ext, nullptr);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

class X509Test : public ::testing::TestWithParam<KeyType> {
 protected:
  void SetUp() override {
    HANSE_ASSERT_OK_AND_ASSIGN(a_, MakeParticipant(GetParam(), "Participant A"));
    HANSE_ASSERT_OK_AND_ASSIGN(b_, MakeParticipant(GetParam(), "Participant B"));
    HANSE_ASSERT_OK_AND_ASSIGN(node_key_, PrivateKey::Generate(KeyType::kP256));
    HANSE_ASSERT_OK_AND_ASSIGN(
        leaf_a_, IssueNodeCertificate(a_.key, a_.ca_pem, node_key_.Public(), a_.did, kNotBefore,
                                      absl::Hours(24 * 30)));
    trusted_[a_.did] = a_.ca_pem;
    trusted_[b_.did] = b_.ca_pem;
  }
  // Failures must not leave stale errors in the thread's OpenSSL queue, where
  // TLS code would later misread them.
  void TearDown() override { EXPECT_EQ(ERR_peek_error(), 0u); }

  absl::StatusOr<std::string> Verify(const std::string& leaf, CertUsage usage,
                                     absl::Time now = kNow) {
    return VerifyNodeCertificate(
        leaf,
        [this](absl::string_view did) -> absl::StatusOr<std::string> {
          auto it = trusted_.find(std::string(did));
          if (it == trusted_.end()) return absl::NotFoundError("unknown");
          return it->second;
        },
        usage, now);
  }

  Participant a_{*PrivateKey::Generate(KeyType::kEd25519), "", ""};
  Participant b_{*PrivateKey::Generate(KeyType::kEd25519), "", ""};
  PrivateKey node_key_ = *PrivateKey::Generate(KeyType::kEd25519);
  std::string leaf_a_;
  std::map<std::string, std::string> trusted_;
};

TEST_P(X509Test, CaIsWellFormed) {
  EXPECT_THAT(CheckParticipantCa(a_.ca_pem, kNow), IsOkAndHolds(a_.did));
  EXPECT_THAT(CertificateDid(a_.ca_pem), IsOkAndHolds(a_.did));
  HANSE_ASSERT_OK_AND_ASSIGN(PublicKey key, CertificatePublicKey(a_.ca_pem));
  EXPECT_TRUE(key == a_.key.Public());
  // Outside its validity window the CA is refused.
  EXPECT_THAT(CheckParticipantCa(a_.ca_pem, kNotBefore - absl::Hours(1)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not yet valid")));
  EXPECT_THAT(CheckParticipantCa(a_.ca_pem, kNotBefore + kValidity + absl::Hours(1)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("expired")));
  // A leaf is not a CA.
  EXPECT_THAT(CheckParticipantCa(leaf_a_, kNow),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("CA:TRUE")));
  EXPECT_THAT(CheckParticipantCa("junk", kNow), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_P(X509Test, CaWhoseSanIsAnotherDidIsRefused) {
  const std::string forged = EditAndResign(a_.ca_pem, a_.key, [&](X509* cert) {
    ReplaceExtension(cert, NID_subject_alt_name, ("URI:" + b_.did).c_str());
  });
  EXPECT_THAT(CheckParticipantCa(forged, kNow),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("does not derive")));
}

TEST_P(X509Test, LeafIsWellFormed) {
  EXPECT_THAT(CertificateDid(leaf_a_), IsOkAndHolds(a_.did));
  HANSE_ASSERT_OK_AND_ASSIGN(PublicKey key, CertificatePublicKey(leaf_a_));
  EXPECT_TRUE(key == node_key_.Public());
}

TEST_P(X509Test, ValidLeafVerifiesForBothUsages) {
  EXPECT_THAT(Verify(leaf_a_, CertUsage::kClient), IsOkAndHolds(a_.did));
  EXPECT_THAT(Verify(leaf_a_, CertUsage::kServer), IsOkAndHolds(a_.did));
}

TEST_P(X509Test, Ed25519NodeKeyAlsoWorks) {
  HANSE_ASSERT_OK_AND_ASSIGN(PrivateKey node, PrivateKey::Generate(KeyType::kEd25519));
  HANSE_ASSERT_OK_AND_ASSIGN(
      std::string leaf,
      IssueNodeCertificate(a_.key, a_.ca_pem, node.Public(), a_.did, kNotBefore, kValidity));
  EXPECT_THAT(Verify(leaf, CertUsage::kServer), IsOkAndHolds(a_.did));
}

TEST_P(X509Test, UntrustedDidIsPermissionDenied) {
  trusted_.erase(a_.did);
  EXPECT_THAT(Verify(leaf_a_, CertUsage::kClient),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr(absl::StrCat("peer ", a_.did, " is not trusted"))));
}

TEST_P(X509Test, LookupErrorsPassThrough) {
  auto status = VerifyNodeCertificate(
      leaf_a_,
      [](absl::string_view) -> absl::StatusOr<std::string> {
        return absl::UnavailableError("store down");
      },
      CertUsage::kClient, kNow);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("store down")));
}

TEST_P(X509Test, LeafFromAnotherCaIsRefused) {
  // Node certificate issued by B for B's DID, but the trust store maps B's
  // DID to A's CA: A's key does not derive B's DID.
  HANSE_ASSERT_OK_AND_ASSIGN(
      std::string leaf_b,
      IssueNodeCertificate(b_.key, b_.ca_pem, node_key_.Public(), b_.did, kNotBefore, kValidity));
  EXPECT_THAT(Verify(leaf_b, CertUsage::kClient), IsOkAndHolds(b_.did));
  trusted_[b_.did] = a_.ca_pem;
  EXPECT_THAT(Verify(leaf_b, CertUsage::kClient),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("belongs to")));

  // A stranger's self-made CA with the same subject as A is not trusted.
  HANSE_ASSERT_OK_AND_ASSIGN(Participant stranger, MakeParticipant(GetParam(), "Participant A"));
  HANSE_ASSERT_OK_AND_ASSIGN(std::string leaf_s,
                             IssueNodeCertificate(stranger.key, stranger.ca_pem, node_key_.Public(),
                                                  stranger.did, kNotBefore, kValidity));
  EXPECT_THAT(Verify(leaf_s, CertUsage::kClient), StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST_P(X509Test, LeafClaimingAnotherDidIsRefused) {
  // Trusted CA A signs a leaf that claims B's DID.
  const std::string forged = EditAndResign(leaf_a_, a_.key, [&](X509* cert) {
    ReplaceExtension(cert, NID_subject_alt_name, ("URI:" + b_.did).c_str());
  });
  EXPECT_THAT(CertificateDid(forged), IsOkAndHolds(b_.did));
  // B's DID maps to B's CA: A's signature does not chain to it.
  EXPECT_THAT(Verify(forged, CertUsage::kClient),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("verification failed")));
  // B's DID mapped to A's CA: A's key does not derive B's DID.
  trusted_[b_.did] = a_.ca_pem;
  EXPECT_THAT(Verify(forged, CertUsage::kClient),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("belongs to")));
}

TEST_P(X509Test, ExpiredAndNotYetValidLeavesAreRefused) {
  EXPECT_THAT(Verify(leaf_a_, CertUsage::kClient, kNotBefore + absl::Hours(24 * 31)),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("expired")));
  EXPECT_THAT(Verify(leaf_a_, CertUsage::kClient, kNotBefore - absl::Hours(1)),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("not yet valid")));
  HANSE_ASSERT_OK_AND_ASSIGN(std::string late,
                             IssueNodeCertificate(a_.key, a_.ca_pem, node_key_.Public(), a_.did,
                                                  kNow + absl::Hours(2), kValidity));
  EXPECT_THAT(Verify(late, CertUsage::kClient),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("not yet valid")));
}

TEST_P(X509Test, CaLeafIsRefused) {
  const std::string ca_leaf = EditAndResign(leaf_a_, a_.key, [&](X509* cert) {
    ReplaceExtension(cert, NID_basic_constraints, "critical,CA:TRUE");
    ReplaceExtension(cert, NID_key_usage, "critical,digitalSignature,keyCertSign");
  });
  EXPECT_THAT(Verify(ca_leaf, CertUsage::kServer), StatusIs(absl::StatusCode::kUnauthenticated));
  // The CA certificate itself presented as a node certificate.
  EXPECT_THAT(Verify(a_.ca_pem, CertUsage::kServer), StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_P(X509Test, MissingExtKeyUsageIsRefused) {
  const std::string client_only = EditAndResign(leaf_a_, a_.key, [&](X509* cert) {
    ReplaceExtension(cert, NID_ext_key_usage, "clientAuth");
  });
  EXPECT_THAT(Verify(client_only, CertUsage::kClient), IsOkAndHolds(a_.did));
  EXPECT_THAT(Verify(client_only, CertUsage::kServer),
              StatusIs(absl::StatusCode::kUnauthenticated));
  const std::string no_eku = EditAndResign(leaf_a_, a_.key, [&](X509* cert) {
    X509_EXTENSION_free(X509_delete_ext(cert, X509_get_ext_by_NID(cert, NID_ext_key_usage, -1)));
  });
  EXPECT_THAT(Verify(no_eku, CertUsage::kClient),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("extKeyUsage")));
}

TEST_P(X509Test, TamperedLeafIsRefused) {
  // Re-signed by the node key instead of the participant CA.
  const std::string self_signed = EditAndResign(leaf_a_, node_key_, [](X509*) {});
  EXPECT_THAT(Verify(self_signed, CertUsage::kClient),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(Verify("not a certificate", CertUsage::kClient),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_P(X509Test, SanErrors) {
  const std::string two = EditAndResign(leaf_a_, a_.key, [&](X509* cert) {
    ReplaceExtension(cert, NID_subject_alt_name, ("URI:" + a_.did + ",URI:" + b_.did).c_str());
  });
  EXPECT_THAT(CertificateDid(two),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("more than one")));
  EXPECT_THAT(Verify(two, CertUsage::kClient), StatusIs(absl::StatusCode::kUnauthenticated));
  const std::string none = EditAndResign(leaf_a_, a_.key, [&](X509* cert) {
    ReplaceExtension(cert, NID_subject_alt_name, "URI:https://example.com,DNS:example.com");
  });
  EXPECT_THAT(CertificateDid(none),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no did:key")));
  const std::string url = EditAndResign(leaf_a_, a_.key, [&](X509* cert) {
    ReplaceExtension(cert, NID_subject_alt_name,
                     ("URI:" + DidKeyVerificationMethod(a_.did)).c_str());
  });
  EXPECT_THAT(CertificateDid(url), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_P(X509Test, IssuerRefusesMismatches) {
  EXPECT_THAT(IssueParticipantCa(a_.key, b_.did, "x", kNotBefore, kValidity),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not the participant")));
  EXPECT_THAT(IssueParticipantCa(a_.key, a_.did, "", kNotBefore, kValidity),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(IssueParticipantCa(a_.key, a_.did, std::string(65, 'x'), kNotBefore, kValidity),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(IssueParticipantCa(a_.key, a_.did, "x", kNotBefore, absl::ZeroDuration()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      IssueNodeCertificate(a_.key, b_.ca_pem, node_key_.Public(), a_.did, kNotBefore, kValidity),
      StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      IssueNodeCertificate(a_.key, a_.ca_pem, node_key_.Public(), b_.did, kNotBefore, kValidity),
      StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      IssueNodeCertificate(a_.key, leaf_a_, node_key_.Public(), a_.did, kNotBefore, kValidity),
      StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_P(X509Test, SerialsAreRandom) {
  HANSE_ASSERT_OK_AND_ASSIGN(
      std::string ca2, IssueParticipantCa(a_.key, a_.did, "Participant A", kNotBefore, kValidity));
  EXPECT_NE(ca2, a_.ca_pem);
}

INSTANTIATE_TEST_SUITE_P(AllTypes, X509Test, ::testing::Values(KeyType::kP256, KeyType::kEd25519),
                         [](const auto& info) { return std::string(KeyTypeName(info.param)); });

}  // namespace
}  // namespace hanse::trust
