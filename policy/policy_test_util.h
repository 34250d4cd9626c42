// Helpers shared by the policy tests.
#ifndef HANSE_POLICY_POLICY_TEST_UTIL_H_
#define HANSE_POLICY_POLICY_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "policy/evaluate.h"
#include "policy/policy.h"
#include "policy/request.h"
#include "policy/values.h"

namespace hanse::policy::testing {

// The JSON files of a test data directory (the conformance cases, the fuzz corpus), sorted.
inline std::vector<std::filesystem::path> JsonFiles(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// A JSON file, or nullopt when it cannot be read or parsed.
inline std::optional<nlohmann::json> ReadJson(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

// The evaluation instant of a conformance case whose request names none.
inline constexpr char kCaseDefaultNow[] = "2025-01-15T12:00:00Z";
inline absl::Time CaseDefaultNow() {
  absl::Time t;
  std::string err;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, kCaseDefaultNow, &t, &err)) << err;
  return t;
}

using Json = nlohmann::json;

inline absl::Time T(absl::string_view rfc3339) {
  std::optional<absl::Time> t = ParseDateTime(rfc3339);
  EXPECT_TRUE(t.has_value()) << rfc3339;
  return t.value_or(absl::UnixEpoch());
}

inline constexpr char kConsumer[] = "did:key:z6MkConsumerA";
inline constexpr char kCertifier[] = "did:key:z6MkCertifier";

// A consumer that satisfies most constraints of the tests.
inline Request BaseRequest() {
  Request r;
  r.action = "use";
  r.now = T("2025-01-15T12:00:00Z");
  r.consumer = kConsumer;
  r.country = "DE";
  r.jurisdictions = {"DE", "EU"};
  r.certifications = {{"health-data-hosting", kCertifier, T("2026-01-01T00:00:00Z")}};
  r.purpose = "https://w3id.org/hanse/v1#MedicalResearch";
  r.use_count = 0;
  r.agreement_start = T("2025-01-01T00:00:00Z");
  return r;
}

// {"@type": "Set", "permission": [{"action": <action>, "constraint": [<constraint>]}]}
inline std::string PermissionWith(const std::string& constraint, absl::string_view action = "use") {
  return absl::StrCat(R"({"@type":"Set","permission":[{"action":")", action, R"(","constraint":[)",
                      constraint, "]}]}");
}

inline std::string Atomic(absl::string_view left, absl::string_view op, const std::string& right) {
  return absl::StrCat(R"({"leftOperand":")", left, R"(","operator":")", op, R"(","rightOperand":)",
                      right, "}");
}

// Parses (must succeed) and evaluates.
inline Decision Decide(const std::string& policy_json, const Request& request) {
  absl::StatusOr<Policy> policy = ParsePolicy(policy_json);
  EXPECT_TRUE(policy.ok()) << policy.status() << "\n" << policy_json;
  if (!policy.ok()) return Decision{};
  return Evaluate(*policy, request);
}

// The trace entry with this path and left operand (or operator, for logical constraints).
inline const TraceEntry* FindEntry(const Decision& d, absl::string_view path) {
  for (const TraceEntry& e : d.trace) {
    if (e.path == path && !(e.left_operand.empty() && e.op.empty())) return &e;
  }
  return nullptr;
}

// Rewrites a compact policy into the form with full IRIs: every ODRL key and vocabulary value
// (action, leftOperand, operator, @type) becomes its IRI; values become {"@id": IRI} when
// `id_objects`, and `prefix` ("http://www.w3.org/ns/odrl/2/" or "odrl:") replaces the bare term.
inline Json ExpandTerms(const Json& j, absl::string_view prefix, bool id_objects) {
  static constexpr absl::string_view kVocabKeys[] = {"action", "leftOperand", "operator", "@type"};
  static constexpr absl::string_view kHanse[] = {"hanse:jurisdiction", "hanse:certification",
                                                 "hanse:issuer"};
  auto term = [&](const std::string& t) -> std::string {
    for (absl::string_view h : kHanse) {
      if (t == h) return absl::StrCat(kHanseNs, t.substr(6));
    }
    if (t.find(':') != std::string::npos || (!t.empty() && t[0] == '@')) return t;
    return absl::StrCat(prefix, t);
  };
  if (j.is_array()) {
    Json out = Json::array();
    for (const Json& item : j) out.push_back(ExpandTerms(item, prefix, id_objects));
    return out;
  }
  if (!j.is_object()) return j;
  Json out = Json::object();
  for (const auto& [key, value] : j.items()) {
    bool vocab = false;
    for (absl::string_view k : kVocabKeys) vocab = vocab || key == k;
    if (key == "type") vocab = true;
    if (vocab && value.is_string()) {
      const std::string iri = term(value.get<std::string>());
      const Json v = id_objects && key != "@type" ? Json{{"@id", iri}} : Json(iri);
      out[key == "type" || key == "@type" ? key : term(key)] = v;
    } else if (key == "@context" || key == "rightOperand") {
      out[key == "@context" ? key : term(key)] = value;
    } else {
      out[term(key)] = ExpandTerms(value, prefix, id_objects);
    }
  }
  return out;
}

}  // namespace hanse::policy::testing

#endif  // HANSE_POLICY_POLICY_TEST_UTIL_H_
