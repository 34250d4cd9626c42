// Federation without an operator: a charter signed by every founder (its hash is the
// federation id), and membership records (admissions and revocations) that each need k
// signatures of distinct current members. Every node computes the member set itself from the
// charter and the records; records prove themselves, so they can be fetched from anyone.
// See docs/federation.md.
#ifndef HANSE_NODE_FEDERATION_MEMBERSHIP_H_
#define HANSE_NODE_FEDERATION_MEMBERSHIP_H_

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "catalog/store.h"
#include "node/identity/card.h"
#include "trust/keys.h"

namespace hanse::node {

inline constexpr absl::string_view kCharterSignatureType = "hanse-charter+jwt";
inline constexpr absl::string_view kEndorsementType = "hanse-membership+jwt";
inline constexpr size_t kMaxMembershipRecords = 10000;

struct Charter {
  std::string name;
  int admission_threshold = 0;
  int revocation_threshold = 0;
  std::vector<std::string> founder_cards;         // card JWS, as signed
  std::vector<MemberCard> founders;               // verified
  std::string payload;                            // the canonical JSON every founder signs
  std::string id;                                 // hex SHA-256 of payload: the federation id
  std::map<std::string, std::string> signatures;  // founder DID -> compact JWS over payload
};

// `hanse federation draft`: an unsigned charter file.
absl::StatusOr<std::string> DraftCharter(absl::string_view name, int admission_threshold,
                                         int revocation_threshold,
                                         const std::vector<std::string>& founder_card_files,
                                         absl::Time now);
// Parses a charter file; verifies the founders' cards and any signatures present. With
// `require_all_signatures`, every founder must have signed.
absl::StatusOr<Charter> ParseCharter(absl::string_view file, absl::Time now,
                                     bool require_all_signatures);
// Adds `key`'s signature (its DID must be a founder's). Returns the updated file.
absl::StatusOr<std::string> SignCharter(absl::string_view file, const trust::PrivateKey& key,
                                        absl::Time now);
std::string CharterFile(const Charter& charter);

// Admissions and revocations are votes of current members about a subject. A card update and a
// departure are statements of a member about itself: signed by the subject alone, they need no
// votes. A card update replaces the member's card (a new endpoint, a renewed CA certificate)
// when its card was issued later than the one it holds; a departure removes the member for good
// (its votes cast while a member keep counting; new records it signs are refused).
enum class MembershipAction { kAdmit, kRevoke, kCard, kLeave };

// One member's signed membership statement.
struct Endorsement {
  MembershipAction action;
  std::string federation;
  std::string subject;       // DID
  std::string subject_card;  // card JWS (admissions, card updates)
  MemberCard card;           // that card, as verified with the record
  std::string reason;        // revocations, departures
  std::string signer;
  absl::Time issued = absl::UnixEpoch();
  std::string jws;
};

absl::StatusOr<std::string> SignEndorsement(const Charter& charter, MembershipAction action,
                                            absl::string_view subject,
                                            absl::string_view subject_card,
                                            absl::string_view reason, const trust::PrivateKey& key,
                                            absl::Time now);
absl::StatusOr<Endorsement> VerifyEndorsement(absl::string_view jws, const Charter& charter,
                                              absl::Time now);

struct MembershipState {
  std::map<std::string, MemberCard> members;                   // current, by DID
  std::map<std::string, std::set<std::string>> admitted_by;    // DID -> endorsers
  std::map<std::string, std::set<std::string>> pending_admit;  // applicant -> endorsers
  std::map<std::string, MemberCard> pending_cards;
  std::map<std::string, std::set<std::string>> revoked;  // DID -> voters (permanent)
  std::map<std::string, std::set<std::string>> pending_revoke;
  std::map<std::string, absl::Time> left;  // DID -> when it left (permanent)
};

// The deterministic fixpoint: founders are members; an admission with >= k endorsements from
// current members admits; a revocation with >= r votes from current members revokes for good.
// A departure removes its signer after the fixpoint (the votes it cast keep counting); a
// member's card is the latest issued of its admitted card and its card updates.
MembershipState ComputeMembership(const Charter& charter, const std::vector<Endorsement>& records);

// Persistent, thread-safe membership of one node (kept in the store's meta family).
class Membership {
 public:
  explicit Membership(catalog::Store* store) : store_(store) {}

  absl::Status Load(absl::Time now);
  bool joined() const;
  std::optional<Charter> charter() const;
  MembershipState state() const;
  std::vector<std::string> records() const;
  // The members' statements about themselves (the latest card update of each, departures),
  // at most `limit`: a node offers them to the peers it calls, so a member whose address
  // changed reaches the members that can no longer dial it.
  std::vector<std::string> SelfStatements(size_t limit) const;

  // Stores a fully signed charter. Joining a second, different federation is refused.
  absl::Status Join(const Charter& charter);
  // Verifies and stores a record; returns true when it was new.
  absl::StatusOr<bool> AddRecord(absl::string_view jws, absl::Time now);
  // AddRecord for many records at once (a joining node takes hundreds from one peer): each is
  // verified on its own, the new ones are stored in one synced write and membership is computed
  // once. One result per record, in order: true when new, false when already held, an error
  // when it does not verify (InvalidArgument and the like), no longer applies
  // (FailedPrecondition: its signer left, or a self-statement of a non-member), the store is
  // full (ResourceExhausted) or the write failed.
  std::vector<absl::StatusOr<bool>> AddRecords(const std::vector<std::string>& jws, absl::Time now);
  // SHA-256 over the sorted hashes of the records held: equal on two nodes exactly when they
  // hold the same records (gossip compares it before exchanging any record). Empty before join.
  std::string RecordsRoot() const;
  // The SHA-256 (raw) of every record held, sorted.
  std::vector<std::string> RecordHashes() const;
  // The records whose SHA-256 (raw) is not in `held`.
  std::vector<std::string> RecordsNotIn(const std::set<std::string>& held) const;

  // Called (outside the lock) after the member set changes.
  void OnChange(std::function<void(const MembershipState&)> callback);

 private:
  void Recompute();

  catalog::Store* store_;
  mutable std::mutex mu_;
  std::optional<Charter> charter_;
  std::vector<Endorsement> records_;
  std::set<std::string> record_hashes_;  // hex, as in the store's keys
  std::vector<std::string> record_raw_;  // raw SHA-256 of records_[i]
  std::string records_root_;
  MembershipState state_;
  std::vector<std::function<void(const MembershipState&)>> callbacks_;
};

}  // namespace hanse::node

#endif  // HANSE_NODE_FEDERATION_MEMBERSHIP_H_
