// did:key identifiers (https://w3c-ccg.github.io/did-method-key/):
// "did:key:z" + base58btc(unsigned-varint multicodec || raw public key), with
// p256-pub (0x1200, 33-byte compressed point) and ed25519-pub (0xed, 32 bytes).
#ifndef HANSE_TRUST_DID_KEY_H_
#define HANSE_TRUST_DID_KEY_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "trust/keys.h"

namespace hanse::trust {

// Longest DID or DID URL we parse; real ones are under 120 characters.
inline constexpr size_t kMaxDidKeyLength = 256;

// "did:key:z...".
std::string EncodeDidKey(const PublicKey& key);

// Accepts a DID ("did:key:zX") or a DID URL whose fragment is the
// method-specific id ("did:key:zX#zX"). Anything else (other methods, paths,
// queries, other fragments, unknown multicodecs, bad lengths, points off the
// curve, non-canonical encodings, > kMaxDidKeyLength chars) is InvalidArgument
// naming the problem.
absl::StatusOr<PublicKey> DecodeDidKey(absl::string_view did_or_url);

// did + "#" + method-specific id: the key's verification method id.
std::string DidKeyVerificationMethod(absl::string_view did);

// Strips the "#fragment" of a did:key DID URL, validating it as DecodeDidKey
// does. A bare DID is accepted and returned unchanged.
absl::StatusOr<std::string> DidFromDidUrl(absl::string_view did_url);

// Cheap syntactic check for a bare DID ("did:key:z" + base58 characters); does
// not decode the key.
bool IsDidKey(absl::string_view s);

}  // namespace hanse::trust

#endif  // HANSE_TRUST_DID_KEY_H_
