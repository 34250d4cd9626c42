#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "policy/policy.h"
#include "policy/policy_test_util.h"
#include "tests/support/status_matchers.h"

namespace hanse::policy {
namespace {

using ::hanse::testing::IsOk;
using ::hanse::testing::StatusIs;
using ::testing::HasSubstr;
using namespace ::hanse::policy::testing;  // NOLINT

constexpr char kMinimal[] = R"({"@type":"Offer","permission":[{"action":"use"}]})";

TEST(ParsePolicy, Minimal) {
  HANSE_ASSERT_OK_AND_ASSIGN(Policy p, ParsePolicy(kMinimal));
  EXPECT_EQ(p.type, PolicyType::kOffer);
  ASSERT_EQ(p.permissions.size(), 1u);
  EXPECT_EQ(p.permissions[0].action, "use");
  EXPECT_EQ(p.permissions[0].path, "permission[0]");
  EXPECT_TRUE(p.problem.empty());
  EXPECT_THAT(ValidatePolicyForPublishing(kMinimal), IsOk());
}

TEST(ParsePolicy, TypesAndSingleObjectRules) {
  for (const auto& [type, expected] : std::vector<std::pair<std::string, PolicyType>>{
           {"Set", PolicyType::kSet},
           {"odrl:Agreement", PolicyType::kAgreement},
           {"http://www.w3.org/ns/odrl/2/Offer", PolicyType::kOffer}}) {
    HANSE_ASSERT_OK_AND_ASSIGN(
        Policy p,
        ParsePolicy(absl::StrCat(R"({"type":")", type, R"(","permission":{"action":"read"}})")));
    EXPECT_EQ(p.type, expected) << type;
    ASSERT_EQ(p.permissions.size(), 1u);
    EXPECT_EQ(p.permissions[0].action, "read");
  }
}

TEST(ParsePolicy, ObligationsAndDutiesAreListed) {
  HANSE_ASSERT_OK_AND_ASSIGN(Policy p, ParsePolicy(R"({
    "@type": "Agreement", "assigner": "did:key:zP", "assignee": "did:key:zC",
    "permission": [{"action": "use", "duty": [
       {"action": "delete", "constraint": [{"leftOperand": "elapsedTime", "operator": "eq",
                                            "rightOperand": "P30D"}]},
       {"action": "inform"}]}],
    "obligation": [{"action": "compensate"}]})"));
  ASSERT_EQ(p.permissions[0].duties.size(), 2u);
  EXPECT_EQ(p.permissions[0].duties[0].path, "permission[0].duty[0]");
  EXPECT_EQ(p.permissions[0].duties[0].action, "delete");
  EXPECT_EQ(p.permissions[0].duties[0].constraints[0].path, "permission[0].duty[0].constraint[0]");
  EXPECT_EQ(p.permissions[0].duties[1].action, "inform");
  ASSERT_EQ(p.obligations.size(), 1u);
  EXPECT_EQ(p.obligations[0].action, "compensate");
  EXPECT_EQ(p.obligations[0].path, "obligation[0]");
  // Policy-level parties are inherited by the rules.
  EXPECT_EQ(p.permissions[0].assignee.iri, "did:key:zC");
  EXPECT_EQ(p.obligations[0].assigner, "did:key:zP");
}

TEST(ParsePolicy, PolicyLevelActionIsInherited) {
  HANSE_ASSERT_OK_AND_ASSIGN(Policy p,
                             ParsePolicy(R"({"@type":"Set","action":"read","target":"urn:d:1",
                                "permission":[{"constraint":[{"leftOperand":"count",
                                "operator":"lteq","rightOperand":5}]}]})"));
  EXPECT_EQ(p.permissions[0].action, "read");
  EXPECT_EQ(p.permissions[0].target.iri, "urn:d:1");
}

TEST(ParsePolicy, ActionRefinementsBecomeConstraints) {
  HANSE_ASSERT_OK_AND_ASSIGN(Policy p, ParsePolicy(R"({"@type":"Set","permission":[{
      "action": {"rdf:value": {"@id": "odrl:use"},
                 "refinement": [{"leftOperand": "count", "operator": "lteq", "rightOperand": 2}]},
      "constraint": {"leftOperand": "spatial", "operator": "eq", "rightOperand": "de"}}]})"));
  const Rule& r = p.permissions[0];
  EXPECT_EQ(r.action, "use");
  ASSERT_EQ(r.constraints.size(), 2u);
  EXPECT_EQ(r.constraints[0].path, "permission[0].action.refinement[0]");
  EXPECT_EQ(r.constraints[0].left_operand, LeftOperand::kCount);
  EXPECT_EQ(r.constraints[1].path, "permission[0].constraint[0]");
  EXPECT_EQ(r.constraints[1].right, std::vector<std::string>{"DE"});  // upper-cased
}

TEST(ParsePolicy, CompactExpandedAndPrefixedTermsParseAlike) {
  const std::string compact = R"({"@type":"Set","permission":[{"action":"use","constraint":[
      {"and":[{"leftOperand":"purpose","operator":"isAnyOf","rightOperand":["dpv:A","dpv:B"]},
              {"leftOperand":"hanse:jurisdiction","operator":"isPartOf","rightOperand":"EU"}]},
      {"leftOperand":"hanse:certification","operator":"eq","rightOperand":"x",
       "hanse:issuer":["did:key:zI"]}]}]})";
  for (const std::string& variant :
       {compact, ExpandTerms(Json::parse(compact), kOdrlNs, true).dump(),
        ExpandTerms(Json::parse(compact), kOdrlNs, false).dump(),
        ExpandTerms(Json::parse(compact), "odrl:", false).dump()}) {
    HANSE_ASSERT_OK_AND_ASSIGN(Policy p, ParsePolicy(variant));
    ASSERT_EQ(p.permissions.size(), 1u) << variant;
    const Rule& r = p.permissions[0];
    EXPECT_EQ(r.action, "use");
    ASSERT_EQ(r.constraints.size(), 2u);
    EXPECT_EQ(r.constraints[0].logical, LogicalOperator::kAnd);
    ASSERT_EQ(r.constraints[0].children.size(), 2u);
    EXPECT_EQ(r.constraints[0].children[0].path, "permission[0].constraint[0].and[0]");
    EXPECT_EQ(r.constraints[0].children[0].left_operand, LeftOperand::kPurpose);
    EXPECT_EQ(r.constraints[0].children[0].right,
              (std::vector<std::string>{"https://w3id.org/dpv#A", "https://w3id.org/dpv#B"}));
    EXPECT_EQ(r.constraints[0].children[1].left_operand, LeftOperand::kJurisdiction);
    EXPECT_EQ(r.constraints[0].children[1].left_operand_name, "hanse:jurisdiction");
    EXPECT_EQ(r.constraints[1].left_operand, LeftOperand::kCertification);
    EXPECT_EQ(r.constraints[1].issuers, std::vector<std::string>{"did:key:zI"});
    EXPECT_THAT(ValidatePolicyForPublishing(variant), IsOk()) << variant;
  }
}

TEST(ParsePolicy, BareHanseTermsAndJsonLdShapes) {
  HANSE_ASSERT_OK_AND_ASSIGN(Policy p, ParsePolicy(R"({
    "@context": ["http://www.w3.org/ns/odrl.jsonld", {"ex": "http://example.com/p#"}],
    "@type": ["Set"],
    "permission": [{"action": [{"@id": "use"}], "constraint": [
      {"leftOperand": "jurisdiction", "operator": {"@id": "odrl:isNoneOf"},
       "rightOperand": {"@list": [{"@value": "us"}, "CN"]}},
      {"leftOperand": "purpose", "operator": "eq", "rightOperand": {"@id": "ex:Research"}},
      {"leftOperand": "count", "operator": "lt", "rightOperand": {"@value": "4", "@type": "xsd:integer"}}
    ]}]})"));
  const Rule& r = p.permissions[0];
  EXPECT_EQ(r.constraints[0].left_operand, LeftOperand::kJurisdiction);
  EXPECT_EQ(r.constraints[0].op, Operator::kIsNoneOf);
  EXPECT_TRUE(r.constraints[0].right_is_list);
  EXPECT_EQ(r.constraints[0].right, (std::vector<std::string>{"US", "CN"}));
  EXPECT_EQ(r.constraints[1].right, std::vector<std::string>{"http://example.com/p#Research"});
  EXPECT_EQ(r.constraints[2].right, std::vector<std::string>{"4"});
  for (const Constraint& c : r.constraints) EXPECT_TRUE(c.problem.empty()) << c.problem;
}

TEST(ParsePolicy, ContextCanRedefineTheOdrlPrefix) {
  // "odrl:" now means something else, so odrl:use is not the ODRL action any more.
  HANSE_ASSERT_OK_AND_ASSIGN(Policy p,
                             ParsePolicy(R"({"@context":{"odrl":"http://example.com/not-odrl/"},
                                "@type":"Set","permission":[{"action":"odrl:use"}]})"));
  EXPECT_EQ(p.permissions[0].action, "");
  EXPECT_EQ(p.permissions[0].problem, "unknown action \"http://example.com/not-odrl/use\"");
}

struct ErrorCase {
  const char* name;
  std::string json;
  std::string message;  // substring
};

class StructuralErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(StructuralErrors, NameTheJsonPath) {
  const ErrorCase& c = GetParam();
  EXPECT_THAT(ParsePolicy(c.json),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)));
  // The publisher sees the same error.
  EXPECT_THAT(ValidatePolicyForPublishing(c.json),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)));
}

INSTANTIATE_TEST_SUITE_P(
    ParsePolicy, StructuralErrors,
    ::testing::Values(
        ErrorCase{"not_json", "{", "not valid JSON"},
        ErrorCase{"not_object", "[]", "policy: expected a JSON object"},
        ErrorCase{"string", R"("Offer")", "policy: expected a JSON object"},
        ErrorCase{"type_number", R"({"@type":3,"permission":[{"action":"use"}]})",
                  "@type: expected an IRI string"},
        ErrorCase{"no_rules", R"({"@type":"Set"})", "no permission, prohibition or obligation"},
        ErrorCase{"permission_string", R"({"@type":"Set","permission":"use"})",
                  "permission: expected an object or an array of objects"},
        ErrorCase{"permission_item_string", R"({"@type":"Set","permission":["use"]})",
                  "permission[0]: expected an object"},
        ErrorCase{"missing_action", R"({"@type":"Set","permission":[{"action":"use"},{}]})",
                  "permission[1]: missing action"},
        ErrorCase{"action_number", R"({"@type":"Set","prohibition":[{"action":1}]})",
                  "prohibition[0].action: expected an IRI string"},
        ErrorCase{"constraint_number",
                  R"({"@type":"Set","permission":[{"action":"use","constraint":5}]})",
                  "permission[0].constraint: expected an object or an array of objects"},
        ErrorCase{"missing_left",
                  R"({"@type":"Set","permission":[{"action":"use","constraint":[
                      {"leftOperand":"count","operator":"eq","rightOperand":1},
                      {"operator":"eq","rightOperand":1}]}]})",
                  "permission[0].constraint[1]: missing leftOperand"},
        ErrorCase{"missing_operator",
                  R"({"@type":"Set","permission":[{"action":"use","constraint":[
                      {"leftOperand":"count","rightOperand":1}]}]})",
                  "permission[0].constraint[0]: missing operator"},
        ErrorCase{"missing_right",
                  R"({"@type":"Set","permission":[{"action":"use","constraint":[
                      {"leftOperand":"count","operator":"eq"}]}]})",
                  "permission[0].constraint[0]: missing rightOperand"},
        ErrorCase{"right_null",
                  R"({"@type":"Set","permission":[{"action":"use","constraint":[
                      {"leftOperand":"count","operator":"eq","rightOperand":null}]}]})",
                  "permission[0].constraint[0].rightOperand: null"},
        ErrorCase{"right_nested",
                  R"({"@type":"Set","permission":[{"action":"use","constraint":[
                      {"leftOperand":"spatial","operator":"isAnyOf","rightOperand":[["DE"]]}]}]})",
                  "permission[0].constraint[0].rightOperand[0]: expected a value"},
        ErrorCase{"right_empty",
                  R"({"@type":"Set","permission":[{"action":"use","constraint":[
                      {"leftOperand":"spatial","operator":"isAnyOf","rightOperand":[]}]}]})",
                  "permission[0].constraint[0].rightOperand: empty list"},
        ErrorCase{"logical_and_left",
                  R"({"@type":"Set","permission":[{"action":"use","constraint":[
                      {"and":[{"leftOperand":"count","operator":"eq","rightOperand":1}],
                       "leftOperand":"count"}]}]})",
                  "permission[0].constraint[0]: both \"and\" and leftOperand"},
        ErrorCase{"two_logical",
                  R"({"@type":"Set","permission":[{"action":"use","constraint":[
                      {"and":[], "or":[]}]}]})",
                  "permission[0].constraint[0]: both"},
        ErrorCase{"logical_empty",
                  R"({"@type":"Set","permission":[{"action":"use","constraint":[{"xone":[]}]}]})",
                  "permission[0].constraint[0].xone: empty"},
        ErrorCase{"logical_not_list",
                  R"({"@type":"Set","permission":[{"action":"use","constraint":[{"or":"x"}]}]})",
                  "permission[0].constraint[0].or: expected an array of constraints"},
        ErrorCase{"nested_missing_left",
                  R"({"@type":"Set","permission":[{"action":"use","constraint":[{"or":[
                      {"leftOperand":"count","operator":"eq","rightOperand":1},
                      {"and":[{"operator":"eq","rightOperand":1}]}]}]}]})",
                  "permission[0].constraint[0].or[1].and[0]: missing leftOperand"},
        ErrorCase{"duty_not_object",
                  R"({"@type":"Set","permission":[{"action":"use","duty":[3]}]})",
                  "permission[0].duty[0]: expected an object"},
        ErrorCase{"duplicate_key",
                  R"({"@type":"Set","permission":[{"action":"use"}],"permission":[]})",
                  "duplicate key \"permission\""},
        ErrorCase{"duplicate_after_expansion",
                  R"({"@type":"Set","permission":[{"action":"use"}],
                      "odrl:permission":[{"action":"read"}]})",
                  "property \"permission\" given twice"},
        ErrorCase{"issuer_number",
                  R"({"@type":"Set","permission":[{"action":"use","constraint":[
                      {"leftOperand":"hanse:certification","operator":"eq","rightOperand":"x",
                       "hanse:issuer":5}]}]})",
                  "permission[0].constraint[0].hanse:issuer: expected an IRI string"},
        ErrorCase{"assignee_number",
                  R"({"@type":"Set","assignee":[5],"permission":[{"action":"use"}]})",
                  "assignee: expected an IRI string"}),
    [](const ::testing::TestParamInfo<ErrorCase>& info) { return std::string(info.param.name); });

class PublishingProblems : public ::testing::TestWithParam<ErrorCase> {};

// Unknown vocabulary and malformed values parse (so that Evaluate can deny with the reason), but
// a publisher is told to fix them.
TEST_P(PublishingProblems, ParseButFailValidation) {
  const ErrorCase& c = GetParam();
  EXPECT_THAT(ParsePolicy(c.json), IsOk());
  EXPECT_THAT(ValidatePolicyForPublishing(c.json),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)));
}

INSTANTIATE_TEST_SUITE_P(
    ValidatePolicyForPublishing, PublishingProblems,
    ::testing::Values(
        ErrorCase{"unknown_operator",
                  PermissionWith(Atomic("count", "lteq", "3") + "," +
                                 Atomic("dateTime", "between", R"("2025-01-01")")),
                  "permission[0].constraint[1].operator: unknown operator \"between\""},
        ErrorCase{"unknown_operand", PermissionWith(Atomic("temperature", "lt", "30")),
                  "permission[0].constraint[0].leftOperand: unknown left operand \"temperature\""},
        ErrorCase{"unknown_action", R"({"@type":"Set","permission":[{"action":"frobnicate"}]})",
                  "permission[0].action: unknown action \"frobnicate\""},
        ErrorCase{"deprecated_action", R"({"@type":"Set","permission":[{"action":"lease"}]})",
                  "permission[0].action: action \"lease\" is deprecated in ODRL 2.2, with no "
                  "current equivalent"},
        ErrorCase{"unknown_duty_action",
                  R"({"@type":"Set","permission":[{"action":"use","duty":[{"action":"x:pay"}]}]})",
                  "permission[0].duty[0].action: unknown action \"x:pay\""},
        ErrorCase{"precondition_duty",
                  R"({"@type":"Set","permission":[{"action":"use","duty":[{"action":"pay"}]}]})",
                  "permission[0].duty[0].action: the duty to pay is a precondition"},
        ErrorCase{"unknown_type", R"({"@type":"Ticket","permission":[{"action":"use"}]})",
                  "@type: unknown policy type \"Ticket\""},
        ErrorCase{"inherit_from",
                  R"({"@type":"Set","inheritFrom":"urn:p:1","permission":[{"action":"use"}]})",
                  "inheritFrom: inheritFrom is not supported"},
        ErrorCase{"misspelt_property",
                  R"({"@type":"Set","permission":[{"action":"use","constraints":[]}]})",
                  "permission[0].constraints: unknown property \"constraints\""},
        ErrorCase{"operator_for_operand", PermissionWith(Atomic("purpose", "lt", R"("x")")),
                  "permission[0].constraint[0].operator: operator lt is not defined for purpose"},
        ErrorCase{"set_operator_for_time",
                  PermissionWith(Atomic("dateTime", "isAnyOf", R"(["2025-01-01"])")),
                  "operator isAnyOf is not defined for dateTime"},
        ErrorCase{"list_for_eq", PermissionWith(Atomic("spatial", "eq", R"(["DE","FR"])")),
                  "operator eq takes one value, not a list of 2"},
        ErrorCase{"bad_date", PermissionWith(Atomic("dateTime", "lt", R"("2025-13-01")")),
                  "\"2025-13-01\" is not an RFC 3339 date-time or a date"},
        ErrorCase{"bad_duration", PermissionWith(Atomic("elapsedTime", "lteq", R"("30 days")")),
                  "is not an ISO 8601 duration"},
        ErrorCase{"bad_count", PermissionWith(Atomic("count", "lteq", "-1")),
                  "\"-1\" is not a non-negative integer"},
        ErrorCase{"bad_country", PermissionWith(Atomic("spatial", "eq", R"("Germany")")),
                  "\"GERMANY\" is not an ISO 3166-1 alpha-2 country code"},
        ErrorCase{
            "issuer_elsewhere",
            PermissionWith(R"({"leftOperand":"purpose","operator":"eq","rightOperand":"x",
                                    "hanse:issuer":"did:key:z"})"),
            "permission[0].constraint[0].hanse:issuer: only allowed on a hanse:certification"},
        ErrorCase{"no_permission", R"({"@type":"Set","prohibition":[{"action":"distribute"}]})",
                  "no permission, so it can never permit a use"},
        ErrorCase{"several",
                  PermissionWith(Atomic("foo", "eq", "1") + "," + Atomic("count", "bar", "1")),
                  "permission[0].constraint[0].leftOperand: unknown left operand \"foo\"; "
                  "permission[0].constraint[1].operator: unknown operator \"bar\""}),
    [](const ::testing::TestParamInfo<ErrorCase>& info) { return std::string(info.param.name); });

std::string NestedLogical(int levels) {
  std::string c = Atomic("count", "lteq", "3");
  for (int i = 0; i < levels; ++i) c = absl::StrCat(R"({"and":[)", c, "]}");
  return PermissionWith(c);
}

TEST(Limits, LogicalNesting) {
  EXPECT_THAT(ParsePolicy(NestedLogical(kMaxLogicalDepth)), IsOk());
  EXPECT_THAT(ParsePolicy(NestedLogical(kMaxLogicalDepth + 1)),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("nested deeper than 16")));
}

TEST(Limits, RulesAndConstraints) {
  auto policy = [](int constraints) {
    std::string list;
    for (int i = 0; i < constraints; ++i) {
      absl::StrAppend(&list, i ? "," : "", Atomic("count", "lteq", "3"));
    }
    return PermissionWith(list);
  };
  // One permission + 255 constraints = 256 elements.
  EXPECT_THAT(ParsePolicy(policy(255)), IsOk());
  EXPECT_THAT(ParsePolicy(policy(256)),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("more than 256 rules")));
}

TEST(Limits, Size) {
  std::string big = absl::StrCat(R"({"@type":"Set","permission":[{"action":"use"}],"x":")",
                                 std::string(kMaxPolicyBytes, 'a'), "\"}");
  EXPECT_THAT(ParsePolicy(big), StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("bytes")));
  EXPECT_THAT(ValidatePolicyForPublishing(big), StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST(Limits, JsonDepth) {
  const std::string deep = std::string(10000, '[') + std::string(10000, ']');
  EXPECT_THAT(ParsePolicy(deep), StatusIs(absl::StatusCode::kResourceExhausted));
  const std::string deep_value =
      absl::StrCat(R"({"@type":"Set","permission":[{"action":"use"}],"x":)", std::string(100, '['),
                   std::string(100, ']'), "}");
  EXPECT_THAT(ParsePolicy(deep_value), StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST(ParsePolicy, IgnoresForeignPropertiesAndKnownInformationalOnes) {
  EXPECT_THAT(ValidatePolicyForPublishing(R"({"@type":"Offer","uid":"urn:p:1",
      "http://purl.org/dc/terms/title":"t","dct:description":"d","profile":"urn:x",
      "permission":[{"action":"use","summary":"s","@type":"Permission"}]})"),
              IsOk());
}

}  // namespace
}  // namespace hanse::policy

namespace hanse::policy {
namespace {

TEST(ParsePolicy, SetIsTheDefaultType) {
  // "The Set Policy subclass is also the default subclass of Policy (if none is specified)."
  HANSE_ASSERT_OK_AND_ASSIGN(Policy p, ParsePolicy(R"({"permission":[{"action":"use"}]})"));
  EXPECT_EQ(p.type, PolicyType::kSet);
  HANSE_ASSERT_OK_AND_ASSIGN(p,
                             ParsePolicy(R"({"@type":"Policy","permission":[{"action":"use"}]})"));
  EXPECT_EQ(p.type, PolicyType::kSet);
}

}  // namespace
}  // namespace hanse::policy
