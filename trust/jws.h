// Compact JWS (RFC 7515) restricted to ES256 and EdDSA, where the signer is
// always identified by a did:key DID URL in "kid". The verification key is
// derived from the kid, never taken from the token, so key-injection headers
// (jwk, x5c, x5u, jku) are refused outright.
#ifndef HANSE_TRUST_JWS_H_
#define HANSE_TRUST_JWS_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "trust/keys.h"

namespace hanse::trust {

inline constexpr size_t kMaxJwsBytes = 64 * 1024;

// Header {"alg":JoseAlg(key.type()),"kid":kid,"typ":typ} ("typ" omitted when
// empty); payload bytes as given. `kid` must be a did:key DID URL of `key`'s
// public key, so we never emit a token that cannot verify.
absl::StatusOr<std::string> SignCompact(const PrivateKey& key, absl::string_view kid,
                                        absl::string_view typ, absl::string_view payload);

struct VerifiedJws {
  std::string payload;  // decoded payload bytes
  std::string kid;
  std::string typ;
  std::string signer_did;  // DID part of kid
};

struct JwsVerifyOptions {
  std::string expected_typ;  // empty = any
  size_t max_bytes = kMaxJwsBytes;
};

// Verifies a compact JWS. Malformed or disallowed tokens are InvalidArgument
// (oversize, not 3 parts, bad base64url, header not a JSON object or with
// duplicate members, alg missing/none/HS*/other than ES256|EdDSA, jwk/x5c/x5u/
// jku/crit present, kid missing or not a did:key DID URL, alg not matching the
// kid's key type, typ mismatch); a signature that does not verify is
// Unauthenticated.
absl::StatusOr<VerifiedJws> VerifyCompact(absl::string_view token,
                                          const JwsVerifyOptions& options = {});

// Decodes without verifying (for display only). signer_did is empty when the
// kid is not a did:key DID URL.
absl::StatusOr<VerifiedJws> DecodeUnverified(absl::string_view token);

}  // namespace hanse::trust

#endif  // HANSE_TRUST_JWS_H_
