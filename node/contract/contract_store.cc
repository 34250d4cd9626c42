#include "node/contract/contract_store.h"

#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/json.h"
#include "base/status.h"
#include "nlohmann/json.hpp"
#include "node/contract/agreement.h"
#include "node/contract/internal.h"
#include "node/contract/keys.h"
#include "policy/policy.h"
#include "trust/did_key.h"

namespace hanse::contract {
namespace {

using Json = nlohmann::json;
using catalog::Family;

constexpr absl::string_view kInterrupted = "interrupted by restart";

// Keys: node/contract/keys.h.

std::string Describe(const Negotiation& n) {
  return absl::StrCat(RoleName(n.role), " negotiation ", n.id);
}

absl::Status CheckStart(const NegotiationStart& s) {
  auto bad = [](absl::string_view field, absl::string_view problem) {
    return absl::InvalidArgumentError(absl::StrCat("negotiation ", field, ": ", problem));
  };
  if (!internal::IsValidId(s.id)) return bad("id", "missing or not 1-256 printable characters");
  if (!trust::IsDidKey(s.provider_did)) return bad("provider", "not a did:key DID");
  if (!trust::IsDidKey(s.consumer_did)) return bad("consumer", "not a did:key DID");
  if (s.provider_did == s.consumer_did) return bad("consumer", "is the provider itself");
  if (s.dataset_id.empty() || s.dataset_id.size() > 1024) {
    return bad("datasetId", "missing or longer than 1024 bytes");
  }
  if (s.dataset_version > internal::kMaxJsonInteger) {
    return bad("datasetVersion", "larger than 2^53 - 1");
  }
  if (!internal::IsSha256Hex(s.content_digest)) {
    return bad("contentDigest", "not 64 lower-case hex digits");
  }
  if (s.purpose.size() > 1024) return bad("purpose", "longer than 1024 bytes");
  HANSE_RETURN_IF_ERROR(policy::ParsePolicy(s.policy_json).status(), "negotiation policy");
  return absl::OkStatus();
}

absl::Status DifferentRequest(absl::string_view id, absl::string_view field,
                              absl::string_view stored, absl::string_view requested) {
  return absl::AlreadyExistsError(
      absl::StrCat("negotiation ", id, " already exists for another request: ", field, " is \"",
                   stored, "\", the request says \"", requested, "\""));
}

// The request in the `hanse policy check` format, so that policy::ParseRequest reads it back.
std::string RequestToJson(const policy::Request& r) {
  Json j;
  j["action"] = r.action;
  j["now"] = internal::FormatTime(r.now);
  if (!r.consumer.empty()) j["consumer"] = r.consumer;
  if (!r.country.empty()) j["country"] = r.country;
  if (!r.jurisdictions.empty()) j["jurisdictions"] = r.jurisdictions;
  if (!r.certifications.empty()) {
    Json certs = Json::array();
    for (const policy::Certification& c : r.certifications) {
      Json cj = {{"name", c.name}, {"issuer", c.issuer}};
      if (c.valid_until != absl::InfiniteFuture()) {
        cj["validUntil"] = internal::FormatTime(c.valid_until);
      }
      certs.push_back(std::move(cj));
    }
    j["certifications"] = std::move(certs);
  }
  if (!r.purpose.empty()) j["purpose"] = r.purpose;
  if (!r.purpose_classes.empty()) j["purposeClasses"] = r.purpose_classes;
  j["useCount"] = r.use_count;
  if (r.agreement_start) j["agreementStart"] = internal::FormatTime(*r.agreement_start);
  if (!r.target.empty()) j["target"] = r.target;
  if (r.party_collections) j["partyCollections"] = *r.party_collections;
  if (r.asset_collections) j["assetCollections"] = *r.asset_collections;
  if (!r.fulfilled_duties.empty()) j["fulfilledDuties"] = r.fulfilled_duties;
  return j.dump();
}

absl::Status CheckTokensFor(const Negotiation& n, State to) {
  if ((to == State::kAgreed || to == State::kVerified || to == State::kFinalized) &&
      n.provider_token.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(Describe(n), ": ", StateName(to), " needs the provider's signed agreement"));
  }
  if ((to == State::kVerified || to == State::kFinalized) && n.consumer_token.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(Describe(n), ": ", StateName(to), " needs the consumer's countersignature"));
  }
  return absl::OkStatus();
}

}  // namespace

std::unique_lock<std::mutex> ContractStore::LockNegotiation(Role role, absl::string_view id) const {
  const size_t stripe = (std::hash<std::string_view>()(std::string_view(id.data(), id.size())) * 2 +
                         (role == Role::kProvider ? 1 : 0)) %
                        kStripes;
  return std::unique_lock<std::mutex>(stripes_[stripe]);
}

std::vector<std::unique_lock<std::mutex>> ContractStore::LockAll() const {
  std::vector<std::unique_lock<std::mutex>> locks;
  locks.reserve(kStripes);
  for (std::mutex& m : stripes_) locks.emplace_back(m);  // always in the same order
  return locks;
}

absl::StatusOr<Negotiation> ContractStore::BeginProviderNegotiation(const NegotiationStart& start,
                                                                    absl::Time now,
                                                                    const StepWriter& write) {
  return Begin(Role::kProvider, start, now, write);
}

absl::StatusOr<Negotiation> ContractStore::BeginConsumerNegotiation(const NegotiationStart& start,
                                                                    absl::Time now,
                                                                    const StepWriter& write) {
  return Begin(Role::kConsumer, start, now, write);
}

absl::StatusOr<Negotiation> ContractStore::Begin(Role role, const NegotiationStart& start,
                                                 absl::Time now, const StepWriter& write) {
  HANSE_RETURN_IF_ERROR(CheckStart(start));
  auto lock = LockNegotiation(role, start.id);
  absl::StatusOr<Negotiation> existing = GetLocked(role, start.id);
  if (existing.ok()) {
    const Negotiation& n = *existing;
    if (n.provider_did != start.provider_did) {
      return DifferentRequest(n.id, "provider", n.provider_did, start.provider_did);
    }
    if (n.consumer_did != start.consumer_did) {
      return DifferentRequest(n.id, "consumer", n.consumer_did, start.consumer_did);
    }
    if (n.dataset_id != start.dataset_id) {
      return DifferentRequest(n.id, "dataset", n.dataset_id, start.dataset_id);
    }
    if (n.purpose != start.purpose) {
      return DifferentRequest(n.id, "purpose", n.purpose, start.purpose);
    }
    return n;
  }
  if (!absl::IsNotFound(existing.status())) return existing.status();

  Negotiation n;
  n.id = start.id;
  n.role = role;
  n.provider_did = start.provider_did;
  n.consumer_did = start.consumer_did;
  n.dataset_id = start.dataset_id;
  n.dataset_version = start.dataset_version;
  n.content_digest = start.content_digest;
  n.policy_json = start.policy_json;
  n.purpose = start.purpose;
  n.state = State::kRequested;
  n.history.push_back(
      {State::kRequested, now, role == Role::kProvider ? "request received" : "request sent"});
  n.created = now;
  HANSE_RETURN_IF_ERROR(Commit(n, std::nullopt, "", now, {}, write, /*created=*/true));
  return n;
}

absl::StatusOr<Negotiation> ContractStore::Get(Role role, absl::string_view id) const {
  return GetLocked(role, id);
}

absl::StatusOr<Negotiation> ContractStore::GetLocked(Role role, absl::string_view id) const {
  HANSE_ASSIGN_OR_RETURN(std::optional<std::string> value,
                         store_->Get(Family::kContracts, NegotiationKey(role, id)));
  if (!value) {
    return absl::NotFoundError(absl::StrCat("no ", RoleName(role), " negotiation ", id));
  }
  return NegotiationFromJson(*value);
}

absl::StatusOr<std::vector<Negotiation>> ContractStore::List(std::optional<Role> role,
                                                             size_t limit) const {
  std::vector<Negotiation> out;
  absl::Status status;
  const std::string prefix = NegotiationPrefix(role ? &*role : nullptr);
  HANSE_RETURN_IF_ERROR(
      store_->Scan(Family::kContracts, prefix, [&](absl::string_view, absl::string_view value) {
        if (out.size() >= limit) return false;
        absl::StatusOr<Negotiation> n = NegotiationFromJson(value);
        if (!n.ok()) {
          status = n.status();
          return false;
        }
        out.push_back(*std::move(n));
        return true;
      }));
  HANSE_RETURN_IF_ERROR(status);
  return out;
}

absl::StatusOr<Negotiation> ContractStore::GetByAgreement(Role role,
                                                          absl::string_view agreement_id) const {
  HANSE_ASSIGN_OR_RETURN(std::optional<std::string> id,
                         store_->Get(Family::kContracts, AgreementKey(role, agreement_id)));
  if (!id)
    return absl::NotFoundError(absl::StrCat("no ", RoleName(role), " agreement ", agreement_id));
  return GetLocked(role, *id);
}

absl::Status ContractStore::Commit(Negotiation& n, std::optional<State> to,
                                   absl::string_view reason, absl::Time now,
                                   catalog::WriteBatch extra, const StepWriter& write,
                                   bool created) {
  Negotiation updated = n;
  if (to) {
    HANSE_RETURN_IF_ERROR(CheckTransition(n.state, *to), Describe(n));
    HANSE_RETURN_IF_ERROR(CheckTokensFor(updated, *to));
    updated.state = *to;
    updated.history.push_back({*to, now, std::string(reason)});
    if (*to == State::kTerminated) updated.termination_reason = std::string(reason);
  }
  updated.updated = now;
  extra.Put(Family::kContracts, NegotiationKey(n.role, n.id), NegotiationToJson(updated));
  HANSE_RETURN_IF_ERROR(
      write ? write(std::move(extra), updated, reason) : store_->Write(extra, /*sync=*/true),
      absl::StrCat("storing ", Describe(n)));
  CountMove(n.role, created ? std::nullopt : std::optional<State>(n.state), updated.state);
  n = std::move(updated);
  return absl::OkStatus();
}

void ContractStore::CountMove(Role role, std::optional<State> from, State to) {
  if (!counted_.load() || from == to) return;
  auto& by_state = counts_[static_cast<size_t>(role)];
  if (from) by_state[static_cast<size_t>(*from)] -= 1;
  by_state[static_cast<size_t>(to)] += 1;
}

absl::Status ContractStore::ForEachNegotiation(const std::function<void(Negotiation)>& fn) const {
  absl::Status status;
  HANSE_RETURN_IF_ERROR(
      store_->Scan(Family::kContracts, "n/", [&](absl::string_view, absl::string_view value) {
        absl::StatusOr<Negotiation> n = NegotiationFromJson(value);
        if (!n.ok()) {
          status = n.status();
          return false;
        }
        fn(*std::move(n));
        return true;
      }));
  return status;
}

absl::StatusOr<ContractStore::StateCounts> ContractStore::CountByState() const {
  if (!counted_.load()) {
    auto all = LockAll();
    if (!counted_.load()) {
      StateCounts fresh{};
      absl::Status scanned = ForEachNegotiation([&](Negotiation n) {
        fresh[static_cast<size_t>(n.role)][static_cast<size_t>(n.state)] += 1;
      });
      HANSE_RETURN_IF_ERROR(scanned, "counting negotiations");
      for (size_t r = 0; r < fresh.size(); ++r) {
        for (size_t k = 0; k < fresh[r].size(); ++k) counts_[r][k] = fresh[r][k];
      }
      counted_ = true;
    }
  }
  StateCounts out{};
  for (size_t r = 0; r < out.size(); ++r) {
    for (size_t k = 0; k < out[r].size(); ++k) out[r][k] = counts_[r][k].load();
  }
  return out;
}

absl::StatusOr<Negotiation> ContractStore::Transition(Role role, absl::string_view id, State to,
                                                      absl::string_view reason, absl::Time now) {
  auto lock = LockNegotiation(role, id);
  HANSE_ASSIGN_OR_RETURN(Negotiation n, GetLocked(role, id));
  HANSE_RETURN_IF_ERROR(CheckTransition(n.state, to), Describe(n));
  if (to == State::kAgreed || to == State::kVerified || to == State::kTerminated) {
    return absl::FailedPreconditionError(
        absl::StrCat(Describe(n), ": ", StateName(n.state), " -> ", StateName(to),
                     to == State::kTerminated ? " goes through Terminate"
                                              : " needs a signature (use the agreement steps)"));
  }
  HANSE_RETURN_IF_ERROR(Commit(n, to, reason, now));
  return n;
}

absl::StatusOr<Negotiation> ContractStore::Terminate(Role role, absl::string_view id,
                                                     absl::string_view reason, absl::Time now,
                                                     const StepWriter& write) {
  if (reason.empty()) return absl::InvalidArgumentError("termination needs a reason");
  auto lock = LockNegotiation(role, id);
  HANSE_ASSIGN_OR_RETURN(Negotiation n, GetLocked(role, id));
  HANSE_RETURN_IF_ERROR(Commit(n, State::kTerminated, reason, now, {}, write));
  return n;
}

absl::StatusOr<ProviderDecision> ContractStore::Decide(absl::string_view id,
                                                       policy::Request request, absl::Time now,
                                                       const StepWriter& write) {
  auto lock = LockNegotiation(Role::kProvider, id);
  HANSE_ASSIGN_OR_RETURN(Negotiation n, GetLocked(Role::kProvider, id));
  if (n.state != State::kRequested) {
    return absl::FailedPreconditionError(absl::StrCat(Describe(n), " is ", StateName(n.state),
                                                      "; a decision is taken only in REQUESTED"));
  }
  auto fill = [&](std::string& field, const std::string& value,
                  absl::string_view name) -> absl::Status {
    if (field.empty()) {
      field = value;
    } else if (field != value) {
      return absl::InvalidArgumentError(absl::StrCat(
          "request ", name, " \"", field, "\" is not the negotiation's \"", value, "\""));
    }
    return absl::OkStatus();
  };
  HANSE_RETURN_IF_ERROR(fill(request.consumer, n.consumer_did, "consumer"));
  HANSE_RETURN_IF_ERROR(fill(request.target, n.dataset_id, "target"));
  HANSE_RETURN_IF_ERROR(fill(request.purpose, n.purpose, "purpose"));
  return DecideLocked(std::move(n), std::move(request), now, write);
}

absl::StatusOr<ProviderDecision> ContractStore::DecideLocked(Negotiation n, policy::Request request,
                                                             absl::Time now,
                                                             const StepWriter& write) {
  HANSE_ASSIGN_OR_RETURN(policy::Policy policy, policy::ParsePolicy(n.policy_json),
                         absl::StrCat(Describe(n), ": frozen policy"));
  ProviderDecision out;
  out.decision = policy::Evaluate(policy, request);
  out.permit = out.decision.permit;
  out.reason = out.decision.reason;
  out.decision_json = policy::DecisionToJson(out.decision);
  n.decision_permit = out.permit;
  n.decision_json = out.decision_json;
  n.request_json = RequestToJson(request);
  std::optional<State> to;
  if (!out.permit) to = State::kTerminated;
  HANSE_RETURN_IF_ERROR(Commit(n, to, out.reason, now, {}, write));
  out.negotiation = std::move(n);
  return out;
}

absl::StatusOr<Negotiation> ContractStore::Agree(absl::string_view id,
                                                 const trust::PrivateKey& provider_key,
                                                 absl::Time now, const StepWriter& write) {
  auto lock = LockNegotiation(Role::kProvider, id);
  HANSE_ASSIGN_OR_RETURN(Negotiation n, GetLocked(Role::kProvider, id));
  if (n.state == State::kAgreed && !n.provider_token.empty()) return n;
  HANSE_RETURN_IF_ERROR(CheckTransition(n.state, State::kAgreed), Describe(n));
  if (n.decision_permit != true) {
    return absl::FailedPreconditionError(
        absl::StrCat(Describe(n), ": no permit decision stored (call Decide first)"));
  }
  if (trust::EncodeDidKey(provider_key.Public()) != n.provider_did) {
    return absl::PermissionDeniedError(
        absl::StrCat(Describe(n), ": the key is not the provider's (", n.provider_did, ")"));
  }
  HANSE_ASSIGN_OR_RETURN(Agreement a, AgreementForNegotiation(n, now), Describe(n));
  HANSE_ASSIGN_OR_RETURN(std::string token, SignAgreementAsProvider(a, provider_key), Describe(n));
  HANSE_ASSIGN_OR_RETURN(std::optional<std::string> indexed,
                         store_->Get(Family::kContracts, AgreementKey(Role::kProvider, a.id)));
  if (indexed && *indexed != n.id) {
    return absl::AlreadyExistsError(
        absl::StrCat("agreement ", a.id, " already belongs to negotiation ", *indexed));
  }
  n.agreement_id = a.id;
  n.provider_token = std::move(token);
  catalog::WriteBatch extra;
  extra.Put(Family::kContracts, AgreementKey(Role::kProvider, a.id), n.id);
  HANSE_RETURN_IF_ERROR(
      Commit(n, State::kAgreed, "agreement signed by the provider", now, std::move(extra), write));
  return n;
}

absl::StatusOr<Negotiation> ContractStore::AcceptVerification(absl::string_view id,
                                                              absl::string_view consumer_jws,
                                                              absl::Time now,
                                                              const StepWriter& write) {
  return AcceptVerificationStep(id, consumer_jws, now, write, /*finalize=*/false);
}

absl::StatusOr<Negotiation> ContractStore::AcceptVerificationAndFinalize(
    absl::string_view id, absl::string_view consumer_jws, absl::Time now, const StepWriter& write) {
  return AcceptVerificationStep(id, consumer_jws, now, write, /*finalize=*/true);
}

absl::StatusOr<Negotiation> ContractStore::AcceptVerificationStep(absl::string_view id,
                                                                  absl::string_view consumer_jws,
                                                                  absl::Time now,
                                                                  const StepWriter& write,
                                                                  bool finalize) {
  auto lock = LockNegotiation(Role::kProvider, id);
  HANSE_ASSIGN_OR_RETURN(Negotiation n, GetLocked(Role::kProvider, id));
  const bool countersigned = (n.state == State::kVerified || n.state == State::kFinalized) &&
                             n.consumer_token == consumer_jws;
  if (countersigned && (!finalize || n.state == State::kFinalized)) return n;
  if (!countersigned) {
    HANSE_RETURN_IF_ERROR(CheckTransition(n.state, State::kVerified), Describe(n));
    HANSE_ASSIGN_OR_RETURN(Agreement a, VerifyAgreement(n.provider_token, consumer_jws),
                           Describe(n));
    if (a.id != n.agreement_id) {
      return absl::FailedPreconditionError(absl::StrCat(
          Describe(n), ": the countersigned agreement is ", a.id, ", not ", n.agreement_id));
    }
    n.consumer_token = std::string(consumer_jws);
    if (!finalize) {
      HANSE_RETURN_IF_ERROR(
          Commit(n, State::kVerified, "countersigned by the consumer", now, {}, write));
      return n;
    }
    // Both signatures were just checked: VERIFIED is recorded and passed in the same batch.
    const State stored = n.state;
    n.state = State::kVerified;
    n.history.push_back({State::kVerified, now, "countersigned by the consumer"});
    HANSE_RETURN_IF_ERROR(Commit(n, State::kFinalized, "agreement finalized", now, {}, write));
    CountMove(Role::kProvider, stored, State::kVerified);  // Commit counted VERIFIED -> FINALIZED
    return n;
  }
  HANSE_RETURN_IF_ERROR(VerifyAgreement(n.provider_token, n.consumer_token).status(), Describe(n));
  HANSE_RETURN_IF_ERROR(Commit(n, State::kFinalized, "agreement finalized", now, {}, write));
  return n;
}

absl::StatusOr<Negotiation> ContractStore::ReceiveAgreement(absl::string_view id,
                                                            absl::string_view provider_jws,
                                                            absl::Time now,
                                                            const StepWriter& write) {
  auto lock = LockNegotiation(Role::kConsumer, id);
  HANSE_ASSIGN_OR_RETURN(Negotiation n, GetLocked(Role::kConsumer, id));
  if (n.state != State::kRequested && n.state != State::kAccepted && !n.provider_token.empty() &&
      n.provider_token == provider_jws) {
    return n;
  }
  HANSE_RETURN_IF_ERROR(CheckTransition(n.state, State::kAgreed), Describe(n));
  HANSE_ASSIGN_OR_RETURN(Agreement a, VerifyProviderAgreement(provider_jws), Describe(n));
  HANSE_RETURN_IF_ERROR(CheckAgreementMatches(a, n), Describe(n));
  n.agreement_id = a.id;
  n.provider_token = std::string(provider_jws);
  catalog::WriteBatch extra;
  extra.Put(Family::kContracts, AgreementKey(Role::kConsumer, a.id), n.id);
  HANSE_RETURN_IF_ERROR(Commit(n, State::kAgreed, "agreement received from the provider", now,
                               std::move(extra), write));
  return n;
}

absl::StatusOr<Negotiation> ContractStore::Countersign(absl::string_view id,
                                                       const trust::PrivateKey& consumer_key,
                                                       absl::Time now, const StepWriter& write) {
  auto lock = LockNegotiation(Role::kConsumer, id);
  HANSE_ASSIGN_OR_RETURN(Negotiation n, GetLocked(Role::kConsumer, id));
  if ((n.state == State::kVerified || n.state == State::kFinalized) && !n.consumer_token.empty()) {
    return n;
  }
  HANSE_RETURN_IF_ERROR(CheckTransition(n.state, State::kVerified), Describe(n));
  HANSE_ASSIGN_OR_RETURN(std::string token, CountersignAgreement(n.provider_token, consumer_key),
                         Describe(n));
  n.consumer_token = std::move(token);
  HANSE_RETURN_IF_ERROR(Commit(n, State::kVerified, "agreement countersigned", now, {}, write));
  return n;
}

absl::StatusOr<Negotiation> ContractStore::Finalize(Role role, absl::string_view id, absl::Time now,
                                                    const StepWriter& write) {
  auto lock = LockNegotiation(role, id);
  HANSE_ASSIGN_OR_RETURN(Negotiation n, GetLocked(role, id));
  if (n.state == State::kFinalized) return n;
  HANSE_RETURN_IF_ERROR(CheckTransition(n.state, State::kFinalized), Describe(n));
  HANSE_RETURN_IF_ERROR(VerifyAgreement(n.provider_token, n.consumer_token).status(), Describe(n));
  HANSE_RETURN_IF_ERROR(Commit(n, State::kFinalized, "agreement finalized", now, {}, write));
  return n;
}

absl::StatusOr<std::vector<RecoveryAction>> ContractStore::RecoverAfterRestart(
    absl::Time now, absl::Duration max_idle) {
  auto all = LockAll();
  std::vector<Negotiation> open;
  absl::Status scanned = ForEachNegotiation([&](Negotiation n) {
    if (!IsFinal(n.state)) open.push_back(std::move(n));
  });
  HANSE_RETURN_IF_ERROR(scanned, "recovering negotiations");

  std::vector<RecoveryAction> actions;
  for (Negotiation& n : open) {
    RecoveryAction action{n.role, n.id, n.state, n.state, ""};
    auto terminate = [&](absl::string_view detail) -> absl::Status {
      const std::string reason = absl::StrCat(kInterrupted, " (", detail, ")");
      HANSE_RETURN_IF_ERROR(Commit(n, State::kTerminated, reason, now));
      action.note = absl::StrCat("terminated: ", reason);
      return absl::OkStatus();
    };
    if (n.updated + max_idle < now) {
      HANSE_RETURN_IF_ERROR(
          terminate(absl::StrCat("idle since ", internal::FormatTime(n.updated))));
    } else if (n.state == State::kOffered || n.state == State::kAccepted) {
      HANSE_RETURN_IF_ERROR(terminate("counter-offers are not resumed"));
    } else if (n.role == Role::kProvider && n.state == State::kRequested) {
      if (n.request_json.empty()) {
        HANSE_RETURN_IF_ERROR(terminate("no decision was taken"));
      } else {
        absl::StatusOr<policy::Request> request = policy::ParseRequest(n.request_json);
        if (!request.ok()) {
          HANSE_RETURN_IF_ERROR(terminate("the stored request facts do not parse"));
        } else {
          request->now = now;
          HANSE_ASSIGN_OR_RETURN(ProviderDecision d,
                                 DecideLocked(n, *std::move(request), now, nullptr));
          n = std::move(d.negotiation);
          action.note = d.permit ? "resume: permitted again, awaiting the agreement signature"
                                 : absl::StrCat("terminated on re-evaluation: ", d.reason);
        }
      }
    } else if (n.role == Role::kProvider && n.state == State::kAgreed) {
      action.note = "resume: awaiting the consumer's countersignature";
    } else if (n.role == Role::kProvider && n.state == State::kVerified) {
      if (VerifyAgreement(n.provider_token, n.consumer_token).ok()) {
        HANSE_RETURN_IF_ERROR(
            Commit(n, State::kFinalized, "agreement finalized after restart", now));
        action.note = "finalized: both signatures verify";
      } else {
        HANSE_RETURN_IF_ERROR(terminate("the stored signatures do not verify"));
      }
    } else if (n.state == State::kRequested) {
      action.note = "resume: resend the request with the same id";
    } else if (n.state == State::kAgreed) {
      action.note = "resume: countersign the agreement";
    } else {
      action.note = "resume: resend the verification";
    }
    action.after = n.state;
    actions.push_back(std::move(action));
  }
  return actions;
}

absl::StatusOr<std::int64_t> ContractStore::ClaimUse(absl::string_view agreement_id,
                                                     std::optional<std::int64_t> max_uses,
                                                     absl::Time now) {
  if (max_uses && *max_uses < 0) {
    return absl::InvalidArgumentError("max_uses must not be negative");
  }
  // The agreement's index entry never changes once written (Agree): look it up unlocked.
  HANSE_ASSIGN_OR_RETURN(
      std::optional<std::string> id,
      store_->Get(Family::kContracts, AgreementKey(Role::kProvider, agreement_id)));
  if (!id) return absl::NotFoundError(absl::StrCat("no provider agreement ", agreement_id));
  auto lock = LockNegotiation(Role::kProvider, *id);
  HANSE_ASSIGN_OR_RETURN(Negotiation n, GetLocked(Role::kProvider, *id));
  if (n.state != State::kFinalized) {
    return absl::FailedPreconditionError(absl::StrCat(
        "agreement ", agreement_id, " is not in force: its negotiation is ", StateName(n.state)));
  }
  HANSE_ASSIGN_OR_RETURN(std::int64_t count, UseCount(agreement_id));
  if (max_uses && count >= *max_uses) {
    return absl::ResourceExhaustedError(
        absl::StrCat("agreement ", agreement_id, ": use limit reached (", count,
                     " uses counted, at most ", *max_uses, " allowed)"));
  }
  Json j = {{"count", count + 1}, {"lastUse", internal::FormatTime(now)}};
  catalog::WriteBatch batch;
  batch.Put(Family::kContracts, UseKey(agreement_id), j.dump());
  HANSE_RETURN_IF_ERROR(store_->Write(batch, /*sync=*/true),
                        absl::StrCat("counting a use of ", agreement_id));
  return count + 1;
}

absl::Status ContractStore::RefundUse(absl::string_view agreement_id, std::int64_t use,
                                      absl::Time now) {
  HANSE_ASSIGN_OR_RETURN(
      std::optional<std::string> id,
      store_->Get(Family::kContracts, AgreementKey(Role::kProvider, agreement_id)));
  if (!id) return absl::NotFoundError(absl::StrCat("no provider agreement ", agreement_id));
  auto lock = LockNegotiation(Role::kProvider, *id);
  HANSE_ASSIGN_OR_RETURN(std::int64_t count, UseCount(agreement_id));
  if (use <= 0 || count != use) {
    return absl::FailedPreconditionError(absl::StrCat("use ", use, " of ", agreement_id,
                                                      " is not the last one counted (", count,
                                                      "); it stays counted"));
  }
  Json j = {{"count", count - 1}, {"lastRefund", internal::FormatTime(now)}, {"refundedUse", use}};
  catalog::WriteBatch batch;
  batch.Put(Family::kContracts, UseKey(agreement_id), j.dump());
  batch.Delete(Family::kContracts, OpenUseKey(agreement_id));
  return store_->Write(batch, /*sync=*/true);
}

absl::StatusOr<std::int64_t> ContractStore::UseCount(absl::string_view agreement_id) const {
  HANSE_ASSIGN_OR_RETURN(std::optional<std::string> v,
                         store_->Get(Family::kContracts, UseKey(agreement_id)));
  if (!v) return 0;
  Json j = ParseJson(*v).value_or(Json());
  if (!j.is_object() || !j.contains("count") || !j["count"].is_number_integer()) {
    return absl::DataLossError(absl::StrCat("stored use count of ", agreement_id));
  }
  return j["count"].get<std::int64_t>();
}

}  // namespace hanse::contract
