// The health-data scenario of the issue, end to end, and the examples in docs/policies.md.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "policy/evaluate.h"
#include "policy/policy_test_util.h"
#include "tests/support/status_matchers.h"

namespace hanse::policy {
namespace {

using ::hanse::testing::IsOk;
using ::testing::HasSubstr;
using namespace ::hanse::policy::testing;  // NOLINT

// The same policy is the file example in docs/policies.md (checked below).
constexpr char kHealthPolicy[] = R"({
  "@context": ["http://www.w3.org/ns/odrl.jsonld", {"hanse": "https://w3id.org/hanse/v1#"}],
  "@type": "Offer",
  "uid": "urn:uuid:6f1c2a7e-3b8d-4e0a-9c41-2d5e8f7a9b10",
  "assigner": "did:key:z6MkHospitalProvider",
  "target": "urn:hanse:dataset:icu-vitals-2024",
  "permission": [{
    "action": "use",
    "constraint": [
      {"leftOperand": "purpose", "operator": "eq",
       "rightOperand": {"@id": "hanse:MedicalResearch"}},
      {"leftOperand": "spatial", "operator": "isPartOf", "rightOperand": "EU"},
      {"leftOperand": "hanse:jurisdiction", "operator": "isPartOf", "rightOperand": "EU"},
      {"leftOperand": "hanse:certification", "operator": "eq",
       "rightOperand": "health-data-hosting", "hanse:issuer": ["did:key:z6MkCertifier"]},
      {"leftOperand": "count", "operator": "lteq", "rightOperand": 3}
    ],
    "duty": [
      {"action": "delete",
       "constraint": [{"leftOperand": "elapsedTime", "operator": "eq", "rightOperand": "P30D"}]},
      {"action": "inform"}
    ]
  }],
  "prohibition": [{"action": "distribute"}]
})";

// A hospital research group in Germany, subject only to EU law, certified by the certifier.
Request ResearchPartner() {
  Request r = BaseRequest();
  r.target = "urn:hanse:dataset:icu-vitals-2024";
  return r;
}

class HealthData : public ::testing::TestWithParam<bool> {
 protected:
  // The compact policy, or (param true) the same with full ODRL IRIs.
  std::string PolicyText() const {
    if (!GetParam()) return kHealthPolicy;
    return ExpandTerms(Json::parse(kHealthPolicy), kOdrlNs, /*id_objects=*/true).dump();
  }
  Decision Run(const Request& r) const { return Decide(PolicyText(), r); }
};

TEST_P(HealthData, PublishableAndPermitsTheResearchPartner) {
  EXPECT_THAT(ValidatePolicyForPublishing(PolicyText()), IsOk());
  const Decision d = Run(ResearchPartner());
  ASSERT_TRUE(d.permit) << DecisionToText(d);
  EXPECT_EQ(d.reason, "permitted by permission[0]");
  ASSERT_EQ(d.duties.size(), 2u);
  EXPECT_EQ(d.duties[0].action, "delete");
  EXPECT_EQ(d.duties[0].due, T("2025-01-31T00:00:00Z"));
  EXPECT_EQ(d.duties[1].action, "inform");
  for (const TraceEntry& e : d.trace) {
    if (e.rule == "permission[0]") {
      EXPECT_EQ(e.verdict, Verdict::kSatisfied) << e.path;
    }
  }
}

TEST_P(HealthData, ReadAndPrintAreUsesTransferOfOwnershipIsNot) {
  Request r = ResearchPartner();
  r.action = "read";
  EXPECT_TRUE(Run(r).permit);
  r.action = "print";
  EXPECT_TRUE(Run(r).permit);
  r.action = "transfer";
  EXPECT_FALSE(Run(r).permit) << "ODRL transfer is a transfer of ownership, not part of use";
}

TEST_P(HealthData, MemberSubjectToUsJurisdictionIsDenied) {
  Request r = ResearchPartner();
  r.jurisdictions = {"DE", "US"};
  const Decision d = Run(r);
  EXPECT_FALSE(d.permit);
  EXPECT_EQ(
      d.reason,
      "permission[0].constraint[2]: hanse:jurisdiction isPartOf EU failed (actual: [DE, US]): "
      "US not in EU");
  const TraceEntry* e = FindEntry(d, "permission[0].constraint[2]");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->left_operand, "hanse:jurisdiction");
  EXPECT_EQ(e->op, "isPartOf");
  EXPECT_EQ(e->required, "EU");
  EXPECT_EQ(e->actual, "[DE, US]");
  EXPECT_EQ(e->verdict, Verdict::kFailed);
  EXPECT_EQ(e->note, "US not in EU");
  // Everything else held: the trace says so.
  for (const char* ok : {"permission[0].constraint[0]", "permission[0].constraint[1]",
                         "permission[0].constraint[3]", "permission[0].constraint[4]"}) {
    EXPECT_EQ(FindEntry(d, ok)->verdict, Verdict::kSatisfied) << ok;
  }
  EXPECT_TRUE(d.duties.empty());
  EXPECT_THAT(DecisionToText(d),
              HasSubstr("[failed] permission[0].constraint[2]  hanse:jurisdiction isPartOf EU  "
                        "actual: [DE, US]  -- US not in EU"));
}

TEST_P(HealthData, FourthUseIsDenied) {
  Request r = ResearchPartner();
  r.use_count = 2;
  EXPECT_TRUE(Run(r).permit);
  r.use_count = 3;
  const Decision d = Run(r);
  EXPECT_FALSE(d.permit);
  EXPECT_THAT(d.reason,
              HasSubstr("permission[0].constraint[4]: count lteq 3 failed (actual: 4 (3 used "
                        "so far + this use))"));
}

TEST_P(HealthData, OtherPurposeIsDenied) {
  Request r = ResearchPartner();
  r.purpose = "https://w3id.org/dpv#Marketing";
  const Decision d = Run(r);
  EXPECT_FALSE(d.permit);
  EXPECT_THAT(d.reason, HasSubstr("permission[0].constraint[0]: purpose eq "
                                  "https://w3id.org/hanse/v1#MedicalResearch failed"));
}

TEST_P(HealthData, CertificationFromAnotherIssuerIsDenied) {
  Request r = ResearchPartner();
  r.certifications = {{"health-data-hosting", "did:key:z6MkSelfCertified", absl::InfiniteFuture()}};
  const Decision d = Run(r);
  EXPECT_FALSE(d.permit);
  const TraceEntry* e = FindEntry(d, "permission[0].constraint[3]");
  EXPECT_EQ(e->verdict, Verdict::kFailed);
  EXPECT_EQ(e->required, "health-data-hosting issued by did:key:z6MkCertifier");
  EXPECT_EQ(e->actual, "health-data-hosting from did:key:z6MkSelfCertified (issuer not accepted)");
}

TEST_P(HealthData, SeatOutsideTheEuIsDenied) {
  Request r = ResearchPartner();
  r.country = "CH";
  r.jurisdictions = {"CH"};
  const Decision d = Run(r);
  EXPECT_FALSE(d.permit);
  EXPECT_EQ(FindEntry(d, "permission[0].constraint[1]")->verdict, Verdict::kFailed);
  EXPECT_EQ(FindEntry(d, "permission[0].constraint[2]")->verdict, Verdict::kFailed);
  EXPECT_THAT(d.reason, HasSubstr("permission[0].constraint[1]: spatial isPartOf EU failed"));
}

TEST_P(HealthData, DistributionIsProhibited) {
  Request r = ResearchPartner();
  r.action = "distribute";
  const Decision d = Run(r);
  EXPECT_FALSE(d.permit);
  EXPECT_EQ(d.reason, "prohibition[0] prohibits distribute");
}

TEST_P(HealthData, AnotherDatasetIsNotCovered) {
  Request r = ResearchPartner();
  r.target = "urn:hanse:dataset:other";
  EXPECT_FALSE(Run(r).permit);
}

INSTANTIATE_TEST_SUITE_P(CompactAndExpanded, HealthData, ::testing::Bool());

// ---------------------------------------------------------------------------------------------
// docs/policies.md: every ```json block is a valid policy (it has "@type") or request, and the
// health-data file example is exactly the policy tested above.

std::vector<std::string> JsonBlocks(const std::string& markdown) {
  std::vector<std::string> blocks;
  std::string current;
  bool in = false;
  for (absl::string_view line : absl::StrSplit(markdown, '\n')) {
    if (!in && line == "```json") {
      in = true;
      current.clear();
    } else if (in && line == "```") {
      in = false;
      blocks.push_back(current);
    } else if (in) {
      absl::StrAppend(&current, line, "\n");
    }
  }
  return blocks;
}

TEST(Docs, ExamplesAreValid) {
  std::ifstream in(std::string(HANSE_SOURCE_DIR) + "/docs/policies.md");
  ASSERT_TRUE(in.good());
  const std::string md((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::vector<std::string> blocks = JsonBlocks(md);
  ASSERT_GE(blocks.size(), 3u);
  bool found_health = false;
  int requests = 0;
  for (const std::string& block : blocks) {
    const Json j = Json::parse(block, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << block;
    if (j.contains("@type")) {
      EXPECT_THAT(ValidatePolicyForPublishing(block), IsOk()) << block;
      found_health = found_health || j == Json::parse(kHealthPolicy);
    } else {
      EXPECT_THAT(ParseRequest(block), IsOk()) << block;
      ++requests;
    }
  }
  EXPECT_TRUE(found_health) << "docs/policies.md must show the health-data policy";
  EXPECT_GE(requests, 1);
}

TEST(Docs, HealthExampleRequestsGiveTheDocumentedDecisions) {
  std::ifstream in(std::string(HANSE_SOURCE_DIR) + "/docs/policies.md");
  const std::string md((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  HANSE_ASSERT_OK_AND_ASSIGN(Policy policy, ParsePolicy(kHealthPolicy));
  int checked = 0;
  for (const std::string& block : JsonBlocks(md)) {
    const Json j = Json::parse(block, nullptr, false);
    if (j.contains("@type")) continue;
    HANSE_ASSERT_OK_AND_ASSIGN(Request r, ParseRequest(block));
    const Decision d = Evaluate(policy, r);
    // The documented output follows the request in the docs as a ```text block starting with the
    // decision line.
    const size_t at = md.find(block);
    ASSERT_NE(at, std::string::npos);
    const size_t text = md.find("```text\n", at);
    ASSERT_NE(text, std::string::npos);
    const std::string expected_head =
        md.substr(text + 8, md.find('\n', md.find('\n', text + 8) + 1) - (text + 8));
    EXPECT_EQ(DecisionToText(d).substr(0, expected_head.size()), expected_head) << block;
    ++checked;
  }
  EXPECT_GE(checked, 2);
}

}  // namespace
}  // namespace hanse::policy
