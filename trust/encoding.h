// Byte-string encodings used by the trust layer (JOSE base64url, did:key
// base58btc) plus SHA-256 and hex for fingerprints.
#ifndef HANSE_TRUST_ENCODING_H_
#define HANSE_TRUST_ENCODING_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hanse::trust {

// RFC 4648 section 5 alphabet, without '=' padding (as JOSE requires).
std::string Base64UrlEncode(absl::string_view bytes);

// Strict inverse of Base64UrlEncode: rejects padding, characters outside the
// alphabet, impossible lengths (len % 4 == 1) and non-zero trailing bits, so
// every byte string has exactly one accepted encoding (no JWS malleability).
absl::StatusOr<std::string> Base64UrlDecode(absl::string_view text);

// Bitcoin base58 alphabet; leading zero bytes become leading '1's.
std::string Base58BtcEncode(absl::string_view bytes);

// Inverse of Base58BtcEncode. Decoding is quadratic, so input is bounded to
// 256 characters (far more than any did:key needs).
absl::StatusOr<std::string> Base58BtcDecode(absl::string_view text);

// Raw 32-byte SHA-256 digest.
std::string Sha256(absl::string_view data);

// Lowercase hex.
std::string HexEncode(absl::string_view bytes);

}  // namespace hanse::trust

#endif  // HANSE_TRUST_ENCODING_H_
