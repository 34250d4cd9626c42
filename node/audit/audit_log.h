// The node's append-only, hash-chained audit log in the store's kAudit family, with heads signed
// by the node's participant key. It backs `hanse audit list|verify` and evidence bundles.
//
// Storage layout in Family::kAudit (docs/audit.md):
//   "e/" + u64be(index) -> hash (32) || prev_hash (32) || body        one per entry
//   "h/" + u64be(index) -> compact JWS of the signed head at index    one per signed head
//   "t"                 -> u64be(last index) || hash of that entry    written with every entry
#ifndef HANSE_NODE_AUDIT_AUDIT_LOG_H_
#define HANSE_NODE_AUDIT_AUDIT_LOG_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "catalog/store.h"
#include "node/audit/entry.h"
#include "trust/keys.h"

namespace hanse::audit {

inline constexpr size_t kMaxListLimit = 1000;

// Store keys, public so that tests and tools can address records directly.
std::string EntryKey(std::uint64_t index);
std::string HeadKey(std::uint64_t index);
inline constexpr absl::string_view kTailKey = "t";

struct AuditLogOptions {
  // Sign a head automatically whenever the index reaches a multiple of this (0 = never). Such a
  // head carries the time of the entry it covers.
  std::uint64_t head_every = 64;
  // A file outside the store that records the last entry appended (index and hash), synced
  // with each append. A store that comes back shorter than it (a cut write-ahead log, a damaged
  // or replaced store) is refused at Open with the entries lost, instead of resuming as if they
  // had never been. Empty = no mark.
  std::string tail_mark;
  // Check the mark but never create or rewrite it (`hanse audit verify` on a stopped home).
  bool tail_mark_read_only = false;
};

// Outcome of Verify(). Tampering is a finding, not an error: ok is false, first_bad_index names
// the earliest index at which the log stops being trustworthy and problem says why.
struct AuditVerifyReport {
  bool ok = true;
  std::uint64_t entries = 0;  // entries checked (the log's length when ok)
  std::uint64_t heads = 0;    // signed heads checked
  std::uint64_t first_bad_index = 0;
  std::string problem;  // e.g. "entry 17: hash does not match its contents"
};

class AuditLog {
 public:
  // Opens the log in `store` (which must outlive it), resuming after the last entry. `key` is the
  // node's participant key: it signs heads, and its did:key DID is the log owner. DataLoss when
  // the stored tail does not match the entries (run Verify to locate the damage).
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(catalog::Store* store,
                                                        trust::PrivateKey key,
                                                        AuditLogOptions options = {});

  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Appends one event and returns the entry as stored, with `extra` (the state change the
  // event records, if any) written atomically with it. Entries are chained in the order of the
  // calls and written with sync, so a returned entry survives a crash. Concurrent appends share
  // one synced write (group commit): the first waiting caller writes every entry queued behind
  // it in one batch, in chain order, so a crash can lose only a suffix of the log. When a group
  // write fails, its entries and those chained behind them fail, and the next entry chains on
  // the last one stored. When the new index is a multiple of options.head_every, a signed head
  // for it is written in the same batch.
  absl::StatusOr<AuditEntry> Append(const AuditEvent& event, catalog::WriteBatch extra = {});

  // Signs and stores a head over the current last entry (time = `now`). If that entry already has
  // a head, returns it unchanged. FailedPrecondition on an empty log.
  absl::StatusOr<SignedHead> SignHead(absl::Time now);

  // Up to `limit` (capped at kMaxListLimit) entries with index >= from_index, in index order,
  // optionally only those whose subject equals `subject`. Scans; does not check the chain.
  absl::StatusOr<std::vector<AuditEntry>> List(
      std::uint64_t from_index, size_t limit,
      const std::optional<std::string>& subject = std::nullopt) const;

  // Visits entries from_index..to_index (inclusive) in order until `visit` returns false.
  // DataLoss if a stored record cannot be decoded.
  absl::Status ForEach(std::uint64_t from_index, std::uint64_t to_index,
                       const std::function<bool(const AuditEntry&)>& visit) const;

  // The first stored head with index >= `index`, if any (not re-verified).
  absl::StatusOr<std::optional<SignedHead>> HeadAtOrAfter(std::uint64_t index) const;

  // Recomputes the whole chain from the store, streaming: contiguous indexes from 1, each
  // entry's hash against its contents, each prev hash against the previous entry, each signed
  // head's signature, signer (the log owner) and hash against the entry at its index, and the
  // tail record. Errors only for store failures.
  absl::StatusOr<AuditVerifyReport> Verify() const;

  // Entries appended since this log was opened, by kind ("decision.permit", "admin.call", ...):
  // what /metrics counts.
  std::map<std::string, std::uint64_t> AppendedByKind() const;

  // Index of the last entry (0 when empty) and its hash (32 zero bytes when empty).
  std::uint64_t size() const;
  std::string tail_hash() const;
  // The log owner: did:key DID of the signing key.
  const std::string& did() const { return did_; }

 private:
  AuditLog(catalog::Store* store, trust::PrivateKey key, AuditLogOptions options);
  struct Pending;
  absl::Status CheckTailMark();  // at Open
  // By the writing leader only (or at Open).
  absl::Status WriteTailMark(std::uint64_t index, const std::string& hash);
  // mu_ held through `lock`, no write in flight: writes every queued entry in one synced batch.
  void CommitQueued(std::unique_lock<std::mutex>& lock);

  catalog::Store* const store_;
  const trust::PrivateKey key_;
  const std::string did_;
  const AuditLogOptions options_;

  mutable std::mutex mu_;
  mutable std::condition_variable written_;  // a group write ended
  // The last entry stored (what readers see) and the last entry chained (stored or queued).
  std::uint64_t last_index_ = 0;                           // guarded by mu_
  std::string last_hash_;                                  // guarded by mu_
  std::uint64_t chained_index_ = 0;                        // guarded by mu_
  std::string chained_hash_;                               // guarded by mu_
  std::vector<Pending*> queue_;                            // guarded by mu_
  bool writing_ = false;                                   // guarded by mu_
  std::map<std::string, std::uint64_t> appended_by_kind_;  // guarded by mu_
  int tail_mark_fd_ = -1;                                  // the writing leader's
};

// Decodes a stored entry record. DataLoss naming the index when it is malformed; does not check
// that the stored hash matches (Verify does).
absl::StatusOr<AuditEntry> DecodeStoredEntry(std::uint64_t index, absl::string_view value);

}  // namespace hanse::audit

#endif  // HANSE_NODE_AUDIT_AUDIT_LOG_H_
