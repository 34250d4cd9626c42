// Evidence bundles: one self-contained JSON file that lets a third party check, offline and with
// no node or store, what the log owner recorded about one subject (usually an agreement): the
// agreement tokens, co-signed receipts, member cards, and the audit entries about the subject
// linked by hash to heads signed by the log owner. The format is in docs/audit.md.
#ifndef HANSE_NODE_AUDIT_EVIDENCE_H_
#define HANSE_NODE_AUDIT_EVIDENCE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "node/audit/audit_log.h"
#include "node/audit/entry.h"
#include "node/audit/receipt.h"

namespace hanse::audit {

inline constexpr absl::string_view kBundleType = "hanse-evidence-bundle";
inline constexpr size_t kMaxBundleBytes = 16 * 1024 * 1024;
inline constexpr size_t kMaxBundleAgreements = 16;
inline constexpr size_t kMaxBundleCards = 16;
inline constexpr size_t kMaxBundleReceipts = 10000;
inline constexpr size_t kMaxBundleEntries = 100000;  // disclosed and redacted, all segments

// What the caller supplies besides the log. All tokens are opaque compact JWS strings.
struct EvidenceInputs {
  // The agreement, signed by both sides: each token's payload is a JSON object with "id",
  // "provider" and "consumer" (did:key DIDs), the same in every token.
  std::vector<std::string> agreements;
  std::vector<CoSignedReceipt> receipts;
  // Member cards (typ hanse-card+jwt, payload "did" = signer) of the provider, the consumer and
  // the log owner.
  std::vector<std::string> cards;
};

// Builds a bundle for `subject` from `log`: every entry whose subject equals `subject` is
// disclosed, each covered by the first signed head at or after it, with the entries in between
// included in redacted form (index, prev hash, body digest). If the last such entry has no head
// yet, one is signed with time `now`. The result is verified with VerifyEvidenceBundle before it
// is returned, so bad inputs (a card that does not verify, a receipt signed by the wrong party)
// fail here. ResourceExhausted past the limits above.
absl::StatusOr<std::string> ExportEvidence(AuditLog& log, absl::string_view subject,
                                           const EvidenceInputs& inputs, absl::Time now);

struct EvidenceReport {
  std::string subject;
  std::string log_owner;
  AgreementParties agreement;
  std::vector<std::string> card_dids;
  std::vector<Receipt> receipts;
  std::vector<AuditEntry> entries;     // disclosed entries, in index order
  std::uint64_t redacted_entries = 0;  // entries shown only by digest
  std::vector<SignedHead> heads;       // one per segment
};

// Checks a bundle with nothing but its own contents: every JWS signature (keys from the did:key
// DIDs), the agreement tokens agree on id/provider/consumer and are signed by both, one card per
// provider, consumer and log owner, each receipt co-signed by exactly the provider and consumer,
// each segment a contiguous hash chain ending at a head signed by the log owner. The first
// problem found is returned, naming the part (e.g. "segments[0]: entry 17 does not hash to ...").
// InvalidArgument for malformed parts, Unauthenticated for bad signatures, PermissionDenied for a
// signer who is not the party it should be, ResourceExhausted past the limits above.
absl::StatusOr<EvidenceReport> VerifyEvidenceBundle(absl::string_view bundle_json);

}  // namespace hanse::audit

#endif  // HANSE_NODE_AUDIT_EVIDENCE_H_
