#include "trust/x509.h"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <cstdint>
#include <ctime>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "base/status.h"
#include "trust/did_key.h"
#include "trust/internal.h"

namespace hanse::trust {
namespace {

using internal::OpenSslError;

struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct X509StoreFree {
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
};
struct X509StoreCtxFree {
  void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
};
struct X509ExtensionFree {
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
struct GeneralNamesFree {
  void operator()(GENERAL_NAMES* p) const { GENERAL_NAMES_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct BnFree {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using X509StorePtr = std::unique_ptr<X509_STORE, X509StoreFree>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, X509StoreCtxFree>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, X509ExtensionFree>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, GeneralNamesFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

constexpr int kSerialBytes = 16;
// X.520 upper bound for commonName.
constexpr size_t kMaxCommonNameLength = 64;

int NoPassword(char*, int, int, void*) { return -1; }

absl::StatusOr<X509Ptr> ParsePem(absl::string_view pem) {
  if (pem.size() > internal::kMaxPemBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate PEM larger than ", internal::kMaxPemBytes, " bytes"));
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return OpenSslError(absl::StatusCode::kInternal, "allocating BIO");
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, NoPassword, nullptr));
  if (cert == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument, "not a PEM X.509 certificate");
  }
  return cert;
}

absl::StatusOr<std::string> ToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "encoding certificate");
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  if (len <= 0 || data == nullptr) return absl::InternalError("empty certificate encoding");
  return std::string(data, static_cast<size_t>(len));
}

absl::Status SetRandomSerial(X509* cert) {
  unsigned char buf[kSerialBytes];
  if (RAND_bytes(buf, sizeof(buf)) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "generating serial number");
  }
  // Serials must be positive (RFC 5280 4.1.2.2); clearing the top bit keeps
  // the DER encoding within 16 octets.
  buf[0] &= 0x7f;
  buf[kSerialBytes - 1] |= 0x01;  // never zero
  BnPtr bn(BN_bin2bn(buf, sizeof(buf), nullptr));
  if (bn == nullptr || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) == nullptr) {
    return OpenSslError(absl::StatusCode::kInternal, "setting serial number");
  }
  return absl::OkStatus();
}

absl::Status SetValidity(X509* cert, absl::Time not_before, absl::Duration validity) {
  if (validity <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("certificate validity must be positive");
  }
  if (ASN1_TIME_set(X509_getm_notBefore(cert), absl::ToTimeT(not_before)) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert), absl::ToTimeT(not_before + validity)) == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument, "certificate validity out of range");
  }
  return absl::OkStatus();
}

absl::Status SetCommonName(X509_NAME* name, absl::string_view common_name) {
  if (common_name.empty() || common_name.size() > kMaxCommonNameLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("common name must be 1 to ", kMaxCommonNameLength, " characters"));
  }
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.data()),
                                 static_cast<int>(common_name.size()), -1, 0) != 1) {
    return OpenSslError(absl::StatusCode::kInvalidArgument, "invalid common name");
  }
  return absl::OkStatus();
}

// Adds an extension from OpenSSL's config syntax. Only used with fixed
// strings: caller data never goes through the config parser.
absl::Status AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx{};
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509ExtensionPtr ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value));
  if (ext == nullptr || X509_add_ext(cert, ext.get(), -1) != 1) {
    return OpenSslError(absl::StatusCode::kInternal,
                        absl::StrCat("adding extension ", OBJ_nid2sn(nid)));
  }
  return absl::OkStatus();
}

absl::Status AddUriSan(X509* cert, absl::string_view uri) {
  GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
  GENERAL_NAME* name = GENERAL_NAME_new();
  ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
  if (names == nullptr || name == nullptr || ia5 == nullptr ||
      ASN1_STRING_set(ia5, uri.data(), static_cast<int>(uri.size())) != 1) {
    GENERAL_NAME_free(name);
    ASN1_IA5STRING_free(ia5);
    return OpenSslError(absl::StatusCode::kInternal, "building subjectAltName");
  }
  GENERAL_NAME_set0_value(name, GEN_URI, ia5);  // name owns ia5 now
  if (sk_GENERAL_NAME_push(names.get(), name) <= 0) {
    GENERAL_NAME_free(name);
    return OpenSslError(absl::StatusCode::kInternal, "building subjectAltName");
  }
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "adding subjectAltName");
  }
  return absl::OkStatus();
}

absl::Status Sign(X509* cert, const PrivateKey& key) {
  // Ed25519 is a one-shot scheme with no separate digest: OpenSSL wants a
  // NULL md for it.
  const EVP_MD* md = key.type() == KeyType::kP256 ? EVP_sha256() : nullptr;
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key.evp()) != 1 ||
      X509_sign_ctx(cert, ctx.get()) <= 0) {
    return OpenSslError(absl::StatusCode::kInternal, "signing certificate");
  }
  return absl::OkStatus();
}

// The did a certificate is about to be issued for must be the issuing
// participant's own, so we never mint a certificate that claims someone else.
absl::Status CheckOwnDid(const PrivateKey& participant, absl::string_view did) {
  const std::string own = EncodeDidKey(participant.Public());
  if (did != own) {
    return absl::InvalidArgumentError(
        absl::StrCat("DID ", did, " is not the participant key's DID ", own));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> DidOf(X509* cert) {
  int crit = -1;
  GeneralNamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, nullptr)));
  if (names == nullptr) {
    internal::ClearOpenSslErrors();
    if (crit == -2) {
      return absl::InvalidArgumentError("certificate has more than one subjectAltName extension");
    }
    return absl::InvalidArgumentError("certificate has no subjectAltName");
  }
  std::string found;
  int count = 0;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type != GEN_URI) continue;
    const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
    std::string value(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                      static_cast<size_t>(ASN1_STRING_length(uri)));
    if (!absl::StartsWith(value, "did:key:")) continue;
    ++count;
    found = std::move(value);
  }
  if (count == 0) return absl::InvalidArgumentError("certificate has no did:key URI SAN");
  if (count > 1) return absl::InvalidArgumentError("certificate has more than one did:key URI SAN");
  if (!IsDidKey(found)) {
    return absl::InvalidArgumentError("certificate did:key URI SAN is not a bare did:key DID");
  }
  HANSE_RETURN_IF_ERROR(DecodeDidKey(found).status(), "certificate URI SAN");
  return found;
}

// Verifies `leaf` up to `anchor`, the only trust anchor, at `now` in strict
// mode. `purpose` 0 skips the purpose check.
absl::Status VerifyChain(X509* leaf, X509* anchor, absl::Time now, int purpose) {
  X509StorePtr store(X509_STORE_new());
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (store == nullptr || ctx == nullptr || X509_STORE_add_cert(store.get(), anchor) != 1 ||
      X509_STORE_CTX_init(ctx.get(), store.get(), leaf, nullptr) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "setting up certificate verification");
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, absl::ToTimeT(now));
  X509_VERIFY_PARAM_set_flags(
      param, X509_V_FLAG_USE_CHECK_TIME | X509_V_FLAG_X509_STRICT | X509_V_FLAG_CHECK_SS_SIGNATURE);
  if (purpose != 0 && X509_STORE_CTX_set_purpose(ctx.get(), purpose) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "setting certificate purpose");
  }
  if (X509_verify_cert(ctx.get()) != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    internal::ClearOpenSslErrors();
    return absl::UnauthenticatedError(
        absl::StrCat("certificate verification failed: ", X509_verify_cert_error_string(err)));
  }
  return absl::OkStatus();
}

bool IsCa(X509* cert) { return (X509_get_extension_flags(cert) & EXFLAG_CA) != 0; }

absl::StatusOr<std::string> CheckCa(X509* ca, absl::Time now) {
  if (!IsCa(ca)) return absl::InvalidArgumentError("participant CA certificate is not CA:TRUE");
  if (X509_self_signed(ca, /*verify_signature=*/1) != 1) {
    internal::ClearOpenSslErrors();
    return absl::InvalidArgumentError("participant CA certificate is not self-signed");
  }
  absl::Status chain = VerifyChain(ca, ca, now, 0);
  if (!chain.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("participant CA: ", chain.message()));
  }
  HANSE_ASSIGN_OR_RETURN(std::string did, DidOf(ca), "participant CA");
  HANSE_ASSIGN_OR_RETURN(PublicKey key, PublicKey::FromEvp(X509_get0_pubkey(ca)),
                         "participant CA key");
  if (EncodeDidKey(key) != did) {
    return absl::InvalidArgumentError(
        absl::StrCat("participant CA key does not derive its DID ", did));
  }
  return did;
}

}  // namespace

absl::StatusOr<std::string> IssueParticipantCa(const PrivateKey& participant, absl::string_view did,
                                               absl::string_view common_name, absl::Time not_before,
                                               absl::Duration validity) {
  HANSE_RETURN_IF_ERROR(CheckOwnDid(participant, did));
  X509Ptr cert(X509_new());
  if (cert == nullptr || X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "allocating certificate");
  }
  X509* x = cert.get();
  HANSE_RETURN_IF_ERROR(SetRandomSerial(x));
  HANSE_RETURN_IF_ERROR(SetCommonName(X509_get_subject_name(x), common_name));
  if (X509_set_issuer_name(x, X509_get_subject_name(x)) != 1 ||
      X509_set_pubkey(x, participant.evp()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "filling certificate");
  }
  HANSE_RETURN_IF_ERROR(SetValidity(x, not_before, validity));
  HANSE_RETURN_IF_ERROR(AddExtension(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
  HANSE_RETURN_IF_ERROR(AddExtension(x, x, NID_key_usage, "critical,keyCertSign,cRLSign"));
  // SKI first: the AKI of a self-signed certificate copies it.
  HANSE_RETURN_IF_ERROR(AddExtension(x, x, NID_subject_key_identifier, "hash"));
  HANSE_RETURN_IF_ERROR(AddExtension(x, x, NID_authority_key_identifier, "keyid:always"));
  HANSE_RETURN_IF_ERROR(AddUriSan(x, did));
  HANSE_RETURN_IF_ERROR(Sign(x, participant));
  return ToPem(x);
}

absl::StatusOr<std::string> IssueNodeCertificate(const PrivateKey& participant,
                                                 absl::string_view ca_pem,
                                                 const PublicKey& node_key, absl::string_view did,
                                                 absl::Time not_before, absl::Duration validity) {
  HANSE_RETURN_IF_ERROR(CheckOwnDid(participant, did));
  HANSE_ASSIGN_OR_RETURN(X509Ptr ca, ParsePem(ca_pem), "participant CA");
  if (!IsCa(ca.get()))
    return absl::InvalidArgumentError("participant CA certificate is not CA:TRUE");
  HANSE_ASSIGN_OR_RETURN(PublicKey ca_key, PublicKey::FromEvp(X509_get0_pubkey(ca.get())),
                         "participant CA key");
  if (!(ca_key == participant.Public())) {
    return absl::InvalidArgumentError("participant CA certificate is not for the participant key");
  }

  X509Ptr cert(X509_new());
  if (cert == nullptr || X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "allocating certificate");
  }
  X509* x = cert.get();
  HANSE_RETURN_IF_ERROR(SetRandomSerial(x));
  // A DID is at most 57 characters, within the commonName bound; it gives the
  // certificate a readable, non-empty subject.
  HANSE_RETURN_IF_ERROR(SetCommonName(X509_get_subject_name(x), did));
  if (X509_set_issuer_name(x, X509_get_subject_name(ca.get())) != 1 ||
      X509_set_pubkey(x, node_key.evp()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "filling certificate");
  }
  HANSE_RETURN_IF_ERROR(SetValidity(x, not_before, validity));
  HANSE_RETURN_IF_ERROR(AddExtension(x, ca.get(), NID_basic_constraints, "critical,CA:FALSE"));
  HANSE_RETURN_IF_ERROR(AddExtension(x, ca.get(), NID_key_usage, "critical,digitalSignature"));
  HANSE_RETURN_IF_ERROR(AddExtension(x, ca.get(), NID_ext_key_usage, "serverAuth,clientAuth"));
  HANSE_RETURN_IF_ERROR(AddExtension(x, ca.get(), NID_subject_key_identifier, "hash"));
  HANSE_RETURN_IF_ERROR(AddExtension(x, ca.get(), NID_authority_key_identifier, "keyid:always"));
  HANSE_RETURN_IF_ERROR(AddUriSan(x, did));
  HANSE_RETURN_IF_ERROR(Sign(x, participant));
  return ToPem(x);
}

absl::StatusOr<std::string> CertificateDid(absl::string_view cert_pem) {
  HANSE_ASSIGN_OR_RETURN(X509Ptr cert, ParsePem(cert_pem));
  return DidOf(cert.get());
}

absl::StatusOr<PublicKey> CertificatePublicKey(absl::string_view cert_pem) {
  HANSE_ASSIGN_OR_RETURN(X509Ptr cert, ParsePem(cert_pem));
  EVP_PKEY* pkey = X509_get0_pubkey(cert.get());
  if (pkey == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument, "unreadable certificate public key");
  }
  return PublicKey::FromEvp(pkey);
}

absl::StatusOr<absl::Time> CertificateNotAfter(absl::string_view cert_pem) {
  HANSE_ASSIGN_OR_RETURN(X509Ptr cert, ParsePem(cert_pem));
  struct tm t {};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert.get()), &t) != 1) {
    return OpenSslError(absl::StatusCode::kInvalidArgument, "unreadable certificate notAfter");
  }
  return absl::FromTM(t, absl::UTCTimeZone());
}

absl::StatusOr<std::string> CheckParticipantCa(absl::string_view ca_pem, absl::Time now) {
  HANSE_ASSIGN_OR_RETURN(X509Ptr ca, ParsePem(ca_pem), "participant CA");
  return CheckCa(ca.get(), now);
}

absl::StatusOr<std::string> VerifyNodeCertificate(
    absl::string_view leaf_pem,
    const std::function<absl::StatusOr<std::string>(absl::string_view did)>& ca_for_did,
    CertUsage usage, absl::Time now) {
  absl::StatusOr<X509Ptr> leaf = ParsePem(leaf_pem);
  if (!leaf.ok()) return absl::UnauthenticatedError(leaf.status().message());
  absl::StatusOr<std::string> did = DidOf(leaf->get());
  if (!did.ok()) return absl::UnauthenticatedError(did.status().message());

  absl::StatusOr<std::string> ca_pem = ca_for_did(*did);
  if (absl::IsNotFound(ca_pem.status())) {
    return absl::PermissionDeniedError(absl::StrCat("peer ", *did, " is not trusted"));
  }
  if (!ca_pem.ok()) {
    return Annotate(ca_pem.status(), absl::StrCat("looking up CA for ", *did));
  }

  // The registered CA must itself be a valid participant CA for exactly this
  // DID; otherwise a CA trusted for one participant could vouch for another.
  absl::StatusOr<X509Ptr> ca = ParsePem(*ca_pem);
  absl::StatusOr<std::string> ca_did =
      ca.ok() ? CheckCa(ca->get(), now) : absl::StatusOr<std::string>(ca.status());
  if (!ca_did.ok()) {
    return absl::PermissionDeniedError(
        absl::StrCat("trusted CA for ", *did, " is unusable: ", ca_did.status().message()));
  }
  if (*ca_did != *did) {
    return absl::PermissionDeniedError(
        absl::StrCat("CA registered for ", *did, " belongs to ", *ca_did, ", not to the peer"));
  }

  const bool server = usage == CertUsage::kServer;
  absl::Status chain = VerifyChain(leaf->get(), ca->get(), now,
                                   server ? X509_PURPOSE_SSL_SERVER : X509_PURPOSE_SSL_CLIENT);
  if (!chain.ok()) return Annotate(chain, absl::StrCat("peer ", *did));
  if (X509_check_ca(leaf->get()) != 0) {
    return absl::UnauthenticatedError(
        absl::StrCat("peer ", *did, ": node certificate must not be a CA"));
  }
  // Without the extension OpenSSL reports "any usage"; we require it to be
  // explicit.
  const uint32_t want = server ? XKU_SSL_SERVER : XKU_SSL_CLIENT;
  if ((X509_get_extension_flags(leaf->get()) & EXFLAG_XKUSAGE) == 0 ||
      (X509_get_extended_key_usage(leaf->get()) & want) == 0) {
    return absl::UnauthenticatedError(absl::StrCat("peer ", *did,
                                                   ": node certificate lacks extKeyUsage ",
                                                   server ? "serverAuth" : "clientAuth"));
  }
  return *std::move(did);
}

}  // namespace hanse::trust
