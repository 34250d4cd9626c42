#include "policy/actions.h"

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

}  // namespace hanse::policy
