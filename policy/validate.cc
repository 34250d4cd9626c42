// What the parser cannot refuse but a publisher must hear: the values each operand accepts
// (CheckConstraintValues, used by the parser to mark a constraint unusable) and the list of every
// problem of a policy (ValidatePolicyForPublishing). policy.h is the API.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "base/status.h"
#include "policy/policy.h"
#include "policy/values.h"
#include "policy/vocabulary.h"

namespace hanse::policy {
namespace {

void CollectConstraintProblems(const Constraint& c, std::vector<std::string>* out) {
  if (!c.problem.empty()) {
    out->push_back(absl::StrCat(c.path, ".", c.problem_field, ": ", c.problem));
  }
  for (const Constraint& child : c.children) CollectConstraintProblems(child, out);
}

void CollectRuleProblems(const Rule& r, std::vector<std::string>* out) {
  if (!r.problem.empty())
    out->push_back(absl::StrCat(r.path, ".", r.problem_field, ": ", r.problem));
  for (const Constraint& c : r.constraints) CollectConstraintProblems(c, out);
  for (const Rule& d : r.duties) {
    CollectRuleProblems(d, out);
    // The node learns of no fulfilment (no payment, no consent record), so an offer whose
    // permission waits for one would never permit.
    if (d.problem.empty() && !IsAfterUseDuty(d.action)) {
      out->push_back(absl::StrCat(d.path, ".action: the duty to ", d.action_name,
                                  " is a precondition of ", r.path,
                                  " that the node cannot see fulfilled (only delete, inform, "
                                  "anonymize and attribute are taken on with the agreement)"));
    }
  }
}

bool IsComparison(Operator op) {
  return op == Operator::kEq || op == Operator::kNeq || op == Operator::kLt ||
         op == Operator::kLteq || op == Operator::kGt || op == Operator::kGteq;
}

}  // namespace

std::string CheckConstraintValues(const Constraint& c, std::string* field) {
  if (c.logical != LogicalOperator::kNone) return "";
  if (c.left_operand == LeftOperand::kUnknown) {
    *field = "leftOperand";
    return absl::StrCat("unknown left operand \"", Printable(c.left_operand_name), "\"");
  }
  if (c.op == Operator::kUnknown) {
    *field = "operator";
    return absl::StrCat("unknown operator \"", Printable(c.operator_name), "\"");
  }
  const bool ordered =
      c.left_operand == LeftOperand::kDateTime || c.left_operand == LeftOperand::kElapsedTime ||
      c.left_operand == LeftOperand::kCount || c.left_operand == LeftOperand::kTimeOfDay;
  const bool ordering = c.op == Operator::kLt || c.op == Operator::kLteq || c.op == Operator::kGt ||
                        c.op == Operator::kGteq;
  if (ordered ? !IsComparison(c.op) : ordering) {
    *field = "operator";
    return absl::StrCat("operator ", OperatorName(c.op), " is not defined for ",
                        LeftOperandName(c.left_operand));
  }
  if (c.op == Operator::kIsA && c.left_operand != LeftOperand::kPurpose &&
      c.left_operand != LeftOperand::kSpatial && c.left_operand != LeftOperand::kJurisdiction &&
      c.left_operand != LeftOperand::kRecipient) {
    *field = "operator";
    return absl::StrCat("operator isA is not defined for ", LeftOperandName(c.left_operand));
  }
  if (c.right.empty()) {
    *field = "rightOperand";
    return "empty";
  }
  const bool single = IsComparison(c.op) || c.op == Operator::kIsA;
  if (single && c.right.size() != 1) {
    *field = "rightOperand";
    return absl::StrCat("operator ", OperatorName(c.op), " takes one value, not a list of ",
                        c.right.size());
  }
  *field = "rightOperand";
  for (const std::string& v : c.right) {
    switch (c.left_operand) {
      case LeftOperand::kDateTime:
        if (!ParseDateTime(v)) {
          return absl::StrCat("\"", Printable(v),
                              "\" is not an RFC 3339 date-time or a date (YYYY-MM-DD)");
        }
        break;
      case LeftOperand::kElapsedTime:
        if (!ParseIsoDuration(v)) {
          return absl::StrCat("\"", Printable(v), "\" is not an ISO 8601 duration (e.g. P30D)");
        }
        break;
      case LeftOperand::kCount:
        if (!ParseCount(v)) {
          return absl::StrCat("\"", Printable(v), "\" is not a non-negative integer");
        }
        break;
      case LeftOperand::kTimeOfDay:
        if (!ParseTimeOfDay(v)) {
          return absl::StrCat("\"", Printable(v), "\" is not a time of day (HH:MM or HH:MM:SS)");
        }
        break;
      case LeftOperand::kDayOfWeek:
        if (!ParseWeekday(v)) {
          return absl::StrCat("\"", Printable(v),
                              "\" is not a day of the week (Mon ... Sun, or ISO 1 ... 7)");
        }
        break;
      case LeftOperand::kSpatial:
      case LeftOperand::kJurisdiction:
        if (!IsCountryCode(v) && CountryGroup(v) == nullptr) {
          return absl::StrCat("\"", Printable(v),
                              "\" is not an ISO 3166-1 alpha-2 country code or a group (EU, EEA)");
        }
        break;
      default:
        if (v.empty()) return "empty value";
        break;
    }
  }
  if (!c.issuers.empty() && c.left_operand != LeftOperand::kCertification) {
    *field = "hanse:issuer";
    return "only allowed on a hanse:certification constraint";
  }
  if (c.left_operand == LeftOperand::kTimeOfDay || c.left_operand == LeftOperand::kDayOfWeek) {
    if (c.op == Operator::kHasPart || c.op == Operator::kIsPartOf || c.op == Operator::kIsAllOf ||
        c.op == Operator::kIsA) {
      *field = "operator";
      return absl::StrCat("operator ", OperatorName(c.op), " is not defined for ",
                          LeftOperandName(c.left_operand));
    }
    absl::TimeZone zone;
    if (!absl::LoadTimeZone(c.time_zone, &zone)) {
      *field = "hanse:timeZone";
      return absl::StrCat("unknown time zone \"", Printable(c.time_zone), "\"");
    }
  } else if (c.has_time_zone) {
    *field = "hanse:timeZone";
    return "only allowed on a hanse:timeOfDay or hanse:dayOfWeek constraint";
  }
  field->clear();
  return "";
}

absl::Status ValidatePolicyForPublishing(absl::string_view json) {
  HANSE_ASSIGN_OR_RETURN(Policy policy, ParsePolicy(json));
  std::vector<std::string> problems;
  if (!policy.problem.empty()) {
    problems.push_back(absl::StrCat(policy.problem_field, ": ", policy.problem));
  }
  for (const auto* rules : {&policy.permissions, &policy.prohibitions, &policy.obligations}) {
    for (const Rule& r : *rules) CollectRuleProblems(r, &problems);
  }
  for (const Rule& o : policy.obligations) {
    if (o.problem.empty() && !IsAfterUseDuty(o.action)) {
      problems.push_back(absl::StrCat(o.path, ".action: the obligation to ", o.action_name,
                                      " is a precondition of the policy that the node cannot see "
                                      "fulfilled (only delete, inform, anonymize and attribute "
                                      "are taken on with the agreement)"));
    }
  }
  if (policy.permissions.empty()) {
    problems.push_back("policy: no permission, so it can never permit a use");
  }
  if (problems.empty()) return absl::OkStatus();
  // An expanded compact rule repeats its problems once per combination.
  std::vector<std::string> unique;
  for (std::string& p : problems) {
    if (std::find(unique.begin(), unique.end(), p) == unique.end()) unique.push_back(std::move(p));
  }
  return absl::InvalidArgumentError(absl::StrJoin(unique, "; "));
}

}  // namespace hanse::policy
