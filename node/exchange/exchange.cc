#include "node/exchange/exchange.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "base/status.h"
#include "node/audit/evidence.h"
#include "trust/encoding.h"

namespace hanse::node {

using contract::Negotiation;
using contract::Role;
using exchange_internal::Rfc3339;

absl::StatusOr<std::unique_ptr<Exchange>> Exchange::Open(const Home* home, catalog::Store* store,
                                                         catalog::Catalog* catalog,
                                                         PeerRegistry* peers, ExchangePeer* peer,
                                                         std::function<std::string()> card,
                                                         const Clock* clock) {
  std::unique_ptr<Exchange> ex(
      new Exchange(home, store, catalog, peers, peer, std::move(card), clock));
  HANSE_ASSIGN_OR_RETURN(ex->common_.audit,
                         audit::AuditLog::Open(store, home->identity.participant_key,
                                               {.tail_mark = home->paths.dir + "/audit.tail",
                                                .tail_mark_read_only = false}),
                         "opening the audit log");
  return ex;
}

void Exchange::Recover() {
  auto actions = common_.contracts.RecoverAfterRestart(common_.clock->Now());
  if (!actions.ok()) {
    log::Error("contract recovery failed", {{"error", actions.status().ToString()}});
    return;
  }
  for (const auto& a : *actions) {
    log::Info("contract recovered", {{"id", a.id},
                                     {"role", std::string(contract::RoleName(a.role))},
                                     {"before", std::string(contract::StateName(a.before))},
                                     {"after", std::string(contract::StateName(a.after))},
                                     {"note", a.note}});
    common_.Audit("negotiation.recovered", a.id, common_.self(),
                  {{"role", contract::RoleName(a.role)},
                   {"before", contract::StateName(a.before)},
                   {"after", contract::StateName(a.after)},
                   {"note", a.note}});
    if (a.role == Role::kConsumer && !contract::IsFinal(a.after)) {
      consumer_.QueueResume(a.id);
    }
  }
}

absl::StatusOr<hanse::v1::ListContractsResponse> Exchange::ListContracts(
    const hanse::v1::ListContractsRequest& req) {
  std::optional<Role> role;
  if (!req.role().empty()) {
    HANSE_ASSIGN_OR_RETURN(Role r, contract::ParseRole(req.role()));
    role = r;
  }
  size_t limit = req.limit() == 0 ? 100 : std::min<size_t>(req.limit(), 1000);
  HANSE_ASSIGN_OR_RETURN(auto list, common_.contracts.List(role, limit));
  hanse::v1::ListContractsResponse resp;
  for (const auto& n : list) {
    HANSE_ASSIGN_OR_RETURN(*resp.add_contracts(), common_.Info(n));
  }
  return resp;
}

absl::StatusOr<hanse::v1::ContractInfo> Exchange::GetContract(const std::string& id) {
  for (Role role : {Role::kConsumer, Role::kProvider}) {
    auto n = common_.contracts.Get(role, id);
    if (!n.ok()) n = common_.contracts.GetByAgreement(role, id);
    if (n.ok()) return common_.Info(*n);
  }
  return absl::NotFoundError(absl::StrCat("no negotiation or agreement ", id));
}

absl::StatusOr<hanse::v1::IssueCredentialResponse> Exchange::IssueCredential(
    const hanse::v1::IssueCredentialRequest& req, std::string* jws) {
  const absl::Time now = common_.clock->Now();
  absl::Time until = absl::InfiniteFuture();
  if (!req.valid_until().empty()) {
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, req.valid_until(), &until, &err)) {
      return absl::InvalidArgumentError("--valid-until must be an RFC 3339 date-time");
    }
  }
  // The sequence is assigned, signed and stored in one step (never two credentials at one).
  auto sign = [&](std::uint64_t seq) -> absl::StatusOr<std::string> {
    catalog::Document doc =
        catalog::CertificationDocument(common_.self(), req.subject(), req.certification(), seq,
                                       absl::FromUnixSeconds(absl::ToUnixSeconds(now)), until);
    HANSE_RETURN_IF_ERROR(catalog::ValidateDocument(doc));
    HANSE_ASSIGN_OR_RETURN(*jws,
                           catalog::SignDocument(doc, common_.home->identity.participant_key));
    return *jws;
  };
  HANSE_ASSIGN_OR_RETURN(catalog::IngestResult r,
                         common_.catalog->SignAndIngest(common_.self(), sign));
  common_.Audit("credential.issued", r.id, common_.self(),
                {{"subject", req.subject()},
                 {"certification", req.certification()},
                 {"valid_until", req.valid_until()}});
  hanse::v1::IssueCredentialResponse resp;
  resp.set_id(r.id);
  resp.set_sequence(r.sequence);
  return resp;
}

absl::StatusOr<hanse::v1::ListAuditResponse> Exchange::ListAudit(
    const hanse::v1::ListAuditRequest& req) {
  std::optional<std::string> subject;
  if (!req.subject().empty()) subject = req.subject();
  size_t limit = req.limit() == 0 ? 100 : std::min<size_t>(req.limit(), 1000);
  HANSE_ASSIGN_OR_RETURN(
      auto entries,
      common_.audit->List(std::max<std::uint64_t>(1, req.from_index()), limit, subject));
  hanse::v1::ListAuditResponse resp;
  for (const auto& e : entries) {
    auto* out = resp.add_entries();
    out->set_index(e.index);
    out->set_time(Rfc3339(e.event.time));
    out->set_kind(e.event.kind);
    out->set_subject(e.event.subject);
    out->set_actor(e.event.actor);
    out->set_details_json(e.event.details.dump());
    out->set_hash(trust::HexEncode(e.hash));
  }
  return resp;
}

absl::StatusOr<hanse::v1::VerifyAuditResponse> Exchange::VerifyAudit() {
  HANSE_ASSIGN_OR_RETURN(audit::AuditVerifyReport r, common_.audit->Verify());
  hanse::v1::VerifyAuditResponse resp;
  resp.set_ok(r.ok);
  resp.set_entries(r.entries);
  resp.set_heads(r.heads);
  resp.set_first_bad_index(r.first_bad_index);
  resp.set_problem(r.problem);
  return resp;
}

absl::StatusOr<std::string> Exchange::ExportEvidence(const std::string& agreement_id) {
  absl::StatusOr<Negotiation> n = common_.contracts.GetByAgreement(Role::kConsumer, agreement_id);
  if (!n.ok()) n = common_.contracts.GetByAgreement(Role::kProvider, agreement_id);
  if (!n.ok()) return absl::NotFoundError(absl::StrCat("no agreement ", agreement_id));
  if (n->provider_token.empty() || n->consumer_token.empty()) {
    return absl::FailedPreconditionError("the agreement is not signed by both sides yet");
  }
  audit::EvidenceInputs inputs;
  inputs.agreements = {n->provider_token, n->consumer_token};
  HANSE_ASSIGN_OR_RETURN(std::string provider_card, common_.CardOf(n->provider_did));
  HANSE_ASSIGN_OR_RETURN(std::string consumer_card, common_.CardOf(n->consumer_did));
  inputs.cards = {provider_card, consumer_card};
  // The co-signed receipts this node holds, from its own log.
  HANSE_RETURN_IF_ERROR(
      common_.audit->ForEach(1, common_.audit->size(), [&](const audit::AuditEntry& e) {
        if (e.event.kind == "receipt" && e.event.subject == agreement_id) {
          inputs.receipts.push_back({e.event.details.value("provider_jws", ""),
                                     e.event.details.value("consumer_jws", "")});
        }
        return true;
      }));
  return audit::ExportEvidence(*common_.audit, agreement_id, inputs, common_.clock->Now());
}

}  // namespace hanse::node
