#include "node/exchange/common.h"

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "base/status.h"
#include "catalog/document.h"
#include "node/contract/keys.h"
#include "node/identity/card.h"
#include "node/publishing/publishing.h"
#include "policy/policy.h"
#include "trust/jws.h"

namespace hanse::node::exchange_internal {
namespace {

// What a consumer may present about itself with a negotiation request.
constexpr std::size_t kMaxPresentedFacts = 32;
constexpr std::size_t kMaxPresentedFactBytes = 64 * 1024;

}  // namespace

using contract::Negotiation;
using contract::Role;

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_sec, t, absl::UTCTimeZone());
}

std::string ExpandIri(absl::string_view iri) { return policy::ExpandPurposeIri(iri); }

contract::NegotiationStart StartOf(const catalog::Document& dataset, std::string id,
                                   std::string consumer, absl::string_view purpose) {
  contract::NegotiationStart start;
  start.id = std::move(id);
  start.provider_did = dataset.issuer;
  start.consumer_did = std::move(consumer);
  start.dataset_id = dataset.id;
  start.dataset_version = dataset.sequence;
  start.content_digest = dataset.dataset.sha256;
  start.policy_json = dataset.dataset.policy_json;
  start.purpose = ExpandIri(purpose);
  return start;
}

void Common::Audit(const std::string& kind, const std::string& subject, const std::string& actor,
                   nlohmann::json details) {
  audit::AuditEvent e;
  e.kind = kind;
  e.subject = subject;
  e.actor = actor;
  e.time = clock->Now();
  e.details = std::move(details);
  auto appended = audit->Append(e);
  if (!appended.ok()) {
    log::Error("audit append failed", {{"kind", kind}, {"error", appended.status().ToString()}});
  }
}

contract::StepWriter Common::Audited(std::string kind, std::string actor, nlohmann::json details,
                                     bool with_reason) {
  return [this, kind = std::move(kind), actor = std::move(actor), details = std::move(details),
          with_reason](catalog::WriteBatch batch, const Negotiation& after,
                       absl::string_view reason) -> absl::Status {
    audit::AuditEvent e;
    e.kind = kind;
    e.subject = after.agreement_id.empty() ? after.id : after.agreement_id;
    e.actor = actor;
    e.time = clock->Now();
    e.details = details;
    if (with_reason) e.details["reason"] = std::string(reason);
    return audit->Append(e, std::move(batch)).status();
  };
}

absl::Status Common::StoreCard(const std::string& did, const std::string& jws) {
  // A member presents its card with every request and most times it is the one held, verified
  // when it was stored (the member's certificate itself is checked by every TLS handshake).
  HANSE_ASSIGN_OR_RETURN(auto held,
                         store->Get(catalog::Family::kContracts, contract::CardKey(did)));
  if (held && *held == jws) return absl::OkStatus();
  HANSE_ASSIGN_OR_RETURN(MemberCard c, VerifyCard(jws, clock->Now()), "member card");
  if (c.did != did) {
    return absl::PermissionDeniedError(absl::StrCat("the card names ", c.did, ", not ", did));
  }
  catalog::WriteBatch batch;
  batch.Put(catalog::Family::kContracts, contract::CardKey(did), jws);
  return store->Write(batch, /*sync=*/true);
}

absl::StatusOr<std::string> Common::CardOf(const std::string& did) {
  if (did == self()) return card();
  HANSE_ASSIGN_OR_RETURN(auto v, store->Get(catalog::Family::kContracts, contract::CardKey(did)));
  if (!v) return absl::NotFoundError(absl::StrCat("no card of ", did, " is held"));
  return *v;
}

std::vector<std::string> Common::OwnFacts(absl::Time now) const {
  std::vector<std::string> out;
  if (auto participant = catalog->Get(self()); participant.ok()) out.push_back(participant->jws);
  if (auto certs = catalog->CertificationsOf(self(), now); certs.ok()) {
    for (auto& c : *certs) {
      if (out.size() >= kMaxPresentedFacts) break;
      out.push_back(std::move(c.jws));
    }
  }
  return out;
}

absl::Status Common::EnsureOwnParticipant(absl::Time now) {
  if (catalog->Get(self()).ok()) return absl::OkStatus();
  HANSE_ASSIGN_OR_RETURN(MemberCard mine, VerifyCard(card(), now), "this node's card");
  HANSE_RETURN_IF_ERROR(
      EnsureParticipantDescription(*home, ParticipantFactsOf(*home, mine.endpoint), *catalog, now)
          .status(),
      "this node's facts must be signed before it asks for a contract");
  return absl::OkStatus();
}

absl::Status Common::AcceptFacts(const std::string& consumer,
                                 const google::protobuf::RepeatedPtrField<std::string>& documents) {
  if (documents.size() > static_cast<int>(kMaxPresentedFacts)) {
    return absl::InvalidArgumentError(
        absl::StrCat("at most ", kMaxPresentedFacts, " consumer documents per request"));
  }
  const absl::Time now = clock->Now();
  std::vector<std::string> verified;
  for (const auto& jws : documents) {
    if (jws.size() > kMaxPresentedFactBytes) {
      return absl::InvalidArgumentError("a consumer document is larger than 64 KiB");
    }
    HANSE_ASSIGN_OR_RETURN(catalog::VerifiedDocument v, catalog::VerifyDocument(jws, now),
                           "consumer document");
    const catalog::Document& d = v.doc;
    bool about_consumer =
        (d.kind == catalog::DocumentKind::kParticipant && d.issuer == consumer) ||
        (d.kind == catalog::DocumentKind::kCertification && d.certification.subject == consumer);
    if (!about_consumer) {
      return absl::PermissionDeniedError(
          absl::StrCat("consumer document ", d.id,
                       " is not the consumer's own participant self-description "
                       "or a credential about it"));
    }
    verified.push_back(jws);
  }
  // Stored like any document from gossip (an issuer that is not a member, or retired, is
  // refused there); outcomes other than stored mean the provider held it or a newer one.
  for (const auto& r : catalog->IngestMany(verified)) {
    if (!r.ok() && r.status().code() != absl::StatusCode::kFailedPrecondition) {
      log::Warn("consumer document not stored",
                {{"consumer", consumer}, {"error", r.status().ToString()}});
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<policy::Request> Common::FactsAbout(const std::string& consumer,
                                                   const hanse::v1::NegotiateRequest& req,
                                                   absl::Time now) {
  policy::Request r;
  r.action = "use";
  r.now = now;
  r.consumer = consumer;
  r.purpose = ExpandIri(req.purpose());
  for (const auto& c : req.purpose_classes()) r.purpose_classes.push_back(ExpandIri(c));
  r.target = req.dataset_id();
  // The consumer's country and jurisdictions as it signed them in its participant
  // self-description (verified when stored); unknown when none is held.
  auto participant = catalog->Get(consumer);
  auto doc = participant.ok() ? catalog::DecodeDocument(*participant) : participant.status();
  if (doc.ok() && doc->kind == catalog::DocumentKind::kParticipant) {
    r.country = doc->participant.country;
    r.jurisdictions = doc->participant.jurisdictions;
  }
  HANSE_ASSIGN_OR_RETURN(auto certs, catalog->CertificationsOf(consumer, now));
  // Party collections are credential-based: the consumer belongs to a collection named like a
  // certification it holds (verified, unexpired). Asset collections are the dataset's themes.
  r.party_collections.emplace();
  for (const auto& c : certs) {
    r.certifications.push_back({c.name, c.issuer, c.valid_until});
    if (now < c.valid_until) r.party_collections->push_back(ExpandIri(c.name));
  }
  auto dataset = catalog->Get(req.dataset_id());
  auto ddoc = dataset.ok() ? catalog::DecodeDocument(*dataset) : dataset.status();
  if (ddoc.ok() && ddoc->kind == catalog::DocumentKind::kDataset) {
    r.asset_collections.emplace();
    for (const auto& theme : ddoc->dataset.themes) r.asset_collections->push_back(ExpandIri(theme));
  }
  return r;
}

absl::StatusOr<hanse::v1::ContractInfo> Common::Info(const Negotiation& n) {
  hanse::v1::ContractInfo info;
  info.set_id(n.id);
  info.set_role(std::string(contract::RoleName(n.role)));
  info.set_state(std::string(contract::StateName(n.state)));
  info.set_provider(n.provider_did);
  info.set_consumer(n.consumer_did);
  info.set_dataset_id(n.dataset_id);
  info.set_dataset_version(n.dataset_version);
  info.set_purpose(n.purpose);
  info.set_reason(n.termination_reason);
  info.set_trace_json(n.decision_json);
  info.set_agreement_id(n.agreement_id);
  info.set_provider_jws(n.provider_token);
  info.set_consumer_jws(n.consumer_token);
  info.set_created(Rfc3339(n.created));
  info.set_updated(Rfc3339(n.updated));
  if (!n.agreement_id.empty() && n.role == Role::kProvider) {
    auto uses = contracts.UseCount(n.agreement_id);
    if (uses.ok()) info.set_uses(*uses);
  }
  for (const auto& h : n.history) {
    info.add_history(absl::StrCat(Rfc3339(h.time), " ", contract::StateName(h.state),
                                  h.reason.empty() ? "" : ": ", h.reason));
  }
  return info;
}

}  // namespace hanse::node::exchange_internal
