// The policy evaluator: a pure function of a parsed policy and a request, returning the decision,
// the trace of every rule and constraint it looked at, and the duties the consumer takes on.
//
// Semantics (docs/policies.md is the user-facing version):
// - Default deny. The request is permitted when no prohibition applies and at least one
//   permission permits it; the after-use duties of the first permitting permission (plus the
//   policy's obligations) come with the decision. A permission's other duties are preconditions:
//   it permits only when the request reports them fulfilled (docs/adr/0010-odrl-semantics.md).
// - A prohibition beats a permission.
// - Fail closed: a constraint that cannot be evaluated (unknown left operand or operator, a
//   malformed value, a fact missing from the request) is "unknown". Unknown dominates in logical
//   constraints. A permission whose constraints are unknown, whose action is unknown, or one of
//   whose duties is not understood does not permit; a prohibition whose action is unknown or
//   whose constraints are unknown applies. An obligation that is not understood denies.
// - Each verdict and the deny reason name the JSON path of the constraint.
#ifndef HANSE_POLICY_EVALUATE_H_
#define HANSE_POLICY_EVALUATE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "policy/policy.h"
#include "policy/request.h"

namespace hanse::policy {

enum class Verdict { kSatisfied, kFailed, kUnknown, kNotEvaluated };
absl::string_view VerdictName(Verdict v);  // "satisfied", "failed", "unknown", "not evaluated"

struct TraceEntry {
  std::string rule;          // "permission[0]"
  std::string path;          // "permission[0].constraint[1]" (the rule's own path for rule checks)
  std::string left_operand;  // "purpose", "hanse:jurisdiction"; "action"/"assignee"/"target" for
                             // rule checks; "" for the rule summary and logical constraints
  std::string op;            // "isAnyOf", "and", "includes", ...
  std::string required;      // the right operand as text
  std::string actual;        // what the request had
  Verdict verdict = Verdict::kUnknown;
  std::string note;  // why, in words
};

struct DutyConstraint {
  std::string left_operand;
  std::string op;
  std::string right;  // the right operand as text
};

struct Duty {
  std::string rule;    // "permission[0].duty[0]" or "obligation[0]"
  std::string action;  // "delete", "inform", ...
  std::vector<DutyConstraint> constraints;
  // When the duty falls due, from its first elapsedTime constraint (agreement start + duration)
  // or dateTime constraint; unset when it has neither (or the request has no agreement start).
  std::optional<absl::Time> due;
  std::string summary;  // "delete when elapsedTime eq P30D (due 2025-03-03T00:00:00Z)"
};

struct Decision {
  bool permit = false;
  std::vector<TraceEntry> trace;
  // One line: why it was denied (naming the rule and constraint), or "permitted by permission[0]".
  std::string reason;
  std::vector<Duty> duties;  // only when permitted
  std::string permitted_by;  // "permission[0]" when permitted
  // The rules in force for this request, in policy order: permissions that permit, prohibitions
  // that apply (also when treated as applying, fail closed), obligations. Each path once.
  std::vector<std::string> active_rules;
};

// Action hierarchy (ODRL 2.2 includedIn, policy/vocabulary.h). A permission for `granted` permits a
// request for `requested`, and a prohibition of it forbids one, iff `requested` is `granted` or is
// included in it: a permission to use permits print and distribute, not transfer (of ownership);
// a prohibition of use forbids read; a prohibition of read does not forbid a request to use.
// Names are short ODRL names or IRIs; deprecated terms count as their replacement; false when
// either is not an ODRL 2.2 action.
bool ActionCovers(absl::string_view granted, absl::string_view requested);

Decision Evaluate(const Policy& policy, const Request& request);

// The decision as readable text (several lines) and as JSON:
//   {"decision": "permit"|"deny", "permit": bool, "reason": "...", "permittedBy": "...",
//    "activeRules": ["permission[0]", ...],
//    "trace": [{"rule", "path", "leftOperand", "operator", "required", "actual", "verdict",
//               "note"}],
//    "duties": [{"rule", "action", "constraints": [{"leftOperand", "operator", "rightOperand"}],
//                "due", "summary"}]}
std::string DecisionToText(const Decision& decision);
std::string DecisionToJson(const Decision& decision);

// What `hanse policy check` prints: DecisionToJson (pretty, two-space indent) when `json`, else
// DecisionToText. Ends with a newline.
std::string CheckCommandOutput(const Decision& decision, bool json);

}  // namespace hanse::policy

#endif  // HANSE_POLICY_EVALUATE_H_
