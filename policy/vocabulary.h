// The ODRL 2.2 terms Hanse knows, as data: every action of the ODRL 2.2 vocabulary with the
// action it is included in (odrl:includedIn) and, for a deprecated term, the current action it is
// an exact match of (skos:exactMatch), from which the evaluator derives every action decision;
// and the left operands, operators, logical operators and policy types the parser recognises.
#ifndef HANSE_POLICY_VOCABULARY_H_
#define HANSE_POLICY_VOCABULARY_H_

#include <string>

#include "absl/strings/string_view.h"
#include "policy/policy.h"

namespace hanse::policy {

struct ActionTerm {
  absl::string_view name;         // short ODRL name ("print")
  absl::string_view included_in;  // the broader action, or empty for use and transfer
  absl::string_view replaced_by;  // deprecated terms: the current action; else empty
  bool deprecated = false;
};

// The vocabulary term named `name` (short form), or nullptr when ODRL 2.2 has none.
const ActionTerm* FindActionTerm(absl::string_view name);

// The current action a short name stands for: the name itself, or a deprecated term's exact
// match ("write" -> "modify"). Empty when the name is not an ODRL 2.2 action or is a deprecated
// term without a current equivalent ("lease"); `why` then says which.
std::string CanonicalAction(absl::string_view name, std::string* why = nullptr);

// True when `narrow` is `broad` or is (transitively) included in it. Both canonical names.
bool ActionIncludedIn(absl::string_view narrow, absl::string_view broad);

// Duties that the node accepts with a permit and that fall due after the use (the consumer
// deletes, informs, anonymises, attributes); every other duty is a precondition of its
// permission (docs/adr/0010-odrl-semantics.md).
bool IsAfterUseDuty(absl::string_view action);

// Short names ("isPartOf", "hanse:jurisdiction", "and", "Offer") to their enum; kUnknown (kNone
// for logical operators) when Hanse does not know the term. The reverse is in policy.h.
LeftOperand LeftOperandFromName(absl::string_view name);
Operator OperatorFromName(absl::string_view name);
LogicalOperator LogicalOperatorFromName(absl::string_view name);
PolicyType PolicyTypeFromName(absl::string_view name);

// A property key (short form) in the ODRL or Hanse namespace: ours to understand. Other
// vocabularies' properties (dcterms:title, an extension's IRI) describe and are skipped.
bool IsOwnTerm(absl::string_view short_key);
// An ODRL property Hanse reads nowhere but knowingly ignores (informational: profile, summary,
// conflict, ...).
bool IsIgnoredOdrlProperty(absl::string_view key);

}  // namespace hanse::policy

#endif  // HANSE_POLICY_VOCABULARY_H_
