#include "trust/keys.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/pem.h>

#include <array>
#include <cstring>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "base/status.h"
#include "trust/internal.h"

namespace hanse::trust {

namespace internal {

absl::Status OpenSslError(absl::StatusCode code, absl::string_view what) {
  const absl::string_view what_sv = what;
  std::string details;
  unsigned long err;
  while ((err = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    if (!details.empty()) details += "; ";
    details += buf;
  }
  if (details.empty()) return absl::Status(code, what_sv);
  return absl::Status(code, absl::StrCat(what_sv, ": ", details));
}

void ClearOpenSslErrors() { ERR_clear_error(); }

}  // namespace internal

namespace {

using internal::OpenSslError;

struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};
struct BnFree {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, EcdsaSigFree>;
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

std::shared_ptr<EVP_PKEY> WrapPkey(EVP_PKEY* pkey) {
  return std::shared_ptr<EVP_PKEY>(pkey, EVP_PKEY_free);
}

constexpr size_t kP256CoordBytes = 32;
constexpr size_t kEd25519KeyBytes = 32;
constexpr size_t kJoseSignatureBytes = 64;

// Order n of the P-256 group, big-endian; ES256 r and s must lie in [1, n-1].
constexpr std::array<unsigned char, kP256CoordBytes> kP256Order = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};

const unsigned char* Bytes(absl::string_view s) {
  // OpenSSL treats a null pointer with length 0 inconsistently across
  // algorithms; hand it a valid pointer for empty input.
  static const unsigned char kEmpty = 0;
  return s.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(s.data());
}

BioPtr MemBio(absl::string_view data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

std::string BioContents(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  if (len <= 0 || data == nullptr) return "";
  return std::string(data, static_cast<size_t>(len));
}

absl::StatusOr<KeyType> DetectType(EVP_PKEY* pkey) {
  switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_ED25519:
      return KeyType::kEd25519;
    case EVP_PKEY_EC: {
      char name[80];
      size_t len = 0;
      if (EVP_PKEY_get_group_name(pkey, name, sizeof(name), &len) == 1) {
        int nid = OBJ_sn2nid(name);
        if (nid == NID_undef) nid = EC_curve_nist2nid(name);
        if (nid == NID_X9_62_prime256v1) return KeyType::kP256;
      }
      internal::ClearOpenSslErrors();
      return absl::InvalidArgumentError("unsupported EC curve (only P-256 is accepted)");
    }
    default:
      return absl::InvalidArgumentError(
          "unsupported key algorithm (only P-256 and Ed25519 are accepted)");
  }
}

// Raw public key bytes as OpenSSL encodes them: for P-256 a SEC1 point in the
// key's conversion form, for Ed25519 the 32-byte key.
absl::StatusOr<std::string> EncodedPublic(EVP_PKEY* pkey, KeyType type) {
  if (type == KeyType::kEd25519) {
    std::string raw(kEd25519KeyBytes, '\0');
    size_t len = raw.size();
    if (EVP_PKEY_get_raw_public_key(pkey, reinterpret_cast<unsigned char*>(raw.data()), &len) !=
            1 ||
        len != kEd25519KeyBytes) {
      return OpenSslError(absl::StatusCode::kInternal, "reading Ed25519 public key");
    }
    return raw;
  }
  unsigned char buf[1 + 2 * kP256CoordBytes];
  size_t len = 0;
  if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, buf, sizeof(buf), &len) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "reading P-256 public key");
  }
  return std::string(reinterpret_cast<const char*>(buf), len);
}

// SEC1 compressed form of a P-256 point given compressed or uncompressed.
absl::StatusOr<std::string> CompressP256(absl::string_view point) {
  if (point.size() == 1 + kP256CoordBytes && (point[0] == 0x02 || point[0] == 0x03)) {
    return std::string(point);
  }
  if (point.size() == 1 + 2 * kP256CoordBytes && point[0] == 0x04) {
    const char prefix = (static_cast<unsigned char>(point.back()) & 1) ? 0x03 : 0x02;
    return std::string(1, prefix) + std::string(point.substr(1, kP256CoordBytes));
  }
  return absl::InternalError("unexpected P-256 point encoding");
}

absl::Status CheckPublic(EVP_PKEY* pkey, absl::string_view what) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  // P-256 has cofactor 1: a point on the curve other than infinity is in the group, so the
  // quick check (no multiplication by the order) is the full check.
  if (ctx == nullptr || EVP_PKEY_public_check_quick(ctx.get()) != 1) {
    return OpenSslError(absl::StatusCode::kInvalidArgument, what);
  }
  return absl::OkStatus();
}

bool IsZero(absl::string_view bytes) {
  for (char c : bytes) {
    if (c != 0) return false;
  }
  return true;
}

// Big-endian comparison of a 32-byte scalar against the P-256 order.
bool BelowP256Order(absl::string_view scalar) {
  return std::memcmp(scalar.data(), kP256Order.data(), kP256Order.size()) < 0;
}

absl::StatusOr<std::string> EcdsaJoseToDer(absl::string_view signature) {
  const absl::string_view r = signature.substr(0, kP256CoordBytes);
  const absl::string_view s = signature.substr(kP256CoordBytes);
  if (IsZero(r) || IsZero(s)) {
    return absl::UnauthenticatedError("ES256 signature has r or s equal to zero");
  }
  if (!BelowP256Order(r) || !BelowP256Order(s)) {
    return absl::UnauthenticatedError("ES256 signature has r or s not below the group order");
  }
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BnPtr bn_r(BN_bin2bn(Bytes(r), static_cast<int>(r.size()), nullptr));
  BnPtr bn_s(BN_bin2bn(Bytes(s), static_cast<int>(s.size()), nullptr));
  if (sig == nullptr || bn_r == nullptr || bn_s == nullptr ||
      ECDSA_SIG_set0(sig.get(), bn_r.get(), bn_s.get()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "building ECDSA signature");
  }
  // ECDSA_SIG_set0 took ownership.
  static_cast<void>(bn_r.release());
  static_cast<void>(bn_s.release());
  unsigned char* der = nullptr;
  const int der_len = i2d_ECDSA_SIG(sig.get(), &der);
  if (der_len <= 0) return OpenSslError(absl::StatusCode::kInternal, "encoding ECDSA signature");
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(der_len));
  OPENSSL_free(der);
  return out;
}

absl::StatusOr<std::string> EcdsaDerToJose(absl::string_view der) {
  const unsigned char* p = Bytes(der);
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (sig == nullptr) return OpenSslError(absl::StatusCode::kInternal, "decoding ECDSA signature");
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string out(kJoseSignatureBytes, '\0');
  auto* buf = reinterpret_cast<unsigned char*>(out.data());
  if (BN_bn2binpad(r, buf, kP256CoordBytes) != static_cast<int>(kP256CoordBytes) ||
      BN_bn2binpad(s, buf + kP256CoordBytes, kP256CoordBytes) !=
          static_cast<int>(kP256CoordBytes)) {
    return OpenSslError(absl::StatusCode::kInternal, "ECDSA signature component too large");
  }
  return out;
}

absl::Status CheckPemSize(absl::string_view pem) {
  if (pem.size() > internal::kMaxPemBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("PEM input larger than ", internal::kMaxPemBytes, " bytes"));
  }
  return absl::OkStatus();
}

// Refuses to decrypt instead of letting OpenSSL prompt on the terminal.
int NoPassword(char*, int, int, void*) { return -1; }

}  // namespace

absl::string_view KeyTypeName(KeyType type) {
  switch (type) {
    case KeyType::kP256:
      return "p256";
    case KeyType::kEd25519:
      return "ed25519";
  }
  return "unknown";
}

absl::StatusOr<KeyType> ParseKeyType(absl::string_view name) {
  if (name == "p256") return KeyType::kP256;
  if (name == "ed25519") return KeyType::kEd25519;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown key type \"", name, "\" (choose one of: p256, ed25519)"));
}

absl::string_view JoseAlg(KeyType type) {
  switch (type) {
    case KeyType::kP256:
      return "ES256";
    case KeyType::kEd25519:
      return "EdDSA";
  }
  return "unknown";
}

// ---------------------------------------------------------------- PublicKey

absl::StatusOr<PublicKey> PublicKey::FromRaw(KeyType type, absl::string_view bytes) {
  if (type == KeyType::kEd25519) {
    if (bytes.size() != kEd25519KeyBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("Ed25519 public key must be 32 bytes, got ", bytes.size()));
    }
    EVP_PKEY* pkey =
        EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, Bytes(bytes), bytes.size());
    if (pkey == nullptr) {
      return OpenSslError(absl::StatusCode::kInvalidArgument, "invalid Ed25519 public key");
    }
    return PublicKey(type, WrapPkey(pkey));
  }

  const bool compressed =
      bytes.size() == 1 + kP256CoordBytes && (bytes[0] == 0x02 || bytes[0] == 0x03);
  const bool uncompressed = bytes.size() == 1 + 2 * kP256CoordBytes && bytes[0] == 0x04;
  if (!compressed && !uncompressed) {
    return absl::InvalidArgumentError(absl::StrCat(
        "P-256 public key must be a 33-byte compressed or 65-byte uncompressed SEC1 point, got ",
        bytes.size(), " bytes"));
  }
  char group[] = "prime256v1";
  // Certificates and PEM carry the uncompressed form: other TLS stacks reject
  // compressed points in SubjectPublicKeyInfo.
  char form[] = "uncompressed";
  std::string point(bytes);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, form, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
      OSSL_PARAM_construct_end(),
  };
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw_pkey = nullptr;
  if (ctx == nullptr || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw_pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    return OpenSslError(absl::StatusCode::kInvalidArgument, "invalid P-256 public key");
  }
  auto pkey = WrapPkey(raw_pkey);
  // Decoding already rejects points off the curve; the explicit check also
  // covers the point at infinity and documents the requirement.
  HANSE_RETURN_IF_ERROR(CheckPublic(pkey.get(), "invalid P-256 public key"));
  return PublicKey(type, std::move(pkey));
}

absl::StatusOr<PublicKey> PublicKey::FromEvp(evp_pkey_st* pkey) {
  if (pkey == nullptr) return absl::InvalidArgumentError("no public key");
  HANSE_ASSIGN_OR_RETURN(KeyType type, DetectType(pkey));
  HANSE_ASSIGN_OR_RETURN(std::string encoded, EncodedPublic(pkey, type));
  // Re-import from raw bytes so every PublicKey is a named-curve key that has
  // passed the same validation, whatever encoding it arrived in.
  return FromRaw(type, encoded);
}

absl::StatusOr<PublicKey> PublicKey::FromPem(absl::string_view pem) {
  HANSE_RETURN_IF_ERROR(CheckPemSize(pem));
  BioPtr bio = MemBio(pem);
  if (bio == nullptr) return OpenSslError(absl::StatusCode::kInternal, "allocating BIO");
  EVP_PKEY* raw_pkey = PEM_read_bio_PUBKEY(bio.get(), nullptr, NoPassword, nullptr);
  if (raw_pkey == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        "not a SubjectPublicKeyInfo PEM public key");
  }
  auto pkey = WrapPkey(raw_pkey);
  return FromEvp(pkey.get());
}

std::string PublicKey::Raw() const {
  absl::StatusOr<std::string> encoded = EncodedPublic(pkey_.get(), type_);
  if (!encoded.ok()) return "";  // Unreachable for keys built by FromRaw.
  if (type_ == KeyType::kEd25519) return *std::move(encoded);
  absl::StatusOr<std::string> compressed = CompressP256(*encoded);
  return compressed.ok() ? *std::move(compressed) : "";
}

std::string PublicKey::ToPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_PUBKEY(bio.get(), pkey_.get()) != 1) {
    internal::ClearOpenSslErrors();
    return "";
  }
  return BioContents(bio.get());
}

absl::Status PublicKey::VerifyJose(absl::string_view message, absl::string_view signature) const {
  if (signature.size() != kJoseSignatureBytes) {
    return absl::UnauthenticatedError(absl::StrCat(JoseAlg(type_), " signature must be ",
                                                   kJoseSignatureBytes, " bytes, got ",
                                                   signature.size()));
  }
  std::string der;
  const EVP_MD* md = nullptr;
  absl::string_view to_check = signature;
  if (type_ == KeyType::kP256) {
    HANSE_ASSIGN_OR_RETURN(der, EcdsaJoseToDer(signature));
    md = EVP_sha256();
    to_check = der;
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr || EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, pkey_.get()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "initialising signature check");
  }
  if (EVP_DigestVerify(ctx.get(), Bytes(to_check), to_check.size(), Bytes(message),
                       message.size()) != 1) {
    internal::ClearOpenSslErrors();
    return absl::UnauthenticatedError(
        absl::StrCat(JoseAlg(type_), " signature verification failed"));
  }
  return absl::OkStatus();
}

bool PublicKey::operator==(const PublicKey& other) const {
  return type_ == other.type_ && Raw() == other.Raw();
}

// --------------------------------------------------------------- PrivateKey

absl::StatusOr<PrivateKey> PrivateKey::FromEvp(std::shared_ptr<evp_pkey_st> pkey) {
  HANSE_ASSIGN_OR_RETURN(KeyType type, DetectType(pkey.get()));
  HANSE_ASSIGN_OR_RETURN(std::string encoded, EncodedPublic(pkey.get(), type));
  HANSE_ASSIGN_OR_RETURN(PublicKey public_key, PublicKey::FromRaw(type, encoded),
                         "deriving public key");
  return PrivateKey(std::move(pkey), std::move(public_key));
}

absl::StatusOr<PrivateKey> PrivateKey::Generate(KeyType type) {
  PkeyCtxPtr ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, type == KeyType::kP256 ? "EC" : "ED25519", nullptr));
  if (ctx == nullptr || EVP_PKEY_keygen_init(ctx.get()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "initialising key generation");
  }
  if (type == KeyType::kP256 && EVP_PKEY_CTX_set_group_name(ctx.get(), "P-256") != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "selecting P-256");
  }
  EVP_PKEY* raw_pkey = nullptr;
  if (EVP_PKEY_generate(ctx.get(), &raw_pkey) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "generating key");
  }
  return FromEvp(WrapPkey(raw_pkey));
}

absl::StatusOr<PrivateKey> PrivateKey::FromPem(absl::string_view pem) {
  HANSE_RETURN_IF_ERROR(CheckPemSize(pem));
  // Only PKCS#8; the explicit label check gives a clear error for encrypted
  // or legacy ("EC PRIVATE KEY") files instead of an OpenSSL decoder message.
  if (pem.find("-----BEGIN PRIVATE KEY-----") == absl::string_view::npos) {
    if (pem.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") != absl::string_view::npos) {
      return absl::InvalidArgumentError("encrypted private keys are not supported");
    }
    return absl::InvalidArgumentError("not an unencrypted PKCS#8 PEM private key");
  }
  BioPtr bio = MemBio(pem);
  if (bio == nullptr) return OpenSslError(absl::StatusCode::kInternal, "allocating BIO");
  EVP_PKEY* raw_pkey = PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassword, nullptr);
  if (raw_pkey == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument, "invalid PKCS#8 private key");
  }
  auto pkey = WrapPkey(raw_pkey);
  // A file whose embedded public key does not match its private scalar would
  // make us sign under one identity and advertise another.
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (ctx == nullptr || EVP_PKEY_pairwise_check(ctx.get()) != 1) {
    return OpenSslError(absl::StatusCode::kInvalidArgument, "inconsistent private key");
  }
  return FromEvp(std::move(pkey));
}

std::string PrivateKey::ToPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_PrivateKey(bio.get(), pkey_.get(), nullptr, nullptr, 0,
                                                 nullptr, nullptr) != 1) {
    internal::ClearOpenSslErrors();
    return "";
  }
  return BioContents(bio.get());
}

absl::StatusOr<std::string> PrivateKey::SignJose(absl::string_view message) const {
  const EVP_MD* md = type() == KeyType::kP256 ? EVP_sha256() : nullptr;
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, pkey_.get()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "initialising signing");
  }
  size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, Bytes(message), message.size()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "sizing signature");
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, Bytes(message),
                     message.size()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "signing");
  }
  sig.resize(len);
  if (type() == KeyType::kP256) return EcdsaDerToJose(sig);
  if (sig.size() != kJoseSignatureBytes) {
    return absl::InternalError("unexpected Ed25519 signature length");
  }
  return sig;
}

}  // namespace hanse::trust
