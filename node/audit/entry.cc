#include "node/audit/entry.h"

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "node/audit/internal.h"
#include "trust/did_key.h"
#include "trust/encoding.h"
#include "trust/jws.h"

namespace hanse::audit {
namespace {

using Json = nlohmann::json;

constexpr absl::string_view kLinkDomain = "hanse.audit.v1";

absl::Status EventError(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("audit event field \"", field, "\": ", problem));
}

// Serialises details, refusing strings that are not UTF-8 (dump would otherwise throw or
// silently repair them, and we must sign exactly what we were given).
absl::StatusOr<std::string> DumpDetails(const Json& details) {
  std::string replaced = details.dump(-1, ' ', false, Json::error_handler_t::replace);
  std::string ignored = details.dump(-1, ' ', false, Json::error_handler_t::ignore);
  if (replaced != ignored) return EventError("details", "contains a string that is not UTF-8");
  return replaced;
}

}  // namespace

absl::Status ValidateEvent(const AuditEvent& e) {
  if (e.kind.empty() || e.kind.size() > kMaxKindBytes ||
      e.kind.find_first_not_of("abcdefghijklmnopqrstuvwxyz.") != std::string::npos) {
    return EventError("kind", "must be 1 to 64 characters from [a-z.]");
  }
  if (e.subject.empty() || e.subject.size() > kMaxSubjectBytes) {
    return EventError("subject", "must be 1 to 256 bytes");
  }
  if (!internal::IsPrintableUtf8(e.subject)) {
    return EventError("subject", "must be UTF-8 without control characters");
  }
  if (!trust::IsDidKey(e.actor)) return EventError("actor", "must be a did:key DID");
  if (!internal::TimeInRange(e.time)) return EventError("time", "must be in 1970..9999");
  if (!e.details.is_object()) return EventError("details", "must be a JSON object");
  HANSE_ASSIGN_OR_RETURN(std::string details, DumpDetails(e.details));
  if (details.size() > kMaxDetailsBytes) {
    return EventError("details", absl::StrCat("encodes to ", details.size(),
                                              " bytes, more than the limit of ", kMaxDetailsBytes));
  }
  // The verifier parses bodies with a depth bound; never write one it would refuse.
  HANSE_RETURN_IF_ERROR(
      internal::ParseBoundedJson(details, "audit event field \"details\"").status());
  return absl::OkStatus();
}

absl::StatusOr<std::string> EncodeBody(const AuditEvent& e) {
  HANSE_RETURN_IF_ERROR(ValidateEvent(e));
  HANSE_ASSIGN_OR_RETURN(std::string details, DumpDetails(e.details));
  return absl::StrCat(R"({"time":")", internal::FormatUtc(e.time), R"(","kind":)",
                      internal::JsonString(e.kind), R"(,"subject":)",
                      internal::JsonString(e.subject), R"(,"actor":)",
                      internal::JsonString(e.actor), R"(,"details":)", details, "}");
}

absl::StatusOr<AuditEvent> DecodeBody(absl::string_view body) {
  if (body.size() > kMaxDetailsBytes + 1024) {
    return absl::InvalidArgumentError("entry body is larger than any valid entry");
  }
  HANSE_ASSIGN_OR_RETURN(Json j, internal::ParseBoundedJson(body, "entry body"));
  if (!j.is_object() || j.size() != 5) {
    return absl::InvalidArgumentError(
        "entry body: must be an object with exactly time, kind, subject, actor, details");
  }
  AuditEvent e;
  HANSE_ASSIGN_OR_RETURN(std::string time, internal::GetString(j, "time", "entry body"));
  HANSE_ASSIGN_OR_RETURN(e.time, internal::ParseUtc(time, "entry body field \"time\""));
  HANSE_ASSIGN_OR_RETURN(e.kind, internal::GetString(j, "kind", "entry body"));
  HANSE_ASSIGN_OR_RETURN(e.subject, internal::GetString(j, "subject", "entry body"));
  HANSE_ASSIGN_OR_RETURN(e.actor, internal::GetString(j, "actor", "entry body"));
  auto it = j.find("details");
  if (it == j.end()) return absl::InvalidArgumentError("entry body: field \"details\" missing");
  e.details = std::move(*it);
  HANSE_ASSIGN_OR_RETURN(std::string again, EncodeBody(e), "entry body");
  if (again != body) {
    return absl::InvalidArgumentError("entry body: not in canonical form");
  }
  return e;
}

std::string EntryHash(std::uint64_t index, absl::string_view prev_hash,
                      absl::string_view body_digest) {
  std::string link = absl::StrCat(kLinkDomain, absl::string_view("\0", 1),
                                  internal::BigEndian64(index), prev_hash, body_digest);
  return trust::Sha256(link);
}

absl::StatusOr<AuditEntry> MakeEntry(std::uint64_t index, absl::string_view prev_hash,
                                     const AuditEvent& event) {
  if (index == 0) return absl::InvalidArgumentError("audit entry index must be at least 1");
  if (prev_hash.size() != kHashBytes) {
    return absl::InvalidArgumentError("audit entry prev hash must be 32 bytes");
  }
  AuditEntry entry;
  HANSE_ASSIGN_OR_RETURN(entry.body, EncodeBody(event));
  entry.index = index;
  entry.event = event;
  entry.prev_hash = std::string(prev_hash);
  entry.hash = EntryHash(index, prev_hash, trust::Sha256(entry.body));
  return entry;
}

absl::StatusOr<SignedHead> SignHead(const trust::PrivateKey& key, std::uint64_t index,
                                    absl::string_view hash, absl::Time time) {
  if (index == 0 || hash.size() != kHashBytes || !internal::TimeInRange(time)) {
    return absl::InvalidArgumentError("audit head: needs index >= 1, a 32-byte hash, a valid time");
  }
  SignedHead head;
  head.index = index;
  head.hash = std::string(hash);
  head.time = time;
  head.signer = trust::EncodeDidKey(key.Public());
  nlohmann::ordered_json p;
  p["index"] = index;
  p["hash"] = trust::HexEncode(hash);
  p["time"] = internal::FormatUtc(time);
  p["signer"] = head.signer;
  HANSE_ASSIGN_OR_RETURN(
      head.jws,
      trust::SignCompact(key, trust::DidKeyVerificationMethod(head.signer), kHeadType, p.dump()),
      "signing audit head");
  return head;
}

absl::StatusOr<SignedHead> VerifyHead(absl::string_view jws) {
  HANSE_ASSIGN_OR_RETURN(trust::VerifiedJws v,
                         trust::VerifyCompact(jws, {.expected_typ = std::string(kHeadType)}),
                         "audit head");
  HANSE_ASSIGN_OR_RETURN(Json j, internal::ParseBoundedJson(v.payload, "audit head payload"));
  if (!j.is_object()) return absl::InvalidArgumentError("audit head payload: not an object");
  SignedHead head;
  head.jws = std::string(jws);
  HANSE_ASSIGN_OR_RETURN(head.index, internal::GetUint(j, "index", "audit head payload"));
  HANSE_ASSIGN_OR_RETURN(std::string hash, internal::GetString(j, "hash", "audit head payload"));
  HANSE_ASSIGN_OR_RETURN(
      head.hash, internal::HexDecode(hash, kHashBytes, "audit head payload field \"hash\""));
  HANSE_ASSIGN_OR_RETURN(std::string time, internal::GetString(j, "time", "audit head payload"));
  HANSE_ASSIGN_OR_RETURN(head.time, internal::ParseUtc(time, "audit head payload field \"time\""));
  HANSE_ASSIGN_OR_RETURN(head.signer, internal::GetString(j, "signer", "audit head payload"));
  if (head.index == 0) return absl::InvalidArgumentError("audit head payload: index 0");
  if (head.signer != v.signer_did) {
    return absl::UnauthenticatedError(
        absl::StrCat("audit head: names signer ", head.signer, " but is signed by ", v.signer_did));
  }
  return head;
}

}  // namespace hanse::audit
