#include "node/contract/negotiation.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/json.h"
#include "base/status.h"
#include "nlohmann/json.hpp"
#include "node/contract/internal.h"

namespace hanse::contract {
namespace {

using Json = nlohmann::json;

constexpr int kRecordVersion = 1;

absl::Status Corrupt(absl::string_view what) {
  return absl::DataLossError(absl::StrCat("stored negotiation: ", what));
}

absl::StatusOr<std::string> Str(const Json& j, const char* key, bool required = true) {
  auto it = j.find(key);
  if (it == j.end()) {
    if (required) return Corrupt(absl::StrCat("missing \"", key, "\""));
    return std::string();
  }
  if (!it->is_string()) return Corrupt(absl::StrCat("\"", key, "\" is not a string"));
  return it->get<std::string>();
}

absl::StatusOr<absl::Time> Time(const Json& j, const char* key) {
  HANSE_ASSIGN_OR_RETURN(std::string s, Str(j, key));
  std::optional<absl::Time> t = internal::ParseTime(s);
  if (!t) return Corrupt(absl::StrCat("\"", key, "\" is not a date-time"));
  return *t;
}

absl::StatusOr<State> StoredState(const Json& j, const char* key) {
  HANSE_ASSIGN_OR_RETURN(std::string s, Str(j, key));
  absl::StatusOr<State> state = ParseState(s);
  if (!state.ok()) return Corrupt(state.status().message());
  return *state;
}

}  // namespace

absl::string_view StateName(State state) {
  switch (state) {
    case State::kRequested:
      return "REQUESTED";
    case State::kOffered:
      return "OFFERED";
    case State::kAccepted:
      return "ACCEPTED";
    case State::kAgreed:
      return "AGREED";
    case State::kVerified:
      return "VERIFIED";
    case State::kFinalized:
      return "FINALIZED";
    case State::kTerminated:
      return "TERMINATED";
  }
  return "UNKNOWN";
}

absl::StatusOr<State> ParseState(absl::string_view name) {
  for (State s : kAllStates) {
    if (StateName(s) == name) return s;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown negotiation state \"", name,
                   "\" (REQUESTED, OFFERED, ACCEPTED, AGREED, VERIFIED, FINALIZED, TERMINATED)"));
}

bool IsFinal(State state) { return state == State::kFinalized || state == State::kTerminated; }

bool IsLegalTransition(State from, State to) {
  switch (from) {
    case State::kRequested:
      return to == State::kOffered || to == State::kAgreed || to == State::kTerminated;
    case State::kOffered:
      return to == State::kRequested || to == State::kAccepted || to == State::kTerminated;
    case State::kAccepted:
      return to == State::kAgreed || to == State::kTerminated;
    case State::kAgreed:
      return to == State::kVerified || to == State::kTerminated;
    case State::kVerified:
      return to == State::kFinalized || to == State::kTerminated;
    case State::kFinalized:
    case State::kTerminated:
      return false;
  }
  return false;
}

absl::Status CheckTransition(State from, State to) {
  if (IsLegalTransition(from, to)) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("illegal transition ", StateName(from), " -> ", StateName(to),
                   IsFinal(from) ? absl::StrCat(" (", StateName(from), " is final)") : ""));
}

absl::string_view RoleName(Role role) { return role == Role::kProvider ? "provider" : "consumer"; }

absl::StatusOr<Role> ParseRole(absl::string_view name) {
  if (name == "provider") return Role::kProvider;
  if (name == "consumer") return Role::kConsumer;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown role \"", name, "\" (provider or consumer)"));
}

std::string NegotiationToJson(const Negotiation& n) {
  Json j;
  j["v"] = kRecordVersion;
  j["id"] = n.id;
  j["role"] = std::string(RoleName(n.role));
  j["provider"] = n.provider_did;
  j["consumer"] = n.consumer_did;
  j["datasetId"] = n.dataset_id;
  j["datasetVersion"] = n.dataset_version;
  j["contentDigest"] = n.content_digest;
  j["policy"] = n.policy_json;
  j["purpose"] = n.purpose;
  j["state"] = std::string(StateName(n.state));
  Json history = Json::array();
  for (const HistoryEntry& h : n.history) {
    history.push_back({{"state", std::string(StateName(h.state))},
                       {"time", internal::FormatTime(h.time)},
                       {"reason", h.reason}});
  }
  j["history"] = std::move(history);
  if (!n.termination_reason.empty()) j["terminationReason"] = n.termination_reason;
  if (n.decision_permit.has_value()) j["decisionPermit"] = *n.decision_permit;
  if (!n.decision_json.empty()) j["decision"] = n.decision_json;
  if (!n.request_json.empty()) j["request"] = n.request_json;
  if (!n.agreement_id.empty()) j["agreementId"] = n.agreement_id;
  if (!n.provider_token.empty()) j["providerToken"] = n.provider_token;
  if (!n.consumer_token.empty()) j["consumerToken"] = n.consumer_token;
  j["created"] = internal::FormatTime(n.created);
  j["updated"] = internal::FormatTime(n.updated);
  return j.dump();
}

absl::StatusOr<Negotiation> NegotiationFromJson(absl::string_view json) {
  Json j = ParseJson(json).value_or(Json());
  if (!j.is_object()) return Corrupt("not a JSON object");
  auto v = j.find("v");
  if (v == j.end() || !v->is_number_integer() || v->get<int>() != kRecordVersion) {
    return Corrupt("unknown record version");
  }
  Negotiation n;
  HANSE_ASSIGN_OR_RETURN(n.id, Str(j, "id"));
  HANSE_ASSIGN_OR_RETURN(std::string role, Str(j, "role"));
  absl::StatusOr<Role> parsed_role = ParseRole(role);
  if (!parsed_role.ok()) return Corrupt(parsed_role.status().message());
  n.role = *parsed_role;
  HANSE_ASSIGN_OR_RETURN(n.provider_did, Str(j, "provider"));
  HANSE_ASSIGN_OR_RETURN(n.consumer_did, Str(j, "consumer"));
  HANSE_ASSIGN_OR_RETURN(n.dataset_id, Str(j, "datasetId"));
  auto version = j.find("datasetVersion");
  if (version == j.end() || !version->is_number_unsigned()) {
    return Corrupt("\"datasetVersion\" is not an unsigned integer");
  }
  n.dataset_version = version->get<std::uint64_t>();
  HANSE_ASSIGN_OR_RETURN(n.content_digest, Str(j, "contentDigest"));
  HANSE_ASSIGN_OR_RETURN(n.policy_json, Str(j, "policy"));
  HANSE_ASSIGN_OR_RETURN(n.purpose, Str(j, "purpose"));
  HANSE_ASSIGN_OR_RETURN(n.state, StoredState(j, "state"));
  auto history = j.find("history");
  if (history == j.end() || !history->is_array()) return Corrupt("\"history\" is not an array");
  for (const Json& h : *history) {
    if (!h.is_object()) return Corrupt("a history entry is not an object");
    HistoryEntry e;
    HANSE_ASSIGN_OR_RETURN(e.state, StoredState(h, "state"));
    HANSE_ASSIGN_OR_RETURN(e.time, Time(h, "time"));
    HANSE_ASSIGN_OR_RETURN(e.reason, Str(h, "reason"));
    n.history.push_back(std::move(e));
  }
  HANSE_ASSIGN_OR_RETURN(n.termination_reason, Str(j, "terminationReason", false));
  if (auto p = j.find("decisionPermit"); p != j.end()) {
    if (!p->is_boolean()) return Corrupt("\"decisionPermit\" is not a boolean");
    n.decision_permit = p->get<bool>();
  }
  HANSE_ASSIGN_OR_RETURN(n.decision_json, Str(j, "decision", false));
  HANSE_ASSIGN_OR_RETURN(n.request_json, Str(j, "request", false));
  HANSE_ASSIGN_OR_RETURN(n.agreement_id, Str(j, "agreementId", false));
  HANSE_ASSIGN_OR_RETURN(n.provider_token, Str(j, "providerToken", false));
  HANSE_ASSIGN_OR_RETURN(n.consumer_token, Str(j, "consumerToken", false));
  HANSE_ASSIGN_OR_RETURN(n.created, Time(j, "created"));
  HANSE_ASSIGN_OR_RETURN(n.updated, Time(j, "updated"));
  return n;
}

}  // namespace hanse::contract
