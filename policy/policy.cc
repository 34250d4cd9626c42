// The ODRL parser: one grammar (compact and expanded IRIs, compact rules expanded) in one
// file. The vocabulary it recognises is vocabulary.cc; the value checks and publishing
// validation are validate.cc.
#include "policy/policy.h"

#include <algorithm>
#include <optional>
#include <tuple>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status.h"
#include "policy/json_ld.h"
#include "policy/values.h"
#include "policy/vocabulary.h"

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

// The first ODRL property of `fields` that is neither in `known` nor ignored, or empty.
std::string UnknownProperty(const std::vector<Field>& fields,
                            std::initializer_list<absl::string_view> known) {
  for (const Field& f : fields) {
    if (!IsOwnTerm(f.key) || IsIgnoredOdrlProperty(f.key)) continue;
    bool ok = false;
    for (absl::string_view k : known) ok = ok || k == f.key;
    if (!ok) return f.key;
  }
  return "";
}

struct Problem {
  std::string field;  // relative to the rule: "action", "target.@type", "assignee[1].source"
  std::string text;
};

struct SubjectChoice {
  Subject subject;
  std::vector<Constraint> refinements;
  Problem problem_;
};

struct ActionChoice {
  std::string name;    // as written (short form)
  std::string action;  // canonical, empty when unknown
  std::vector<Constraint> refinements;
  Problem problem_;
};

// What a rule inherits from its policy (or a duty from its permission).
struct RuleDefaults {
  std::vector<SubjectChoice> targets, assignees, assigners;
  std::vector<ActionChoice> actions;
};

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
    // "The Set Policy subclass is also the default subclass of Policy" (ODRL 2.2 §2.1.1).
    const Json* type = FindField(fields, "@type");
    if (type == nullptr) {
      policy.type_name = "Set";
    } else {
      HANSE_ASSIGN_OR_RETURN(std::string type_iri, Iri(*type, "@type"));
      policy.type_name = ShortName(type_iri);
    }
    policy.type = PolicyTypeFromName(policy.type_name);
    if (policy.type == PolicyType::kUnknown) {
      policy.problem_field = "@type";
      policy.problem = absl::StrCat("unknown policy type \"", Printable(policy.type_name),
                                    "\" (Set, Offer or Agreement)");
    }
    if (const Json* uid = FindField(fields, "@id")) {
      HANSE_ASSIGN_OR_RETURN(policy.uid, Iri(*uid, "@id", /*vocab=*/false));
    }
    RuleDefaults defaults;
    for (auto [key, list, text] : {std::tuple{"target", &defaults.targets, &policy.target},
                                   std::tuple{"assigner", &defaults.assigners, &policy.assigner},
                                   std::tuple{"assignee", &defaults.assignees, &policy.assignee}}) {
      HANSE_ASSIGN_OR_RETURN(auto subjects, Subjects(fields, key, ""));
      if (subjects) {
        *list = std::move(*subjects);
        *text = list->front().subject.iri;
      }
    }
    if (const Json* action = FindField(fields, "action")) {
      HANSE_ASSIGN_OR_RETURN(defaults.actions, Actions(*action, "action"));
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
  // Every rule the parser keeps, with its constraints, values and duties, against
  // kMaxExpandedCost: expansion copies what a compact rule shares.
  static size_t Cost(const Constraint& c) {
    size_t n = 1 + c.right.size() + c.issuers.size();
    for (const Constraint& child : c.children) n += Cost(child);
    return n;
  }
  static size_t Cost(const Rule& r) {
    size_t n = 1;
    for (const Constraint& c : r.constraints) n += Cost(c);
    for (const Rule& d : r.duties) n += Cost(d);
    return n;
  }
  absl::Status ChargeCopy(const Rule& rule, absl::string_view path) {
    expanded_cost_ += Cost(rule);
    if (expanded_cost_ > kMaxExpandedCost) {
      return absl::ResourceExhaustedError(absl::StrCat(path, ": the policy expands to more than ",
                                                       kMaxExpandedCost,
                                                       " rules, constraints and values"));
    }
    return absl::OkStatus();
  }

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

  // The items of a value that may be a list: an array, {"@list": [...]}, {"@set": [...]}, or a
  // single value.
  static std::vector<const Json*> Items(const Json& v) {
    const Json* value = &v;
    if (value->is_object()) {
      if (const auto it = value->find("@list"); it != value->end())
        value = &*it;
      else if (const auto set = value->find("@set"); set != value->end())
        value = &*set;
    }
    std::vector<const Json*> items;
    if (value->is_array()) {
      for (const Json& item : *value) items.push_back(&item);
    } else {
      items.push_back(value);
    }
    return items;
  }

  static std::string ItemPath(absl::string_view path, size_t i, size_t n) {
    return n == 1 ? std::string(path) : absl::StrCat(path, "[", i, "]");
  }

  // A target, assignee or assigner: an IRI, {"@id"} / {"uid"}, or a party or asset collection
  // {"@type": "PartyCollection", "source": IRI, "refinement": [...]}; a list names several (the
  // rule is expanded). nullopt when the object has no such property.
  absl::StatusOr<std::optional<std::vector<SubjectChoice>>> Subjects(
      const std::vector<Field>& fields, absl::string_view key, absl::string_view parent) {
    const Json* v = FindField(fields, key);
    if (v == nullptr) return std::nullopt;
    const std::string path = JoinPath(parent, key);
    const bool asset = key == "target";
    const std::vector<const Json*> items = Items(*v);
    if (items.empty()) return Error(path, "empty list");
    std::vector<SubjectChoice> out;
    for (size_t i = 0; i < items.size(); ++i) {
      const std::string item_path = ItemPath(path, i, items.size());
      const Json& item = *items[i];
      SubjectChoice choice;
      if (!item.is_object()) {
        HANSE_ASSIGN_OR_RETURN(choice.subject.iri, Iri(item, item_path, /*vocab=*/false));
        out.push_back(std::move(choice));
        continue;
      }
      HANSE_ASSIGN_OR_RETURN(std::vector<Field> sub,
                             internal::NormalizeObject(item, terms_, item_path));
      auto problem = [&](absl::string_view field, std::string text) {
        if (!choice.problem_.text.empty()) return;
        choice.problem_ = {JoinPath(ItemPath(key, i, items.size()), field), std::move(text)};
      };
      if (const Json* type = FindField(sub, "@type")) {
        HANSE_ASSIGN_OR_RETURN(std::string type_iri, Iri(*type, JoinPath(item_path, "@type")));
        const std::string name = ShortName(type_iri);
        const bool party_type = name == "Party" || name == "PartyCollection";
        const bool asset_type = name == "Asset" || name == "AssetCollection";
        if (party_type || asset_type) {
          choice.subject.collection = absl::EndsWith(name, "Collection");
          if (asset != asset_type) {
            problem("@type", absl::StrCat("a ", name, " cannot be the ", key, " of a rule"));
          }
        } else if (IsOwnTerm(name)) {
          problem("@type", absl::StrCat("unknown type \"", Printable(name), "\" for a ", key));
        }
      }
      const Json* source = FindField(sub, "source");
      const Json* refinement = FindField(sub, "refinement");
      if (source != nullptr) choice.subject.collection = true;
      const Json* id = source != nullptr ? source : FindField(sub, "@id");
      if (id != nullptr) {
        HANSE_ASSIGN_OR_RETURN(choice.subject.iri,
                               Iri(*id, JoinPath(item_path, source != nullptr ? "source" : "@id"),
                                   /*vocab=*/false));
      } else {
        problem("@id", choice.subject.collection
                           ? "the collection has no source or @id, so its members cannot be known"
                           : "expected an IRI string or {\"@id\": ...}");
      }
      if (refinement != nullptr) {
        // ODRL refines collections; a refinement of one party or asset has no members to narrow,
        // and reading it as a collection would let it escape a prohibition.
        if (!choice.subject.collection) {
          problem("refinement", absl::StrCat("a refinement needs a ",
                                             asset ? "AssetCollection" : "PartyCollection",
                                             " (\"@type\" or \"source\")"));
        }
        HANSE_ASSIGN_OR_RETURN(choice.refinements,
                               Constraints(*refinement, JoinPath(item_path, "refinement"), 0));
        // Hanse's left operands are facts about the consumer and the moment; none describes an
        // asset, so a refinement of one can never be evaluated.
        if (asset) {
          for (Constraint& c : choice.refinements) MarkUnevaluable(&c);
        }
      }
      if (const std::string unknown = UnknownProperty(sub, {"source", "refinement"});
          !unknown.empty()) {
        problem(unknown, absl::StrCat("unknown property \"", Printable(unknown), "\""));
      }
      out.push_back(std::move(choice));
    }
    return out;
  }

  static void MarkUnevaluable(Constraint* c) {
    if (c->problem.empty() && c->logical == LogicalOperator::kNone) {
      c->problem_field = "leftOperand";
      c->problem = absl::StrCat("\"", Printable(c->left_operand_name),
                                "\" as a refinement of an asset: Hanse has no left operands that "
                                "describe an asset");
    }
    for (Constraint& child : c->children) MarkUnevaluable(&child);
  }

  // An action: an IRI, {"@id"}, or {"rdf:value": IRI, "refinement": [...]} (the value names the
  // action, even beside an @id of the action object); a list names several (the rule is
  // expanded).
  absl::StatusOr<std::vector<ActionChoice>> Actions(const Json& v, const std::string& path) {
    const std::vector<const Json*> items = Items(v);
    if (items.empty()) return Error(path, "empty list");
    std::vector<ActionChoice> out;
    for (size_t i = 0; i < items.size(); ++i) {
      const std::string item_path = ItemPath(path, i, items.size());
      const Json& item = *items[i];
      ActionChoice choice;
      std::string iri;
      if (item.is_object()) {
        HANSE_ASSIGN_OR_RETURN(std::vector<Field> fields,
                               internal::NormalizeObject(item, terms_, item_path));
        const Json* inner = FindField(fields, "rdf:value");
        if (inner == nullptr) inner = FindField(fields, "value");
        if (inner == nullptr) inner = FindField(fields, "@id");
        if (inner == nullptr) {
          return Error(item_path,
                       "expected an action IRI or {\"rdf:value\": ..., \"refinement\": ...}");
        }
        HANSE_ASSIGN_OR_RETURN(iri, Iri(*inner, JoinPath(item_path, "rdf:value")));
        if (const Json* refinement = FindField(fields, "refinement")) {
          HANSE_ASSIGN_OR_RETURN(choice.refinements,
                                 Constraints(*refinement, JoinPath(item_path, "refinement"), 0));
        }
        if (const std::string unknown = UnknownProperty(fields, {"value", "refinement"});
            !unknown.empty()) {
          choice.problem_ = {"action", absl::StrCat("unknown property \"", Printable(unknown),
                                                    "\" in the action")};
        }
      } else {
        HANSE_ASSIGN_OR_RETURN(iri, Iri(item, item_path));
      }
      choice.name = ShortName(iri);
      std::string why;
      // Only ODRL terms are actions; ShortName leaves any other IRI with its ':'.
      if (choice.name.find(':') == std::string::npos) {
        choice.action = CanonicalAction(choice.name, &why);
      }
      if (choice.action.empty()) {
        choice.problem_ = {"action",
                           FindActionTerm(choice.name) == nullptr
                               ? absl::StrCat("unknown action \"", Printable(choice.name), "\"")
                               : absl::StrCat("action \"", choice.name, "\" is ", why)};
      }
      out.push_back(std::move(choice));
    }
    return out;
  }

  absl::StatusOr<std::vector<Rule>> Rules(const std::vector<Field>& fields, absl::string_view key,
                                          Rule::Kind kind, const RuleDefaults& defaults,
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
      HANSE_ASSIGN_OR_RETURN(std::vector<Rule> expanded, ParseRule(item, path, kind, defaults));
      for (Rule& r : expanded) rules.push_back(std::move(r));
    }
    return rules;
  }

  absl::StatusOr<std::vector<Rule>> ParseRule(const Json& item, const std::string& path,
                                              Rule::Kind kind, const RuleDefaults& defaults) {
    if (!item.is_object()) return Error(path, "expected an object");
    HANSE_ASSIGN_OR_RETURN(std::vector<Field> fields,
                           internal::NormalizeObject(item, terms_, path));
    const bool is_duty = kind == Rule::Kind::kDuty;
    std::string uid;
    if (const Json* id = FindField(fields, "@id")) {
      HANSE_ASSIGN_OR_RETURN(uid, Iri(*id, JoinPath(path, "@id"), /*vocab=*/false));
    }
    HANSE_ASSIGN_OR_RETURN(auto own_targets, Subjects(fields, "target", path));
    HANSE_ASSIGN_OR_RETURN(auto own_assignees, Subjects(fields, "assignee", path));
    HANSE_ASSIGN_OR_RETURN(auto own_assigners, Subjects(fields, "assigner", path));
    const std::vector<SubjectChoice> none(1);
    const std::vector<SubjectChoice>& targets =
        own_targets ? *own_targets : (defaults.targets.empty() ? none : defaults.targets);
    const std::vector<SubjectChoice>& assignees =
        own_assignees ? *own_assignees
                      : (is_duty || defaults.assignees.empty() ? none : defaults.assignees);
    const std::vector<SubjectChoice>& assigners =
        own_assigners ? *own_assigners
                      : (is_duty || defaults.assigners.empty() ? none : defaults.assigners);
    std::vector<ActionChoice> actions;
    if (const Json* action = FindField(fields, "action")) {
      HANSE_ASSIGN_OR_RETURN(actions, Actions(*action, JoinPath(path, "action")));
    } else if (!is_duty && !defaults.actions.empty()) {
      actions = defaults.actions;
    } else {
      return Error(path, "missing action");
    }
    std::vector<Constraint> constraints;
    if (const Json* list = FindField(fields, "constraint")) {
      HANSE_ASSIGN_OR_RETURN(constraints, Constraints(*list, JoinPath(path, "constraint"), 0));
    }
    std::vector<Rule> duties;
    if (kind == Rule::Kind::kPermission) {
      // A duty without its own target takes its permission's (per expanded rule, below).
      HANSE_ASSIGN_OR_RETURN(duties,
                             Rules(fields, "duty", Rule::Kind::kDuty, RuleDefaults(), path));
    }
    const std::string unknown =
        UnknownProperty(fields, {"action", "constraint", "target", "assigner", "assignee",
                                 kind == Rule::Kind::kPermission ? "duty" : "action"});

    std::vector<Rule> out;
    for (const ActionChoice& a : actions) {
      for (const SubjectChoice& t : targets) {
        for (const SubjectChoice& e : assignees) {
          for (const SubjectChoice& g : assigners) {
            if (!out.empty()) HANSE_RETURN_IF_ERROR(CountElement(path));
            Rule rule;
            rule.kind = kind;
            rule.path = path;
            rule.uid = uid;
            rule.action_name = a.name;
            rule.action = a.action;
            rule.target = t.subject;
            rule.assignee = e.subject;
            rule.assigner = g.subject.iri;
            std::vector<std::string> parts;
            if (actions.size() > 1) parts.push_back(absl::StrCat("action ", a.name));
            if (targets.size() > 1) parts.push_back(absl::StrCat("target ", t.subject.iri));
            if (assignees.size() > 1) parts.push_back(absl::StrCat("assignee ", e.subject.iri));
            if (assigners.size() > 1) parts.push_back(absl::StrCat("assigner ", g.subject.iri));
            rule.expansion = absl::StrJoin(parts, ", ");
            for (const auto* list : {&a.refinements, &t.refinements, &e.refinements}) {
              rule.constraints.insert(rule.constraints.end(), list->begin(), list->end());
            }
            rule.constraints.insert(rule.constraints.end(), constraints.begin(), constraints.end());
            rule.duties = duties;
            for (Rule& duty : rule.duties) {
              if (duty.target.iri.empty()) duty.target = t.subject;
            }
            HANSE_RETURN_IF_ERROR(ChargeCopy(rule, path));
            for (const auto* c : {&a.problem_, &t.problem_, &e.problem_, &g.problem_}) {
              if (rule.problem.empty() && !c->text.empty()) {
                rule.problem_field = c->field;
                rule.problem = c->text;
              }
            }
            if (rule.problem.empty() && !unknown.empty()) {
              rule.problem_field = unknown;
              rule.problem = absl::StrCat("unknown property \"", Printable(unknown), "\"");
            }
            out.push_back(std::move(rule));
          }
        }
      }
    }
    return out;
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
      if (LogicalOperatorFromName(f.key) == LogicalOperator::kNone) continue;
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
      c.logical = LogicalOperatorFromName(logical->key);
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
    c.left_operand = LeftOperandFromName(c.left_operand_name);

    const Json* op = FindField(fields, "operator");
    if (op == nullptr) return Error(path, "missing operator");
    HANSE_ASSIGN_OR_RETURN(std::string op_iri, Iri(*op, JoinPath(path, "operator")));
    c.operator_name = ShortName(op_iri);
    c.op = OperatorFromName(c.operator_name);

    const Json* right = FindField(fields, "rightOperand");
    const Json* reference = FindField(fields, "rightOperandReference");
    if (right == nullptr && reference == nullptr) return Error(path, "missing rightOperand");
    if (right != nullptr) {
      HANSE_RETURN_IF_ERROR(RightOperand(*right, JoinPath(path, "rightOperand"), &c));
    }

    if (const Json* issuers = FindField(fields, "hanse:issuer")) {
      const std::string ipath = JoinPath(path, "hanse:issuer");
      const Json* list = issuers;
      if (list->is_object() && list->contains("@list")) list = &(*list)["@list"];
      if (list->is_array()) {
        if (list->empty()) return Error(ipath, "empty");
        if (list->size() > kMaxRightOperandValues) {
          return absl::ResourceExhaustedError(
              absl::StrCat(ipath, ": more than ", kMaxRightOperandValues, " issuers"));
        }
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

    if (const Json* zone = FindField(fields, "hanse:timeZone")) {
      if (!zone->is_string() || zone->get_ref<const std::string&>().empty()) {
        return Error(JoinPath(path, "hanse:timeZone"), "expected an IANA time zone name");
      }
      c.time_zone = zone->get<std::string>();
      c.has_time_zone = true;
    }
    if (reference != nullptr) {
      // A reference to the value (an IRI to dereference) is never fetched: unusable.
      c.problem_field = "rightOperandReference";
      c.problem = right != nullptr
                      ? "both rightOperand and rightOperandReference"
                      : "a rightOperandReference cannot be resolved (Hanse fetches nothing)";
      return c;
    }
    c.problem = CheckConstraintValues(c, &c.problem_field);
    if (c.problem.empty()) {
      if (const std::string unknown = UnknownProperty(
              fields,
              {"leftOperand", "operator", "rightOperand", "hanse:issuer", "hanse:timeZone"});
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
      if (value->size() > kMaxRightOperandValues) {
        return absl::ResourceExhaustedError(
            absl::StrCat(path, ": more than ", kMaxRightOperandValues, " values"));
      }
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
        case LeftOperand::kDayOfWeek:
          if (std::optional<int> day = ParseWeekday(s)) s = std::string(WeekdayName(*day));
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
  size_t expanded_cost_ = 0;
};

}  // namespace

absl::StatusOr<Policy> ParsePolicy(absl::string_view json) { return Parser().Parse(json); }

}  // namespace hanse::policy
