#include "policy/evaluate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "policy/policy_test_util.h"
#include "tests/support/status_matchers.h"

namespace hanse::policy {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace ::hanse::policy::testing;  // NOLINT

// ---------------------------------------------------------------------------------------------
// Every operand with its operators, satisfied and failed.

struct OperandCase {
  const char* name;
  std::string constraint;
  std::function<void(Request&)> change;  // applied to BaseRequest()
  Verdict expected;
};

void NoChange(Request&) {}

class Operands : public ::testing::TestWithParam<OperandCase> {};

TEST_P(Operands, Verdict) {
  const OperandCase& c = GetParam();
  Request request = BaseRequest();
  c.change(request);
  const Decision d = Decide(PermissionWith(c.constraint), request);
  const TraceEntry* e = FindEntry(d, "permission[0].constraint[0]");
  ASSERT_NE(e, nullptr) << DecisionToText(d);
  EXPECT_EQ(e->verdict, c.expected) << DecisionToText(d);
  EXPECT_EQ(d.permit, c.expected == Verdict::kSatisfied) << DecisionToText(d);
  if (!d.permit) {
    EXPECT_THAT(d.reason, HasSubstr("permission[0].constraint[0]")) << d.reason;
  }
}

const auto kSat = Verdict::kSatisfied;
const auto kFail = Verdict::kFailed;
const auto kUnk = Verdict::kUnknown;

INSTANTIATE_TEST_SUITE_P(
    Evaluate, Operands,
    ::testing::Values(
        // dateTime: now is 2025-01-15T12:00:00Z.
        OperandCase{"dateTime_eq_sat", Atomic("dateTime", "eq", R"("2025-01-15T13:00:00+01:00")"),
                    NoChange, kSat},
        OperandCase{"dateTime_eq_fail", Atomic("dateTime", "eq", R"("2025-01-15T12:00:01Z")"),
                    NoChange, kFail},
        OperandCase{"dateTime_neq_sat", Atomic("dateTime", "neq", R"("2025-01-15T12:00:01Z")"),
                    NoChange, kSat},
        OperandCase{"dateTime_neq_fail", Atomic("dateTime", "neq", R"("2025-01-15T12:00:00Z")"),
                    NoChange, kFail},
        OperandCase{"dateTime_lt_sat", Atomic("dateTime", "lt", R"("2025-02-01")"), NoChange, kSat},
        OperandCase{"dateTime_lt_fail", Atomic("dateTime", "lt", R"("2025-01-01")"), NoChange,
                    kFail},
        OperandCase{"dateTime_lteq_sat", Atomic("dateTime", "lteq", R"("2025-01-15T12:00:00Z")"),
                    NoChange, kSat},
        OperandCase{"dateTime_lteq_fail", Atomic("dateTime", "lteq", R"("2025-01-15T11:59:59Z")"),
                    NoChange, kFail},
        OperandCase{"dateTime_gt_sat", Atomic("dateTime", "gt", R"("2025-01-01")"), NoChange, kSat},
        OperandCase{"dateTime_gt_fail", Atomic("dateTime", "gt", R"("2025-01-15T12:00:00Z")"),
                    NoChange, kFail},
        OperandCase{"dateTime_gteq_sat", Atomic("dateTime", "gteq", R"("2025-01-15T12:00:00Z")"),
                    NoChange, kSat},
        OperandCase{"dateTime_gteq_fail", Atomic("dateTime", "gteq", R"("2025-01-16")"), NoChange,
                    kFail},
        // elapsedTime: the agreement started 2025-01-01T00:00:00Z, 14.5 days ago.
        OperandCase{"elapsed_lteq_sat", Atomic("elapsedTime", "lteq", R"("P30D")"), NoChange, kSat},
        OperandCase{"elapsed_lteq_fail", Atomic("elapsedTime", "lteq", R"("P14D")"), NoChange,
                    kFail},
        OperandCase{"elapsed_lt_sat", Atomic("elapsedTime", "lt", R"("P14DT12H1S")"), NoChange,
                    kSat},
        OperandCase{"elapsed_lt_fail", Atomic("elapsedTime", "lt", R"("P14DT12H")"), NoChange,
                    kFail},
        OperandCase{"elapsed_gt_sat", Atomic("elapsedTime", "gt", R"("P1W")"), NoChange, kSat},
        OperandCase{"elapsed_gt_fail", Atomic("elapsedTime", "gt", R"("P1M")"), NoChange, kFail},
        OperandCase{"elapsed_gteq_sat", Atomic("elapsedTime", "gteq", R"("P14DT12H")"), NoChange,
                    kSat},
        OperandCase{"elapsed_gteq_fail", Atomic("elapsedTime", "gteq", R"("PT350H")"), NoChange,
                    kFail},
        OperandCase{"elapsed_eq_sat", Atomic("elapsedTime", "eq", R"("PT348H")"), NoChange, kSat},
        OperandCase{"elapsed_neq_sat", Atomic("elapsedTime", "neq", R"("PT347H")"), NoChange, kSat},
        OperandCase{"elapsed_no_start", Atomic("elapsedTime", "lteq", R"("P30D")"),
                    [](Request& r) { r.agreement_start.reset(); }, kUnk},
        // count: 2 uses so far, so this is use 3.
        OperandCase{"count_lteq_sat", Atomic("count", "lteq", "3"),
                    [](Request& r) { r.use_count = 2; }, kSat},
        OperandCase{"count_lteq_fail", Atomic("count", "lteq", "3"),
                    [](Request& r) { r.use_count = 3; }, kFail},
        OperandCase{"count_lt_sat", Atomic("count", "lt", "3"), [](Request& r) { r.use_count = 1; },
                    kSat},
        OperandCase{"count_lt_fail", Atomic("count", "lt", R"("3")"),
                    [](Request& r) { r.use_count = 2; }, kFail},
        OperandCase{"count_eq_sat", Atomic("count", "eq", "1"), NoChange, kSat},
        OperandCase{"count_neq_fail", Atomic("count", "neq", "1"), NoChange, kFail},
        OperandCase{"count_gt_sat", Atomic("count", "gt", "2"), [](Request& r) { r.use_count = 2; },
                    kSat},
        OperandCase{"count_gteq_fail", Atomic("count", "gteq", "5"),
                    [](Request& r) { r.use_count = 3; }, kFail},
        // purpose
        OperandCase{"purpose_eq_sat", Atomic("purpose", "eq", R"("hanse:MedicalResearch")"),
                    NoChange, kSat},
        OperandCase{
            "purpose_eq_full_iri",
            Atomic("purpose", "eq", R"({"@id":"https://w3id.org/hanse/v1#MedicalResearch"})"),
            NoChange, kSat},
        OperandCase{"purpose_eq_fail", Atomic("purpose", "eq", R"("dpv:Marketing")"), NoChange,
                    kFail},
        OperandCase{"purpose_neq_sat", Atomic("purpose", "neq", R"("dpv:Marketing")"), NoChange,
                    kSat},
        OperandCase{"purpose_neq_fail", Atomic("purpose", "neq", R"("hanse:MedicalResearch")"),
                    NoChange, kFail},
        OperandCase{"purpose_isAnyOf_sat",
                    Atomic("purpose", "isAnyOf", R"(["dpv:Marketing","hanse:MedicalResearch"])"),
                    NoChange, kSat},
        OperandCase{"purpose_isAnyOf_fail", Atomic("purpose", "isAnyOf", R"(["dpv:Marketing"])"),
                    NoChange, kFail},
        OperandCase{"purpose_isNoneOf_sat", Atomic("purpose", "isNoneOf", R"(["dpv:Marketing"])"),
                    NoChange, kSat},
        OperandCase{"purpose_isNoneOf_fail",
                    Atomic("purpose", "isNoneOf", R"(["hanse:MedicalResearch"])"), NoChange, kFail},
        OperandCase{
            "purpose_isA_sat", Atomic("purpose", "isA", R"("dpv:ScientificResearch")"),
            [](Request& r) { r.purpose_classes = {"https://w3id.org/dpv#ScientificResearch"}; },
            kSat},
        OperandCase{"purpose_isA_fail", Atomic("purpose", "isA", R"("dpv:ScientificResearch")"),
                    NoChange, kFail},
        OperandCase{
            "purpose_isPartOf_sat",
            Atomic("purpose", "isPartOf", R"(["dpv:ResearchAndDevelopment"])"),
            [](Request& r) { r.purpose_classes = {"https://w3id.org/dpv#ResearchAndDevelopment"}; },
            kSat},
        OperandCase{"purpose_isAllOf_fail",
                    Atomic("purpose", "isAllOf", R"(["hanse:MedicalResearch","dpv:Marketing"])"),
                    NoChange, kFail},
        OperandCase{"purpose_hasPart_sat",
                    Atomic("purpose", "hasPart", R"("hanse:MedicalResearch")"), NoChange, kSat},
        OperandCase{"purpose_missing", Atomic("purpose", "eq", R"("hanse:MedicalResearch")"),
                    [](Request& r) { r.purpose.clear(); }, kUnk},
        // recipient
        OperandCase{"recipient_eq_sat", Atomic("recipient", "eq", R"("did:key:z6MkConsumerA")"),
                    NoChange, kSat},
        OperandCase{"recipient_eq_id_sat",
                    Atomic("recipient", "eq", R"({"@id":"did:key:z6MkConsumerA"})"), NoChange,
                    kSat},
        OperandCase{"recipient_eq_fail", Atomic("recipient", "eq", R"("did:key:z6MkOther")"),
                    NoChange, kFail},
        OperandCase{"recipient_neq_sat", Atomic("recipient", "neq", R"("did:key:z6MkOther")"),
                    NoChange, kSat},
        OperandCase{
            "recipient_isAnyOf_sat",
            Atomic("recipient", "isAnyOf", R"(["did:key:z6MkOther","did:key:z6MkConsumerA"])"),
            NoChange, kSat},
        OperandCase{"recipient_isNoneOf_fail",
                    Atomic("recipient", "isNoneOf", R"(["did:key:z6MkConsumerA"])"), NoChange,
                    kFail},
        OperandCase{"recipient_missing", Atomic("recipient", "eq", R"("did:key:z6MkConsumerA")"),
                    [](Request& r) { r.consumer.clear(); }, kUnk},
        // spatial: the consumer's country of legal seat is DE.
        OperandCase{"spatial_eq_sat", Atomic("spatial", "eq", R"("de")"), NoChange, kSat},
        OperandCase{"spatial_eq_fail", Atomic("spatial", "eq", R"("FR")"), NoChange, kFail},
        OperandCase{"spatial_eq_group", Atomic("spatial", "eq", R"("EU")"), NoChange, kSat},
        OperandCase{"spatial_neq_sat", Atomic("spatial", "neq", R"("US")"), NoChange, kSat},
        OperandCase{"spatial_isAnyOf_sat", Atomic("spatial", "isAnyOf", R"(["FR","DE","NL"])"),
                    NoChange, kSat},
        OperandCase{"spatial_isAnyOf_fail", Atomic("spatial", "isAnyOf", R"(["FR","NL"])"),
                    NoChange, kFail},
        OperandCase{"spatial_isNoneOf_sat", Atomic("spatial", "isNoneOf", R"(["US","CN"])"),
                    NoChange, kSat},
        OperandCase{"spatial_isNoneOf_fail", Atomic("spatial", "isNoneOf", R"(["EU"])"), NoChange,
                    kFail},
        OperandCase{"spatial_isPartOf_eu", Atomic("spatial", "isPartOf", R"("EU")"), NoChange,
                    kSat},
        OperandCase{"spatial_isPartOf_eu_fail", Atomic("spatial", "isPartOf", R"("EU")"),
                    [](Request& r) { r.country = "CH"; }, kFail},
        OperandCase{"spatial_isPartOf_eea", Atomic("spatial", "isPartOf", R"("EEA")"),
                    [](Request& r) { r.country = "NO"; }, kSat},
        OperandCase{"spatial_isA_eu", Atomic("spatial", "isA", R"("EU")"), NoChange, kSat},
        OperandCase{"spatial_isAllOf_fail", Atomic("spatial", "isAllOf", R"(["DE","FR"])"),
                    NoChange, kFail},
        OperandCase{"spatial_hasPart_sat", Atomic("spatial", "hasPart", R"("DE")"), NoChange, kSat},
        OperandCase{"spatial_missing", Atomic("spatial", "eq", R"("DE")"),
                    [](Request& r) { r.country.clear(); }, kUnk},
        // hanse:jurisdiction: the consumer is subject to DE and EU law.
        OperandCase{"jurisdiction_eq_sat", Atomic("hanse:jurisdiction", "eq", R"("DE")"), NoChange,
                    kSat},
        OperandCase{"jurisdiction_eq_fail", Atomic("hanse:jurisdiction", "eq", R"("US")"), NoChange,
                    kFail},
        OperandCase{"jurisdiction_neq_fail", Atomic("hanse:jurisdiction", "neq", R"("DE")"),
                    NoChange, kFail},
        OperandCase{"jurisdiction_isPartOf_sat",
                    Atomic("hanse:jurisdiction", "isPartOf", R"("EU")"), NoChange, kSat},
        OperandCase{
            "jurisdiction_isPartOf_fail", Atomic("hanse:jurisdiction", "isPartOf", R"("EU")"),
            [](Request& r) {
              r.jurisdictions = {"DE", "US"};
            },
            kFail},
        OperandCase{"jurisdiction_isNoneOf_sat",
                    Atomic("jurisdiction", "isNoneOf", R"(["US","CN"])"), NoChange, kSat},
        OperandCase{
            "jurisdiction_isNoneOf_fail", Atomic("jurisdiction", "isNoneOf", R"(["US","CN"])"),
            [](Request& r) {
              r.jurisdictions = {"DE", "US"};
            },
            kFail},
        OperandCase{"jurisdiction_isAnyOf_sat",
                    Atomic("hanse:jurisdiction", "isAnyOf", R"(["FR","DE"])"), NoChange, kSat},
        OperandCase{"jurisdiction_isAnyOf_fail",
                    Atomic("hanse:jurisdiction", "isAnyOf", R"(["FR","IT"])"), NoChange, kFail},
        OperandCase{"jurisdiction_isAllOf_sat",
                    Atomic("hanse:jurisdiction", "isAllOf", R"(["DE","EU"])"), NoChange, kSat},
        OperandCase{"jurisdiction_isAllOf_fail",
                    Atomic("hanse:jurisdiction", "isAllOf", R"(["DE","FR"])"), NoChange, kFail},
        OperandCase{"jurisdiction_hasPart_sat", Atomic("hanse:jurisdiction", "hasPart", R"("EU")"),
                    NoChange, kSat},
        OperandCase{"jurisdiction_isA_fail", Atomic("hanse:jurisdiction", "isA", R"("EU")"),
                    [](Request& r) { r.jurisdictions = {"US"}; }, kFail},
        OperandCase{"jurisdiction_missing", Atomic("hanse:jurisdiction", "isPartOf", R"("EU")"),
                    [](Request& r) { r.jurisdictions.clear(); }, kUnk},
        // hanse:certification: health-data-hosting from kCertifier, valid until 2026.
        OperandCase{"cert_eq_sat", Atomic("hanse:certification", "eq", R"("health-data-hosting")"),
                    NoChange, kSat},
        OperandCase{"cert_eq_fail", Atomic("hanse:certification", "eq", R"("iso27001")"), NoChange,
                    kFail},
        OperandCase{
            "cert_issuer_sat",
            R"({"leftOperand":"hanse:certification","operator":"eq","rightOperand":"health-data-hosting",
                        "hanse:issuer":["did:key:z6MkOther","did:key:z6MkCertifier"]})",
            NoChange, kSat},
        OperandCase{
            "cert_issuer_fail",
            R"({"leftOperand":"hanse:certification","operator":"eq","rightOperand":"health-data-hosting",
                        "hanse:issuer":"did:key:z6MkOther"})",
            NoChange, kFail},
        OperandCase{"cert_expired", Atomic("hanse:certification", "eq", R"("health-data-hosting")"),
                    [](Request& r) { r.certifications[0].valid_until = r.now; }, kFail},
        OperandCase{"cert_none", Atomic("certification", "hasPart", R"("health-data-hosting")"),
                    [](Request& r) { r.certifications.clear(); }, kFail},
        OperandCase{"cert_neq_sat", Atomic("hanse:certification", "neq", R"("revoked-badge")"),
                    NoChange, kSat},
        OperandCase{
            "cert_isAllOf_sat",
            Atomic("hanse:certification", "isAllOf", R"(["health-data-hosting","iso27001"])"),
            [](Request& r) {
              r.certifications.push_back({"iso27001", "did:key:z6MkX", absl::InfiniteFuture()});
            },
            kSat},
        OperandCase{
            "cert_isAllOf_fail",
            Atomic("hanse:certification", "isAllOf", R"(["health-data-hosting","iso27001"])"),
            NoChange, kFail},
        OperandCase{
            "cert_isAnyOf_sat",
            Atomic("hanse:certification", "isAnyOf", R"(["iso27001","health-data-hosting"])"),
            NoChange, kSat},
        OperandCase{"cert_isNoneOf_fail",
                    Atomic("hanse:certification", "isNoneOf", R"(["health-data-hosting"])"),
                    NoChange, kFail},
        OperandCase{"cert_isPartOf_sat",
                    Atomic("hanse:certification", "isPartOf", R"(["health-data-hosting","x"])"),
                    NoChange, kSat},
        // Unknowns and misuse: unknown, so the permission does not permit.
        OperandCase{"unknown_operand", Atomic("temperature", "lt", "30"), NoChange, kUnk},
        OperandCase{"unknown_operator", Atomic("count", "between", "[1,3]"), NoChange, kUnk},
        OperandCase{"operator_not_for_operand", Atomic("purpose", "gt", R"("x")"), NoChange, kUnk},
        OperandCase{"malformed_value", Atomic("dateTime", "lt", R"("tomorrow")"), NoChange, kUnk}),
    [](const ::testing::TestParamInfo<OperandCase>& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------------
// Boundaries.

Verdict DateTimeVerdict(absl::string_view op, absl::string_view right, absl::string_view now) {
  Request r = BaseRequest();
  r.now = T(now);
  const Decision d =
      Decide(PermissionWith(Atomic("dateTime", op, absl::StrCat("\"", right, "\""))), r);
  const TraceEntry* e = FindEntry(d, "permission[0].constraint[0]");
  return e ? e->verdict : Verdict::kUnknown;
}

TEST(Boundaries, DateTimeComparesInstantsAcrossOffsets) {
  // 2025-01-01T00:00:00+01:00 is 2024-12-31T23:00:00Z: at 23:30Z the window has closed.
  EXPECT_EQ(DateTimeVerdict("lt", "2025-01-01T00:00:00+01:00", "2024-12-31T23:30:00Z"), kFail);
  EXPECT_EQ(DateTimeVerdict("lt", "2025-01-01T00:00:00+01:00", "2024-12-31T22:59:59Z"), kSat);
  // Exactly at the instant: lt/gt exclusive, lteq/gteq/eq inclusive, whatever the offsets.
  constexpr char kAt[] = "2024-12-31T23:00:00Z";
  EXPECT_EQ(DateTimeVerdict("lt", "2025-01-01T00:00:00+01:00", kAt), kFail);
  EXPECT_EQ(DateTimeVerdict("lteq", "2025-01-01T00:00:00+01:00", kAt), kSat);
  EXPECT_EQ(DateTimeVerdict("gt", "2025-01-01T00:00:00+01:00", kAt), kFail);
  EXPECT_EQ(DateTimeVerdict("gteq", "2025-01-01T00:00:00+01:00", kAt), kSat);
  EXPECT_EQ(DateTimeVerdict("eq", "2025-01-01T00:00:00+01:00", "2024-12-31T18:00:00-05:00"), kSat);
  // One nanosecond either side.
  EXPECT_EQ(DateTimeVerdict("lteq", "2024-12-31T23:00:00Z", "2024-12-31T23:00:00.000000001Z"),
            kFail);
  EXPECT_EQ(DateTimeVerdict("gteq", "2024-12-31T23:00:00Z", "2024-12-31T22:59:59.999999999Z"),
            kFail);
  // A negative offset: 2025-01-01T00:00:00-08:00 is 08:00Z.
  EXPECT_EQ(DateTimeVerdict("lt", "2025-01-01T00:00:00-08:00", "2025-01-01T07:59:59Z"), kSat);
  EXPECT_EQ(DateTimeVerdict("lt", "2025-01-01T00:00:00-08:00", "2025-01-01T08:00:00Z"), kFail);
}

TEST(Boundaries, DateOnlyIsStartOfDayUtc) {
  EXPECT_EQ(DateTimeVerdict("lt", "2025-01-01", "2024-12-31T23:59:59Z"), kSat);
  EXPECT_EQ(DateTimeVerdict("lt", "2025-01-01", "2025-01-01T00:00:00Z"), kFail);
  // lteq a date includes only its first instant, not the whole day.
  EXPECT_EQ(DateTimeVerdict("lteq", "2025-01-01", "2025-01-01T00:00:00Z"), kSat);
  EXPECT_EQ(DateTimeVerdict("lteq", "2025-01-01", "2025-01-01T00:00:01Z"), kFail);
  EXPECT_EQ(DateTimeVerdict("gteq", "2025-01-01", "2024-12-31T23:30:00-01:00"), kSat);  // 00:30Z
  // No offset: UTC.
  EXPECT_EQ(DateTimeVerdict("lt", "2025-01-01T12:00:00", "2025-01-01T12:00:00Z"), kFail);
}

TEST(Boundaries, ElapsedTimeAtTheExactEnd) {
  auto verdict = [](absl::string_view op, absl::Time now) {
    Request r = BaseRequest();
    r.agreement_start = T("2025-01-01T00:00:00+01:00");  // 2024-12-31T23:00:00Z
    r.now = now;
    const Decision d = Decide(PermissionWith(Atomic("elapsedTime", op, R"("P30D")")), r);
    return FindEntry(d, "permission[0].constraint[0]")->verdict;
  };
  const absl::Time end = T("2025-01-30T23:00:00Z");
  EXPECT_EQ(verdict("lteq", end), kSat);
  EXPECT_EQ(verdict("lt", end), kFail);
  EXPECT_EQ(verdict("lt", end - absl::Nanoseconds(1)), kSat);
  EXPECT_EQ(verdict("lteq", end + absl::Nanoseconds(1)), kFail);
  EXPECT_EQ(verdict("gteq", end), kSat);
  EXPECT_EQ(verdict("gt", end), kFail);
  EXPECT_EQ(verdict("eq", end), kSat);
}

TEST(Boundaries, CountIncludesThisUse) {
  // "At most 3 uses": count lteq 3, compared with uses so far + 1.
  const std::string policy = PermissionWith(Atomic("count", "lteq", "3"));
  for (int64_t so_far = 0; so_far <= 5; ++so_far) {
    Request r = BaseRequest();
    r.use_count = so_far;
    const Decision d = Decide(policy, r);
    EXPECT_EQ(d.permit, so_far < 3) << so_far;
    const TraceEntry* e = FindEntry(d, "permission[0].constraint[0]");
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->required, "3");
    EXPECT_EQ(e->actual, absl::StrCat(so_far + 1, " (", so_far, " used so far + this use)"));
  }
}

TEST(Boundaries, CertificationValidUntilIsExclusive) {
  const std::string policy =
      PermissionWith(Atomic("hanse:certification", "eq", R"("health-data-hosting")"));
  Request r = BaseRequest();
  r.certifications[0].valid_until = r.now + absl::Nanoseconds(1);
  EXPECT_TRUE(Decide(policy, r).permit);
  r.certifications[0].valid_until = r.now;
  const Decision d = Decide(policy, r);
  EXPECT_FALSE(d.permit);
  EXPECT_THAT(FindEntry(d, "permission[0].constraint[0]")->actual, HasSubstr("(expired)"));
}

// ---------------------------------------------------------------------------------------------
// Logical constraints.

const std::string kTrue1 = Atomic("spatial", "eq", R"("DE")");
const std::string kTrue2 = Atomic("count", "lteq", "3");
const std::string kFalse1 = Atomic("spatial", "eq", R"("FR")");
const std::string kFalse2 = Atomic("purpose", "eq", R"("dpv:Marketing")");
const std::string kUnknown = Atomic("temperature", "lt", "30");

std::string Logical(absl::string_view op, const std::vector<std::string>& items) {
  return absl::StrCat(R"({")", op, R"(":[)", absl::StrJoin(items, ","), "]}");
}

Verdict LogicalVerdict(absl::string_view op, const std::vector<std::string>& items) {
  const Decision d = Decide(PermissionWith(Logical(op, items)), BaseRequest());
  const TraceEntry* e = FindEntry(d, "permission[0].constraint[0]");
  EXPECT_NE(e, nullptr);
  EXPECT_EQ(d.permit, e && e->verdict == kSat);
  return e ? e->verdict : kUnk;
}

TEST(Logical, And) {
  EXPECT_EQ(LogicalVerdict("and", {kTrue1, kTrue2}), kSat);
  EXPECT_EQ(LogicalVerdict("and", {kTrue1, kFalse1}), kFail);
  EXPECT_EQ(LogicalVerdict("and", {kFalse1, kFalse2}), kFail);
  EXPECT_EQ(LogicalVerdict("and", {kTrue1, kUnknown}), kUnk);
  EXPECT_EQ(LogicalVerdict("and", {kFalse1, kUnknown}), kUnk);  // unknown dominates
}

TEST(Logical, Or) {
  EXPECT_EQ(LogicalVerdict("or", {kFalse1, kTrue2}), kSat);
  EXPECT_EQ(LogicalVerdict("or", {kTrue1, kTrue2}), kSat);
  EXPECT_EQ(LogicalVerdict("or", {kFalse1, kFalse2}), kFail);
  EXPECT_EQ(LogicalVerdict("or", {kTrue1, kUnknown}), kUnk);  // fail closed
}

TEST(Logical, XoneWithZeroOneTwoTrue) {
  EXPECT_EQ(LogicalVerdict("xone", {kFalse1, kFalse2, Atomic("spatial", "eq", R"("NL")")}), kFail);
  EXPECT_EQ(LogicalVerdict("xone", {kFalse1, kTrue1, kFalse2}), kSat);
  EXPECT_EQ(LogicalVerdict("xone", {kTrue1, kFalse1, kTrue2}), kFail);
  EXPECT_EQ(LogicalVerdict("xone", {kTrue1, kTrue2, kFalse1, kTrue1}), kFail);
  EXPECT_EQ(LogicalVerdict("xone", {kTrue1, kUnknown}), kUnk);

  const Decision d =
      Decide(PermissionWith(Logical("xone", {kTrue1, kFalse1, kTrue2})), BaseRequest());
  EXPECT_EQ(d.reason,
            "permission[0].constraint[0]: xone: 2 of 3 constraints hold "
            "(permission[0].constraint[0].xone[0], permission[0].constraint[0].xone[2]), "
            "exactly one must");
  const TraceEntry* e = FindEntry(d, "permission[0].constraint[0]");
  EXPECT_EQ(e->op, "xone");
  EXPECT_EQ(e->required, "exactly one of 3");
  EXPECT_EQ(e->actual, "2 satisfied, 1 failed");
}

TEST(Logical, AndSequenceStopsAtTheFirstFalse) {
  EXPECT_EQ(LogicalVerdict("andSequence", {kTrue1, kTrue2}), kSat);
  const Decision d = Decide(
      PermissionWith(Logical("andSequence", {kTrue1, kFalse1, kTrue2, kUnknown})), BaseRequest());
  EXPECT_FALSE(d.permit);
  EXPECT_EQ(FindEntry(d, "permission[0].constraint[0].andSequence[0]")->verdict, kSat);
  EXPECT_EQ(FindEntry(d, "permission[0].constraint[0].andSequence[1]")->verdict, kFail);
  EXPECT_EQ(FindEntry(d, "permission[0].constraint[0].andSequence[2]")->verdict,
            Verdict::kNotEvaluated);
  // The unknown operand after the first false is never looked at: the result is failed.
  EXPECT_EQ(FindEntry(d, "permission[0].constraint[0].andSequence[3]")->verdict,
            Verdict::kNotEvaluated);
  EXPECT_EQ(FindEntry(d, "permission[0].constraint[0]")->verdict, kFail);
  EXPECT_THAT(d.reason,
              HasSubstr("permission[0].constraint[0].andSequence[1]: spatial eq FR failed"));
}

TEST(Logical, Nested) {
  const std::string c =
      Logical("or", {Logical("and", {kTrue1, kFalse1}),
                     Logical("xone", {kFalse2, Logical("and", {kTrue1, kTrue2})})});
  EXPECT_EQ(LogicalVerdict("and", {c}), kSat);
  const Decision d = Decide(PermissionWith(c), BaseRequest());
  EXPECT_EQ(FindEntry(d, "permission[0].constraint[0].or[1].xone[1].and[0]")->verdict, kSat);
  EXPECT_EQ(FindEntry(d, "permission[0].constraint[0].or[0]")->verdict, kFail);
}

TEST(Logical, OrFailureNamesTheAlternatives) {
  const Decision d = Decide(PermissionWith(Logical("or", {kFalse1, kFalse2})), BaseRequest());
  EXPECT_THAT(d.reason,
              HasSubstr("permission[0].constraint[0]: or: none of the 2 constraints holds; "
                        "first: permission[0].constraint[0].or[0]: spatial eq FR failed"));
}

// ---------------------------------------------------------------------------------------------
// Compact and expanded IRIs: the same decision and reason.

struct Scenario {
  std::string policy;
  std::function<void(Request&)> change;
};

TEST(CompactAndExpanded, SameDecisions) {
  const std::vector<Scenario> scenarios = {
      {PermissionWith(kTrue1), NoChange},
      {PermissionWith(kFalse1), NoChange},
      {PermissionWith(Logical("xone", {kTrue1, kFalse1, kTrue2})), NoChange},
      {PermissionWith(Logical("andSequence", {kTrue1, kFalse1, kTrue2})), NoChange},
      {PermissionWith(Atomic("hanse:jurisdiction", "isPartOf", R"("EU")")),
       [](Request& r) {
         r.jurisdictions = {"DE", "US"};
       }},
      {PermissionWith(R"({"leftOperand":"hanse:certification","operator":"eq",
                          "rightOperand":"health-data-hosting","hanse:issuer":"did:key:z6MkCertifier"})"),
       NoChange},
      {PermissionWith(Atomic("dateTime", "lt", R"("2025-01-15T13:00:00+01:00")")), NoChange},
      {PermissionWith(Atomic("elapsedTime", "lteq", R"("P14D")")), NoChange},
      {PermissionWith(kTrue2, "read"), [](Request& r) { r.action = "transfer"; }},
      {PermissionWith(kTrue2, "use"),
       [](Request& r) { r.action = "http://www.w3.org/ns/odrl/2/read"; }},
      {PermissionWith(kTrue2, "use"), [](Request& r) { r.action = "odrl:distribute"; }},
      {R"({"@type":"Set","permission":[{"action":"use"}],"prohibition":[{"action":"distribute",
          "constraint":[{"leftOperand":"spatial","operator":"isNoneOf","rightOperand":["DE"]}]}]})",
       [](Request& r) { r.action = "distribute"; }},
      {R"({"@type":"Set","permission":[{"action":"use"}],"prohibition":[{"action":"use",
          "constraint":[{"leftOperand":"purpose","operator":"eq","rightOperand":"hanse:MedicalResearch"}]}]})",
       NoChange},
      {R"({"@type":"Agreement","assignee":"did:key:z6MkOther","permission":[{"action":"use"}]})",
       NoChange},
      {PermissionWith(kUnknown), NoChange},
      {R"({"@type":"Set","permission":[{"action":"use","duty":[{"action":"delete","constraint":[
          {"leftOperand":"elapsedTime","operator":"eq","rightOperand":"P30D"}]}]}]})",
       NoChange},
  };
  int permits = 0;
  for (const Scenario& s : scenarios) {
    Request r = BaseRequest();
    s.change(r);
    const Decision compact = Decide(s.policy, r);
    permits += compact.permit;
    const Json j = Json::parse(s.policy);
    for (const Json& variant : {ExpandTerms(j, kOdrlNs, true), ExpandTerms(j, kOdrlNs, false),
                                ExpandTerms(j, "odrl:", false), ExpandTerms(j, "odrl:", true)}) {
      const Decision other = Decide(variant.dump(), r);
      EXPECT_EQ(other.permit, compact.permit) << variant.dump();
      EXPECT_EQ(other.reason, compact.reason) << variant.dump();
      EXPECT_EQ(other.trace.size(), compact.trace.size()) << variant.dump();
      EXPECT_EQ(other.duties.size(), compact.duties.size()) << variant.dump();
    }
  }
  EXPECT_GT(permits, 3);  // the table covers both outcomes
  EXPECT_LT(permits, static_cast<int>(scenarios.size()) - 3);
}

// ---------------------------------------------------------------------------------------------
// Fail closed.

TEST(FailClosed, UnknownOperandDeniesWithReason) {
  const Decision d =
      Decide(PermissionWith(kTrue1 + "," + Atomic("temperature", "lt", "30")), BaseRequest());
  EXPECT_FALSE(d.permit);
  EXPECT_EQ(d.reason,
            "permission[0].constraint[1].leftOperand: unknown left operand \"temperature\"");
  EXPECT_EQ(FindEntry(d, "permission[0].constraint[1]")->verdict, kUnk);
}

TEST(FailClosed, UnknownOperatorDeniesWithReason) {
  const Decision d =
      Decide(PermissionWith(kTrue2 + "," +
                            Atomic("dateTime", "between", R"(["2025-01-01","2025-02-01"])")),
             BaseRequest());
  EXPECT_FALSE(d.permit);
  EXPECT_EQ(d.reason, "permission[0].constraint[1].operator: unknown operator \"between\"");
}

TEST(FailClosed, UnknownActionDenies) {
  Decision d = Decide(R"({"@type":"Set","permission":[{"action":"frobnicate"}]})", BaseRequest());
  EXPECT_FALSE(d.permit);
  EXPECT_EQ(d.reason, "permission[0].action: unknown action \"frobnicate\"");
  // A prohibition of an action the evaluator does not know applies to everything.
  d = Decide(
      R"({"@type":"Set","permission":[{"action":"use"}],"prohibition":[{"action":"frobnicate"}]})",
      BaseRequest());
  EXPECT_FALSE(d.permit);
  EXPECT_EQ(d.reason,
            "prohibition[0] is treated as applying (fail closed): prohibition[0].action: unknown "
            "action \"frobnicate\"");
}

TEST(FailClosed, UnknownRequestAction) {
  Request r = BaseRequest();
  r.action = "print";
  EXPECT_TRUE(Decide(R"({"@type":"Set","permission":[{"action":"use"}]})", r).permit)
      << "print is included in use";
  r.action = "frobnicate";
  const Decision d = Decide(R"({"@type":"Set","permission":[{"action":"use"}]})", r);
  EXPECT_FALSE(d.permit);
  EXPECT_EQ(d.reason, "request action \"frobnicate\" is not an ODRL 2.2 action");
  // The rule's action check is unknown, not failed: nobody can tell.
  bool saw = false;
  for (const TraceEntry& e : d.trace) {
    if (e.path == "permission[0]" && e.left_operand == "action") {
      EXPECT_EQ(e.verdict, Verdict::kUnknown);
      saw = true;
    }
  }
  EXPECT_TRUE(saw);
}

TEST(FailClosed, ProhibitionWithUnknownConstraintApplies) {
  const Decision d = Decide(
      absl::StrCat(
          R"({"@type":"Set","permission":[{"action":"use"}],"prohibition":[{"action":"use",)",
          R"("constraint":[)", kFalse1, ",", kUnknown, "]}]}"),
      BaseRequest());
  EXPECT_FALSE(d.permit);
  EXPECT_THAT(d.reason,
              HasSubstr("prohibition[0] is treated as applying (fail closed): "
                        "prohibition[0].constraint[1].leftOperand: unknown left operand"));
}

TEST(FailClosed, ProhibitionWithMissingFactApplies) {
  Request r = BaseRequest();
  r.country.clear();
  const Decision d = Decide(
      R"({"@type":"Set","permission":[{"action":"use"}],"prohibition":[{"action":"use",
          "constraint":[{"leftOperand":"spatial","operator":"eq","rightOperand":"US"}]}]})",
      r);
  EXPECT_FALSE(d.permit);
  EXPECT_THAT(d.reason, HasSubstr("the request has no consumer country"));
}

TEST(FailClosed, UnknownDutyOrObligationDenies) {
  Decision d =
      Decide(R"({"@type":"Set","permission":[{"action":"use","duty":[{"action":"x:pay"}]}]})",
             BaseRequest());
  EXPECT_FALSE(d.permit);
  EXPECT_THAT(d.reason, HasSubstr("permission[0].duty[0].action: unknown action \"x:pay\""));
  d = Decide(R"({"@type":"Set","permission":[{"action":"use","duty":[{"action":"delete",
      "constraint":[{"leftOperand":"elapsedTime","operator":"within","rightOperand":"P30D"}]}]}]})",
             BaseRequest());
  EXPECT_FALSE(d.permit);
  EXPECT_THAT(d.reason,
              HasSubstr("permission[0].duty[0].constraint[0].operator: unknown operator"));
  d = Decide(R"({"@type":"Set","permission":[{"action":"use"}],"obligation":[{"action":"dance"}]})",
             BaseRequest());
  EXPECT_FALSE(d.permit);
  EXPECT_THAT(d.reason, HasSubstr("obligation[0].action: unknown action \"dance\""));
}

TEST(FailClosed, UnknownPolicyTypeOrMisspeltProperty) {
  Decision d = Decide(R"({"@type":"Ticket","permission":[{"action":"use"}]})", BaseRequest());
  EXPECT_FALSE(d.permit);
  EXPECT_EQ(d.reason, "policy.@type: unknown policy type \"Ticket\" (Set, Offer or Agreement)");
  d = Decide(R"({"@type":"Set","permission":[{"action":"use","constraints":[]}]})", BaseRequest());
  EXPECT_FALSE(d.permit);
  EXPECT_EQ(d.reason, "permission[0].constraints: unknown property \"constraints\"");
}

TEST(FailClosed, AnotherPermissionMayStillPermit) {
  // Permissions are alternatives: one that is not understood never permits, but does not stop
  // another that is (documented).
  const Decision d =
      Decide(absl::StrCat(R"({"@type":"Set","permission":[{"action":"use","constraint":[)",
                          kUnknown, R"(]},{"action":"use","constraint":[)", kTrue1, "]}]}"),
             BaseRequest());
  EXPECT_TRUE(d.permit);
  EXPECT_EQ(d.permitted_by, "permission[1]");
  EXPECT_EQ(FindEntry(d, "permission[0].constraint[0]")->verdict, kUnk);
}

// ---------------------------------------------------------------------------------------------
// Rules and actions.

TEST(Rules, ProhibitionBeatsPermission) {
  const std::string policy = R"({"@type":"Set",
      "permission":[{"action":"use","constraint":[{"leftOperand":"spatial","operator":"eq","rightOperand":"DE"}]}],
      "prohibition":[{"action":"use","constraint":[{"leftOperand":"purpose","operator":"eq","rightOperand":"dpv:Marketing"}]}]})";
  Request r = BaseRequest();
  EXPECT_TRUE(Decide(policy, r).permit);
  r.purpose = "https://w3id.org/dpv#Marketing";
  const Decision d = Decide(policy, r);
  EXPECT_FALSE(d.permit);
  EXPECT_EQ(d.reason, "prohibition[0] prohibits use and its constraints hold");
  // The permission itself was satisfied; the trace shows both.
  EXPECT_EQ(d.trace[0].path, "prohibition[0]");
  EXPECT_EQ(d.trace[0].verdict, kSat);
  EXPECT_EQ(d.trace[0].note, "applies: prohibits use");
}

TEST(Rules, ActionHierarchy) {
  // ODRL 2.2 includedIn: use includes read, print, distribute...; transfer (of ownership)
  // includes sell and give; display is in play, which is in use.
  EXPECT_TRUE(ActionCovers("use", "use"));
  EXPECT_TRUE(ActionCovers("use", "read"));
  EXPECT_TRUE(ActionCovers("use", "distribute"));
  EXPECT_TRUE(ActionCovers("use", "display"));
  EXPECT_TRUE(ActionCovers("play", "display"));
  EXPECT_FALSE(ActionCovers("display", "play"));
  EXPECT_FALSE(ActionCovers("use", "transfer"));
  EXPECT_TRUE(ActionCovers("transfer", "sell"));
  EXPECT_FALSE(ActionCovers("read", "use"));
  EXPECT_TRUE(ActionCovers("modify", "write")) << "write is a deprecated exact match of modify";
  EXPECT_TRUE(ActionCovers("odrl:use", "http://www.w3.org/ns/odrl/2/print"));
  EXPECT_FALSE(ActionCovers("use", "frobnicate"));
  EXPECT_FALSE(ActionCovers("lease", "lease")) << "deprecated without replacement";

  Request r = BaseRequest();
  r.action = "transfer";
  Decision d = Decide(R"({"@type":"Set","permission":[{"action":"use"}]})", r);
  EXPECT_FALSE(d.permit);
  EXPECT_EQ(d.reason, "permission[0]: action use does not permit transfer");
  r.action = "read";
  EXPECT_TRUE(Decide(R"({"@type":"Set","permission":[{"action":"use"}]})", r).permit);
  EXPECT_FALSE(Decide(R"({"@type":"Set","permission":[{"action":"use"}],
                          "prohibition":[{"action":"use"}]})",
                      r)
                   .permit);
  // A prohibition of a narrower action does not forbid the broader request.
  EXPECT_TRUE(Decide(R"({"@type":"Set","permission":[{"action":"use"}],
                         "prohibition":[{"action":"read"}]})",
                     BaseRequest())
                  .permit);
  EXPECT_TRUE(Decide(R"({"@type":"Set","permission":[{"action":"use"}],
                         "prohibition":[{"action":"distribute"}]})",
                     BaseRequest())
                  .permit);
}

TEST(Rules, NoPermissionMeansDeny) {
  const Decision d =
      Decide(R"({"@type":"Set","prohibition":[{"action":"distribute"}]})", BaseRequest());
  EXPECT_FALSE(d.permit);
  EXPECT_EQ(d.reason, "the policy has no permission");
}

TEST(Rules, SeveralFailingPermissionsAreAllNamed) {
  const Decision d =
      Decide(absl::StrCat(R"({"@type":"Set","permission":[{"action":"use","constraint":[)", kFalse1,
                          R"(]},{"action":"use","constraint":[)", kFalse2, "]}]}"),
             BaseRequest());
  EXPECT_FALSE(d.permit);
  EXPECT_THAT(d.reason,
              HasSubstr("no permission applies: permission[0].constraint[0]: spatial eq FR "
                        "failed (actual: DE): DE does not match FR; "
                        "permission[1].constraint[0]: purpose eq"));
}

TEST(Rules, AgreementForAnotherConsumerIsDenied) {
  const std::string policy =
      R"({"@type":"Agreement","assigner":"did:key:z6MkProvider","assignee":"did:key:z6MkConsumerA",
          "target":"urn:dataset:1","permission":[{"action":"use"}]})";
  Request r = BaseRequest();
  EXPECT_TRUE(Decide(policy, r).permit);
  r.consumer = "did:key:z6MkConsumerB";
  Decision d = Decide(policy, r);
  EXPECT_FALSE(d.permit);
  EXPECT_EQ(d.reason,
            "permission[0]: assigned to did:key:z6MkConsumerA, not to did:key:z6MkConsumerB");
  r.consumer.clear();
  EXPECT_FALSE(Decide(policy, r).permit);
  r = BaseRequest();
  r.target = "urn:dataset:2";
  d = Decide(policy, r);
  EXPECT_FALSE(d.permit);
  EXPECT_THAT(d.reason, HasSubstr("target urn:dataset:1 is not the requested urn:dataset:2"));
  r.target = "urn:dataset:1";
  EXPECT_TRUE(Decide(policy, r).permit);
}

// ---------------------------------------------------------------------------------------------
// Duties.

TEST(Duties, ReturnedWithThePermittingRule) {
  const std::string policy = R"({"@type":"Agreement",
    "permission":[
      {"action":"use","constraint":[{"leftOperand":"spatial","operator":"eq","rightOperand":"FR"}],
       "duty":[{"action":"anonymize"}]},
      {"action":"use","duty":[
        {"action":"delete","constraint":[{"leftOperand":"elapsedTime","operator":"eq","rightOperand":"P30D"}]},
        {"action":"inform","constraint":[{"leftOperand":"dateTime","operator":"lteq","rightOperand":"2025-06-30T12:00:00+02:00"}]}]}],
    "obligation":[{"action":"attribute"}]})";
  const Decision d = Decide(policy, BaseRequest());
  ASSERT_TRUE(d.permit) << DecisionToText(d);
  EXPECT_EQ(d.permitted_by, "permission[1]");
  ASSERT_EQ(d.duties.size(), 3u);
  EXPECT_EQ(d.duties[0].rule, "permission[1].duty[0]");
  EXPECT_EQ(d.duties[0].action, "delete");
  ASSERT_EQ(d.duties[0].constraints.size(), 1u);
  EXPECT_EQ(d.duties[0].constraints[0].left_operand, "elapsedTime");
  EXPECT_EQ(d.duties[0].constraints[0].op, "eq");
  EXPECT_EQ(d.duties[0].constraints[0].right, "P30D");
  EXPECT_EQ(d.duties[0].due, T("2025-01-31T00:00:00Z"));  // agreement start + 30 days
  EXPECT_EQ(d.duties[0].summary, "delete when elapsedTime eq P30D (due 2025-01-31T00:00:00Z)");
  EXPECT_EQ(d.duties[1].action, "inform");
  EXPECT_EQ(d.duties[1].due, T("2025-06-30T10:00:00Z"));
  EXPECT_EQ(d.duties[2].rule, "obligation[0]");
  EXPECT_EQ(d.duties[2].action, "attribute");
  EXPECT_FALSE(d.duties[2].due.has_value());
}

TEST(Duties, NoneWhenDenied) {
  const Decision d = Decide(R"({"@type":"Set","permission":[{"action":"use","constraint":[
      {"leftOperand":"spatial","operator":"eq","rightOperand":"FR"}],"duty":[{"action":"delete"}]}]})",
                            BaseRequest());
  EXPECT_FALSE(d.permit);
  EXPECT_TRUE(d.duties.empty());
}

// ---------------------------------------------------------------------------------------------
// Trace and rendering.

TEST(Trace, Content) {
  Request r = BaseRequest();
  r.jurisdictions = {"DE", "US"};
  const Decision d =
      Decide(PermissionWith(kTrue1 + "," + Atomic("hanse:jurisdiction", "isPartOf", R"("EU")")), r);
  ASSERT_FALSE(d.permit);
  ASSERT_GE(d.trace.size(), 4u);
  EXPECT_EQ(d.trace[0].rule, "permission[0]");
  EXPECT_EQ(d.trace[0].path, "permission[0]");
  EXPECT_EQ(d.trace[0].verdict, kFail);
  EXPECT_EQ(d.trace[1].left_operand, "action");
  EXPECT_EQ(d.trace[1].op, "includes");
  EXPECT_EQ(d.trace[1].required, "use");
  EXPECT_EQ(d.trace[1].actual, "use");
  EXPECT_EQ(d.trace[1].verdict, kSat);
  const TraceEntry& spatial = d.trace[2];
  EXPECT_EQ(spatial.path, "permission[0].constraint[0]");
  EXPECT_EQ(spatial.left_operand, "spatial");
  EXPECT_EQ(spatial.op, "eq");
  EXPECT_EQ(spatial.required, "DE");
  EXPECT_EQ(spatial.actual, "DE");
  EXPECT_EQ(spatial.verdict, kSat);
  const TraceEntry& j = d.trace[3];
  EXPECT_EQ(j.rule, "permission[0]");
  EXPECT_EQ(j.path, "permission[0].constraint[1]");
  EXPECT_EQ(j.left_operand, "hanse:jurisdiction");
  EXPECT_EQ(j.op, "isPartOf");
  EXPECT_EQ(j.required, "EU");
  EXPECT_EQ(j.actual, "[DE, US]");
  EXPECT_EQ(j.verdict, kFail);
  EXPECT_EQ(j.note, "US not in EU");
  EXPECT_EQ(
      d.reason,
      "permission[0].constraint[1]: hanse:jurisdiction isPartOf EU failed (actual: [DE, US]): "
      "US not in EU");
}

TEST(Trace, TextAndJson) {
  Request r = BaseRequest();
  r.use_count = 3;
  const Decision d = Decide(PermissionWith(Atomic("count", "lteq", "3")), r);
  const std::string text = DecisionToText(d);
  EXPECT_THAT(text, HasSubstr("decision: deny\n"));
  EXPECT_THAT(text, HasSubstr("reason: permission[0].constraint[0]: count lteq 3 failed"));
  EXPECT_THAT(text,
              HasSubstr("[failed] permission[0].constraint[0]  count lteq 3  actual: 4 (3 used "
                        "so far + this use)"));
  const Json j = Json::parse(DecisionToJson(d));
  EXPECT_EQ(j["decision"], "deny");
  EXPECT_EQ(j["permit"], false);
  EXPECT_EQ(j["reason"], d.reason);
  ASSERT_EQ(j["trace"].size(), d.trace.size());
  EXPECT_EQ(j["trace"][2]["path"], "permission[0].constraint[0]");
  EXPECT_EQ(j["trace"][2]["leftOperand"], "count");
  EXPECT_EQ(j["trace"][2]["operator"], "lteq");
  EXPECT_EQ(j["trace"][2]["required"], "3");
  EXPECT_EQ(j["trace"][2]["verdict"], "failed");

  const std::string pretty = CheckCommandOutput(d, /*json=*/true);
  EXPECT_EQ(Json::parse(pretty), j);
  EXPECT_EQ(pretty.back(), '\n');
  EXPECT_EQ(CheckCommandOutput(d, /*json=*/false), text);
}

TEST(Trace, ReasonIsOneLineWhateverTheInput) {
  const Decision d = Decide(PermissionWith(Atomic("spatial", "eq", R"("F\nR")")), BaseRequest());
  EXPECT_FALSE(d.permit);
  EXPECT_EQ(d.reason.find('\n'), std::string::npos) << d.reason;
  for (absl::string_view line : absl::StrSplit(DecisionToText(d), '\n')) {
    EXPECT_FALSE(absl::StrContains(line, "\r"));
  }
}

}  // namespace
}  // namespace hanse::policy

namespace hanse::policy {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace ::hanse::policy::testing;  // NOLINT

// ---------------------------------------------------------------------------------------------
// ODRL 2.2: collections, compact rules, refinements, isA, duties as preconditions.

TEST(Odrl22, ProhibitionOnAPartyCollectionAppliesToItsMembers) {
  const std::string policy = R"({"@type":"Set","permission":[{"action":"use"}],
      "prohibition":[{"action":"use","assignee":{"@type":"PartyCollection",
                                                 "source":"urn:x:insurers"}}]})";
  Request r = BaseRequest();
  EXPECT_FALSE(Decide(policy, r).permit) << "membership unknown: the prohibition applies";
  r.party_collections = std::vector<std::string>{"urn:x:insurers"};
  Decision d = Decide(policy, r);
  EXPECT_FALSE(d.permit);
  EXPECT_EQ(d.reason, "prohibition[0] prohibits use");
  EXPECT_THAT(d.active_rules, ElementsAre("prohibition[0]", "permission[0]"));
  r.party_collections = std::vector<std::string>{"urn:x:hospitals"};
  d = Decide(policy, r);
  EXPECT_TRUE(d.permit) << DecisionToText(d);
  EXPECT_THAT(d.active_rules, ElementsAre("permission[0]"));
}

TEST(Odrl22, PermissionForACollectionWithARefinement) {
  const std::string policy = R"({"@type":"Set","permission":[{"action":"use",
      "assignee":{"@type":"PartyCollection","source":"urn:x:hospitals",
        "refinement":[{"leftOperand":"spatial","operator":"eq","rightOperand":"FR"}]}}]})";
  Request r = BaseRequest();
  r.party_collections = std::vector<std::string>{"urn:x:hospitals"};
  Decision d = Decide(policy, r);
  EXPECT_FALSE(d.permit) << "a German member, the refinement asks for France";
  EXPECT_THAT(d.reason, HasSubstr("permission[0].assignee.refinement[0]"));
  r.country = "FR";
  EXPECT_TRUE(Decide(policy, r).permit);
  r.party_collections = std::vector<std::string>{};
  EXPECT_FALSE(Decide(policy, r).permit);
}

TEST(Odrl22, AssetCollectionsAndTheirRefinements) {
  const std::string policy = R"({"@type":"Set","permission":[{"action":"use"}],
      "prohibition":[{"action":"use","target":{"@type":"AssetCollection","@id":"urn:x:genomes"}}]})";
  Request r = BaseRequest();
  r.target = "urn:d:1";
  EXPECT_FALSE(Decide(policy, r).permit);
  r.asset_collections = std::vector<std::string>{"urn:x:genomes"};
  EXPECT_FALSE(Decide(policy, r).permit);
  r.asset_collections = std::vector<std::string>{"urn:x:vitals"};
  EXPECT_TRUE(Decide(policy, r).permit);
  // An asset refinement has no Hanse operand to evaluate (spatial is the consumer's seat, not the
  // asset's): the permission is unusable.
  const Decision d = Decide(R"({"@type":"Set","permission":[{"action":"use",
      "target":{"@type":"AssetCollection","source":"urn:x:vitals",
        "refinement":[{"leftOperand":"spatial","operator":"eq","rightOperand":"DE"}]}}]})",
                            r);
  EXPECT_FALSE(d.permit);
  EXPECT_THAT(d.reason, HasSubstr("refinement of an asset"));
}

TEST(Odrl22, CompactRulesAreExpanded) {
  const std::string policy =
      R"({"@type":"Set","permission":[{"action":["modify","read"],"assignee":["did:a","did:b"]}]})";
  Request r = BaseRequest();
  for (const char* who : {"did:a", "did:b"}) {
    for (const char* action : {"modify", "read", "write"}) {
      r.consumer = who;
      r.action = action;
      EXPECT_TRUE(Decide(policy, r).permit) << who << " " << action;
    }
  }
  r.action = "print";
  EXPECT_FALSE(Decide(policy, r).permit);
  r.action = "read";
  r.consumer = "did:c";
  EXPECT_FALSE(Decide(policy, r).permit);
  HANSE_ASSERT_OK_AND_ASSIGN(Policy parsed, ParsePolicy(policy));
  ASSERT_EQ(parsed.permissions.size(), 4u);
  EXPECT_EQ(parsed.permissions[3].expansion, "action read, assignee did:b");
}

TEST(Odrl22, IsAIsInstanceOfNotIdentity) {
  const std::string policy =
      PermissionWith(Atomic("purpose", "isA", R"({"@id":"dpv:ScientificResearch"})"));
  Request r = BaseRequest();
  r.purpose = "https://w3id.org/dpv#ScientificResearch";
  EXPECT_FALSE(Decide(policy, r).permit) << "a purpose is not an instance of itself";
  r.purpose = "https://w3id.org/hanse/v1#MedicalResearch";
  r.purpose_classes = {"https://w3id.org/dpv#ScientificResearch"};
  EXPECT_TRUE(Decide(policy, r).permit);
  EXPECT_TRUE(Decide(PermissionWith(Atomic("spatial", "isA", R"("EU")")), r).permit);
  EXPECT_FALSE(Decide(PermissionWith(Atomic("spatial", "isA", R"("DE")")), r).permit);
}

TEST(Odrl22, ActionObjectsUidAndReferences) {
  Request r = BaseRequest();
  r.action = "print";
  // rdf:value names the action even beside the action object's own @id.
  const std::string refined = R"({"@type":"Set","permission":[{"action":{"@id":"urn:act:1",
      "rdf:value":{"@id":"odrl:print"},
      "refinement":[{"leftOperand":"spatial","operator":"eq","rightOperand":"DE"}]}}]})";
  EXPECT_TRUE(Decide(refined, r).permit) << DecisionToText(Decide(refined, r));
  r.country = "FR";
  EXPECT_FALSE(Decide(refined, r).permit);
  // uid is ODRL's alias of @id, also inside a party.
  r = BaseRequest();
  EXPECT_TRUE(
      Decide(absl::StrCat(R"({"@type":"Set","permission":[{"action":"use","assignee":{"uid":")",
                          kConsumer, R"("}}]})"),
             r)
          .permit);
  // A right operand only referenced cannot be resolved: unusable, not a parse error.
  const std::string referenced = R"({"@type":"Set","permission":[{"action":"use","constraint":[
      {"leftOperand":"spatial","operator":"eq","rightOperandReference":"http://x/y"}]}]})";
  ASSERT_TRUE(ParsePolicy(referenced).ok());
  const Decision d = Decide(referenced, r);
  EXPECT_FALSE(d.permit);
  EXPECT_THAT(d.reason, HasSubstr("rightOperandReference"));
}

TEST(Odrl22, UnknownPropertiesInActionAndPartyObjectsMakeTheRuleUnusable) {
  Request r = BaseRequest();
  for (const std::string& rule :
       std::vector<std::string>{R"({"action":{"rdf:value":{"@id":"odrl:use"},"frobnicate":1}})",
                                absl::StrCat(R"({"action":"use","assignee":{"@id":")", kConsumer,
                                             R"(","frobnicate":1}})"),
                                std::string(R"({"action":"use","hanse:frobnicate":1})")}) {
    const Decision permit = Decide(absl::StrCat(R"({"@type":"Set","permission":[)", rule, "]}"), r);
    EXPECT_FALSE(permit.permit) << rule;
    const Decision prohibit =
        Decide(absl::StrCat(R"({"@type":"Set","permission":[{"action":"use"}],"prohibition":[)",
                            rule, "]}"),
               r);
    EXPECT_FALSE(prohibit.permit) << rule << ": an unusable prohibition still applies";
  }
}

TEST(Odrl22, DutiesAreAcceptedOrPreconditions) {
  const std::string policy = R"({"@type":"Set","permission":[{"action":"use",
      "duty":[{"action":"compensate","uid":"urn:duty:pay"},{"action":"delete"}]}]})";
  Request r = BaseRequest();
  Decision d = Decide(policy, r);
  EXPECT_FALSE(d.permit);
  EXPECT_THAT(d.reason, HasSubstr("permission[0].duty[0]: the duty to compensate is a "
                                  "precondition of permission[0] and is not fulfilled"));
  for (const char* done : {"permission[0].duty[0]", "urn:duty:pay", "compensate", "pay"}) {
    r.fulfilled_duties = {done};
    d = Decide(policy, r);
    EXPECT_TRUE(d.permit) << done;
    ASSERT_EQ(d.duties.size(), 1u) << "only the after-use duty is taken on";
    EXPECT_EQ(d.duties[0].action, "delete");
  }
}

}  // namespace
}  // namespace hanse::policy

namespace hanse::policy {
namespace {

using namespace ::hanse::policy::testing;  // NOLINT

// Office hours in one `and` of three constraints, read on Berlin's wall clock (DST included).
TEST(OfficeHours, TimeOfDayAndDayOfWeekInAZone) {
  const std::string policy = R"({"@type":"Set","permission":[{"action":"use","constraint":[{"and":[
      {"leftOperand":"hanse:dayOfWeek","operator":"isAnyOf",
       "rightOperand":["Mon","Tue","Wed","Thu","Fri"],"hanse:timeZone":"Europe/Berlin"},
      {"leftOperand":"hanse:timeOfDay","operator":"gteq","rightOperand":"08:00",
       "hanse:timeZone":"Europe/Berlin"},
      {"leftOperand":"hanse:timeOfDay","operator":"lt","rightOperand":"18:00",
       "hanse:timeZone":"Europe/Berlin"}]}]}]})";
  Request r = BaseRequest();
  struct At {
    const char* now;
    bool permit;
  };
  for (const At& at : {At{"2025-01-15T07:00:00Z", true},    // Wed 08:00 CET
                       At{"2025-01-15T06:59:59Z", false},   // Wed 07:59:59 CET
                       At{"2025-01-15T16:59:59Z", true},    // Wed 17:59:59 CET
                       At{"2025-01-15T17:00:00Z", false},   // Wed 18:00 CET
                       At{"2025-07-16T06:00:00Z", true},    // Wed 08:00 CEST
                       At{"2025-07-16T16:30:00Z", false},   // Wed 18:30 CEST
                       At{"2025-01-18T10:00:00Z", false}})  // Saturday
  {
    r.now = T(at.now);
    const Decision d = Decide(policy, r);
    EXPECT_EQ(d.permit, at.permit) << at.now << "\n" << DecisionToText(d);
  }
  EXPECT_FALSE(ValidatePolicyForPublishing(PermissionWith(R"({"leftOperand":"hanse:timeOfDay",
          "operator":"lt","rightOperand":"25:00"})"))
                   .ok());
  EXPECT_FALSE(ValidatePolicyForPublishing(PermissionWith(R"({"leftOperand":"hanse:dayOfWeek",
          "operator":"eq","rightOperand":"Mon","hanse:timeZone":"Mars/Olympus"})"))
                   .ok());
  EXPECT_FALSE(ValidatePolicyForPublishing(PermissionWith(R"({"leftOperand":"spatial",
          "operator":"eq","rightOperand":"DE","hanse:timeZone":"UTC"})"))
                   .ok());
}

}  // namespace
}  // namespace hanse::policy

namespace hanse::policy {
namespace {

using ::testing::HasSubstr;
using namespace ::hanse::policy::testing;  // NOLINT

// Found in review: the cost of a compact rule is charged with every copy expansion makes.
TEST(Limits, CompactExpansionCannotMultiplyCost) {
  std::string actions, values;
  for (int i = 0; i < 85; ++i) absl::StrAppend(&actions, i ? "," : "", R"("use")");
  for (int i = 0; i < 256; ++i) absl::StrAppend(&values, i ? "," : "", R"("DE")");
  const std::string bomb = absl::StrCat(
      R"({"permission":[{"action":[)", actions, R"(],"duty":[{"action":[)",
      absl::StrReplaceAll(actions, {{"use", "delete"}}),
      R"(],"constraint":[{"leftOperand":"spatial","operator":"isAnyOf","rightOperand":[)", values,
      "]}]}]}]}");
  ASSERT_LE(bomb.size(), kMaxPolicyBytes);
  auto parsed = ParsePolicy(bomb);
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kResourceExhausted) << parsed.status();
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("expands to more than"));
  std::string many;
  for (int i = 0; i < 300; ++i) absl::StrAppend(&many, i ? "," : "", R"("DE")");
  EXPECT_EQ(ParsePolicy(PermissionWith(absl::StrCat(
                            R"({"leftOperand":"spatial","operator":"isAnyOf","rightOperand":[)",
                            many, "]}")))
                .status()
                .code(),
            absl::StatusCode::kResourceExhausted);
}

// Found in review: a refinement on a single party must not turn it into a collection (which its
// own DID is never a member of), or a narrowed prohibition would stop applying to that party.
TEST(Odrl22, RefinementOfASinglePartyMakesTheRuleUnusable) {
  Request r = BaseRequest();
  r.party_collections = std::vector<std::string>{};
  const Decision d = Decide(
      absl::StrCat(R"({"@type":"Set","permission":[{"action":"use"}],"prohibition":[{"action":"use",
          "assignee":{"@type":"Party","@id":")",
                   kConsumer, R"(","refinement":[{"leftOperand":"spatial","operator":"eq",
          "rightOperand":"DE"}]}}]})"),
      r);
  EXPECT_FALSE(d.permit) << DecisionToText(d);
  EXPECT_THAT(d.reason, HasSubstr("a refinement needs a PartyCollection"));
}

TEST(Odrl22, ObligationsBeforeUseArePreconditionsToo) {
  const std::string policy =
      R"({"@type":"Set","permission":[{"action":"use"}],"obligation":[{"action":"compensate"}]})";
  Request r = BaseRequest();
  EXPECT_FALSE(Decide(policy, r).permit);
  EXPECT_FALSE(ValidatePolicyForPublishing(policy).ok());
  r.fulfilled_duties = {"compensate"};
  EXPECT_TRUE(Decide(policy, r).permit);
}

}  // namespace
}  // namespace hanse::policy
