#include "policy/request.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "policy/policy_test_util.h"
#include "tests/support/status_matchers.h"

namespace hanse::policy {
namespace {

using ::hanse::testing::StatusIs;
using ::testing::HasSubstr;
using namespace ::hanse::policy::testing;  // NOLINT

TEST(ParseRequest, AllFields) {
  HANSE_ASSERT_OK_AND_ASSIGN(Request r, ParseRequest(R"({
    "action": "read", "now": "2025-03-01T13:00:00+01:00", "consumer": "did:key:z6MkC",
    "country": "de", "jurisdictions": ["DE", "eu"],
    "certifications": [{"name": "health-data-hosting", "issuer": "did:key:z6MkI",
                        "validUntil": "2026-01-01"},
                       {"name": "iso27001", "issuer": "did:key:z6MkJ"}],
    "purpose": "dpv:ScientificResearch", "purposeClasses": ["dpv:ResearchAndDevelopment"],
    "useCount": 2, "agreementStart": "2025-02-01T00:00:00Z", "target": "urn:dataset:1"})"));
  EXPECT_EQ(r.action, "read");
  EXPECT_EQ(r.now, T("2025-03-01T12:00:00Z"));
  EXPECT_EQ(r.consumer, "did:key:z6MkC");
  EXPECT_EQ(r.country, "DE");
  EXPECT_EQ(r.jurisdictions, (std::vector<std::string>{"DE", "EU"}));
  ASSERT_EQ(r.certifications.size(), 2u);
  EXPECT_EQ(r.certifications[0].valid_until, T("2026-01-01T00:00:00Z"));
  EXPECT_EQ(r.certifications[1].valid_until, absl::InfiniteFuture());
  EXPECT_EQ(r.purpose, "https://w3id.org/dpv#ScientificResearch");
  EXPECT_EQ(r.purpose_classes,
            std::vector<std::string>{"https://w3id.org/dpv#ResearchAndDevelopment"});
  EXPECT_EQ(r.use_count, 2);
  EXPECT_EQ(r.agreement_start, T("2025-02-01T00:00:00Z"));
  EXPECT_EQ(r.target, "urn:dataset:1");
}

TEST(ParseRequest, NowFallsBackToTheDefault) {
  EXPECT_THAT(ParseRequest(R"({"action":"use"})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("request.now: missing")));
  HANSE_ASSERT_OK_AND_ASSIGN(Request r, ParseRequest("{}", T("2025-01-01T00:00:00Z")));
  EXPECT_EQ(r.now, T("2025-01-01T00:00:00Z"));
  EXPECT_EQ(r.action, "use");
  EXPECT_FALSE(r.agreement_start.has_value());
}

TEST(ParseRequest, Errors) {
  const std::pair<const char*, const char*> cases[] = {
      {"[]", "request: expected a JSON object"},
      {"{", "not valid JSON"},
      {R"({"now":"yesterday"})", "request.now: \"yesterday\" is not an RFC 3339 date-time"},
      {R"({"now":"2025-01-01","contry":"DE"})", "request.contry: unknown field"},
      {R"({"now":"2025-01-01","country":"Germany"})", "request.country: \"GERMANY\" is not"},
      {R"({"now":"2025-01-01","country":"EU"})", "request.country: \"EU\" is not"},
      {R"({"now":"2025-01-01","jurisdictions":"DE"})", "request.jurisdictions: expected an array"},
      {R"({"now":"2025-01-01","jurisdictions":["DE","x1"]})", "request.jurisdictions[1]"},
      {R"({"now":"2025-01-01","useCount":-1})",
       "request.useCount: expected a non-negative integer"},
      {R"({"now":"2025-01-01","useCount":1.5})", "request.useCount"},
      {R"({"now":"2025-01-01","certifications":[{"name":"x"}]})",
       "request.certifications[0]: missing issuer"},
      {R"({"now":"2025-01-01","certifications":[{"name":"x","issuer":"d","until":"2025"}]})",
       "request.certifications[0].until: unknown field"},
      {R"({"now":"2025-01-01","action":5})", "request.action: expected a string"},
  };
  for (const auto& [json, message] : cases) {
    EXPECT_THAT(ParseRequest(json),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(message)))
        << json;
  }
  EXPECT_THAT(ParseRequest(std::string(kMaxRequestBytes + 1, ' ')),
              StatusIs(absl::StatusCode::kResourceExhausted));
}

}  // namespace
}  // namespace hanse::policy
