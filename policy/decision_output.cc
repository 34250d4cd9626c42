// The decision as text and JSON (what `hanse policy check` prints and the node stores).
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "policy/evaluate.h"
#include "policy/values.h"

namespace hanse::policy {
namespace {
std::string DueText(const Duty& d) { return d.due ? FormatInstant(*d.due) : ""; }
}  // namespace

std::string DecisionToText(const Decision& d) {
  std::string out = absl::StrCat("decision: ", d.permit ? "permit" : "deny", "\n");
  absl::StrAppend(&out, "reason: ", Printable(d.reason, 1000), "\n");
  if (!d.duties.empty()) {
    out += "duties:\n";
    for (const Duty& duty : d.duties) {
      absl::StrAppend(&out, "  ", duty.rule, ": ", Printable(duty.summary, 400), "\n");
    }
  }
  out += "trace:\n";
  for (const TraceEntry& e : d.trace) {
    std::string line = absl::StrCat("  [", VerdictName(e.verdict), "] ", Printable(e.path));
    if (!e.left_operand.empty() || !e.op.empty()) {
      absl::StrAppend(&line, "  ", Printable(e.left_operand), e.left_operand.empty() ? "" : " ",
                      Printable(e.op), e.required.empty() ? "" : " ", Printable(e.required));
      if (!e.actual.empty()) absl::StrAppend(&line, "  actual: ", Printable(e.actual));
    }
    if (!e.note.empty()) absl::StrAppend(&line, "  -- ", Printable(e.note, 400));
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

namespace {
// ordered_json keeps the fields in the documented order.
nlohmann::ordered_json DecisionJson(const Decision& d) {
  using Json = nlohmann::ordered_json;
  Json j = Json::object();
  j["decision"] = d.permit ? "permit" : "deny";
  j["permit"] = d.permit;
  j["reason"] = d.reason;
  if (!d.permitted_by.empty()) j["permittedBy"] = d.permitted_by;
  j["activeRules"] = d.active_rules;
  Json trace = Json::array();
  for (const TraceEntry& e : d.trace) {
    trace.push_back({{"rule", e.rule},
                     {"path", e.path},
                     {"leftOperand", e.left_operand},
                     {"operator", e.op},
                     {"required", e.required},
                     {"actual", e.actual},
                     {"verdict", std::string(VerdictName(e.verdict))},
                     {"note", e.note}});
  }
  j["trace"] = std::move(trace);
  Json duties = Json::array();
  for (const Duty& duty : d.duties) {
    Json constraints = Json::array();
    for (const DutyConstraint& c : duty.constraints) {
      constraints.push_back(
          {{"leftOperand", c.left_operand}, {"operator", c.op}, {"rightOperand", c.right}});
    }
    Json dj = {{"rule", duty.rule},
               {"action", duty.action},
               {"constraints", std::move(constraints)},
               {"summary", duty.summary}};
    if (duty.due) dj["due"] = DueText(duty);
    duties.push_back(std::move(dj));
  }
  j["duties"] = std::move(duties);
  return j;
}
}  // namespace

std::string DecisionToJson(const Decision& d) {
  return DecisionJson(d).dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string CheckCommandOutput(const Decision& d, bool json) {
  if (json) {
    return DecisionJson(d).dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) +
           "\n";
  }
  return DecisionToText(d);
}

}  // namespace hanse::policy
