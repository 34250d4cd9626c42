// ODRL 2.2 conformance cases: one JSON file per case in tests/conformance/odrl/, each a policy,
// one or more requests and the expected decision and active rules, with the spec sentence it
// tests. The runner parses the policy (ParsePolicy) and each request (ParseRequest, "now"
// defaulting to kCaseDefaultNow), evaluates, and compares.
//
// Case file format:
//   {"id": "031-...", "spec": "<spec sentence, with its section>", "policy": {...},
//    "request": {...}, "expected": {...}}            -- or, for several requests:
//   {"id", "spec", "policy", "cases": [{"note"?, "request", "expected", ...}]}
// expected: {"decision": "permit"|"deny", "activeRules": ["permission[0]", ...],
//            "duties"?: ["permission[0].duty[0]", ...]}  -- the rules of Decision::duties
//        or {"error": "InvalidArgument"|"ResourceExhausted"}  -- ParsePolicy fails so
// Where Hanse deliberately departs from the ODRL specs, "expected" is what the spec says and
// "hanseExpected" what Hanse decides, with the reason in "disagreement". The runner checks
// "hanseExpected"; with HANSE_ODRL_STRICT=1 in the environment it checks the spec instead (and
// those cases fail, listing the departures).
//
// Active rules (Decision::active_rules, compared as a set): the permissions that permit the
// request, the prohibitions that apply to it (also when treated as applying, fail closed) and the
// policy's obligations. A compact rule expanded into several keeps its path and is listed once.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
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

std::filesystem::path CaseDir() {
  return std::filesystem::path(HANSE_SOURCE_DIR) / "tests" / "conformance" / "odrl";
}

std::vector<std::string> CaseFiles() {
  std::vector<std::string> files;
  for (const auto& path : JsonFiles(CaseDir())) files.push_back(path.filename().string());
  return files;
}

std::vector<std::string> SortedUnique(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

std::vector<std::string> ActiveRules(const Decision& d) { return SortedUnique(d.active_rules); }

std::vector<std::string> DutyRules(const Decision& d) {
  std::vector<std::string> rules;
  for (const Duty& duty : d.duties) rules.push_back(duty.rule);
  return SortedUnique(std::move(rules));
}

std::vector<std::string> Strings(const Json& j) {
  std::vector<std::string> out;
  if (!j.is_array()) return out;
  for (const Json& item : j) {
    if (item.is_string()) out.push_back(item.get<std::string>());
  }
  return SortedUnique(std::move(out));
}

std::string TraceText(const Decision& d) {
  std::string out;
  for (const TraceEntry& e : d.trace) {
    absl::StrAppend(&out, "  [", VerdictName(e.verdict), "] ", e.path, "  ", e.left_operand, " ",
                    e.op, " ", e.required, "  actual: ", e.actual, "  -- ", e.note, "\n");
  }
  return out;
}

std::string StatusCodeName(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument:
      return "InvalidArgument";
    case absl::StatusCode::kResourceExhausted:
      return "ResourceExhausted";
    default:
      return absl::StatusCodeToString(code);
  }
}

bool Strict() {
  const char* v = std::getenv("HANSE_ODRL_STRICT");
  return v != nullptr && std::string(v) == "1";
}

// The (request, expected) pairs of a case file, flattened.
struct CaseRun {
  std::string label;  // "request 2 (exactly 30 days)"
  Json request;
  Json expected;
  std::string disagreement;  // non-empty when `expected` is hanseExpected, not the spec's
  Json spec_expected;
};

std::vector<CaseRun> Runs(const Json& c) {
  std::vector<CaseRun> runs;
  auto add = [&](const Json& entry, const std::string& label) {
    CaseRun r;
    r.label = label;
    if (entry.contains("note")) absl::StrAppend(&r.label, " (", entry["note"].dump(), ")");
    r.request = entry.value("request", Json::object());
    r.spec_expected = entry.value("expected", Json::object());
    r.expected = r.spec_expected;
    if (entry.contains("hanseExpected") && !Strict()) {
      r.expected = entry["hanseExpected"];
      r.disagreement = entry.value("disagreement", "(no reason given)");
    }
    runs.push_back(std::move(r));
  };
  if (c.contains("cases")) {
    int i = 0;
    for (const Json& entry : c["cases"]) add(entry, absl::StrCat("request ", i++));
  } else {
    add(c, "request");
  }
  return runs;
}

class OdrlConformance : public ::testing::TestWithParam<std::string> {};

TEST_P(OdrlConformance, Case) {
  const std::optional<Json> c = ReadJson(CaseDir() / GetParam());
  ASSERT_TRUE(c.has_value() && c->is_object()) << GetParam() << ": not a JSON object";
  const std::string id = c->value("id", "");
  SCOPED_TRACE(absl::StrCat(id, ": ", c->value("spec", "")));
  ASSERT_TRUE(c->contains("policy")) << "no policy";

  const std::string policy_json = (*c)["policy"].dump();
  const absl::StatusOr<Policy> policy = ParsePolicy(policy_json);
  for (const CaseRun& run : Runs(*c)) {
    SCOPED_TRACE(run.label);
    if (!run.disagreement.empty()) {
      RecordProperty("departs_from_spec", run.disagreement);
    }
    if (run.expected.contains("error")) {
      const std::string want = run.expected["error"].get<std::string>();
      EXPECT_FALSE(policy.ok()) << "ParsePolicy succeeded, expected " << want;
      if (!policy.ok()) {
        EXPECT_EQ(StatusCodeName(policy.status().code()), want) << policy.status();
      }
      continue;
    }
    ASSERT_TRUE(policy.ok()) << "ParsePolicy: " << policy.status();
    const absl::StatusOr<Request> request = ParseRequest(run.request.dump(), CaseDefaultNow());
    ASSERT_TRUE(request.ok()) << "ParseRequest: " << request.status() << "\n" << run.request;
    const Decision d = Evaluate(*policy, *request);

    const std::string want_decision = run.expected.value("decision", "");
    const std::string got_decision = d.permit ? "permit" : "deny";
    const std::vector<std::string> want_active = Strings(run.expected.value("activeRules", Json()));
    const std::vector<std::string> got_active = ActiveRules(d);
    const std::string context = absl::StrCat(
        "reason: ", d.reason, "\ntrace:\n", TraceText(d),
        run.disagreement.empty() ? "" : "\nHanse departs from the spec here: ", run.disagreement);
    EXPECT_EQ(got_decision, want_decision) << context;
    EXPECT_EQ(absl::StrJoin(got_active, ", "), absl::StrJoin(want_active, ", ")) << "active rules\n"
                                                                                 << context;
    if (run.expected.contains("duties")) {
      EXPECT_EQ(absl::StrJoin(DutyRules(d), ", "),
                absl::StrJoin(Strings(run.expected["duties"]), ", "))
          << "duties\n"
          << context;
    }
  }
}

std::string CaseName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = "c";
  for (char ch : std::filesystem::path(info.param).stem().string()) {
    name += absl::ascii_isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Odrl, OdrlConformance, ::testing::ValuesIn(CaseFiles()), CaseName);

// The case files themselves: named by their id, each with a spec sentence and a well-formed
// expectation, and enough of them to cover what docs/policies.md promises.
TEST(OdrlConformanceFiles, AreWellFormed) {
  const std::vector<std::string> files = CaseFiles();
  EXPECT_GE(files.size(), 60u) << "cases in " << CaseDir();
  size_t runs = 0, departures = 0;
  for (const std::string& file : files) {
    SCOPED_TRACE(file);
    const std::optional<Json> c = ReadJson(CaseDir() / file);
    ASSERT_TRUE(c.has_value() && c->is_object()) << "not a JSON object";
    EXPECT_EQ(c->value("id", "") + ".json", file) << "the file is named by its id";
    EXPECT_FALSE(c->value("spec", "").empty()) << "no spec sentence";
    EXPECT_TRUE(c->contains("policy") && (*c)["policy"].is_object());
    EXPECT_NE(c->contains("cases"), c->contains("request") || c->contains("expected"))
        << "either request+expected or cases";
    for (const CaseRun& run : Runs(*c)) {
      ++runs;
      if (!run.disagreement.empty()) ++departures;
      const Json& e = run.spec_expected;
      const bool error = e.contains("error");
      const std::string decision = e.value("decision", "");
      EXPECT_TRUE(error || decision == "permit" || decision == "deny") << run.label;
      EXPECT_TRUE(error || e.contains("activeRules")) << run.label;
    }
  }
  RecordProperty("case_files", static_cast<int>(files.size()));
  RecordProperty("requests", static_cast<int>(runs));
  RecordProperty("departures_from_spec", static_cast<int>(departures));
  std::cout << "[ odrl ] " << files.size() << " case files, " << runs << " requests, " << departures
            << " where Hanse departs from the spec\n";
}

}  // namespace
}  // namespace hanse::policy
