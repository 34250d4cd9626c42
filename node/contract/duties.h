// Consumer-side duties an agreement imposes (delete the data at a time, notify the provider):
// stored durably so that they run after restarts too, executed at most once to completion, and
// answered with a signed receipt. docs/contracts.md describes the rules.
#ifndef HANSE_NODE_CONTRACT_DUTIES_H_
#define HANSE_NODE_CONTRACT_DUTIES_H_

#include <cstddef>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "catalog/store.h"
#include "trust/keys.h"

namespace hanse::contract {

enum class DutyKind { kDelete, kNotify };
absl::string_view DutyKindName(DutyKind kind);  // "delete" / "notify"
absl::StatusOr<DutyKind> ParseDutyKind(absl::string_view name);

struct Duty {
  std::string id;  // 1-256 printable ASCII characters, unique per node
  std::string agreement_id;
  DutyKind kind = DutyKind::kDelete;
  std::string path;       // delete: what to delete, relative to the data root
  std::string recipient;  // notify: whom to notify (a DID; may be empty)
  absl::Time due;         // runs at or after this instant
  absl::Time created;
  // Completion, written once by MarkDone.
  bool done = false;
  absl::Time done_at;
  std::string result;
};

class DutyScheduler {
 public:
  // `store` must outlive this object; use one DutyScheduler per Store.
  explicit DutyScheduler(catalog::Store* store) : store_(store) {}
  DutyScheduler(const DutyScheduler&) = delete;
  DutyScheduler& operator=(const DutyScheduler&) = delete;

  // Stores a pending duty (sync). Scheduling the same id again returns the stored duty if it
  // describes the same duty (agreement, kind, path, recipient, due) and AlreadyExists otherwise.
  // The done fields of `duty` are ignored; `created` is set to `now`.
  absl::StatusOr<Duty> Schedule(const Duty& duty, absl::Time now);

  absl::StatusOr<Duty> Get(absl::string_view id) const;
  // Pending duties with due <= now, earliest first (then by id), at most `limit`.
  absl::StatusOr<std::vector<Duty>> Due(absl::Time now, size_t limit = 1000) const;
  // Every duty of one agreement, done or not, by id.
  absl::StatusOr<std::vector<Duty>> ForAgreement(absl::string_view agreement_id) const;

  // Records completion with `result` (sync). A duty already done is left as it was and returned
  // unchanged (with its first result): executing a duty twice is harmless.
  absl::StatusOr<Duty> MarkDone(absl::string_view id, absl::string_view result, absl::Time now);

 private:
  absl::StatusOr<std::vector<Duty>> All() const;

  catalog::Store* store_;
  std::mutex mu_;
};

// Deletes `path` (relative to `root`, or absolute inside it) and everything below it, never
// following a symbolic link: a link on the way to `path` is refused (PermissionDenied), a link
// that is `path` or inside the deleted tree is removed itself, its target untouched. Paths with
// ".." components, or absolute paths outside `root`, are InvalidArgument; so is the root itself.
// A path that does not exist is success ("nothing to delete"), so a retried duty succeeds.
// Returns a one-line description of what was deleted.
absl::StatusOr<std::string> ExecuteDeleteDuty(absl::string_view root, absl::string_view path);

inline constexpr absl::string_view kDutyReceiptJwsType = "hanse-duty-receipt+jwt";

// A signed statement that a duty was executed.
struct DutyReceipt {
  std::string duty_id;
  std::string agreement_id;
  std::string kind;  // DutyKindName
  absl::Time executed_at;
  std::string result;
  std::string executor_did;  // the signer
};

// The receipt of a completed duty (FailedPrecondition if not done).
absl::StatusOr<DutyReceipt> ReceiptFor(const Duty& duty, absl::string_view executor_did);
// Compact JWS typ "hanse-duty-receipt+jwt"; `key` must be executor_did's key.
absl::StatusOr<std::string> SignDutyReceipt(const DutyReceipt& receipt,
                                            const trust::PrivateKey& key);
// Verifies the signature and that the signer is the receipt's executor (PermissionDenied
// otherwise); malformed tokens or payloads are InvalidArgument.
absl::StatusOr<DutyReceipt> VerifyDutyReceipt(absl::string_view jws);

}  // namespace hanse::contract

#endif  // HANSE_NODE_CONTRACT_DUTIES_H_
