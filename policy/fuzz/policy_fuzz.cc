// Fuzz target for the ODRL policy parser and the evaluator: no input may crash them, errors have
// the documented codes, and every decision is well-formed (a one-line reason, a trace, JSON that
// parses back). Built as a libFuzzer target with clang, and with tests/support/fuzz_replay_main.cc
// as a plain program that replays a corpus directory (a ctest test).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "policy/evaluate.h"
#include "policy/policy.h"
#include "policy/request.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "policy_fuzz: invariant violated: %s\n", what);
    std::abort();
  }
}

// A fixed request that satisfies many constraints, so that evaluation goes deep.
const hanse::policy::Request& FixedRequest() {
  static const auto* const kRequest = [] {
    auto* r = new hanse::policy::Request;
    r->action = "use";
    r->now = absl::FromUnixSeconds(1735689600);  // 2025-01-01T00:00:00Z
    r->consumer = "did:key:z6MkConsumer";
    r->country = "DE";
    r->jurisdictions = {"DE", "EU"};
    r->certifications = {{"health-data-hosting", "did:key:z6MkIssuer", absl::InfiniteFuture()},
                         {"iso27001", "did:key:z6MkOther", absl::FromUnixSeconds(1700000000)}};
    r->purpose = "https://w3id.org/hanse/v1#MedicalResearch";
    r->purpose_classes = {"https://w3id.org/dpv#ScientificResearch"};
    r->use_count = 2;
    r->agreement_start = absl::FromUnixSeconds(1733011200);  // 2024-12-01T00:00:00Z
    return r;
  }();
  return *kRequest;
}

void CheckDecision(const hanse::policy::Decision& d) {
  Check(!d.reason.empty(), "a reason");
  Check(d.reason.find('\n') == std::string::npos, "one-line reason");
  Check(!d.trace.empty(), "a trace");
  Check(d.permit == !d.permitted_by.empty(), "permittedBy iff permit");
  Check(d.permit || d.duties.empty(), "duties only when permitted");
  const std::string json = hanse::policy::DecisionToJson(d);
  const nlohmann::json parsed = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  Check(!parsed.is_discarded(), "decision JSON parses");
  Check(parsed["permit"].is_boolean() && parsed["permit"].get<bool>() == d.permit,
        "decision JSON permit");
  Check(!hanse::policy::DecisionToText(d).empty(), "decision text");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hanse::policy;  // NOLINT: a fuzz entry point, not library code
  const absl::string_view text(reinterpret_cast<const char*>(data), size);

  absl::StatusOr<Policy> policy = ParsePolicy(text);
  const absl::Status validation = ValidatePolicyForPublishing(text);
  if (!policy.ok()) {
    const absl::StatusCode code = policy.status().code();
    Check(
        code == absl::StatusCode::kInvalidArgument || code == absl::StatusCode::kResourceExhausted,
        "error code");
    Check(!policy.status().message().empty(), "error message");
    Check(size <= kMaxPolicyBytes || code == absl::StatusCode::kResourceExhausted, "size limit");
    Check(validation == policy.status(), "validation repeats the parse error");
  } else {
    Check(size <= kMaxPolicyBytes, "size limit");
    Check(validation.ok() || validation.code() == absl::StatusCode::kInvalidArgument,
          "validation code");
    Request request = FixedRequest();
    const Decision d = Evaluate(*policy, request);
    CheckDecision(d);
    // A policy a publisher may publish has no unknowns: a denial then never comes from one.
    if (validation.ok() && !d.permit) {
      Check(!absl::StrContains(d.reason, "unknown left operand") &&
                !absl::StrContains(d.reason, "unknown operator") &&
                !absl::StrContains(d.reason, "unknown action"),
            "valid policy denied for an unknown term");
    }
    // Another action and a request with no facts must also evaluate cleanly.
    request.action = "distribute";
    CheckDecision(Evaluate(*policy, request));
    Request empty;
    empty.now = request.now;
    const Decision bare = Evaluate(*policy, empty);
    CheckDecision(bare);
  }

  // The request parser shares the JSON reader; it must hold up on the same input.
  absl::StatusOr<Request> request = ParseRequest(text, absl::UnixEpoch());
  if (!request.ok()) {
    const absl::StatusCode code = request.status().code();
    Check(
        code == absl::StatusCode::kInvalidArgument || code == absl::StatusCode::kResourceExhausted,
        "request error code");
  }
  return 0;
}
