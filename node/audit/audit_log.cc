#include "node/audit/audit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/file.h"
#include "base/log.h"
#include "base/status.h"
#include "node/audit/internal.h"
#include "trust/did_key.h"
#include "trust/encoding.h"

namespace hanse::audit {
namespace {

using catalog::Family;

constexpr absl::string_view kEntryPrefix = "e/";
constexpr absl::string_view kHeadPrefix = "h/";
constexpr size_t kIndexKeyBytes = 2 + 8;

const std::string& ZeroHash() {
  static const std::string* const kZero = new std::string(kHashBytes, '\0');
  return *kZero;
}

std::uint64_t KeyIndex(absl::string_view key) { return internal::ReadBigEndian64(key.substr(2)); }

std::string StoredValue(const AuditEntry& e) { return absl::StrCat(e.hash, e.prev_hash, e.body); }

}  // namespace

std::string EntryKey(std::uint64_t index) {
  return absl::StrCat(kEntryPrefix, internal::BigEndian64(index));
}

std::string HeadKey(std::uint64_t index) {
  return absl::StrCat(kHeadPrefix, internal::BigEndian64(index));
}

absl::StatusOr<AuditEntry> DecodeStoredEntry(std::uint64_t index, absl::string_view value) {
  if (value.size() < 2 * kHashBytes) {
    return absl::DataLossError(absl::StrCat("audit entry ", index, ": record is truncated"));
  }
  AuditEntry e;
  e.index = index;
  e.hash = std::string(value.substr(0, kHashBytes));
  e.prev_hash = std::string(value.substr(kHashBytes, kHashBytes));
  e.body = std::string(value.substr(2 * kHashBytes));
  auto event = DecodeBody(e.body);
  if (!event.ok()) {
    return absl::DataLossError(absl::StrCat("audit entry ", index, ": ", event.status().message()));
  }
  e.event = *std::move(event);
  return e;
}

AuditLog::AuditLog(catalog::Store* store, trust::PrivateKey key, AuditLogOptions options)
    : store_(store),
      key_(std::move(key)),
      did_(trust::EncodeDidKey(key_.Public())),
      options_(options),
      last_hash_(ZeroHash()),
      chained_hash_(last_hash_) {}

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(catalog::Store* store,
                                                         trust::PrivateKey key,
                                                         AuditLogOptions options) {
  if (store == nullptr) return absl::InvalidArgumentError("audit log: no store");
  std::unique_ptr<AuditLog> log(new AuditLog(store, std::move(key), options));
  HANSE_ASSIGN_OR_RETURN(std::optional<std::string> tail, store->Get(Family::kAudit, kTailKey),
                         "audit log: reading tail");
  if (!tail.has_value()) {
    bool any = false;
    HANSE_RETURN_IF_ERROR(store->Scan(Family::kAudit, kEntryPrefix,
                                      [&](absl::string_view, absl::string_view) {
                                        any = true;
                                        return false;
                                      }),
                          "audit log: scanning entries");
    if (any) {
      return absl::DataLossError(
          "audit log: entries are stored but the tail record is missing; run audit verify");
    }
    HANSE_RETURN_IF_ERROR(log->CheckTailMark());  // an empty store may be one that lost all
    return log;
  }
  if (tail->size() != 8 + kHashBytes) {
    return absl::DataLossError("audit log: tail record is malformed");
  }
  const std::uint64_t index = internal::ReadBigEndian64(*tail);
  const std::string hash = tail->substr(8);
  HANSE_ASSIGN_OR_RETURN(std::optional<std::string> last,
                         store->Get(Family::kAudit, EntryKey(index)), "audit log: reading tail");
  if (index == 0 || !last.has_value() || last->size() < 2 * kHashBytes ||
      last->substr(0, kHashBytes) != hash) {
    return absl::DataLossError(
        absl::StrCat("audit log: tail record names entry ", index,
                     " but that entry is missing or has another hash; run audit verify"));
  }
  HANSE_ASSIGN_OR_RETURN(std::optional<std::string> next,
                         store->Get(Family::kAudit, EntryKey(index + 1)),
                         "audit log: reading tail");
  if (next.has_value()) {
    return absl::DataLossError(absl::StrCat("audit log: entry ", index + 1,
                                            " is stored beyond the tail; run audit verify"));
  }
  log->last_index_ = log->chained_index_ = index;
  log->last_hash_ = log->chained_hash_ = hash;
  HANSE_RETURN_IF_ERROR(log->CheckTailMark());
  return log;
}

AuditLog::~AuditLog() {
  if (tail_mark_fd_ >= 0) ::close(tail_mark_fd_);
}

namespace {
// "<index, 20 digits> <hash, 64 hex>\n": one fixed-size record, rewritten in place.
constexpr size_t kTailMarkBytes = 20 + 1 + 2 * kHashBytes + 1;

std::string TailMarkRecord(std::uint64_t index, const std::string& hash) {
  char digits[32];
  std::snprintf(digits, sizeof digits, "%020llu", static_cast<unsigned long long>(index));
  return absl::StrCat(digits, " ", trust::HexEncode(hash), "\n");
}
}  // namespace

absl::Status AuditLog::CheckTailMark() {
  const std::string& path = options_.tail_mark;
  if (path.empty()) return absl::OkStatus();
  std::string text;
  if (PathExists(path)) {
    HANSE_ASSIGN_OR_RETURN(text, ReadFile(path, 4096), "audit log: tail mark");
  }
  // An empty mark is one created but never written (a crash right after its creation): no mark.
  if (!text.empty()) {
    unsigned long long marked = 0;
    char hex[2 * kHashBytes + 1] = {};
    if (text.size() != kTailMarkBytes ||
        std::sscanf(text.c_str(), "%20llu %64[0-9a-f]", &marked, hex) != 2 ||
        std::string(hex).size() != 2 * kHashBytes) {
      return absl::DataLossError(absl::StrCat("audit log: the tail mark ", path,
                                              " is unreadable; move it aside and start again (the "
                                              "store is then checked without it)"));
    }
    if (marked > last_index_) {
      return absl::DataLossError(absl::StrCat(
          "audit log: the store ends at entry ", last_index_, " but entries up to ", marked,
          " were appended (", path, "): entries ", last_index_ + 1, "-", marked,
          " were lost with part of the store. Restore the home from a backup (`hanse restore`); "
          "to go on without them, move ",
          path, " aside (the loss stays in this log line)"));
    }
    if (marked == last_index_ && marked > 0 && hex != trust::HexEncode(last_hash_)) {
      return absl::DataLossError(absl::StrCat("audit log: entry ", marked,
                                              " is not the entry that was appended (", path,
                                              " has another hash); run `hanse audit verify`"));
    }
  }
  if (options_.tail_mark_read_only) return absl::OkStatus();
  tail_mark_fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (tail_mark_fd_ < 0) return ErrnoStatus(errno, path);
  return WriteTailMark(last_index_, last_hash_);
}

absl::Status AuditLog::WriteTailMark(std::uint64_t index, const std::string& hash) {
  if (tail_mark_fd_ < 0) return absl::OkStatus();
  const std::string record = TailMarkRecord(index, hash);
  if (::pwrite(tail_mark_fd_, record.data(), record.size(), 0) !=
          static_cast<ssize_t>(record.size()) ||
      ::fdatasync(tail_mark_fd_) != 0) {
    return ErrnoStatus(errno, options_.tail_mark);
  }
  return absl::OkStatus();
}

struct AuditLog::Pending {
  catalog::WriteBatch batch;  // the entry, the tail record, a head when due, the caller's extra
  std::uint64_t index = 0;
  std::string hash;
  bool done = false;
  absl::Status status;
};

absl::StatusOr<AuditEntry> AuditLog::Append(const AuditEvent& event, catalog::WriteBatch extra) {
  std::unique_lock lock(mu_);
  HANSE_ASSIGN_OR_RETURN(AuditEntry entry, MakeEntry(chained_index_ + 1, chained_hash_, event));
  Pending p;
  p.batch = std::move(extra);
  p.batch.Put(Family::kAudit, EntryKey(entry.index), StoredValue(entry));
  p.batch.Put(Family::kAudit, kTailKey,
              absl::StrCat(internal::BigEndian64(entry.index), entry.hash));
  if (options_.head_every != 0 && entry.index % options_.head_every == 0) {
    HANSE_ASSIGN_OR_RETURN(SignedHead head,
                           audit::SignHead(key_, entry.index, entry.hash, event.time));
    p.batch.Put(Family::kAudit, HeadKey(entry.index), head.jws);
  }
  p.index = entry.index;
  p.hash = entry.hash;
  chained_index_ = entry.index;
  chained_hash_ = entry.hash;
  queue_.push_back(&p);
  while (!p.done) {
    if (writing_) {
      written_.wait(lock);
    } else {
      CommitQueued(lock);
    }
  }
  HANSE_RETURN_IF_ERROR(p.status, "audit log: appending");
  ++appended_by_kind_[event.kind];
  return entry;
}

void AuditLog::CommitQueued(std::unique_lock<std::mutex>& lock) {
  writing_ = true;
  std::vector<Pending*> group;
  group.swap(queue_);
  catalog::WriteBatch batch;
  for (Pending* p : group) batch.Append(std::move(p->batch));
  const std::uint64_t index = group.back()->index;
  const std::string hash = group.back()->hash;
  lock.unlock();
  absl::Status status = store_->Write(batch, /*sync=*/true);
  // The entries are stored; a mark that could not follow only weakens the check at the next
  // open.
  if (status.ok()) {
    if (absl::Status s = WriteTailMark(index, hash); !s.ok()) {
      log::Error("audit log: tail mark not updated", {{"error", s.ToString()}});
    }
  }
  lock.lock();
  writing_ = false;
  if (status.ok()) {
    last_index_ = index;
    last_hash_ = hash;
  } else {
    // Entries queued meanwhile are chained on the ones just lost: they fail with them, and the
    // next entry chains on the last one stored.
    const absl::Status behind = absl::Status(
        status.code(),
        absl::StrCat("an earlier entry of the chain was not stored: ", status.message()));
    for (Pending* p : queue_) {
      p->status = behind;
      p->done = true;
    }
    queue_.clear();
    chained_index_ = last_index_;
    chained_hash_ = last_hash_;
  }
  for (Pending* p : group) {
    p->status = status;
    p->done = true;
  }
  written_.notify_all();
}

std::map<std::string, std::uint64_t> AuditLog::AppendedByKind() const {
  std::lock_guard lock(mu_);
  return appended_by_kind_;
}

absl::StatusOr<SignedHead> AuditLog::SignHead(absl::Time now) {
  std::lock_guard lock(mu_);
  if (last_index_ == 0) return absl::FailedPreconditionError("audit log: empty, nothing to sign");
  HANSE_ASSIGN_OR_RETURN(std::optional<std::string> existing,
                         store_->Get(Family::kAudit, HeadKey(last_index_)),
                         "audit log: reading head");
  if (existing.has_value()) {
    HANSE_ASSIGN_OR_RETURN(SignedHead head, VerifyHead(*existing),
                           absl::StrCat("audit log: stored head at entry ", last_index_));
    if (head.index == last_index_ && head.hash == last_hash_ && head.signer == did_) return head;
    return absl::DataLossError(absl::StrCat("audit log: stored head at entry ", last_index_,
                                            " does not match the log; run audit verify"));
  }
  HANSE_ASSIGN_OR_RETURN(SignedHead head, audit::SignHead(key_, last_index_, last_hash_, now));
  catalog::WriteBatch batch;
  batch.Put(Family::kAudit, HeadKey(head.index), head.jws);
  HANSE_RETURN_IF_ERROR(store_->Write(batch, /*sync=*/true), "audit log: storing head");
  return head;
}

absl::Status AuditLog::ForEach(std::uint64_t from_index, std::uint64_t to_index,
                               const std::function<bool(const AuditEntry&)>& visit) const {
  from_index = std::max<std::uint64_t>(from_index, 1);
  if (from_index > to_index) return absl::OkStatus();
  absl::Status status;
  HANSE_RETURN_IF_ERROR(
      store_->ScanFrom(Family::kAudit, kEntryPrefix, EntryKey(from_index),
                       [&](absl::string_view key, absl::string_view value) {
                         if (key.size() != kIndexKeyBytes) {
                           status = absl::DataLossError("audit log: malformed entry key");
                           return false;
                         }
                         const std::uint64_t index = KeyIndex(key);
                         if (index > to_index) return false;
                         auto entry = DecodeStoredEntry(index, value);
                         if (!entry.ok()) {
                           status = entry.status();
                           return false;
                         }
                         return visit(*entry);
                       }),
      "audit log: scanning entries");
  return status;
}

absl::StatusOr<std::vector<AuditEntry>> AuditLog::List(
    std::uint64_t from_index, size_t limit, const std::optional<std::string>& subject) const {
  limit = std::min(limit, kMaxListLimit);
  std::vector<AuditEntry> out;
  if (limit == 0) return out;
  HANSE_RETURN_IF_ERROR(ForEach(from_index, UINT64_MAX, [&](const AuditEntry& e) {
    if (!subject.has_value() || e.event.subject == *subject) out.push_back(e);
    return out.size() < limit;
  }));
  return out;
}

absl::StatusOr<std::optional<SignedHead>> AuditLog::HeadAtOrAfter(std::uint64_t index) const {
  std::optional<std::string> jws;
  std::uint64_t key_index = 0;
  HANSE_RETURN_IF_ERROR(store_->ScanFrom(Family::kAudit, kHeadPrefix, HeadKey(index),
                                         [&](absl::string_view key, absl::string_view value) {
                                           if (key.size() == kIndexKeyBytes) {
                                             key_index = KeyIndex(key);
                                             jws = std::string(value);
                                           }
                                           return false;
                                         }),
                        "audit log: scanning heads");
  if (!jws.has_value()) return std::optional<SignedHead>();
  auto head = VerifyHead(*jws);
  if (!head.ok() || head->index != key_index) {
    return absl::DataLossError(
        absl::StrCat("audit log: stored head at entry ", key_index, " is invalid"));
  }
  return std::optional<SignedHead>(*std::move(head));
}

absl::StatusOr<AuditVerifyReport> AuditLog::Verify() const {
  std::uint64_t n;
  std::string tail_hash;
  std::optional<std::string> tail_record;
  {
    // A group write in flight has stored a tail beyond last_index_: wait for it to end.
    std::unique_lock lock(mu_);
    written_.wait(lock, [this] { return !writing_; });
    n = last_index_;
    tail_hash = last_hash_;
    HANSE_ASSIGN_OR_RETURN(tail_record, store_->Get(Family::kAudit, kTailKey),
                           "audit verify: reading tail");
  }
  AuditVerifyReport report;
  auto fail = [&report](std::uint64_t index, std::string problem) {
    report.ok = false;
    report.first_bad_index = index;
    report.problem = std::move(problem);
  };

  std::uint64_t expected = 1;
  std::string prev = ZeroHash();
  HANSE_RETURN_IF_ERROR(
      store_->Scan(
          Family::kAudit, kEntryPrefix,
          [&](absl::string_view key, absl::string_view value) {
            if (key.size() != kIndexKeyBytes) {
              fail(expected, absl::StrCat("entry ", expected, ": a malformed key follows it"));
              return false;
            }
            const std::uint64_t index = KeyIndex(key);
            if (index > n) return false;  // appended after we started
            if (index != expected) {
              fail(expected, absl::StrCat("entry ", expected,
                                          ": missing (the next stored entry is ", index, ")"));
              return false;
            }
            if (value.size() < 2 * kHashBytes) {
              fail(index, absl::StrCat("entry ", index, ": record is truncated"));
              return false;
            }
            const absl::string_view stored_hash = value.substr(0, kHashBytes);
            const absl::string_view stored_prev = value.substr(kHashBytes, kHashBytes);
            const absl::string_view body = value.substr(2 * kHashBytes);
            if (EntryHash(index, stored_prev, trust::Sha256(body)) != stored_hash) {
              fail(index, absl::StrCat("entry ", index, ": hash does not match its contents"));
              return false;
            }
            if (stored_prev != prev) {
              fail(index, index == 1 ? std::string("entry 1: prev hash is not all zero")
                                     : absl::StrCat("entry ", index,
                                                    ": prev hash does not match the hash of entry ",
                                                    index - 1));
              return false;
            }
            if (auto event = DecodeBody(body); !event.ok()) {
              fail(index, absl::StrCat("entry ", index, ": ", event.status().message()));
              return false;
            }
            prev = std::string(stored_hash);
            ++report.entries;
            ++expected;
            return true;
          }),
      "audit verify: scanning entries");
  if (report.ok && report.entries < n) {
    fail(expected, absl::StrCat("entry ", expected, ": missing (the log holds ", n, " entries)"));
  }
  if (report.ok && n > 0 && prev != tail_hash) {
    fail(n, absl::StrCat("entry ", n, ": hash differs from the one this node appended"));
  }
  if (report.ok && n > 0 &&
      (!tail_record.has_value() || *tail_record != absl::StrCat(internal::BigEndian64(n), prev))) {
    fail(n, absl::StrCat("entry ", n, ": the tail record does not name it"));
  }

  // Heads: only those before the first bad entry mean anything. Heads are visited in index
  // order, so the first bad one found is the earliest.
  const std::uint64_t limit = report.ok ? n : report.first_bad_index - 1;
  absl::Status status;
  HANSE_RETURN_IF_ERROR(
      store_->Scan(
          Family::kAudit, kHeadPrefix,
          [&](absl::string_view key, absl::string_view value) {
            if (key.size() != kIndexKeyBytes) return true;
            const std::uint64_t index = KeyIndex(key);
            if (index > limit) return false;
            auto head = VerifyHead(value);
            if (!head.ok()) {
              fail(index, absl::StrCat("head at entry ", index, ": ", head.status().message()));
              return false;
            }
            if (head->signer != did_) {
              fail(index, absl::StrCat("head at entry ", index, ": signed by ", head->signer,
                                       ", not by the log owner ", did_));
              return false;
            }
            if (head->index != index) {
              fail(index, absl::StrCat("head at entry ", index, ": names entry ", head->index));
              return false;
            }
            auto stored = store_->Get(Family::kAudit, EntryKey(index));
            if (!stored.ok()) {
              status = stored.status();
              return false;
            }
            if (!stored->has_value() || (*stored)->substr(0, kHashBytes) != head->hash) {
              fail(index, absl::StrCat("head at entry ", index,
                                       ": signed hash does not match entry ", index));
              return false;
            }
            ++report.heads;
            return true;
          }),
      "audit verify: scanning heads");
  HANSE_RETURN_IF_ERROR(status, "audit verify: reading entry");
  return report;
}

std::uint64_t AuditLog::size() const {
  std::lock_guard lock(mu_);
  return last_index_;
}

std::string AuditLog::tail_hash() const {
  std::lock_guard lock(mu_);
  return last_hash_;
}

}  // namespace hanse::audit
