#include "policy/vocabulary.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace hanse::policy {
namespace {

// From the ODRL 2.2 vocabulary (https://www.w3.org/TR/odrl-vocab/, ODRL22.ttl): odrl:includedIn
// and skos:exactMatch as published; deprecated terms whose exact match is outside ODRL (cc:...)
// or who have none carry no replacement.
constexpr ActionTerm kActions[] = {
    {"use", "", "", false},
    {"transfer", "", "", false},
    {"acceptTracking", "use", "", false},
    {"aggregate", "use", "", false},
    {"annotate", "use", "", false},
    {"anonymize", "use", "", false},
    {"archive", "use", "", false},
    {"attribute", "use", "", false},
    {"compensate", "use", "", false},
    {"concurrentUse", "use", "", false},
    {"delete", "use", "", false},
    {"derive", "use", "", false},
    {"digitize", "use", "", false},
    {"display", "play", "", false},
    {"distribute", "use", "", false},
    {"ensureExclusivity", "use", "", false},
    {"execute", "use", "", false},
    {"extract", "reproduce", "", false},
    {"give", "transfer", "", false},
    {"grantUse", "use", "", false},
    {"include", "use", "", false},
    {"index", "use", "", false},
    {"inform", "use", "", false},
    {"install", "use", "", false},
    {"modify", "use", "", false},
    {"move", "use", "", false},
    {"nextPolicy", "use", "", false},
    {"obtainConsent", "use", "", false},
    {"play", "use", "", false},
    {"present", "use", "", false},
    {"print", "use", "", false},
    {"read", "use", "", false},
    {"reproduce", "use", "", false},
    {"reviewPolicy", "use", "", false},
    {"sell", "transfer", "", false},
    {"stream", "use", "", false},
    {"synchronize", "use", "", false},
    {"textToSpeech", "use", "", false},
    {"transform", "use", "", false},
    {"translate", "use", "", false},
    {"uninstall", "use", "", false},
    {"watermark", "use", "", false},
    // Deprecated in ODRL 2.2.
    {"append", "", "modify", true},
    {"appendTo", "", "modify", true},
    {"write", "", "modify", true},
    {"writeTo", "", "modify", true},
    {"copy", "", "reproduce", true},
    {"export", "", "transform", true},
    {"pay", "", "compensate", true},
    {"license", "", "grantUse", true},
    {"adHocShare", "", "", true},
    {"attachPolicy", "", "", true},
    {"attachSource", "", "", true},
    {"commercialize", "", "", true},
    {"extractChar", "", "", true},
    {"extractPage", "", "", true},
    {"extractWord", "", "", true},
    {"lease", "", "", true},
    {"lend", "", "", true},
    {"preview", "", "", true},
    {"secondaryUse", "", "", true},
    {"share", "", "", true},
    {"shareAlike", "", "", true},
};

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
    {"hanse:timeOfDay", static_cast<int>(LeftOperand::kTimeOfDay)},
    {"hanse:dayOfWeek", static_cast<int>(LeftOperand::kDayOfWeek)},
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

constexpr NameEntry kTypes[] = {
    {"Set", static_cast<int>(PolicyType::kSet)},
    {"Policy", static_cast<int>(PolicyType::kSet)},
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

}  // namespace

const ActionTerm* FindActionTerm(absl::string_view name) {
  for (const ActionTerm& t : kActions) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

std::string CanonicalAction(absl::string_view name, std::string* why) {
  const ActionTerm* t = FindActionTerm(name);
  if (t == nullptr) {
    if (why != nullptr) *why = "not an ODRL 2.2 action";
    return "";
  }
  if (!t->deprecated) return std::string(t->name);
  if (t->replaced_by.empty()) {
    if (why != nullptr) *why = "deprecated in ODRL 2.2, with no current equivalent";
    return "";
  }
  return std::string(t->replaced_by);
}

bool ActionIncludedIn(absl::string_view narrow, absl::string_view broad) {
  // The table is a forest of depth 3; the bound guards against a cycle written by mistake.
  for (int hops = 0; hops < 8 && !narrow.empty(); ++hops) {
    if (narrow == broad) return true;
    const ActionTerm* t = FindActionTerm(narrow);
    if (t == nullptr || t->deprecated) return false;
    narrow = t->included_in;
  }
  return false;
}

bool IsAfterUseDuty(absl::string_view action) {
  return action == "delete" || action == "inform" || action == "anonymize" || action == "attribute";
}

LeftOperand LeftOperandFromName(absl::string_view name) {
  return static_cast<LeftOperand>(Lookup(kOperands, name));
}
Operator OperatorFromName(absl::string_view name) {
  return static_cast<Operator>(Lookup(kOperators, name));
}
LogicalOperator LogicalOperatorFromName(absl::string_view name) {
  return static_cast<LogicalOperator>(Lookup(kLogical, name));
}
PolicyType PolicyTypeFromName(absl::string_view name) {
  return static_cast<PolicyType>(Lookup(kTypes, name));
}

bool IsOwnTerm(absl::string_view short_key) {
  // ShortName leaves non-ODRL IRIs as IRIs (they contain ':'), Hanse ones as "hanse:x".
  if (short_key.empty() || short_key[0] == '@') return false;
  return short_key.find(':') == absl::string_view::npos || absl::StartsWith(short_key, "hanse:");
}

bool IsIgnoredOdrlProperty(absl::string_view key) {
  for (absl::string_view k : kIgnoredOdrlProperties) {
    if (k == key) return true;
  }
  return false;
}

absl::string_view LeftOperandName(LeftOperand operand) {
  return NameOf(kOperands, static_cast<int>(operand));
}
absl::string_view OperatorName(Operator op) { return NameOf(kOperators, static_cast<int>(op)); }
absl::string_view LogicalOperatorName(LogicalOperator op) {
  return NameOf(kLogical, static_cast<int>(op));
}
absl::string_view PolicyTypeName(PolicyType type) { return NameOf(kTypes, static_cast<int>(type)); }

}  // namespace hanse::policy
