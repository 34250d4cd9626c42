// Receipts: a statement of one use of an agreement (a transfer, a deletion), signed over the
// same payload bytes by the provider and by the consumer, so that either side can prove the use
// to a third party without the other's cooperation.
#ifndef HANSE_NODE_AUDIT_RECEIPT_H_
#define HANSE_NODE_AUDIT_RECEIPT_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "trust/keys.h"

namespace hanse::audit {

inline constexpr absl::string_view kReceiptType = "hanse-receipt+jwt";

struct Receipt {
  std::string agreement_id;    // 1..256 bytes of printable UTF-8
  std::string action;          // what was done: 1..64 characters from [a-z.] ("transfer", "delete")
  std::uint64_t use = 0;       // 1-based use number under the agreement
  std::string dataset_id;      // 1..256 bytes of printable UTF-8
  std::string content_digest;  // "sha256:" + 64 lowercase hex digits
  std::uint64_t bytes = 0;     // bytes delivered (0 for a deletion)
  absl::Time time = absl::UnixEpoch();
};

// Who is bound by an agreement, as named in its signed payload.
struct AgreementParties {
  std::string id;
  std::string provider;  // did:key DID
  std::string consumer;  // did:key DID
};

// Canonical payload bytes, the only bytes either party signs:
// {"agreement":..,"action":..,"use":N,"dataset":..,"digest":..,"bytes":N,"time":T}
// in this member order, no whitespace, T as in entry.h. InvalidArgument naming a bad field.
absl::StatusOr<std::string> ReceiptPayload(const Receipt& receipt);

// Parses payload bytes, refusing anything but the canonical encoding of a valid receipt.
absl::StatusOr<Receipt> ParseReceiptPayload(absl::string_view payload);

// One party's signature: a compact JWS (typ hanse-receipt+jwt, kid = the key's did:key URL) over
// ReceiptPayload(receipt).
absl::StatusOr<std::string> SignReceipt(const Receipt& receipt, const trust::PrivateKey& key);

struct CoSignedReceipt {
  std::string provider_jws;
  std::string consumer_jws;
};

// Checks both signatures, that both sign identical payload bytes, that the signers are exactly
// the agreement's provider and consumer, and that the receipt names the agreement's id.
// InvalidArgument for malformed tokens or payloads, Unauthenticated for a bad signature,
// PermissionDenied for a signer who is not the expected party, with messages naming which.
absl::StatusOr<Receipt> VerifyCoSignedReceipt(const CoSignedReceipt& receipt,
                                              const AgreementParties& agreement);

}  // namespace hanse::audit

#endif  // HANSE_NODE_AUDIT_RECEIPT_H_
