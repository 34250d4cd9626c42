// Node TLS certificates. Each participant key acts as its own tiny CA: a
// self-signed CA certificate names the participant's did:key, and it signs
// certificates for separate node TLS keys. Peers are identified by the DID in
// the certificate's URI SAN, and trusted only through the CA registered for
// that DID.
#ifndef HANSE_TRUST_X509_H_
#define HANSE_TRUST_X509_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "trust/keys.h"

namespace hanse::trust {

enum class CertUsage { kClient, kServer };

// Self-signed participant CA certificate (PEM): CA:TRUE, pathlen 0, keyUsage
// keyCertSign+cRLSign (critical), subject CN = `common_name`, URI SAN = `did`,
// SKI/AKI, random 128-bit serial. `did` must be EncodeDidKey(participant.Public()).
absl::StatusOr<std::string> IssueParticipantCa(const PrivateKey& participant, absl::string_view did,
                                               absl::string_view common_name, absl::Time not_before,
                                               absl::Duration validity);

// Node certificate (PEM) for `node_key`, issued by the participant CA
// `ca_pem` (whose key must be `participant`): CA:FALSE (critical), keyUsage
// digitalSignature (critical), extKeyUsage serverAuth+clientAuth, URI SAN =
// `did`, SKI/AKI. `did` must be the participant's DID.
absl::StatusOr<std::string> IssueNodeCertificate(const PrivateKey& participant,
                                                 absl::string_view ca_pem,
                                                 const PublicKey& node_key, absl::string_view did,
                                                 absl::Time not_before, absl::Duration validity);

// The single did:key URI SAN of a certificate (error if none or more than one).
absl::StatusOr<std::string> CertificateDid(absl::string_view cert_pem);

// The end of a certificate's validity (notAfter).
absl::StatusOr<absl::Time> CertificateNotAfter(absl::string_view cert_pem);

// Public key of a certificate (P-256 or Ed25519 only).
absl::StatusOr<PublicKey> CertificatePublicKey(absl::string_view cert_pem);

// Checks a participant CA certificate: self-signed with a valid signature,
// valid at `now`, CA:TRUE, and its key derives the DID in its URI SAN.
// Returns that DID.
absl::StatusOr<std::string> CheckParticipantCa(absl::string_view ca_pem, absl::Time now);

// Verifies a peer's node (leaf) certificate and returns the peer's DID.
// `ca_for_did` returns the trusted CA PEM for a DID, or NotFound.
// The CA must pass CheckParticipantCa and derive the leaf's DID, so a trusted
// CA cannot vouch for another DID; the chain is then verified against that CA
// alone (strict mode, at `now`), and the leaf must not be a CA and must carry
// the extKeyUsage for `usage`.
// Errors: Unauthenticated for bad, expired or wrongly signed leaves;
// PermissionDenied for untrusted DIDs or a registered CA that does not belong
// to the DID; other errors from `ca_for_did` are passed through.
absl::StatusOr<std::string> VerifyNodeCertificate(
    absl::string_view leaf_pem,
    const std::function<absl::StatusOr<std::string>(absl::string_view did)>& ca_for_did,
    CertUsage usage, absl::Time now);

}  // namespace hanse::trust

#endif  // HANSE_TRUST_X509_H_
