// Fail closed under unknown vocabulary: inserting a property Hanse does not know, or putting an
// unknown term where a term is expected, anywhere in a valid policy must never make a decision
// more permissive. The policies are those of the conformance cases (tests/conformance/odrl, each
// with its own requests) and the policy fuzz corpus (tests/fuzz_corpus/policy, with a pool of
// requests); every mutation is evaluated against every request of its policy, and a request the
// original denies must still be denied (a mutation that no longer parses counts as a denial).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "policy/evaluate.h"
#include "policy/policy.h"
#include "policy/policy_test_util.h"
#include "policy/request.h"

namespace hanse::policy {
namespace {

using Json = nlohmann::json;
using ::hanse::policy::testing::CaseDefaultNow;
using ::hanse::policy::testing::JsonFiles;
using ::hanse::policy::testing::ReadJson;

// Property names outside what Hanse reads: a bare term, an odrl: term, the full ODRL IRI and a
// Hanse extension term.
constexpr absl::string_view kUnknownKeys[] = {
    "frobnicate", "odrl:frobnicate", "http://www.w3.org/ns/odrl/2/frobnicate", "hanse:frobnicate"};
// Unknown terms where an action, operator or left operand is expected.
constexpr absl::string_view kUnknownTerms[] = {"frobnicate", "odrl:frobnicate",
                                               "http://www.w3.org/ns/odrl/2/frobnicate"};
// Unknown classes where a policy, party or asset type is expected.
constexpr absl::string_view kUnknownTypes[] = {
    "Frobnicate", "odrl:Frobnicate", "http://www.w3.org/ns/odrl/2/Frobnicate", "hanse:Frobnicate"};

// Requests for the corpus policies, which come without their own: the consumers and datasets the
// corpus names, with facts that satisfy most of its constraints, and variations.
constexpr absl::string_view kPoolRequests[] = {
    R"({"action": "use", "consumer": "did:key:z6MkConsumer", "country": "DE",
        "jurisdictions": ["DE", "EU"], "purpose": "dpv:ScientificResearch",
        "purposeClasses": ["dpv:ResearchAndDevelopment"], "useCount": 2,
        "agreementStart": "2025-01-01T00:00:00Z", "target": "urn:dataset:1",
        "certifications": [{"name": "health-data-hosting", "issuer": "did:key:z6MkCertifier",
                            "validUntil": "2026-01-01T00:00:00Z"}]})",
    R"({"action": "use", "consumer": "did:key:z6MkResearchPartner", "country": "DE",
        "jurisdictions": ["DE", "EU"], "purpose": "hanse:MedicalResearch", "useCount": 0,
        "agreementStart": "2025-01-01T00:00:00Z", "target": "urn:hanse:dataset:icu-vitals-2024",
        "certifications": [{"name": "health-data-hosting", "issuer": "did:key:z6MkCertifier",
                            "validUntil": "2026-01-01T00:00:00Z"}]})",
    R"({"action": "read", "consumer": "did:key:z6MkConsumer", "country": "FR",
        "jurisdictions": ["FR"], "purpose": "hanse:MedicalResearch",
        "purposeClasses": ["dpv:ScientificResearch"], "useCount": 0,
        "agreementStart": "2024-12-20T00:00:00Z"})",
    R"({"action": "distribute", "consumer": "did:key:z6MkConsumer", "country": "DE",
        "jurisdictions": ["DE"], "purpose": "hanse:MedicalResearch", "useCount": 0})",
    R"({"action": "print", "consumer": "did:key:z6MkConsumer", "country": "AT",
        "jurisdictions": ["AT", "EU"], "useCount": 1, "partyCollections": [],
        "assetCollections": []})",
    R"({"action": "use", "consumer": "did:key:z6MkOther", "country": "US",
        "jurisdictions": ["US"], "purpose": "dpv:Marketing", "useCount": 7})",
    R"({"action": "use", "consumer": "did:key:z6MkConsumer", "now": "2026-03-01T00:00:00Z",
        "country": "DE", "jurisdictions": ["DE", "EU"], "purpose": "hanse:MedicalResearch",
        "useCount": 0, "agreementStart": "2025-01-01T00:00:00Z",
        "fulfilledDuties": ["compensate", "permission[0].duty[0]"]})",
    R"({"action": "transfer", "consumer": "did:key:z6MkConsumer", "country": "DE"})",
    R"({"action": "use"})",
};

std::filesystem::path SourceDir() { return std::filesystem::path(HANSE_SOURCE_DIR); }

// A valid policy and the requests it is checked against.
struct Subject {
  std::string name;
  Json policy;
  std::vector<Request> requests;
};

bool Parses(const Json& policy) { return ParsePolicy(policy.dump()).ok(); }

std::vector<Subject> Subjects() {
  std::vector<Subject> subjects;
  for (const auto& file : JsonFiles(SourceDir() / "tests" / "conformance" / "odrl")) {
    const std::optional<Json> c = ReadJson(file);
    if (!c || !c->is_object() || !c->contains("policy") || !Parses((*c)["policy"])) continue;
    Subject s{file.stem().string(), (*c)["policy"], {}};
    std::vector<Json> entries;
    if (c->contains("cases")) {
      for (const Json& e : (*c)["cases"]) entries.push_back(e);
    } else {
      entries.push_back(*c);
    }
    for (const Json& e : entries) {
      absl::StatusOr<Request> r =
          ParseRequest(e.value("request", Json::object()).dump(), CaseDefaultNow());
      if (r.ok()) s.requests.push_back(*std::move(r));
    }
    if (!s.requests.empty()) subjects.push_back(std::move(s));
  }
  std::vector<Request> pool;
  for (absl::string_view text : kPoolRequests) {
    absl::StatusOr<Request> r = ParseRequest(text, CaseDefaultNow());
    EXPECT_TRUE(r.ok()) << r.status() << "\n" << text;
    if (r.ok()) pool.push_back(*std::move(r));
  }
  for (const auto& file : JsonFiles(SourceDir() / "tests" / "fuzz_corpus" / "policy")) {
    const std::optional<Json> policy = ReadJson(file);
    if (!policy || !policy->is_object() || !Parses(*policy)) continue;
    subjects.push_back({absl::StrCat("corpus/", file.stem().string()), *policy, pool});
  }
  return subjects;
}

// The decision for each request; all denials when the policy does not parse.
std::vector<bool> Permits(const Json& policy, const std::vector<Request>& requests) {
  std::vector<bool> permits(requests.size(), false);
  const absl::StatusOr<Policy> parsed = ParsePolicy(policy.dump());
  if (!parsed.ok()) return permits;
  for (size_t i = 0; i < requests.size(); ++i) permits[i] = Evaluate(*parsed, requests[i]).permit;
  return permits;
}

// The comparison the whole test rests on: a mutated policy is more permissive when it permits a
// request the original denied.
bool MorePermissive(bool original_permits, bool mutated_permits) {
  return !original_permits && mutated_permits;
}

struct Mutation {
  std::string what;  // "/permission/0/constraint/0 + odrl:frobnicate"
  Json policy;
};

// The last segment of a property name in any spelling: "odrl:action", ".../odrl/2/action" and
// "action" are all "action".
std::string ShortKey(const std::string& key) {
  for (absl::string_view prefix : {"http://www.w3.org/ns/odrl/2/", "odrl:"}) {
    if (absl::StartsWith(key, prefix)) return key.substr(prefix.size());
  }
  return key;
}

bool IsPartyOrAssetKey(const std::string& key) {
  const std::string k = ShortKey(key);
  return k == "target" || k == "assignee" || k == "assigner";
}

bool IsLogicalKey(const std::string& key) {
  const std::string k = ShortKey(key);
  return k == "and" || k == "or" || k == "xone" || k == "andSequence";
}

void AddMutation(std::vector<Mutation>* out, const Json& root, const Json::json_pointer& at,
                 const std::string& what, const std::function<void(Json&)>& edit) {
  Mutation m{absl::StrCat(at.to_string().empty() ? "/" : at.to_string(), " ", what), root};
  edit(m.policy[at]);
  if (m.policy != root) out->push_back(std::move(m));
}

// Replaces a term value (a string, {"@id"}, an action object with rdf:value, or an array of
// those) by `term`.
void SetTerm(Json& value, absl::string_view term) {
  const std::string t(term);
  if (value.is_object() && value.contains("rdf:value")) {
    value["rdf:value"] = Json{{"@id", t}};
  } else if (value.is_object()) {
    value["@id"] = t;
  } else {
    value = t;
  }
}

void CollectMutations(const Json& root, const Json& node, const Json::json_pointer& at,
                      std::vector<Mutation>* out) {
  if (node.is_array()) {
    for (size_t i = 0; i < node.size(); ++i) CollectMutations(root, node[i], at / i, out);
    return;
  }
  if (!node.is_object()) return;
  // An unknown property on this object, whatever it is.
  for (absl::string_view key : kUnknownKeys) {
    if (node.contains(std::string(key))) continue;
    AddMutation(out, root, at, absl::StrCat("+ ", key),
                [key](Json& obj) { obj[std::string(key)] = "urn:x:frobnicate"; });
  }
  if (at.to_string().empty()) {
    for (absl::string_view type : kUnknownTypes) {
      AddMutation(out, root, at, absl::StrCat("@type = ", type),
                  [type](Json& obj) { obj["@type"] = std::string(type); });
    }
  }
  for (const auto& [key, value] : node.items()) {
    if (key == "@context") continue;
    const Json::json_pointer child = at / key;
    const std::string k = ShortKey(key);
    // Unknown terms where a term is expected.
    if (k == "action" || k == "operator" || k == "leftOperand") {
      const bool list = value.is_array();
      for (size_t i = 0; i < (list ? value.size() : 1); ++i) {
        const Json::json_pointer where = list ? child / i : child;
        for (absl::string_view term : kUnknownTerms) {
          AddMutation(out, root, where, absl::StrCat("= ", term),
                      [term](Json& v) { SetTerm(v, term); });
        }
      }
    }
    // A term or party/asset named by a string: the same as an object, with an unknown property
    // (and for parties and assets, an unknown @type).
    if ((k == "action" || IsPartyOrAssetKey(key)) && (value.is_string() || value.is_array())) {
      const bool list = value.is_array();
      for (size_t i = 0; i < (list ? value.size() : 1); ++i) {
        const Json& item = list ? value[i] : value;
        if (!item.is_string()) continue;
        const Json::json_pointer where = list ? child / i : child;
        for (absl::string_view extra : kUnknownKeys) {
          AddMutation(out, root, where, absl::StrCat("-> {@id, ", extra, "}"), [extra](Json& v) {
            v = Json{{"@id", v.get<std::string>()}, {std::string(extra), "x"}};
          });
        }
        if (k != "action") {
          for (absl::string_view type : kUnknownTypes) {
            AddMutation(out, root, where, absl::StrCat("-> {@id, @type: ", type, "}"),
                        [type](Json& v) {
                          v = Json{{"@id", v.get<std::string>()}, {"@type", std::string(type)}};
                        });
          }
        }
      }
    }
    // An unknown @type on a party or asset object.
    if (IsPartyOrAssetKey(key)) {
      const bool list = value.is_array();
      for (size_t i = 0; i < (list ? value.size() : 1); ++i) {
        const Json& item = list ? value[i] : value;
        if (!item.is_object()) continue;
        const Json::json_pointer where = list ? child / i : child;
        for (absl::string_view type : kUnknownTypes) {
          AddMutation(out, root, where, absl::StrCat("@type = ", type),
                      [type](Json& obj) { obj["@type"] = std::string(type); });
        }
      }
    }
    // An unknown logical operand in place of and/or/xone/andSequence.
    if (IsLogicalKey(key)) {
      for (absl::string_view term : kUnknownTerms) {
        AddMutation(out, root, at, absl::StrCat(key, " renamed ", term),
                    [key = key, term](Json& obj) {
                      Json operands = obj[key];
                      obj.erase(key);
                      obj[std::string(term)] = std::move(operands);
                    });
      }
    }
    CollectMutations(root, value, child, out);
  }
}

std::vector<Mutation> Mutations(const Json& policy) {
  std::vector<Mutation> out;
  CollectMutations(policy, policy, Json::json_pointer(), &out);
  return out;
}

struct Tally {
  size_t mutations = 0;
  size_t evaluations = 0;
  size_t guarded = 0;    // (mutation, request) pairs where the original denied
  size_t unparsed = 0;   // mutations ParsePolicy rejects
  size_t tightened = 0;  // (mutation, request) pairs where a permit became a denial
  std::vector<std::string> violations;
};

// Applies `mutate` to each subject and checks every request: an original denial must stay a
// denial.
Tally Check(const std::vector<Subject>& subjects,
            const std::function<std::vector<Mutation>(const Json&)>& mutate) {
  Tally t;
  for (const Subject& s : subjects) {
    const std::vector<bool> original = Permits(s.policy, s.requests);
    for (const Mutation& m : mutate(s.policy)) {
      ++t.mutations;
      if (!Parses(m.policy)) ++t.unparsed;
      const std::vector<bool> mutated = Permits(m.policy, s.requests);
      for (size_t i = 0; i < s.requests.size(); ++i) {
        ++t.evaluations;
        if (!original[i]) ++t.guarded;
        if (original[i] && !mutated[i]) ++t.tightened;
        if (MorePermissive(original[i], mutated[i])) {
          t.violations.push_back(absl::StrCat(s.name, ": ", m.what, ": request ", i, " (action ",
                                              s.requests[i].action,
                                              ") was denied, is now permitted"));
        }
      }
    }
  }
  return t;
}

std::string FirstViolations(const Tally& t, size_t n = 25) {
  std::string out;
  for (size_t i = 0; i < t.violations.size() && i < n; ++i) {
    absl::StrAppend(&out, "  ", t.violations[i], "\n");
  }
  if (t.violations.size() > n) absl::StrAppend(&out, "  ... and ", t.violations.size() - n, "\n");
  return out;
}

TEST(UnknownProperty, NeverMorePermissive) {
  const std::vector<Subject> subjects = Subjects();
  ASSERT_GE(subjects.size(), 50u) << "too few valid policies: the harness would prove little";
  const Tally t = Check(subjects, Mutations);
  RecordProperty("policies", static_cast<int>(subjects.size()));
  RecordProperty("mutations", static_cast<int>(t.mutations));
  RecordProperty("evaluations", static_cast<int>(t.evaluations));
  std::cout << "[ unknown-property ] " << subjects.size() << " policies, " << t.mutations
            << " mutations (" << t.unparsed << " rejected by ParsePolicy), " << t.evaluations
            << " evaluations, " << t.guarded << " of them of a denied request, " << t.tightened
            << " permits turned into denials\n";
  EXPECT_GT(t.mutations, 2000u);
  EXPECT_GT(t.guarded, 1000u) << "too few denials to guard";
  // Fail closed is visible: most unknown properties make a permitting rule unusable.
  EXPECT_GT(t.tightened, 100u);
  EXPECT_TRUE(t.violations.empty())
      << t.violations.size() << " mutations made a decision more permissive:\n"
      << FirstViolations(t);
}

// The check can fail: the comparison flags a denial turned into a permit, and nothing else.
TEST(UnknownProperty, ComparisonFlagsOnlyDenyToPermit) {
  EXPECT_TRUE(MorePermissive(false, true));
  EXPECT_FALSE(MorePermissive(false, false));
  EXPECT_FALSE(MorePermissive(true, false));
  EXPECT_FALSE(MorePermissive(true, true));
}

// The harness finds a deliberately permissive mutation: dropping the prohibitions.
TEST(UnknownProperty, DetectsRemovedProhibition) {
  const std::vector<Subject> subjects = Subjects();
  const Tally t = Check(subjects, [](const Json& policy) {
    std::vector<Mutation> out;
    for (const auto& [key, value] : policy.items()) {
      if (ShortKey(key) != "prohibition") continue;
      Mutation m{absl::StrCat("- ", key), policy};
      m.policy.erase(key);
      out.push_back(std::move(m));
    }
    return out;
  });
  EXPECT_GT(t.mutations, 5u);
  ASSERT_FALSE(t.violations.empty()) << "removing every prohibition was not detected";
  const bool seen = std::any_of(t.violations.begin(), t.violations.end(), [](const auto& v) {
    return absl::StartsWith(v, "050-prohibition-beats-permission: ");
  });
  EXPECT_TRUE(seen) << "expected 050-prohibition-beats-permission among:\n" << FirstViolations(t);
}

}  // namespace
}  // namespace hanse::policy
