// The ODRL parser (~600 lines): one grammar (compact and expanded IRIs) in one file.
#include "policy/policy.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status.h"
#include "policy/json_ld.h"
#include "policy/values.h"

namespace hanse::policy {
namespace {

using internal::Field;
using internal::FindField;
using internal::JoinPath;
using internal::Json;
using internal::ShortName;
using internal::Terms;

absl::Status Error(absl::string_view path, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(path.empty() ? "policy" : path, ": ", message));
}

std::string Indexed(absl::string_view path, absl::string_view key, size_t i) {
  return absl::StrCat(JoinPath(path, key), "[", i, "]");
}

struct NameEntry {
  absl::string_view name;
  int value;
};

constexpr NameEntry kOperands[] = {
    {"dateTime", static_cast<int>(LeftOperand::kDateTime)},
    {"elapsedTime", static_cast<int>(LeftOperand::kElapsedTime)},
    {"count", static_cast<int>(LeftOperand::kCount)},
    {"purpose", static_cast<int>(LeftOperand::kPurpose)},
    {"recipient", static_cast<int>(LeftOperand::kRecipient)},
    {"spatial", static_cast<int>(LeftOperand::kSpatial)},
    {"hanse:jurisdiction", static_cast<int>(LeftOperand::kJurisdiction)},
    {"hanse:certification", static_cast<int>(LeftOperand::kCertification)},
};

constexpr NameEntry kOperators[] = {
    {"eq", static_cast<int>(Operator::kEq)},
    {"neq", static_cast<int>(Operator::kNeq)},
    {"lt", static_cast<int>(Operator::kLt)},
    {"lteq", static_cast<int>(Operator::kLteq)},
    {"gt", static_cast<int>(Operator::kGt)},
    {"gteq", static_cast<int>(Operator::kGteq)},
    {"isA", static_cast<int>(Operator::kIsA)},
    {"isAnyOf", static_cast<int>(Operator::kIsAnyOf)},
    {"isAllOf", static_cast<int>(Operator::kIsAllOf)},
    {"isNoneOf", static_cast<int>(Operator::kIsNoneOf)},
    {"hasPart", static_cast<int>(Operator::kHasPart)},
    {"isPartOf", static_cast<int>(Operator::kIsPartOf)},
};

constexpr NameEntry kLogical[] = {
    {"and", static_cast<int>(LogicalOperator::kAnd)},
    {"or", static_cast<int>(LogicalOperator::kOr)},
    {"xone", static_cast<int>(LogicalOperator::kXone)},
    {"andSequence", static_cast<int>(LogicalOperator::kAndSequence)},
};

constexpr NameEntry kActions[] = {
    {"use", static_cast<int>(Action::kUse)},
    {"read", static_cast<int>(Action::kRead)},
    {"transfer", static_cast<int>(Action::kTransfer)},
    {"distribute", static_cast<int>(Action::kDistribute)},
    {"delete", static_cast<int>(Action::kDelete)},
    {"inform", static_cast<int>(Action::kInform)},
    {"anonymize", static_cast<int>(Action::kAnonymize)},
    {"attribute", static_cast<int>(Action::kAttribute)},
    {"compensate", static_cast<int>(Action::kCompensate)},
    {"obtainConsent", static_cast<int>(Action::kObtainConsent)},
};

constexpr NameEntry kTypes[] = {
    {"Set", static_cast<int>(PolicyType::kSet)},
    {"Offer", static_cast<int>(PolicyType::kOffer)},
    {"Agreement", static_cast<int>(PolicyType::kAgreement)},
};

template <size_t N>
int Lookup(const NameEntry (&table)[N], absl::string_view name) {
  for (const NameEntry& e : table) {
    if (e.name == name) return e.value;
  }
  return 0;
}

template <size_t N>
absl::string_view NameOf(const NameEntry (&table)[N], int value) {
  for (const NameEntry& e : table) {
    if (e.value == value) return e.name;
  }
  return "unknown";
}

// ODRL properties that Hanse reads nowhere but knowingly ignores (informational, or handled by
// other parts of the node). Any other ODRL-namespace property in a policy, rule or constraint is
// a problem (a misspelt "constraints" must not silently widen a permission).
constexpr absl::string_view kIgnoredOdrlProperties[] = {
    "profile",  "conflict", "summary",  "remedy", "consequence", "failure",  "relation",
    "function", "status",   "dataType", "title",  "description", "undefined"};

bool IsOdrlProperty(absl::string_view short_key) {
  // ShortName leaves non-ODRL IRIs as IRIs (they contain ':'), Hanse ones as "hanse:x".
  return !short_key.empty() && short_key[0] != '@' &&
         short_key.find(':') == absl::string_view::npos;
}

bool IgnoredOdrl(absl::string_view key) {
  for (absl::string_view k : kIgnoredOdrlProperties) {
    if (k == key) return true;
  }
  return false;
}

// The first ODRL property of `fields` that is neither in `known` nor ignored, or empty.
std::string UnknownProperty(const std::vector<Field>& fields,
                            std::initializer_list<absl::string_view> known) {
  for (const Field& f : fields) {
    if (!IsOdrlProperty(f.key) || IgnoredOdrl(f.key)) continue;
    bool ok = false;
    for (absl::string_view k : known) ok = ok || k == f.key;
    if (!ok) return f.key;
  }
  return "";
}

class Parser {
 public:
  absl::StatusOr<Policy> Parse(absl::string_view text) {
    if (text.size() > kMaxPolicyBytes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "policy: ", text.size(), " bytes, more than the limit of ", kMaxPolicyBytes));
    }
    HANSE_ASSIGN_OR_RETURN(Json root, internal::ParseJson(text, kMaxJsonDepth), "policy");
    if (!root.is_object()) return Error("", "expected a JSON object");
    if (const auto it = root.find("@context"); it != root.end()) {
      HANSE_RETURN_IF_ERROR(terms_.Load(*it), "policy");
    }
    HANSE_ASSIGN_OR_RETURN(std::vector<Field> fields, internal::NormalizeObject(root, terms_, ""));

    Policy policy;
    const Json* type = FindField(fields, "@type");
    if (type == nullptr) return Error("@type", "missing (Set, Offer or Agreement)");
    HANSE_ASSIGN_OR_RETURN(std::string type_iri, Iri(*type, "@type"));
    policy.type_name = ShortName(type_iri);
    policy.type = static_cast<PolicyType>(Lookup(kTypes, policy.type_name));
    if (policy.type == PolicyType::kUnknown) {
      policy.problem_field = "@type";
      policy.problem = absl::StrCat("unknown policy type \"", Printable(policy.type_name),
                                    "\" (Set, Offer or Agreement)");
    }
    if (const Json* uid = FindField(fields, "@id")) {
      HANSE_ASSIGN_OR_RETURN(policy.uid, Iri(*uid, "@id", /*vocab=*/false));
    }
    HANSE_ASSIGN_OR_RETURN(policy.target, Party(fields, "target", ""));
    HANSE_ASSIGN_OR_RETURN(policy.assigner, Party(fields, "assigner", ""));
    HANSE_ASSIGN_OR_RETURN(policy.assignee, Party(fields, "assignee", ""));
    Rule defaults;
    defaults.target = policy.target;
    defaults.assigner = policy.assigner;
    defaults.assignee = policy.assignee;
    if (const Json* action = FindField(fields, "action")) {
      HANSE_RETURN_IF_ERROR(ParseAction(*action, "action", &defaults));
    }
    if (policy.problem.empty() && FindField(fields, "inheritFrom") != nullptr) {
      policy.problem_field = "inheritFrom";
      policy.problem = "inheritFrom is not supported (the parent policy cannot be fetched)";
    }
    if (const std::string unknown =
            UnknownProperty(fields, {"permission", "prohibition", "obligation", "target",
                                     "assigner", "assignee", "action", "inheritFrom"});
        policy.problem.empty() && !unknown.empty()) {
      policy.problem_field = unknown;
      policy.problem = absl::StrCat("unknown property \"", Printable(unknown), "\"");
    }

    HANSE_ASSIGN_OR_RETURN(policy.permissions,
                           Rules(fields, "permission", Rule::Kind::kPermission, defaults));
    HANSE_ASSIGN_OR_RETURN(policy.prohibitions,
                           Rules(fields, "prohibition", Rule::Kind::kProhibition, defaults));
    HANSE_ASSIGN_OR_RETURN(policy.obligations,
                           Rules(fields, "obligation", Rule::Kind::kObligation, defaults));
    if (policy.permissions.empty() && policy.prohibitions.empty() && policy.obligations.empty()) {
      return Error("", "no permission, prohibition or obligation");
    }
    return policy;
  }

 private:
  absl::Status CountElement(absl::string_view path) {
    if (++elements_ > kMaxPolicyElements) {
      return absl::ResourceExhaustedError(absl::StrCat(path, ": more than ", kMaxPolicyElements,
                                                       " rules and constraints in the policy"));
    }
    return absl::OkStatus();
  }

  // A single IRI: "x", {"@id": "x"}, or a one-element array of either (expanded JSON-LD).
  absl::StatusOr<std::string> Iri(const Json& v, absl::string_view path, bool vocab = true) {
    const Json* value = &v;
    if (value->is_array()) {
      if (value->size() != 1) return Error(path, "expected one IRI, not an array");
      value = &(*value)[0];
    }
    if (value->is_object()) {
      const auto it = value->find("@id");
      if (it == value->end() || !it->is_string()) {
        return Error(path, "expected an IRI string or {\"@id\": ...}");
      }
      value = &*it;
    }
    if (!value->is_string()) return Error(path, "expected an IRI string");
    const std::string& s = value->get_ref<const std::string&>();
    if (s.empty()) return Error(path, "empty IRI");
    return terms_.Expand(s, vocab);
  }

  // target / assigner / assignee: an IRI or {"@id"}; "" when absent, else `inherited`.
  absl::StatusOr<std::string> Party(const std::vector<Field>& fields, absl::string_view key,
                                    absl::string_view inherited, absl::string_view path = "") {
    const Json* v = FindField(fields, key);
    if (v == nullptr) return std::string(inherited);
    return Iri(*v, JoinPath(path, key), /*vocab=*/false);
  }

  absl::Status ParseAction(const Json& v, const std::string& path, Rule* rule) {
    const Json* value = &v;
    if (value->is_array() && value->size() == 1) value = &(*value)[0];
    std::string iri;
    if (value->is_object() && !value->contains("@id")) {
      // {"rdf:value": {"@id": "odrl:use"}, "refinement": [...]}
      HANSE_ASSIGN_OR_RETURN(std::vector<Field> fields,
                             internal::NormalizeObject(*value, terms_, path));
      const Json* inner = FindField(fields, "rdf:value");
      if (inner == nullptr) inner = FindField(fields, "value");
      if (inner == nullptr) {
        return Error(path, "expected an action IRI or {\"rdf:value\": ..., \"refinement\": ...}");
      }
      HANSE_ASSIGN_OR_RETURN(iri, Iri(*inner, JoinPath(path, "rdf:value")));
      if (const Json* refinement = FindField(fields, "refinement")) {
        HANSE_ASSIGN_OR_RETURN(std::vector<Constraint> refinements,
                               Constraints(*refinement, JoinPath(path, "refinement"), 0));
        for (Constraint& c : refinements) rule->constraints.push_back(std::move(c));
      }
    } else {
      HANSE_ASSIGN_OR_RETURN(iri, Iri(*value, path));
    }
    rule->action_name = ShortName(iri);
    rule->action = static_cast<Action>(Lookup(kActions, rule->action_name));
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<Rule>> Rules(const std::vector<Field>& fields, absl::string_view key,
                                          Rule::Kind kind, const Rule& defaults,
                                          absl::string_view parent_path = "") {
    std::vector<Rule> rules;
    const Json* list = FindField(fields, key);
    if (list == nullptr) return rules;
    const std::string list_path = JoinPath(parent_path, key);
    if (!list->is_array() && !list->is_object()) {
      return Error(list_path, "expected an object or an array of objects");
    }
    const size_t n = list->is_array() ? list->size() : 1;
    for (size_t i = 0; i < n; ++i) {
      const Json& item = list->is_array() ? (*list)[i] : *list;
      const std::string path = Indexed(parent_path, key, i);
      HANSE_RETURN_IF_ERROR(CountElement(path));
      HANSE_ASSIGN_OR_RETURN(Rule rule, ParseRule(item, path, kind, defaults));
      rules.push_back(std::move(rule));
    }
    return rules;
  }

  absl::StatusOr<Rule> ParseRule(const Json& item, const std::string& path, Rule::Kind kind,
                                 const Rule& defaults) {
    if (!item.is_object()) return Error(path, "expected an object");
    HANSE_ASSIGN_OR_RETURN(std::vector<Field> fields,
                           internal::NormalizeObject(item, terms_, path));
    Rule rule;
    rule.kind = kind;
    rule.path = path;
    const bool is_duty = kind == Rule::Kind::kDuty;
    HANSE_ASSIGN_OR_RETURN(rule.target, Party(fields, "target", defaults.target, path));
    HANSE_ASSIGN_OR_RETURN(rule.assigner,
                           Party(fields, "assigner", is_duty ? "" : defaults.assigner, path));
    HANSE_ASSIGN_OR_RETURN(rule.assignee,
                           Party(fields, "assignee", is_duty ? "" : defaults.assignee, path));
    if (const Json* action = FindField(fields, "action")) {
      HANSE_RETURN_IF_ERROR(ParseAction(*action, JoinPath(path, "action"), &rule));
    } else if (!is_duty && !defaults.action_name.empty()) {
      rule.action_name = defaults.action_name;
      rule.action = defaults.action;
      rule.constraints = defaults.constraints;
    } else {
      return Error(path, "missing action");
    }
    if (const Json* constraints = FindField(fields, "constraint")) {
      HANSE_ASSIGN_OR_RETURN(std::vector<Constraint> cs,
                             Constraints(*constraints, JoinPath(path, "constraint"), 0));
      for (Constraint& c : cs) rule.constraints.push_back(std::move(c));
    }
    if (kind == Rule::Kind::kPermission) {
      Rule duty_defaults;
      duty_defaults.target = rule.target;
      HANSE_ASSIGN_OR_RETURN(rule.duties,
                             Rules(fields, "duty", Rule::Kind::kDuty, duty_defaults, path));
    }

    const bool usage = kind == Rule::Kind::kPermission || kind == Rule::Kind::kProhibition;
    const bool known_here =
        usage ? (rule.action == Action::kUse || rule.action == Action::kRead ||
                 rule.action == Action::kTransfer || rule.action == Action::kDistribute)
              : (rule.action >= Action::kDelete);
    if (!known_here) {
      rule.problem_field = "action";
      rule.problem = rule.action == Action::kUnknown
                         ? absl::StrCat("unknown action \"", Printable(rule.action_name), "\"")
                         : absl::StrCat("action \"", rule.action_name, "\" is not supported in a ",
                                        usage ? "permission or prohibition" : "duty or obligation");
    } else if (const std::string unknown = UnknownProperty(
                   fields, {"action", "constraint", "target", "assigner", "assignee",
                            kind == Rule::Kind::kPermission ? "duty" : "action"});
               !unknown.empty()) {
      rule.problem_field = unknown;
      rule.problem = absl::StrCat("unknown property \"", Printable(unknown), "\"");
    }
    return rule;
  }

  // A constraint list: an object or an array of objects. `depth` = logical nesting so far.
  absl::StatusOr<std::vector<Constraint>> Constraints(const Json& list, const std::string& path,
                                                      int depth) {
    std::vector<Constraint> out;
    const Json* items = &list;
    if (items->is_object() && items->contains("@list")) items = &(*items)["@list"];
    if (!items->is_array() && !items->is_object()) {
      return Error(path, "expected an object or an array of objects");
    }
    const size_t n = items->is_array() ? items->size() : 1;
    for (size_t i = 0; i < n; ++i) {
      const Json& item = items->is_array() ? (*items)[i] : *items;
      HANSE_ASSIGN_OR_RETURN(Constraint c,
                             ParseConstraint(item, absl::StrCat(path, "[", i, "]"), depth));
      out.push_back(std::move(c));
    }
    return out;
  }

  absl::StatusOr<Constraint> ParseConstraint(const Json& item, const std::string& path, int depth) {
    HANSE_RETURN_IF_ERROR(CountElement(path));
    if (!item.is_object()) return Error(path, "expected an object");
    HANSE_ASSIGN_OR_RETURN(std::vector<Field> fields,
                           internal::NormalizeObject(item, terms_, path));
    Constraint c;
    c.path = path;
    const Field* logical = nullptr;
    for (const Field& f : fields) {
      if (Lookup(kLogical, f.key) == 0) continue;
      if (logical != nullptr) {
        return Error(path, absl::StrCat("both \"", logical->key, "\" and \"", f.key, "\""));
      }
      logical = &f;
    }
    if (logical != nullptr) {
      if (FindField(fields, "leftOperand") != nullptr) {
        return Error(path, absl::StrCat("both \"", logical->key, "\" and leftOperand"));
      }
      if (depth + 1 > kMaxLogicalDepth) {
        return absl::ResourceExhaustedError(absl::StrCat(
            path, ": logical constraints nested deeper than ", kMaxLogicalDepth, " levels"));
      }
      c.logical = static_cast<LogicalOperator>(Lookup(kLogical, logical->key));
      const Json* operands = logical->value;
      if (operands->is_object() && operands->contains("@list")) operands = &(*operands)["@list"];
      const std::string list_path = JoinPath(path, logical->key);
      if (!operands->is_array()) return Error(list_path, "expected an array of constraints");
      if (operands->empty()) return Error(list_path, "empty");
      HANSE_ASSIGN_OR_RETURN(c.children, Constraints(*operands, list_path, depth + 1));
      if (const std::string unknown = UnknownProperty(fields, {logical->key}); !unknown.empty()) {
        c.problem_field = unknown;
        c.problem = absl::StrCat("unknown property \"", Printable(unknown), "\"");
      }
      return c;
    }

    const Json* left = FindField(fields, "leftOperand");
    if (left == nullptr) return Error(path, "missing leftOperand");
    HANSE_ASSIGN_OR_RETURN(std::string left_iri, Iri(*left, JoinPath(path, "leftOperand")));
    c.left_operand_name = ShortName(left_iri);
    c.left_operand = static_cast<LeftOperand>(Lookup(kOperands, c.left_operand_name));

    const Json* op = FindField(fields, "operator");
    if (op == nullptr) return Error(path, "missing operator");
    HANSE_ASSIGN_OR_RETURN(std::string op_iri, Iri(*op, JoinPath(path, "operator")));
    c.operator_name = ShortName(op_iri);
    c.op = static_cast<Operator>(Lookup(kOperators, c.operator_name));

    const Json* right = FindField(fields, "rightOperand");
    if (right == nullptr) return Error(path, "missing rightOperand");
    HANSE_RETURN_IF_ERROR(RightOperand(*right, JoinPath(path, "rightOperand"), &c));

    if (const Json* issuers = FindField(fields, "hanse:issuer")) {
      const std::string ipath = JoinPath(path, "hanse:issuer");
      const Json* list = issuers;
      if (list->is_object() && list->contains("@list")) list = &(*list)["@list"];
      if (list->is_array()) {
        if (list->empty()) return Error(ipath, "empty");
        for (size_t i = 0; i < list->size(); ++i) {
          HANSE_ASSIGN_OR_RETURN(std::string did,
                                 Iri((*list)[i], absl::StrCat(ipath, "[", i, "]"), false));
          c.issuers.push_back(std::move(did));
        }
      } else {
        HANSE_ASSIGN_OR_RETURN(std::string did, Iri(*list, ipath, false));
        c.issuers.push_back(std::move(did));
      }
    }

    c.problem = CheckConstraintValues(c, &c.problem_field);
    if (c.problem.empty()) {
      if (const std::string unknown =
              UnknownProperty(fields, {"leftOperand", "operator", "rightOperand"});
          !unknown.empty()) {
        c.problem_field = unknown;
        c.problem = absl::StrCat("unknown property \"", Printable(unknown), "\"");
      }
    }
    return c;
  }

  // One scalar right operand value as text.
  absl::StatusOr<std::string> Scalar(const Json& v, absl::string_view path, bool* is_iri) {
    const Json* value = &v;
    *is_iri = false;
    if (value->is_object()) {
      if (const auto it = value->find("@value"); it != value->end()) {
        value = &*it;
      } else if (const auto id = value->find("@id"); id != value->end() && id->is_string()) {
        *is_iri = true;
        value = &*id;
      } else {
        return Error(path, "expected a value, {\"@value\": ...} or {\"@id\": ...}");
      }
    }
    if (value->is_string()) return value->get<std::string>();
    if (value->is_number_integer()) return value->dump();
    if (value->is_number_float()) return value->dump();
    if (value->is_boolean()) return std::string(value->get<bool>() ? "true" : "false");
    if (value->is_null()) return Error(path, "null");
    return Error(path, "expected a value, not a nested list or object");
  }

  absl::Status RightOperand(const Json& v, const std::string& path, Constraint* c) {
    const Json* value = &v;
    if (value->is_object() && value->contains("@list")) value = &(*value)["@list"];
    std::vector<const Json*> items;
    if (value->is_array()) {
      c->right_is_list = true;
      if (value->empty()) return Error(path, "empty list");
      for (const Json& item : *value) items.push_back(&item);
    } else {
      items.push_back(value);
    }
    for (size_t i = 0; i < items.size(); ++i) {
      bool is_iri = false;
      HANSE_ASSIGN_OR_RETURN(
          std::string s,
          Scalar(*items[i], c->right_is_list ? absl::StrCat(path, "[", i, "]") : path, &is_iri));
      switch (c->left_operand) {
        case LeftOperand::kPurpose:
          s = terms_.Expand(s, /*vocab=*/false);
          break;
        case LeftOperand::kSpatial:
        case LeftOperand::kJurisdiction:
          s = NormalizeCountry(s);
          break;
        default:
          if (is_iri) s = terms_.Expand(s, /*vocab=*/false);
          break;
      }
      c->right.push_back(std::move(s));
    }
    return absl::OkStatus();
  }

  Terms terms_;
  size_t elements_ = 0;
};

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
  for (const Rule& d : r.duties) CollectRuleProblems(d, out);
}

bool IsComparison(Operator op) {
  return op == Operator::kEq || op == Operator::kNeq || op == Operator::kLt ||
         op == Operator::kLteq || op == Operator::kGt || op == Operator::kGteq;
}

}  // namespace

absl::string_view LeftOperandName(LeftOperand operand) {
  return NameOf(kOperands, static_cast<int>(operand));
}
absl::string_view OperatorName(Operator op) { return NameOf(kOperators, static_cast<int>(op)); }
absl::string_view LogicalOperatorName(LogicalOperator op) {
  return NameOf(kLogical, static_cast<int>(op));
}
absl::string_view ActionName(Action action) { return NameOf(kActions, static_cast<int>(action)); }
absl::string_view PolicyTypeName(PolicyType type) { return NameOf(kTypes, static_cast<int>(type)); }

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
  const bool ordered = c.left_operand == LeftOperand::kDateTime ||
                       c.left_operand == LeftOperand::kElapsedTime ||
                       c.left_operand == LeftOperand::kCount;
  const bool ordering = c.op == Operator::kLt || c.op == Operator::kLteq || c.op == Operator::kGt ||
                        c.op == Operator::kGteq;
  if (ordered ? !IsComparison(c.op) : ordering) {
    *field = "operator";
    return absl::StrCat("operator ", OperatorName(c.op), " is not defined for ",
                        LeftOperandName(c.left_operand));
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
  field->clear();
  return "";
}

absl::StatusOr<Policy> ParsePolicy(absl::string_view json) { return Parser().Parse(json); }

absl::Status ValidatePolicyForPublishing(absl::string_view json) {
  HANSE_ASSIGN_OR_RETURN(Policy policy, ParsePolicy(json));
  std::vector<std::string> problems;
  if (!policy.problem.empty()) {
    problems.push_back(absl::StrCat(policy.problem_field, ": ", policy.problem));
  }
  for (const auto* rules : {&policy.permissions, &policy.prohibitions, &policy.obligations}) {
    for (const Rule& r : *rules) CollectRuleProblems(r, &problems);
  }
  if (policy.permissions.empty()) {
    problems.push_back("policy: no permission, so it can never permit a use");
  }
  if (problems.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrJoin(problems, "; "));
}

}  // namespace hanse::policy
