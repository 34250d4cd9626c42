// Internal to the policy module: one atomic constraint against the request (operands.cc), for
// the evaluator (evaluate.cc), which places the outcome in its trace.
#ifndef HANSE_POLICY_OPERANDS_H_
#define HANSE_POLICY_OPERANDS_H_

#include <string>
#include <vector>

#include "policy/evaluate.h"
#include "policy/policy.h"
#include "policy/request.h"

namespace hanse::policy::internal {

struct AtomicOutcome {
  Verdict verdict = Verdict::kUnknown;
  std::string actual;  // what the request had, as the trace shows it
  std::string note;    // why, in words
};

// Evaluates an atomic constraint (logical ones are the evaluator's).
AtomicOutcome EvaluateAtomic(const Constraint& c, const Request& request);

// Values as the trace writes them: one value alone, a list in brackets.
std::string ListText(const std::vector<std::string>& values, bool list);

}  // namespace hanse::policy::internal

#endif  // HANSE_POLICY_OPERANDS_H_
