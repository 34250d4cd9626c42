// The ODRL evaluator: one pure function over one parsed policy: rules, logical constraints,
// duties and the trace. What each left operand reads and how each operator compares is
// operands.cc; rendering the decision is decision_output.cc.
#include "policy/evaluate.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "policy/json_ld.h"
#include "policy/operands.h"
#include "policy/values.h"
#include "policy/vocabulary.h"

namespace hanse::policy {
namespace {

using internal::ListText;

// An action as written ("print", "odrl:write", an IRI) as the ODRL 2.2 action it stands for, or
// empty when it is none (the built-in prefixes only: a request has no @context).
std::string RequestAction(absl::string_view name) {
  static const internal::Terms* terms = new internal::Terms();
  const std::string short_name = internal::ShortName(terms->Expand(name, /*vocab=*/true));
  if (short_name.find(':') != std::string::npos) return "";
  return CanonicalAction(short_name);
}

std::string RightText(const Constraint& c) {
  std::string text = ListText(c.right, c.right_is_list);
  if (!c.issuers.empty()) {
    absl::StrAppend(&text, " issued by ", c.issuers.size() == 1 ? "" : "any of ",
                    ListText(c.issuers, c.issuers.size() > 1));
  }
  return text;
}

std::string ConstraintText(const Constraint& c) {
  if (c.logical != LogicalOperator::kNone) {
    std::vector<std::string> parts;
    for (const Constraint& child : c.children) parts.push_back(ConstraintText(child));
    return absl::StrCat(
        "(", absl::StrJoin(parts, absl::StrCat(" ", LogicalOperatorName(c.logical), " ")), ")");
  }
  return absl::StrCat(c.left_operand_name, " ", c.operator_name, " ", RightText(c));
}

// First constraint problem in a subtree ("path.field: problem"), or empty.
std::string FirstProblem(const Constraint& c) {
  if (!c.problem.empty()) return absl::StrCat(c.path, ".", c.problem_field, ": ", c.problem);
  for (const Constraint& child : c.children) {
    if (std::string p = FirstProblem(child); !p.empty()) return p;
  }
  return "";
}

std::string FirstProblem(const Rule& r) {
  if (!r.problem.empty()) return absl::StrCat(r.path, ".", r.problem_field, ": ", r.problem);
  for (const Constraint& c : r.constraints) {
    if (std::string p = FirstProblem(c); !p.empty()) return p;
  }
  return "";
}

// The result of one constraint, kept as a tree for explaining failures.
struct Node {
  const Constraint* constraint = nullptr;
  Verdict verdict = Verdict::kUnknown;
  size_t entry = 0;  // index into the trace
  std::vector<Node> children;
};

class Evaluator {
 public:
  Evaluator(const Policy& policy, const Request& request) : policy_(policy), request_(request) {
    request_action_ = RequestAction(request.action);
  }

  Decision Run() {
    Decision d;
    std::string policy_reason;
    if (!policy_.problem.empty()) {
      policy_reason = absl::StrCat("policy.", policy_.problem_field, ": ", policy_.problem);
      Add({"policy", "policy", policy_.problem_field, "", "", "", Verdict::kUnknown,
           policy_.problem});
    }
    std::string request_reason;
    if (request_action_.empty()) {
      request_reason = absl::StrCat("request action \"", Printable(request_.action),
                                    "\" is not an ODRL 2.2 action");
      Add({"request", "request.action", "action", "", "an ODRL 2.2 action", request_.action,
           Verdict::kUnknown, request_reason});
    }

    // Prohibitions first: one that applies decides.
    std::string prohibition_reason;
    std::vector<std::string> active;
    for (const Rule& r : policy_.prohibitions) {
      std::string why;
      const Verdict v = EvalProhibition(r, &why);
      if (v != Verdict::kFailed && prohibition_reason.empty()) prohibition_reason = why;
      if (v != Verdict::kFailed) active.push_back(r.path);
    }
    // Obligations bind the consumer whatever rule permits: they must be understood.
    std::string obligation_reason;
    for (const Rule& r : policy_.obligations) {
      std::string why;
      if (!CheckDuty(r, &why) || !PreconditionMet(r, "the policy", &why)) {
        if (obligation_reason.empty()) obligation_reason = why;
      }
    }
    // Permissions: the first that permits supplies the duties.
    const Rule* permitting = nullptr;
    std::vector<std::string> permission_reasons;
    for (const Rule& r : policy_.permissions) {
      std::string why;
      const bool permits = EvalPermission(r, &why);
      if (permits && permitting == nullptr) permitting = &r;
      if (permits) active.push_back(r.path);
      if (!permits) permission_reasons.push_back(std::move(why));
    }

    if (!policy_reason.empty()) {
      d.reason = policy_reason;
    } else if (!request_reason.empty()) {
      d.reason = request_reason;
    } else if (!prohibition_reason.empty()) {
      d.reason = prohibition_reason;
    } else if (!obligation_reason.empty()) {
      d.reason = obligation_reason;
    } else if (permitting == nullptr) {
      if (policy_.permissions.empty()) {
        d.reason = "the policy has no permission";
      } else if (permission_reasons.size() == 1) {
        d.reason = permission_reasons[0];
      } else {
        const size_t shown = std::min<size_t>(permission_reasons.size(), 3);
        d.reason = absl::StrCat(
            "no permission applies: ",
            absl::StrJoin(permission_reasons.begin(), permission_reasons.begin() + shown, "; "));
        if (permission_reasons.size() > shown) {
          absl::StrAppend(&d.reason, "; and ", permission_reasons.size() - shown, " more");
        }
      }
    } else {
      d.permit = true;
      d.permitted_by = permitting->path;
      d.reason = absl::StrCat("permitted by ", permitting->path);
      for (const Rule& duty : permitting->duties) {
        if (IsAfterUseDuty(duty.action)) d.duties.push_back(MakeDuty(duty));
      }
      for (const Rule& o : policy_.obligations) d.duties.push_back(MakeDuty(o));
    }
    for (const Rule& o : policy_.obligations) active.push_back(o.path);
    if (!policy_reason.empty()) active.clear();  // an unusable policy puts no rule in force
    for (std::string& path : active) {
      if (std::find(d.active_rules.begin(), d.active_rules.end(), path) == d.active_rules.end()) {
        d.active_rules.push_back(std::move(path));
      }
    }
    d.reason = Printable(d.reason, 1000);
    d.trace = std::move(trace_);
    return d;
  }

 private:
  size_t Add(TraceEntry e) {
    trace_.push_back(std::move(e));
    return trace_.size() - 1;
  }

  // Whether a collection named by a rule holds the request's party or asset: kUnknown when the
  // request does not say which collections it is in.
  static Verdict Membership(const std::optional<std::vector<std::string>>& collections,
                            const std::string& iri) {
    if (!collections) return Verdict::kUnknown;
    return std::find(collections->begin(), collections->end(), iri) != collections->end()
               ? Verdict::kSatisfied
               : Verdict::kFailed;
  }

  // The checks every rule shares: target and assignee. Returns kFailed when the rule is not for
  // this request, kUnknown when that cannot be told, kSatisfied otherwise.
  Verdict PartyChecks(const Rule& r, std::string* why) {
    Verdict v = Verdict::kSatisfied;
    if (!r.target.iri.empty() && !request_.target.empty()) {
      if (r.target.collection) {
        const Verdict in = Membership(request_.asset_collections, r.target.iri);
        Add({r.path, r.path, "target", "isPartOf", r.target.iri, request_.target, in,
             in == Verdict::kUnknown  ? "the request does not say which asset collections the "
                                        "target is in"
             : in == Verdict::kFailed ? "the target is not in this asset collection"
                                      : ""});
        if (in == Verdict::kFailed) {
          *why = absl::StrCat(r.path, ": the requested ", Printable(request_.target),
                              " is not in the asset collection ", Printable(r.target.iri));
          return Verdict::kFailed;
        }
        if (in == Verdict::kUnknown) {
          *why = absl::StrCat(r.path, ": unknown whether ", Printable(request_.target),
                              " is in the asset collection ", Printable(r.target.iri));
          v = Verdict::kUnknown;
        }
      } else {
        const bool ok = r.target.iri == request_.target;
        Add({r.path, r.path, "target", "eq", r.target.iri, request_.target,
             ok ? Verdict::kSatisfied : Verdict::kFailed,
             ok ? "" : "the rule is for another asset"});
        if (!ok) {
          *why = absl::StrCat(r.path, ": the rule's target ", Printable(r.target.iri),
                              " is not the requested ", Printable(request_.target));
          return Verdict::kFailed;
        }
      }
    }
    if (!r.assignee.iri.empty()) {
      const char* op = r.assignee.collection ? "isPartOf" : "eq";
      if (request_.consumer.empty()) {
        Add({r.path, r.path, "assignee", op, r.assignee.iri, "", Verdict::kUnknown,
             "the request names no consumer"});
        *why = absl::StrCat(r.path, ": the rule has an assignee and the request names no consumer");
        return Verdict::kUnknown;
      }
      Verdict in;
      if (r.assignee.collection) {
        in = Membership(request_.party_collections, r.assignee.iri);
      } else {
        in = r.assignee.iri == request_.consumer ? Verdict::kSatisfied : Verdict::kFailed;
      }
      Add({r.path, r.path, "assignee", op, r.assignee.iri, request_.consumer, in,
           in == Verdict::kSatisfied ? ""
           : in == Verdict::kUnknown ? "the request does not say which party collections the "
                                       "consumer belongs to"
           : r.assignee.collection   ? "the consumer is not a member of this party collection"
                                     : "the rule is assigned to another party"});
      if (in == Verdict::kFailed) {
        *why = r.assignee.collection
                   ? absl::StrCat(r.path, ": ", Printable(request_.consumer),
                                  " is not a member of ", Printable(r.assignee.iri))
                   : absl::StrCat(r.path, ": assigned to ", Printable(r.assignee.iri), ", not to ",
                                  Printable(request_.consumer));
        return Verdict::kFailed;
      }
      if (in == Verdict::kUnknown) {
        *why = absl::StrCat(r.path, ": unknown whether ", Printable(request_.consumer),
                            " is a member of ", Printable(r.assignee.iri));
        v = Verdict::kUnknown;
      }
    }
    return v;
  }

  // The rule's constraints, AND-ed. Appends to `nodes`.
  Verdict EvalConstraints(const Rule& r, std::vector<Node>* nodes) {
    Verdict v = Verdict::kSatisfied;
    for (const Constraint& c : r.constraints) {
      nodes->push_back(Eval(r, c));
      v = Combine(v, nodes->back().verdict);
    }
    return v;
  }

  static Verdict Combine(Verdict a, Verdict b) {
    if (a == Verdict::kUnknown || b == Verdict::kUnknown) return Verdict::kUnknown;
    if (a == Verdict::kFailed || b == Verdict::kFailed) return Verdict::kFailed;
    return Verdict::kSatisfied;
  }

  // The rule's action against the request's: satisfied when the requested action is the rule's
  // or included in it, unknown when the request action is not an ODRL action.
  Verdict ActionCheck(const Rule& r, absl::string_view what) {
    if (request_action_.empty()) {
      Add({r.path, r.path, "action", "includes", r.action_name, request_.action, Verdict::kUnknown,
           "the request action is not an ODRL 2.2 action"});
      return Verdict::kUnknown;
    }
    const bool covers = ActionIncludedIn(request_action_, r.action);
    std::string note;
    if (!covers) {
      note = absl::StrCat(what, " ", r.action_name, " does not cover ", Printable(request_.action));
    } else if (request_action_ != r.action) {
      note = absl::StrCat(request_action_, " is included in ", r.action);
    }
    Add({r.path, r.path, "action", "includes", r.action_name, request_.action,
         covers ? Verdict::kSatisfied : Verdict::kFailed, std::move(note)});
    return covers ? Verdict::kSatisfied : Verdict::kFailed;
  }

  // Whether a duty that must come before the use lets it happen: after-use duties always do; any
  // other is met when the request reports it fulfilled, or when its own constraints do not hold
  // (an inactive duty binds nothing, ODRL formal semantics). One whose constraints cannot be
  // evaluated is not met (fail closed).
  bool PreconditionMet(const Rule& duty, absl::string_view of, std::string* why) {
    if (IsAfterUseDuty(duty.action) || Fulfilled(duty)) return true;
    std::vector<Node> conditions;
    const Verdict active = EvalConstraints(duty, &conditions);
    if (active == Verdict::kFailed) return true;
    *why = absl::StrCat(duty.path, ": the duty to ", duty.action_name, " is a precondition of ", of,
                        active == Verdict::kUnknown ? " (and may be due)" : "",
                        " and is not fulfilled");
    return false;
  }

  // A precondition duty the request reports done, by path, uid or action.
  bool Fulfilled(const Rule& duty) const {
    for (const std::string& f : request_.fulfilled_duties) {
      if (f == duty.path || (!duty.uid.empty() && f == duty.uid) || f == duty.action_name ||
          RequestAction(f) == duty.action) {
        return true;
      }
    }
    return false;
  }

  // The summary entry of a rule, naming the combination of an expanded compact rule.
  size_t Summary(const Rule& r) {
    return Add({r.path, r.path, "", "", "", "", Verdict::kUnknown, ""});
  }

  bool EvalPermission(const Rule& r, std::string* why) {
    const size_t summary = Summary(r);
    auto finish = [&](Verdict v, std::string note) {
      trace_[summary].verdict = v;
      trace_[summary].note =
          r.expansion.empty() ? std::move(note) : absl::StrCat("(", r.expansion, ") ", note);
      return v == Verdict::kSatisfied;
    };
    if (!r.problem.empty()) {
      *why = absl::StrCat(r.path, ".", r.problem_field, ": ", r.problem);
      Add({r.path, r.path, r.problem_field, r.problem_field == "action" ? "includes" : "",
           r.action_name, request_.action, Verdict::kUnknown, r.problem});
      return finish(Verdict::kUnknown, "does not permit (fail closed): " + r.problem);
    }
    const Verdict covers = ActionCheck(r, "a permission for");
    if (covers == Verdict::kUnknown) {
      *why = absl::StrCat(r.path, ": the request action ", Printable(request_.action),
                          " is not an ODRL 2.2 action");
      return finish(Verdict::kUnknown, "does not permit (fail closed): unknown request action");
    }
    if (covers == Verdict::kFailed) {
      *why = absl::StrCat(r.path, ": action ", r.action_name, " does not permit ",
                          Printable(request_.action));
      return finish(Verdict::kFailed, "does not apply to the requested action");
    }
    const Verdict party = PartyChecks(r, why);
    if (party == Verdict::kFailed)
      return finish(Verdict::kFailed, "does not apply to this request");
    std::vector<Node> nodes;
    const Verdict cv = EvalConstraints(r, &nodes);
    if (party == Verdict::kUnknown)
      return finish(Verdict::kUnknown, "does not permit (fail closed)");
    if (cv != Verdict::kSatisfied) {
      *why = ExplainList(nodes);
      return finish(cv, cv == Verdict::kFailed ? "does not permit: a constraint failed"
                                               : "does not permit (fail closed): a constraint "
                                                 "could not be evaluated");
    }
    for (const Rule& duty : r.duties) {
      if (!CheckDuty(duty, why)) {
        return finish(Verdict::kUnknown, "does not permit (fail closed): a duty is not understood");
      }
    }
    for (const Rule& duty : r.duties) {
      if (!PreconditionMet(duty, r.path, why)) {
        return finish(Verdict::kFailed, "does not permit: a precondition duty is not fulfilled");
      }
    }
    return finish(Verdict::kSatisfied, absl::StrCat("permits ", Printable(request_.action),
                                                    r.duties.empty() ? "" : " with duties"));
  }

  // Returns kFailed when the prohibition does not apply; kSatisfied or kUnknown (treated as
  // applying) otherwise, with the reason in `why`.
  Verdict EvalProhibition(const Rule& r, std::string* why) {
    const size_t summary = Summary(r);
    auto finish = [&](Verdict v, std::string note) {
      trace_[summary].verdict = v;
      trace_[summary].note =
          r.expansion.empty() ? std::move(note) : absl::StrCat("(", r.expansion, ") ", note);
      return v;
    };
    std::string problem;
    Verdict action_verdict;
    if (!r.problem.empty()) {
      problem = absl::StrCat(r.path, ".", r.problem_field, ": ", r.problem);
      action_verdict = Verdict::kUnknown;
      Add({r.path, r.path, r.problem_field, r.problem_field == "action" ? "includes" : "",
           r.action_name, request_.action, Verdict::kUnknown, r.problem});
    } else {
      action_verdict = ActionCheck(r, "a prohibition of");
      if (action_verdict == Verdict::kFailed) {
        return finish(Verdict::kFailed, "does not apply to the requested action");
      }
      if (action_verdict == Verdict::kUnknown) {
        problem = absl::StrCat(r.path, ": the request action ", Printable(request_.action),
                               " is not an ODRL 2.2 action");
      }
    }
    std::string party_why;
    const Verdict party = PartyChecks(r, &party_why);
    if (party == Verdict::kFailed)
      return finish(Verdict::kFailed, "does not apply to this request");
    std::vector<Node> nodes;
    Verdict cv = EvalConstraints(r, &nodes);
    // A constraint the evaluator cannot understand keeps the prohibition applying even where the
    // order of evaluation never reached it (andSequence) or another constraint failed.
    if (const std::string unusable = FirstProblem(r); !unusable.empty()) {
      if (problem.empty()) problem = unusable;
      cv = Verdict::kUnknown;
    }
    if (cv == Verdict::kFailed)
      return finish(Verdict::kFailed, "does not apply: a constraint failed");
    const Verdict v = Combine(Combine(action_verdict, party), cv);
    if (v == Verdict::kSatisfied) {
      *why = absl::StrCat(r.path, " prohibits ", Printable(request_.action),
                          r.constraints.empty() ? "" : " and its constraints hold");
      return finish(v, absl::StrCat("applies: prohibits ", Printable(request_.action)));
    }
    std::string detail = !problem.empty()             ? problem
                         : party == Verdict::kUnknown ? party_why
                                                      : ExplainList(nodes);
    *why = absl::StrCat(r.path, " is treated as applying (fail closed): ", detail);
    return finish(Verdict::kUnknown, "treated as applying (fail closed)");
  }

  // A duty or obligation: understood or not (its constraints are not conditions of the decision).
  bool CheckDuty(const Rule& duty, std::string* why) {
    const std::string problem = FirstProblem(duty);
    const std::string text = DutyText(duty);
    Add({duty.path, duty.path, "duty", "", duty.action_name, "",
         problem.empty() ? Verdict::kSatisfied : Verdict::kUnknown,
         problem.empty() ? absl::StrCat("the consumer must ", text) : problem});
    if (!problem.empty()) {
      *why = absl::StrCat(problem, " (a duty that is not understood cannot be accepted)");
      return false;
    }
    return true;
  }

  static std::string DutyText(const Rule& duty) {
    std::vector<std::string> parts;
    for (const Constraint& c : duty.constraints) parts.push_back(ConstraintText(c));
    if (parts.empty()) return duty.action_name;
    return absl::StrCat(duty.action_name, " when ", absl::StrJoin(parts, " and "));
  }

  Duty MakeDuty(const Rule& rule) {
    Duty duty;
    duty.rule = rule.path;
    duty.action = rule.action_name;
    for (const Constraint& c : rule.constraints) {
      if (c.logical != LogicalOperator::kNone) {
        duty.constraints.push_back(
            {"", std::string(LogicalOperatorName(c.logical)), ConstraintText(c)});
        continue;
      }
      duty.constraints.push_back({c.left_operand_name, c.operator_name, RightText(c)});
      if (duty.due || c.right.empty()) continue;
      if (c.left_operand == LeftOperand::kElapsedTime && request_.agreement_start) {
        if (auto d = ParseIsoDuration(c.right[0])) duty.due = d->AddTo(*request_.agreement_start);
      } else if (c.left_operand == LeftOperand::kDateTime) {
        duty.due = ParseDateTime(c.right[0]);
      }
    }
    duty.summary = DutyText(rule);
    if (duty.due) absl::StrAppend(&duty.summary, " (due ", FormatInstant(*duty.due), ")");
    return duty;
  }

  Node Eval(const Rule& r, const Constraint& c) {
    Node node;
    node.constraint = &c;
    node.entry =
        Add({r.path, c.path, c.left_operand_name,
             c.logical != LogicalOperator::kNone ? std::string(LogicalOperatorName(c.logical))
                                                 : c.operator_name,
             "", "", Verdict::kUnknown, ""});
    if (c.logical != LogicalOperator::kNone) {
      EvalLogical(r, c, &node);
    } else {
      trace_[node.entry].required = RightText(c);
      internal::AtomicOutcome outcome = internal::EvaluateAtomic(c, request_);
      node.verdict = outcome.verdict;
      trace_[node.entry].actual = std::move(outcome.actual);
      trace_[node.entry].note = std::move(outcome.note);
    }
    trace_[node.entry].verdict = node.verdict;
    return node;
  }

  void EvalLogical(const Rule& r, const Constraint& c, Node* node) {
    const size_t n = c.children.size();
    size_t satisfied = 0, failed = 0, unknown = 0, skipped = 0;
    for (const Constraint& child : c.children) {
      const bool stop = c.logical == LogicalOperator::kAndSequence && (failed > 0 || unknown > 0);
      if (stop) {
        Node skip;
        skip.constraint = &child;
        skip.verdict = Verdict::kNotEvaluated;
        skip.entry = Add({r.path, child.path, child.left_operand_name,
                          child.logical != LogicalOperator::kNone
                              ? std::string(LogicalOperatorName(child.logical))
                              : child.operator_name,
                          child.logical != LogicalOperator::kNone ? "" : RightText(child), "",
                          Verdict::kNotEvaluated, "andSequence stopped at an earlier constraint"});
        node->children.push_back(std::move(skip));
        ++skipped;
        continue;
      }
      node->children.push_back(Eval(r, child));
      switch (node->children.back().verdict) {
        case Verdict::kSatisfied:
          ++satisfied;
          break;
        case Verdict::kFailed:
          ++failed;
          break;
        default:
          ++unknown;
          break;
      }
    }
    TraceEntry& e = trace_[node->entry];
    switch (c.logical) {
      case LogicalOperator::kAnd:
        e.required = absl::StrCat("all of ", n);
        break;
      case LogicalOperator::kOr:
        e.required = absl::StrCat("at least one of ", n);
        break;
      case LogicalOperator::kXone:
        e.required = absl::StrCat("exactly one of ", n);
        break;
      default:
        e.required = absl::StrCat("all of ", n, ", in order");
        break;
    }
    e.actual = absl::StrCat(satisfied, " satisfied, ", failed, " failed");
    if (unknown > 0) absl::StrAppend(&e.actual, ", ", unknown, " unknown");
    if (skipped > 0) absl::StrAppend(&e.actual, ", ", skipped, " not evaluated");
    if (!c.problem.empty()) {
      node->verdict = Verdict::kUnknown;
      e.note = absl::StrCat(c.problem_field, ": ", c.problem);
      return;
    }
    if (unknown > 0) {
      node->verdict = Verdict::kUnknown;
      e.note = "a constraint could not be evaluated (fail closed)";
      return;
    }
    bool ok = false;
    switch (c.logical) {
      case LogicalOperator::kAnd:
      case LogicalOperator::kAndSequence:
        ok = failed == 0;
        break;
      case LogicalOperator::kOr:
        ok = satisfied > 0;
        break;
      default:
        ok = satisfied == 1;
        if (satisfied > 1) e.note = absl::StrCat(satisfied, " hold, exactly one must");
        break;
    }
    node->verdict = ok ? Verdict::kSatisfied : Verdict::kFailed;
  }

  // The first non-satisfied constraint of an AND-ed list, explained.
  std::string ExplainList(const std::vector<Node>& nodes) {
    for (const Node& n : nodes) {
      if (n.verdict == Verdict::kUnknown) return Explain(n);
    }
    for (const Node& n : nodes) {
      if (n.verdict != Verdict::kSatisfied) return Explain(n);
    }
    return "";
  }

  std::string Explain(const Node& n) {
    const Constraint& c = *n.constraint;
    const TraceEntry& e = trace_[n.entry];
    if (c.logical == LogicalOperator::kNone) {
      if (!c.problem.empty()) return absl::StrCat(c.path, ".", c.problem_field, ": ", c.problem);
      std::string s = absl::StrCat(c.path, ": ", c.left_operand_name, " ", c.operator_name, " ",
                                   Printable(e.required, 120), " ", VerdictName(n.verdict));
      if (!e.actual.empty()) absl::StrAppend(&s, " (actual: ", Printable(e.actual, 120), ")");
      if (!e.note.empty()) absl::StrAppend(&s, ": ", e.note);
      return s;
    }
    if (!c.problem.empty()) return absl::StrCat(c.path, ".", c.problem_field, ": ", c.problem);
    for (const Node& child : n.children) {
      if (child.verdict == Verdict::kUnknown) return Explain(child);
    }
    const std::string name(LogicalOperatorName(c.logical));
    if (c.logical == LogicalOperator::kAnd || c.logical == LogicalOperator::kAndSequence) {
      for (const Node& child : n.children) {
        if (child.verdict == Verdict::kFailed) return Explain(child);
      }
      return absl::StrCat(c.path, ": ", name, " failed");
    }
    size_t satisfied = 0;
    std::vector<std::string> which;
    for (const Node& child : n.children) {
      if (child.verdict == Verdict::kSatisfied) {
        ++satisfied;
        which.push_back(child.constraint->path);
      }
    }
    if (satisfied > 1) {
      return absl::StrCat(c.path, ": xone: ", satisfied, " of ", n.children.size(),
                          " constraints hold (", absl::StrJoin(which, ", "), "), exactly one must");
    }
    return absl::StrCat(c.path, ": ", name, ": none of the ", n.children.size(),
                        " constraints holds; first: ", Explain(n.children.front()));
  }

  const Policy& policy_;
  const Request& request_;
  std::string request_action_;  // canonical ODRL name; empty when unknown
  std::vector<TraceEntry> trace_;
};

}  // namespace

absl::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kSatisfied:
      return "satisfied";
    case Verdict::kFailed:
      return "failed";
    case Verdict::kUnknown:
      return "unknown";
    case Verdict::kNotEvaluated:
      return "not evaluated";
  }
  return "unknown";
}

bool ActionCovers(absl::string_view granted, absl::string_view requested) {
  const std::string g = RequestAction(granted), r = RequestAction(requested);
  return !g.empty() && !r.empty() && ActionIncludedIn(r, g);
}

Decision Evaluate(const Policy& policy, const Request& request) {
  return Evaluator(policy, request).Run();
}

}  // namespace hanse::policy
