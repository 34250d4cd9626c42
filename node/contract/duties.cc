#include "node/contract/duties.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/file.h"
#include "base/json.h"
#include "base/status.h"
#include "nlohmann/json.hpp"
#include "node/contract/internal.h"
#include "node/contract/keys.h"
#include "trust/did_key.h"
#include "trust/jws.h"

namespace hanse::contract {
namespace {

using Json = nlohmann::json;
using catalog::Family;

constexpr absl::string_view kReceiptPayloadType = "HanseDutyReceipt";
constexpr int kDutyRecordVersion = 1;

std::string DutyToJson(const Duty& d) {
  Json j;
  j["v"] = kDutyRecordVersion;
  j["id"] = d.id;
  j["agreementId"] = d.agreement_id;
  j["kind"] = std::string(DutyKindName(d.kind));
  j["path"] = d.path;
  j["recipient"] = d.recipient;
  j["due"] = internal::FormatTime(d.due);
  j["created"] = internal::FormatTime(d.created);
  j["done"] = d.done;
  if (d.done) {
    j["doneAt"] = internal::FormatTime(d.done_at);
    j["result"] = d.result;
  }
  return j.dump();
}

absl::StatusOr<Duty> DutyFromJson(absl::string_view text) {
  auto corrupt = [](absl::string_view what) {
    return absl::DataLossError(absl::StrCat("stored duty: ", what));
  };
  Json j = ParseJson(text).value_or(Json());
  if (!j.is_object() || j.value("v", 0) != kDutyRecordVersion) {
    return corrupt("not a version 1 duty record");
  }
  auto str = [&](const char* key) -> absl::StatusOr<std::string> {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) {
      return corrupt(absl::StrCat("\"", key, "\" missing or not a string"));
    }
    return it->get<std::string>();
  };
  auto time = [&](const char* key) -> absl::StatusOr<absl::Time> {
    HANSE_ASSIGN_OR_RETURN(std::string s, str(key));
    std::optional<absl::Time> t = internal::ParseTime(s);
    if (!t) return corrupt(absl::StrCat("\"", key, "\" is not a date-time"));
    return *t;
  };
  Duty d;
  HANSE_ASSIGN_OR_RETURN(d.id, str("id"));
  HANSE_ASSIGN_OR_RETURN(d.agreement_id, str("agreementId"));
  HANSE_ASSIGN_OR_RETURN(std::string kind, str("kind"));
  absl::StatusOr<DutyKind> parsed = ParseDutyKind(kind);
  if (!parsed.ok()) return corrupt(parsed.status().message());
  d.kind = *parsed;
  HANSE_ASSIGN_OR_RETURN(d.path, str("path"));
  HANSE_ASSIGN_OR_RETURN(d.recipient, str("recipient"));
  HANSE_ASSIGN_OR_RETURN(d.due, time("due"));
  HANSE_ASSIGN_OR_RETURN(d.created, time("created"));
  auto done = j.find("done");
  if (done == j.end() || !done->is_boolean()) return corrupt("\"done\" is not a boolean");
  d.done = done->get<bool>();
  if (d.done) {
    HANSE_ASSIGN_OR_RETURN(d.done_at, time("doneAt"));
    HANSE_ASSIGN_OR_RETURN(d.result, str("result"));
  }
  return d;
}

absl::Status CheckDuty(const Duty& d) {
  auto bad = [](absl::string_view field, absl::string_view problem) {
    return absl::InvalidArgumentError(absl::StrCat("duty ", field, ": ", problem));
  };
  if (!internal::IsValidId(d.id)) return bad("id", "missing or not 1-256 printable characters");
  if (!internal::IsValidId(d.agreement_id)) return bad("agreementId", "missing or malformed");
  if (d.kind == DutyKind::kDelete && d.path.empty()) return bad("path", "a delete needs a path");
  if (d.path.size() > 4096) return bad("path", "longer than 4096 bytes");
  if (!d.recipient.empty() && !trust::IsDidKey(d.recipient)) {
    return bad("recipient", "not a did:key DID");
  }
  if (d.due == absl::InfinitePast() || d.due == absl::InfiniteFuture()) {
    return bad("due", "not a finite time");
  }
  return absl::OkStatus();
}

// An owned file descriptor.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      if (fd_ >= 0) close(fd_);
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// Removes the directory `name` in `parent` and everything below it without following symbolic
// links (every open is O_NOFOLLOW relative to an already-open directory, so a link swapped in
// cannot redirect the walk). Counts removed entries (the directory itself excluded).
absl::Status RemoveTree(int parent, const std::string& name, const std::string& shown,
                        std::uint64_t& removed, int depth) {
  if (depth > 256) return absl::ResourceExhaustedError(absl::StrCat(shown, ": nested too deep"));
  int raw = openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (raw < 0) return ErrnoStatus(errno, shown);
  DIR* dir = fdopendir(raw);  // takes ownership of raw
  if (dir == nullptr) {
    int err = errno;
    close(raw);
    return ErrnoStatus(err, shown);
  }
  const int dfd = dirfd(dir);
  std::vector<std::string> names;
  errno = 0;
  while (dirent* e = readdir(dir)) {
    std::string child = e->d_name;
    if (child != "." && child != "..") names.push_back(std::move(child));
  }
  absl::Status status = errno != 0 ? ErrnoStatus(errno, shown) : absl::OkStatus();
  for (const std::string& child : names) {
    if (!status.ok()) break;
    const std::string child_shown = absl::StrCat(shown, "/", child);
    struct stat st;
    if (fstatat(dfd, child.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;
      status = ErrnoStatus(errno, child_shown);
    } else if (S_ISDIR(st.st_mode)) {
      status = RemoveTree(dfd, child, child_shown, removed, depth + 1);
      if (status.ok()) ++removed;
    } else if (unlinkat(dfd, child.c_str(), 0) != 0) {
      if (errno != ENOENT) status = ErrnoStatus(errno, child_shown);
    } else {
      ++removed;
    }
  }
  closedir(dir);
  HANSE_RETURN_IF_ERROR(status);
  if (unlinkat(parent, name.c_str(), AT_REMOVEDIR) != 0) return ErrnoStatus(errno, shown);
  return absl::OkStatus();
}

}  // namespace

absl::string_view DutyKindName(DutyKind kind) {
  return kind == DutyKind::kDelete ? "delete" : "notify";
}

absl::StatusOr<DutyKind> ParseDutyKind(absl::string_view name) {
  if (name == "delete") return DutyKind::kDelete;
  if (name == "notify") return DutyKind::kNotify;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown duty kind \"", name, "\" (delete or notify)"));
}

absl::StatusOr<Duty> DutyScheduler::Schedule(const Duty& duty, absl::Time now) {
  HANSE_RETURN_IF_ERROR(CheckDuty(duty));
  std::lock_guard lock(mu_);
  HANSE_ASSIGN_OR_RETURN(std::optional<std::string> stored,
                         store_->Get(Family::kContracts, DutyKey(duty.id)));
  if (stored) {
    HANSE_ASSIGN_OR_RETURN(Duty d, DutyFromJson(*stored));
    if (d.agreement_id != duty.agreement_id || d.kind != duty.kind || d.path != duty.path ||
        d.recipient != duty.recipient || d.due != duty.due) {
      return absl::AlreadyExistsError(
          absl::StrCat("duty ", duty.id, " already exists and describes another duty"));
    }
    return d;
  }
  Duty d = duty;
  d.created = now;
  d.done = false;
  d.done_at = absl::Time();
  d.result.clear();
  catalog::WriteBatch batch;
  batch.Put(Family::kContracts, DutyKey(d.id), DutyToJson(d));
  HANSE_RETURN_IF_ERROR(store_->Write(batch, /*sync=*/true), absl::StrCat("storing duty ", d.id));
  return d;
}

absl::StatusOr<Duty> DutyScheduler::Get(absl::string_view id) const {
  HANSE_ASSIGN_OR_RETURN(std::optional<std::string> stored,
                         store_->Get(Family::kContracts, DutyKey(id)));
  if (!stored) return absl::NotFoundError(absl::StrCat("no duty ", id));
  return DutyFromJson(*stored);
}

absl::StatusOr<std::vector<Duty>> DutyScheduler::All() const {
  std::vector<Duty> out;
  absl::Status status;
  HANSE_RETURN_IF_ERROR(store_->Scan(Family::kContracts, kDutyPrefix,
                                     [&](absl::string_view, absl::string_view value) {
                                       absl::StatusOr<Duty> d = DutyFromJson(value);
                                       if (!d.ok()) {
                                         status = d.status();
                                         return false;
                                       }
                                       out.push_back(*std::move(d));
                                       return true;
                                     }));
  HANSE_RETURN_IF_ERROR(status);
  return out;
}

absl::StatusOr<std::vector<Duty>> DutyScheduler::Due(absl::Time now, size_t limit) const {
  HANSE_ASSIGN_OR_RETURN(std::vector<Duty> all, All());
  std::vector<Duty> due;
  for (Duty& d : all) {
    if (!d.done && d.due <= now) due.push_back(std::move(d));
  }
  std::sort(due.begin(), due.end(), [](const Duty& a, const Duty& b) {
    return a.due != b.due ? a.due < b.due : a.id < b.id;
  });
  if (due.size() > limit) due.resize(limit);
  return due;
}

absl::StatusOr<std::vector<Duty>> DutyScheduler::ForAgreement(
    absl::string_view agreement_id) const {
  HANSE_ASSIGN_OR_RETURN(std::vector<Duty> all, All());
  std::vector<Duty> out;
  for (Duty& d : all) {
    if (d.agreement_id == agreement_id) out.push_back(std::move(d));
  }
  return out;
}

absl::StatusOr<Duty> DutyScheduler::MarkDone(absl::string_view id, absl::string_view result,
                                             absl::Time now) {
  std::lock_guard lock(mu_);
  HANSE_ASSIGN_OR_RETURN(Duty d, Get(id));
  if (d.done) return d;
  d.done = true;
  d.done_at = now;
  d.result = std::string(result);
  catalog::WriteBatch batch;
  batch.Put(Family::kContracts, DutyKey(d.id), DutyToJson(d));
  HANSE_RETURN_IF_ERROR(store_->Write(batch, /*sync=*/true),
                        absl::StrCat("completing duty ", d.id));
  return d;
}

absl::StatusOr<std::string> ExecuteDeleteDuty(absl::string_view root, absl::string_view path) {
  std::string root_dir(root);
  while (root_dir.size() > 1 && root_dir.back() == '/') root_dir.pop_back();
  if (root_dir.empty()) return absl::InvalidArgumentError("delete duty: empty data root");
  absl::string_view rel = path;
  if (absl::StartsWith(rel, "/")) {
    if (!absl::StartsWith(rel, absl::StrCat(root_dir, "/"))) {
      return absl::InvalidArgumentError(
          absl::StrCat("delete duty: ", path, " is outside the data root ", root_dir));
    }
    rel.remove_prefix(root_dir.size() + 1);
  }
  std::vector<std::string> parts;
  for (absl::string_view part : absl::StrSplit(rel, '/', absl::SkipEmpty())) {
    if (part == ".") continue;
    if (part == "..") {
      return absl::InvalidArgumentError(
          absl::StrCat("delete duty: ", path, " escapes the data root (\"..\")"));
    }
    parts.emplace_back(part);
  }
  if (parts.empty()) {
    return absl::InvalidArgumentError("delete duty: refusing to delete the data root itself");
  }
  const std::string shown = absl::StrJoin(parts, "/");
  const std::string absent = absl::StrCat("nothing to delete: ", shown, " does not exist");

  Fd dir(open(root_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) return ErrnoStatus(errno, absl::StrCat("data root ", root_dir));
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    Fd next(openat(dir.get(), parts[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (next.get() < 0) {
      const int err = errno;
      if (err == ENOENT) return absent;
      const std::string prefix = absl::StrJoin(parts.begin(), parts.begin() + i + 1, "/");
      if (err == ELOOP || err == ENOTDIR) {
        return absl::PermissionDeniedError(absl::StrCat(
            "delete duty: ", prefix, " is a symbolic link or not a directory (not followed)"));
      }
      return ErrnoStatus(err, prefix);
    }
    dir = std::move(next);
  }
  const std::string& last = parts.back();
  struct stat st;
  if (fstatat(dir.get(), last.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return absent;
    return ErrnoStatus(errno, shown);
  }
  if (S_ISDIR(st.st_mode)) {
    std::uint64_t removed = 0;
    HANSE_RETURN_IF_ERROR(RemoveTree(dir.get(), last, shown, removed, 0), "delete duty");
    return absl::StrCat("deleted directory ", shown, " (", removed, " entries inside)");
  }
  if (unlinkat(dir.get(), last.c_str(), 0) != 0) {
    if (errno == ENOENT) return absent;
    return Annotate(ErrnoStatus(errno, shown), "delete duty");
  }
  if (S_ISLNK(st.st_mode)) {
    return absl::StrCat("deleted symbolic link ", shown, " (its target was not touched)");
  }
  return absl::StrCat("deleted file ", shown, " (", st.st_size, " bytes)");
}

absl::StatusOr<DutyReceipt> ReceiptFor(const Duty& duty, absl::string_view executor_did) {
  if (!duty.done) {
    return absl::FailedPreconditionError(absl::StrCat("duty ", duty.id, " is not done"));
  }
  return DutyReceipt{duty.id,      duty.agreement_id, std::string(DutyKindName(duty.kind)),
                     duty.done_at, duty.result,       std::string(executor_did)};
}

absl::StatusOr<std::string> SignDutyReceipt(const DutyReceipt& r, const trust::PrivateKey& key) {
  const std::string did = trust::EncodeDidKey(key.Public());
  if (did != r.executor_did) {
    return absl::PermissionDeniedError(absl::StrCat(
        "duty receipt: the signing key (", did, ") is not the executor's (", r.executor_did, ")"));
  }
  if (!internal::IsValidId(r.duty_id) || !internal::IsValidId(r.agreement_id)) {
    return absl::InvalidArgumentError("duty receipt: malformed duty or agreement id");
  }
  HANSE_RETURN_IF_ERROR(ParseDutyKind(r.kind).status(), "duty receipt");
  Json j;
  j["@type"] = std::string(kReceiptPayloadType);
  j["dutyId"] = r.duty_id;
  j["agreementId"] = r.agreement_id;
  j["kind"] = r.kind;
  j["executedAt"] = internal::FormatTime(r.executed_at);
  j["result"] = r.result;
  j["executor"] = r.executor_did;
  return trust::SignCompact(key, trust::DidKeyVerificationMethod(did), kDutyReceiptJwsType,
                            j.dump());
}

absl::StatusOr<DutyReceipt> VerifyDutyReceipt(absl::string_view jws) {
  HANSE_ASSIGN_OR_RETURN(
      trust::VerifiedJws v,
      trust::VerifyCompact(jws, {.expected_typ = std::string(kDutyReceiptJwsType)}),
      "duty receipt");
  auto bad = [](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("duty receipt payload: ", what));
  };
  Json j = ParseJson(v.payload).value_or(Json());
  if (!j.is_object()) return bad("not a JSON object");
  auto str = [&](const char* key) -> absl::StatusOr<std::string> {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) {
      return bad(absl::StrCat("\"", key, "\" missing or not a string"));
    }
    return it->get<std::string>();
  };
  HANSE_ASSIGN_OR_RETURN(std::string type, str("@type"));
  if (type != kReceiptPayloadType) return bad(absl::StrCat("@type is not ", kReceiptPayloadType));
  DutyReceipt r;
  HANSE_ASSIGN_OR_RETURN(r.duty_id, str("dutyId"));
  HANSE_ASSIGN_OR_RETURN(r.agreement_id, str("agreementId"));
  HANSE_ASSIGN_OR_RETURN(r.kind, str("kind"));
  HANSE_RETURN_IF_ERROR(ParseDutyKind(r.kind).status(), "duty receipt payload");
  HANSE_ASSIGN_OR_RETURN(std::string executed, str("executedAt"));
  std::optional<absl::Time> t = internal::ParseTime(executed);
  if (!t) return bad("\"executedAt\" is not an RFC 3339 date-time");
  r.executed_at = *t;
  HANSE_ASSIGN_OR_RETURN(r.result, str("result"));
  HANSE_ASSIGN_OR_RETURN(r.executor_did, str("executor"));
  if (v.signer_did != r.executor_did) {
    return absl::PermissionDeniedError(absl::StrCat("duty receipt: signed by ", v.signer_did,
                                                    ", but the executor is ", r.executor_did));
  }
  return r;
}

}  // namespace hanse::contract
