// The ODRL 2.2 actions as data: every action of the ODRL 2.2 vocabulary with the action it is
// included in (odrl:includedIn) and, for a deprecated term, the current action it is an exact
// match of (skos:exactMatch). The evaluator derives every action decision from this table.
#ifndef HANSE_POLICY_ACTIONS_H_
#define HANSE_POLICY_ACTIONS_H_

#include <string>

#include "absl/strings/string_view.h"

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

}  // namespace hanse::policy

#endif  // HANSE_POLICY_ACTIONS_H_
