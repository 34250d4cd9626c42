// The audit log's unit of record and its byte-exact encoding, plus signed heads. Shared by the
// log (audit_log.h) and by offline evidence verification (evidence.h), which must compute the
// same hashes without a store.
//
// Encoding (version 1), also in docs/audit.md:
//   body  = {"time":T,"kind":K,"subject":S,"actor":A,"details":D}
//           JSON with exactly these members in this order and no whitespace; T is
//           "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" (UTC, nine fraction digits); K, S, A are JSON strings
//           (non-ASCII written as UTF-8, not \u escapes); D is the details object as
//           nlohmann::json::dump() writes it (members sorted by key, no whitespace).
//   link  = "hanse.audit.v1" || 0x00 || u64be(index) || prev_hash (32) || SHA-256(body) (32)
//   hash  = SHA-256(link)
// prev_hash is the previous entry's hash, 32 zero bytes for entry 1. Keeping the body behind its
// digest lets an evidence bundle show a neighbouring entry as (index, prev, body digest) only,
// without revealing its contents, and still prove the chain.
#ifndef HANSE_NODE_AUDIT_ENTRY_H_
#define HANSE_NODE_AUDIT_ENTRY_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "trust/keys.h"

namespace hanse::audit {

inline constexpr size_t kMaxKindBytes = 64;
inline constexpr size_t kMaxSubjectBytes = 256;
inline constexpr size_t kMaxDetailsBytes = 16 * 1024;
inline constexpr size_t kHashBytes = 32;
inline constexpr absl::string_view kHeadType = "hanse-audit-head+jwt";

// What happened, as the caller reports it.
struct AuditEvent {
  // "decision.permit", "transfer.completed", ...: 1 to 64 characters from [a-z.].
  std::string kind;
  // What the event is about (usually an agreement id): 1 to 256 bytes of printable UTF-8.
  std::string subject;
  // The did:key DID of whoever caused the event.
  std::string actor;
  // When it happened (1970 to 9999); the log does not read a clock.
  absl::Time time = absl::UnixEpoch();
  // A JSON object, at most 16 KiB once encoded and 32 levels deep.
  nlohmann::json details = nlohmann::json::object();
};

// One entry of the log: the event plus its place in the chain.
struct AuditEntry {
  std::uint64_t index = 0;  // 1-based, contiguous
  AuditEvent event;
  std::string prev_hash;  // 32 raw bytes
  std::string hash;       // 32 raw bytes
  std::string body;       // the exact body bytes (see above)
};

// Checks an event against the limits above; InvalidArgument naming the field.
absl::Status ValidateEvent(const AuditEvent& event);

// The canonical body bytes of a valid event.
absl::StatusOr<std::string> EncodeBody(const AuditEvent& event);

// Parses body bytes back into an event, refusing anything that is not exactly the canonical
// encoding of a valid event (so every event has one body and one hash).
absl::StatusOr<AuditEvent> DecodeBody(absl::string_view body);

// hash = SHA-256(link) for the given index, prev hash and SHA-256 of the body.
std::string EntryHash(std::uint64_t index, absl::string_view prev_hash,
                      absl::string_view body_digest);

// Builds a complete entry (validating the event).
absl::StatusOr<AuditEntry> MakeEntry(std::uint64_t index, absl::string_view prev_hash,
                                     const AuditEvent& event);

// A statement by the log owner: "entry `index` of my log has hash `hash`".
struct SignedHead {
  std::uint64_t index = 0;
  std::string hash;  // 32 raw bytes
  absl::Time time = absl::UnixEpoch();
  std::string signer;  // did:key DID of the log owner
  std::string jws;     // compact JWS, typ hanse-audit-head+jwt
};

// Signs {"index":N,"hash":hex,"time":T,"signer":did} with `key` (kid = its did:key URL).
absl::StatusOr<SignedHead> SignHead(const trust::PrivateKey& key, std::uint64_t index,
                                    absl::string_view hash, absl::Time time);

// Verifies a head token: typ, signature by the did:key in its kid, payload well formed and its
// "signer" equal to the signing DID. Does not check who the signer should be.
absl::StatusOr<SignedHead> VerifyHead(absl::string_view jws);

}  // namespace hanse::audit

#endif  // HANSE_NODE_AUDIT_ENTRY_H_
