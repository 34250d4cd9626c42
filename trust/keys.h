// Participant and node key pairs: P-256 (ES256) and Ed25519 (EdDSA).
// OpenSSL stays behind this interface; callers see raw bytes, PEM and JOSE
// signatures only.
#ifndef HANSE_TRUST_KEYS_H_
#define HANSE_TRUST_KEYS_H_

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY; kept opaque so headers stay OpenSSL-free.

namespace hanse::trust {

enum class KeyType { kP256, kEd25519 };

// "p256" / "ed25519": the names used in configuration and on the command line.
absl::string_view KeyTypeName(KeyType type);
// Accepts "p256" and "ed25519"; the error lists the choices.
absl::StatusOr<KeyType> ParseKeyType(absl::string_view name);
// JOSE "alg" for signatures by this key type: "ES256" / "EdDSA".
absl::string_view JoseAlg(KeyType type);

// A public key. Copies share one immutable EVP_PKEY.
class PublicKey {
 public:
  // P-256: 33-byte SEC1 compressed or 65-byte uncompressed point, validated on
  // the curve. Ed25519: 32 bytes.
  static absl::StatusOr<PublicKey> FromRaw(KeyType type, absl::string_view bytes);
  // SubjectPublicKeyInfo PEM; only P-256 and Ed25519 keys are accepted.
  static absl::StatusOr<PublicKey> FromPem(absl::string_view pem);
  // Copies the public half of `pkey` (the caller keeps ownership) into a
  // canonical named-curve key. Only P-256 and Ed25519 keys are accepted. Used
  // for keys taken from certificates.
  static absl::StatusOr<PublicKey> FromEvp(evp_pkey_st* pkey);

  KeyType type() const { return type_; }
  // P-256: 33-byte compressed point; Ed25519: 32 bytes.
  std::string Raw() const;
  // SubjectPublicKeyInfo PEM.
  std::string ToPem() const;

  // Checks a JOSE signature over `message`. ES256: 64-byte r||s over SHA-256,
  // with r and s in [1, n-1]; EdDSA: 64-byte Ed25519 signature. Any failure is
  // Unauthenticated.
  absl::Status VerifyJose(absl::string_view message, absl::string_view signature) const;

  // The underlying key, for x509.cc. Never null.
  evp_pkey_st* evp() const { return pkey_.get(); }

  // Same type and same Raw() bytes.
  bool operator==(const PublicKey& other) const;

 private:
  PublicKey(KeyType type, std::shared_ptr<evp_pkey_st> pkey)
      : type_(type), pkey_(std::move(pkey)) {}

  KeyType type_;
  std::shared_ptr<evp_pkey_st> pkey_;
};

// A private key. Copies share one immutable EVP_PKEY.
class PrivateKey {
 public:
  static absl::StatusOr<PrivateKey> Generate(KeyType type);
  // Unencrypted PKCS#8 PEM ("BEGIN PRIVATE KEY"); only P-256 and Ed25519.
  // Encrypted PEM is refused rather than prompting for a passphrase.
  static absl::StatusOr<PrivateKey> FromPem(absl::string_view pem);
  // Unencrypted PKCS#8 PEM.
  std::string ToPem() const;

  PublicKey Public() const { return public_; }
  KeyType type() const { return public_.type(); }

  // ES256: 64-byte r||s (each left-padded to 32 bytes); EdDSA: 64 bytes.
  absl::StatusOr<std::string> SignJose(absl::string_view message) const;

  // The underlying key, for x509.cc. Never null.
  evp_pkey_st* evp() const { return pkey_.get(); }

 private:
  PrivateKey(std::shared_ptr<evp_pkey_st> pkey, PublicKey public_key)
      : pkey_(std::move(pkey)), public_(std::move(public_key)) {}
  static absl::StatusOr<PrivateKey> FromEvp(std::shared_ptr<evp_pkey_st> pkey);

  std::shared_ptr<evp_pkey_st> pkey_;
  // Derived once at construction: a public-only EVP_PKEY, so handing out the
  // public key never shares the private material.
  PublicKey public_;
};

}  // namespace hanse::trust

#endif  // HANSE_TRUST_KEYS_H_
