#include "node/audit/evidence.h"

#include <algorithm>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "nlohmann/json.hpp"
#include "node/audit/internal.h"
#include "trust/did_key.h"
#include "trust/encoding.h"
#include "trust/jws.h"

namespace hanse::audit {
namespace {

using Json = nlohmann::json;
using OJson = nlohmann::ordered_json;

constexpr int kBundleVersion = 1;
constexpr absl::string_view kCardType = "hanse-card+jwt";  // node/card.h; kept opaque here

absl::Status PartError(absl::string_view part, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(part, ": ", problem));
}

absl::StatusOr<const Json*> Member(const Json& j, const char* key, absl::string_view part) {
  auto it = j.find(key);
  if (it == j.end()) return PartError(part, absl::StrCat("field \"", key, "\" missing"));
  return &*it;
}

absl::StatusOr<const Json*> ArrayMember(const Json& j, const char* key, size_t max,
                                        absl::string_view part) {
  HANSE_ASSIGN_OR_RETURN(const Json* a, Member(j, key, part));
  if (!a->is_array()) return PartError(part, absl::StrCat("field \"", key, "\" is not an array"));
  if (a->size() > max) {
    return absl::ResourceExhaustedError(absl::StrCat(part, ": field \"", key, "\" has ", a->size(),
                                                     " items, more than the limit of ", max));
  }
  return a;
}

// Verifies the agreement tokens and returns the parties they agree on.
absl::StatusOr<AgreementParties> CheckAgreements(const Json& tokens) {
  if (tokens.empty()) return PartError("agreements", "none given");
  std::optional<AgreementParties> parties;
  bool by_provider = false, by_consumer = false;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string part = absl::StrCat("agreements[", i, "]");
    if (!tokens[i].is_string()) return PartError(part, "not a string");
    HANSE_ASSIGN_OR_RETURN(trust::VerifiedJws v, trust::VerifyCompact(tokens[i].get<std::string>()),
                           part);
    HANSE_ASSIGN_OR_RETURN(Json p, internal::ParseBoundedJson(v.payload, part));
    if (!p.is_object()) return PartError(part, "payload is not a JSON object");
    AgreementParties a;
    HANSE_ASSIGN_OR_RETURN(a.id, internal::GetString(p, "id", part));
    HANSE_ASSIGN_OR_RETURN(a.provider, internal::GetString(p, "provider", part));
    HANSE_ASSIGN_OR_RETURN(a.consumer, internal::GetString(p, "consumer", part));
    if (a.id.empty()) return PartError(part, "field \"id\" is empty");
    if (!trust::IsDidKey(a.provider)) return PartError(part, "provider is not a did:key DID");
    if (!trust::IsDidKey(a.consumer)) return PartError(part, "consumer is not a did:key DID");
    if (a.provider == a.consumer) return PartError(part, "provider and consumer are the same DID");
    if (parties.has_value() && (a.id != parties->id || a.provider != parties->provider ||
                                a.consumer != parties->consumer)) {
      return PartError(part, "names another id, provider or consumer than agreements[0]");
    }
    if (v.signer_did == a.provider) {
      by_provider = true;
    } else if (v.signer_did == a.consumer) {
      by_consumer = true;
    } else {
      return absl::PermissionDeniedError(absl::StrCat(
          part, ": signed by ", v.signer_did, ", who is neither its provider nor its consumer"));
    }
    parties = std::move(a);
  }
  if (!by_provider) {
    return absl::PermissionDeniedError(
        absl::StrCat("agreements: none is signed by the provider ", parties->provider));
  }
  if (!by_consumer) {
    return absl::PermissionDeniedError(
        absl::StrCat("agreements: none is signed by the consumer ", parties->consumer));
  }
  return *std::move(parties);
}

// Verifies the member cards; each must belong to one of the parties, and each party needs one.
absl::StatusOr<std::vector<std::string>> CheckCards(const Json& cards,
                                                    const AgreementParties& agreement,
                                                    const std::string& log_owner) {
  const std::set<std::string> parties = {agreement.provider, agreement.consumer, log_owner};
  std::set<std::string> seen;
  std::vector<std::string> dids;
  for (size_t i = 0; i < cards.size(); ++i) {
    const std::string part = absl::StrCat("cards[", i, "]");
    if (!cards[i].is_string()) return PartError(part, "not a string");
    HANSE_ASSIGN_OR_RETURN(
        trust::VerifiedJws v,
        trust::VerifyCompact(cards[i].get<std::string>(), {.expected_typ = std::string(kCardType)}),
        part);
    HANSE_ASSIGN_OR_RETURN(Json p, internal::ParseBoundedJson(v.payload, part));
    if (!p.is_object()) return PartError(part, "payload is not a JSON object");
    HANSE_ASSIGN_OR_RETURN(std::string did, internal::GetString(p, "did", part));
    if (did != v.signer_did) {
      return absl::UnauthenticatedError(
          absl::StrCat(part, ": names ", did, " but is signed by ", v.signer_did));
    }
    if (!parties.contains(did)) {
      return absl::PermissionDeniedError(absl::StrCat(
          part, ": card of ", did, ", who is neither provider, consumer nor log owner"));
    }
    if (!seen.insert(did).second) return PartError(part, absl::StrCat("second card for ", did));
    dids.push_back(did);
  }
  const std::pair<const char*, const std::string*> roles[] = {{"provider", &agreement.provider},
                                                              {"consumer", &agreement.consumer},
                                                              {"log owner", &log_owner}};
  for (const auto& [role, did] : roles) {
    if (!seen.contains(*did)) {
      return PartError("cards", absl::StrCat("no member card for the ", role, " ", *did));
    }
  }
  return dids;
}

// Checks one segment: contiguous entries, each linked to the one before, the last one signed by
// the log owner's head. Appends disclosed entries to `report`.
absl::Status CheckSegment(const Json& segment, size_t s, std::uint64_t after_index,
                          EvidenceReport& report) {
  const std::string part = absl::StrCat("segments[", s, "]");
  if (!segment.is_object()) return PartError(part, "not an object");
  HANSE_ASSIGN_OR_RETURN(const Json* head_jws, Member(segment, "head", part));
  if (!head_jws->is_string()) return PartError(part, "field \"head\" is not a string");
  HANSE_ASSIGN_OR_RETURN(SignedHead head, VerifyHead(head_jws->get<std::string>()),
                         absl::StrCat(part, " head"));
  if (head.signer != report.log_owner) {
    return absl::PermissionDeniedError(absl::StrCat(part, " head: signed by ", head.signer,
                                                    ", not by the log owner ", report.log_owner));
  }
  HANSE_ASSIGN_OR_RETURN(const Json* entries,
                         ArrayMember(segment, "entries", kMaxBundleEntries, part));
  if (entries->empty()) return PartError(part, "has no entries");

  std::string prev_hash;  // hash of the previous entry in this segment
  std::uint64_t prev_index = 0;
  for (size_t k = 0; k < entries->size(); ++k) {
    const Json& e = (*entries)[k];
    std::string epart = absl::StrCat(part, " entries[", k, "]");
    if (!e.is_object()) return PartError(epart, "not an object");
    HANSE_ASSIGN_OR_RETURN(std::uint64_t index, internal::GetUint(e, "index", epart));
    epart = absl::StrCat(part, " entry ", index);
    if (k == 0 && index <= after_index) {
      return PartError(epart, absl::StrCat("segments must follow each other in index order (",
                                           "the previous one ends at entry ", after_index, ")"));
    }
    if (index == 0) return PartError(epart, "index 0");
    if (k > 0 && index != prev_index + 1) {
      return PartError(epart, absl::StrCat("does not follow entry ", prev_index));
    }
    HANSE_ASSIGN_OR_RETURN(std::string prev_hex, internal::GetString(e, "prev", epart));
    HANSE_ASSIGN_OR_RETURN(std::string prev,
                           internal::HexDecode(prev_hex, kHashBytes, absl::StrCat(epart, " prev")));
    if (index == 1 && prev != std::string(kHashBytes, '\0')) {
      return PartError(epart, "prev hash of entry 1 is not all zero");
    }
    if (k > 0 && prev != prev_hash) {
      return absl::InvalidArgumentError(absl::StrCat(part, ": entry ", prev_index,
                                                     " does not hash to the prev hash recorded in "
                                                     "entry ",
                                                     index, " (one of them was altered)"));
    }
    const bool has_body = e.contains("body");
    const bool has_digest = e.contains("body_sha256");
    if (has_body == has_digest || e.size() != 3) {
      return PartError(epart, "must have index, prev and exactly one of body, body_sha256");
    }
    std::string digest;
    if (has_body) {
      HANSE_ASSIGN_OR_RETURN(std::string body, internal::GetString(e, "body", epart));
      HANSE_ASSIGN_OR_RETURN(AuditEvent event, DecodeBody(body), epart);
      digest = trust::Sha256(body);
      AuditEntry entry;
      entry.index = index;
      entry.event = std::move(event);
      entry.prev_hash = prev;
      entry.hash = EntryHash(index, prev, digest);
      entry.body = std::move(body);
      report.entries.push_back(std::move(entry));
    } else {
      HANSE_ASSIGN_OR_RETURN(std::string hex, internal::GetString(e, "body_sha256", epart));
      HANSE_ASSIGN_OR_RETURN(
          digest, internal::HexDecode(hex, kHashBytes, absl::StrCat(epart, " body_sha256")));
      ++report.redacted_entries;
    }
    prev_hash = EntryHash(index, prev, digest);
    prev_index = index;
  }
  if (prev_index != head.index) {
    return PartError(part, absl::StrCat("ends at entry ", prev_index, " but its head is for entry ",
                                        head.index));
  }
  if (prev_hash != head.hash) {
    return absl::InvalidArgumentError(
        absl::StrCat(part, ": entry ", head.index,
                     " does not hash to the hash in the signed head (an entry of this segment "
                     "was altered)"));
  }
  report.heads.push_back(std::move(head));
  return absl::OkStatus();
}

OJson EntryJson(const AuditEntry& e, bool disclose) {
  OJson j;
  j["index"] = e.index;
  j["prev"] = trust::HexEncode(e.prev_hash);
  if (disclose) {
    j["body"] = e.body;
  } else {
    j["body_sha256"] = trust::HexEncode(trust::Sha256(e.body));
  }
  return j;
}

}  // namespace

absl::StatusOr<std::string> ExportEvidence(AuditLog& log, absl::string_view subject,
                                           const EvidenceInputs& inputs, absl::Time now) {
  if (inputs.agreements.size() > kMaxBundleAgreements || inputs.cards.size() > kMaxBundleCards ||
      inputs.receipts.size() > kMaxBundleReceipts) {
    return absl::ResourceExhaustedError("evidence export: too many agreements, cards or receipts");
  }
  const std::uint64_t end = log.size();
  std::vector<std::uint64_t> indexes;
  absl::Status limit;
  HANSE_RETURN_IF_ERROR(log.ForEach(1, end, [&](const AuditEntry& e) {
    if (e.event.subject != subject) return true;
    if (indexes.size() >= kMaxBundleEntries) {
      limit = absl::ResourceExhaustedError(absl::StrCat(
          "evidence export: more than ", kMaxBundleEntries, " entries about the subject"));
      return false;
    }
    indexes.push_back(e.index);
    return true;
  }));
  HANSE_RETURN_IF_ERROR(limit);

  OJson bundle;
  bundle["type"] = kBundleType;
  bundle["version"] = kBundleVersion;
  bundle["subject"] = std::string(subject);
  bundle["log_owner"] = log.did();
  bundle["created"] = internal::FormatUtc(now);
  bundle["agreements"] = inputs.agreements;
  OJson receipts = OJson::array();
  for (const CoSignedReceipt& r : inputs.receipts) {
    receipts.push_back({{"provider", r.provider_jws}, {"consumer", r.consumer_jws}});
  }
  bundle["receipts"] = std::move(receipts);
  bundle["cards"] = inputs.cards;

  OJson segments = OJson::array();
  size_t total = 0;
  size_t next = 0;  // first index in `indexes` not yet covered by a segment
  while (next < indexes.size()) {
    const std::uint64_t from = indexes[next];
    HANSE_ASSIGN_OR_RETURN(std::optional<SignedHead> head, log.HeadAtOrAfter(from),
                           "evidence export");
    if (!head.has_value() || head->index > end) {
      HANSE_ASSIGN_OR_RETURN(SignedHead signed_now, log.SignHead(now), "evidence export");
      head = std::move(signed_now);
    }
    OJson entries = OJson::array();
    absl::Status status;
    HANSE_RETURN_IF_ERROR(log.ForEach(from, head->index, [&](const AuditEntry& e) {
      if (++total > kMaxBundleEntries) {
        status = absl::ResourceExhaustedError(absl::StrCat(
            "evidence export: the segments would hold more than ", kMaxBundleEntries, " entries"));
        return false;
      }
      entries.push_back(EntryJson(e, e.event.subject == subject));
      return true;
    }));
    HANSE_RETURN_IF_ERROR(status);
    segments.push_back({{"head", head->jws}, {"entries", std::move(entries)}});
    while (next < indexes.size() && indexes[next] <= head->index) ++next;
  }
  bundle["segments"] = std::move(segments);

  std::string text = bundle.dump(1, ' ', false, OJson::error_handler_t::replace);
  if (text.size() > kMaxBundleBytes) {
    return absl::ResourceExhaustedError(absl::StrCat("evidence export: bundle would be ",
                                                     text.size(), " bytes, more than the limit"));
  }
  HANSE_RETURN_IF_ERROR(VerifyEvidenceBundle(text).status(), "evidence export");
  return text;
}

absl::StatusOr<EvidenceReport> VerifyEvidenceBundle(absl::string_view bundle_json) {
  if (bundle_json.size() > kMaxBundleBytes) {
    return absl::ResourceExhaustedError(absl::StrCat("evidence bundle: ", bundle_json.size(),
                                                     " bytes, more than the limit of ",
                                                     kMaxBundleBytes));
  }
  HANSE_ASSIGN_OR_RETURN(Json b, internal::ParseBoundedJson(bundle_json, "evidence bundle"));
  if (!b.is_object()) return PartError("evidence bundle", "not a JSON object");
  HANSE_ASSIGN_OR_RETURN(std::string type, internal::GetString(b, "type", "evidence bundle"));
  if (type != kBundleType)
    return PartError("evidence bundle", "field \"type\" is not " + std::string(kBundleType));
  HANSE_ASSIGN_OR_RETURN(std::uint64_t version, internal::GetUint(b, "version", "evidence bundle"));
  if (version != kBundleVersion) {
    return PartError("evidence bundle", absl::StrCat("version ", version, " is not supported"));
  }

  EvidenceReport report;
  HANSE_ASSIGN_OR_RETURN(report.subject, internal::GetString(b, "subject", "evidence bundle"));
  if (report.subject.empty() || report.subject.size() > kMaxSubjectBytes ||
      !internal::IsPrintableUtf8(report.subject)) {
    return PartError("subject", "must be 1 to 256 bytes of printable UTF-8");
  }
  HANSE_ASSIGN_OR_RETURN(report.log_owner, internal::GetString(b, "log_owner", "evidence bundle"));
  HANSE_RETURN_IF_ERROR(trust::DecodeDidKey(report.log_owner).status(), "log_owner");

  HANSE_ASSIGN_OR_RETURN(const Json* agreements,
                         ArrayMember(b, "agreements", kMaxBundleAgreements, "evidence bundle"));
  HANSE_ASSIGN_OR_RETURN(report.agreement, CheckAgreements(*agreements));
  if (report.log_owner != report.agreement.provider &&
      report.log_owner != report.agreement.consumer) {
    return absl::PermissionDeniedError(absl::StrCat(
        "log_owner: ", report.log_owner, " is neither provider nor consumer of the agreement"));
  }

  HANSE_ASSIGN_OR_RETURN(const Json* cards,
                         ArrayMember(b, "cards", kMaxBundleCards, "evidence bundle"));
  HANSE_ASSIGN_OR_RETURN(report.card_dids, CheckCards(*cards, report.agreement, report.log_owner));

  HANSE_ASSIGN_OR_RETURN(const Json* receipts,
                         ArrayMember(b, "receipts", kMaxBundleReceipts, "evidence bundle"));
  for (size_t i = 0; i < receipts->size(); ++i) {
    const std::string part = absl::StrCat("receipts[", i, "]");
    const Json& r = (*receipts)[i];
    if (!r.is_object()) return PartError(part, "not an object");
    CoSignedReceipt cosigned;
    HANSE_ASSIGN_OR_RETURN(cosigned.provider_jws, internal::GetString(r, "provider", part));
    HANSE_ASSIGN_OR_RETURN(cosigned.consumer_jws, internal::GetString(r, "consumer", part));
    HANSE_ASSIGN_OR_RETURN(Receipt receipt, VerifyCoSignedReceipt(cosigned, report.agreement),
                           part);
    report.receipts.push_back(std::move(receipt));
  }

  HANSE_ASSIGN_OR_RETURN(const Json* segments,
                         ArrayMember(b, "segments", kMaxBundleEntries, "evidence bundle"));
  std::uint64_t after = 0;
  size_t total = 0;
  for (size_t s = 0; s < segments->size(); ++s) {
    const Json& seg = (*segments)[s];
    if (seg.is_object() && seg.contains("entries") && seg["entries"].is_array()) {
      total += seg["entries"].size();
      if (total > kMaxBundleEntries) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "evidence bundle: segments hold more than ", kMaxBundleEntries, " entries"));
      }
    }
    HANSE_RETURN_IF_ERROR(CheckSegment(seg, s, after, report));
    after = report.heads.back().index;
  }
  return report;
}

}  // namespace hanse::audit
