// ODRL 2.2 usage policies (JSON-LD compact form) as Hanse reads them. docs/policies.md is the
// user-facing description of the supported subset; this header is the API.
//
// Parsing is separate from understanding: ParsePolicy rejects only structurally malformed input
// (not an object, a rule list that is not an object/array, a constraint without leftOperand,
// limits exceeded). Vocabulary the evaluator does not know (a left operand, operator or action,
// a policy type) and malformed values of known operands parse fine and are kept with a `problem`,
// so that Evaluate can deny with that reason (fail closed) and ValidatePolicyForPublishing can
// tell the publisher what to fix.
//
// Terms are compared by IRI: "use", "odrl:use" and "http://www.w3.org/ns/odrl/2/use" are the
// same action, in keys and in values. Hanse extension terms live in https://w3id.org/hanse/v1#
// ("hanse:" prefix, or the bare term). Prefixes declared in an inline @context object are honoured;
// remote contexts are not fetched.
#ifndef HANSE_POLICY_POLICY_H_
#define HANSE_POLICY_POLICY_H_

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hanse::policy {

// Limits (ResourceExhausted beyond them). A compact rule counts once per expanded rule.
inline constexpr size_t kMaxPolicyBytes = 64 * 1024;
// Logical constraints nested in logical constraints: at most 16 levels.
inline constexpr int kMaxLogicalDepth = 16;
// Rules (permissions, prohibitions, obligations, duties) plus constraints (atomic and logical,
// refinements included): at most 256 in one policy.
inline constexpr size_t kMaxPolicyElements = 256;
// JSON nesting depth of the raw document (objects and arrays).
inline constexpr int kMaxJsonDepth = 64;
// Values in one right operand (or hanse:issuer list).
inline constexpr size_t kMaxRightOperandValues = 256;
// What the parsed policy holds once compact rules are expanded: every rule, constraint and
// right-operand value, copies included. Bounds the memory and the evaluation time a policy from
// any member can cost.
inline constexpr size_t kMaxExpandedCost = 4096;

enum class PolicyType { kUnknown, kSet, kOffer, kAgreement };

enum class LeftOperand {
  kUnknown,
  kDateTime,       // odrl:dateTime, the evaluation instant (Request::now)
  kElapsedTime,    // odrl:elapsedTime, now - Request::agreement_start
  kCount,          // odrl:count, Request::use_count + 1 (this use included)
  kPurpose,        // odrl:purpose, Request::purpose (an IRI)
  kRecipient,      // odrl:recipient, Request::consumer (a DID)
  kSpatial,        // odrl:spatial, Request::country (country of legal seat)
  kJurisdiction,   // hanse:jurisdiction, Request::jurisdictions (a set)
  kCertification,  // hanse:certification, Request::certifications (a set)
  kTimeOfDay,      // hanse:timeOfDay, Request::now as a wall-clock time in the constraint's zone
  kDayOfWeek,      // hanse:dayOfWeek, Request::now's ISO weekday in the constraint's zone
};

enum class Operator {
  kUnknown,
  kEq,
  kNeq,
  kLt,
  kLteq,
  kGt,
  kGteq,
  kIsA,
  kIsAnyOf,
  kIsAllOf,
  kIsNoneOf,
  kHasPart,
  kIsPartOf,
};

enum class LogicalOperator { kNone, kAnd, kOr, kXone, kAndSequence };

struct Constraint {
  // JSON path of this constraint, e.g. "permission[0].constraint[1]" or
  // "permission[0].constraint[0].xone[1]".
  std::string path;

  // A logical constraint has logical != kNone and children; the atomic fields are then empty.
  LogicalOperator logical = LogicalOperator::kNone;
  std::vector<Constraint> children;

  // Atomic constraint. The names are the short forms ("dateTime", "hanse:jurisdiction"), or the
  // IRI as written when unknown.
  std::string left_operand_name;
  LeftOperand left_operand = LeftOperand::kUnknown;
  std::string operator_name;
  Operator op = Operator::kUnknown;
  // Right operand values: strings, numbers as their decimal text, IRIs expanded, country codes
  // upper-cased. right_is_list when the policy gave an array (or @list).
  std::vector<std::string> right;
  bool right_is_list = false;
  // hanse:certification only: the accepted issuer DIDs (the constraint's "hanse:issuer"
  // property); empty means any issuer whose credential the node verified.
  std::vector<std::string> issuers;
  // hanse:timeOfDay and hanse:dayOfWeek only: the IANA time zone the wall clock is read in (the
  // constraint's "hanse:timeZone" property); "UTC" when it has none.
  std::string time_zone = "UTC";
  bool has_time_zone = false;

  // Why this constraint can never be evaluated, or empty. `problem_field` names the offending
  // property ("leftOperand", "operator", "rightOperand", "hanse:issuer").
  std::string problem_field;
  std::string problem;
};

// A party or an asset a rule names: one IRI, or a collection (odrl:PartyCollection /
// odrl:AssetCollection, named by its `source` or `@id`) whose membership is a fact of the request.
// Its refinements are in the rule's constraints (paths "...target.refinement[0]").
struct Subject {
  std::string iri;  // empty when the rule names none
  bool collection = false;
};

struct Rule {
  enum class Kind { kPermission, kProhibition, kObligation, kDuty };
  Kind kind = Kind::kPermission;
  std::string path;  // "permission[0]", "prohibition[1]", "obligation[0]", "permission[0].duty[0]"
  // A compact rule (several actions, targets or parties) is expanded into one rule per
  // combination; each names its combination here ("action read"), empty for a plain rule.
  std::string expansion;
  std::string uid;          // the rule's own @id/uid, or empty
  std::string action_name;  // short form as written ("use", "write") or the IRI when unknown
  // The ODRL 2.2 action it stands for (deprecated terms mapped: "write" -> "modify"); empty when
  // unknown (problem says why).
  std::string action;
  Subject target;        // own or inherited from the policy
  Subject assignee;      // own or inherited from the policy
  std::string assigner;  // own or inherited from the policy; not checked by the evaluator
  // The rule's constraints and the refinements of its action, target and assignee, AND-ed.
  std::vector<Constraint> constraints;
  std::vector<Rule> duties;   // permissions only
  std::string problem_field;  // "action" when the action is unknown in this position
  std::string problem;
};

struct Policy {
  PolicyType type = PolicyType::kUnknown;
  std::string type_name;  // as written
  std::string uid;
  // Policy-level parties and asset (already inherited into the rules): the first IRI when the
  // policy names several.
  std::string target, assigner, assignee;
  std::vector<Rule> permissions;
  std::vector<Rule> prohibitions;
  std::vector<Rule> obligations;
  // Policy-level reasons the policy can never permit (unknown type, inheritFrom), or empty.
  std::string problem_field;
  std::string problem;
};

// Parses a policy. InvalidArgument names the JSON path ("permission[0].constraint[1]: missing
// leftOperand"); ResourceExhausted for the limits above.
absl::StatusOr<Policy> ParsePolicy(absl::string_view json);

// For a publisher: OK only if the policy parses, uses no unknown vocabulary or malformed values,
// and has at least one permission that could permit something. Otherwise InvalidArgument (or
// ResourceExhausted) with every problem found, "; "-separated, each naming its path.
absl::Status ValidatePolicyForPublishing(absl::string_view json);

// Short names for the trace and messages.
absl::string_view LeftOperandName(LeftOperand operand);
absl::string_view OperatorName(Operator op);
absl::string_view LogicalOperatorName(LogicalOperator op);
absl::string_view PolicyTypeName(PolicyType type);

// The problem with a parsed constraint's value or operator for its left operand, or empty. Used
// by the parser to fill Constraint::problem; exposed for tests.
std::string CheckConstraintValues(const Constraint& c, std::string* field);

}  // namespace hanse::policy

#endif  // HANSE_POLICY_POLICY_H_
