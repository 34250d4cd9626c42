// Fuzz target for the search query parser and the tokenizer: no input may crash them, and every
// result must respect the documented limits. Built as a libFuzzer target with clang, and with
// HANSE_FUZZ_REPLAY_MAIN as a plain program that replays a corpus directory (a ctest test).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "catalog/query.h"
#include "catalog/tokenizer.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "query_fuzz: invariant violated: %s\n", what);
    std::abort();
  }
}

void CheckTokens(const std::vector<std::string>& tokens) {
  for (const std::string& t : tokens) {
    Check(t.size() >= hanse::catalog::kMinTokenBytes && t.size() <= hanse::catalog::kMaxTokenBytes,
          "token length");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hanse::catalog;  // NOLINT: a fuzz entry point, not library code
  const absl::string_view text(reinterpret_cast<const char*>(data), size);

  std::vector<std::string> tokens = Tokenize(text);
  CheckTokens(tokens);
  std::vector<std::string> few;
  Tokenize(text, &few, 3);
  Check(few.size() <= 3, "max_tokens");
  const std::string value = NormalizeFilterValue(text);
  Check(value.size() <= kMaxFilterValueBytes, "filter value length");
  Check(NormalizeFilterValue(value) == value, "NormalizeFilterValue is idempotent");

  absl::StatusOr<Query> q = ParseQuery(text);
  if (!q.ok()) {
    const absl::StatusCode code = q.status().code();
    Check(
        code == absl::StatusCode::kInvalidArgument || code == absl::StatusCode::kResourceExhausted,
        "error code");
    Check(size > kMaxQueryBytes || absl::StrContains(q.status().message(), " at column "),
          "error names a column");
    return 0;
  }
  Check(size <= kMaxQueryBytes, "length limit");
  Check(q->terms.size() <= kMaxQueryTerms, "term limit");
  CheckTokens(q->terms);
  Check(std::set<std::string>(q->terms.begin(), q->terms.end()).size() == q->terms.size(),
        "distinct terms");
  size_t values = 0;
  for (const auto& [field, vs] : q->filters) {
    bool known = false;
    for (absl::string_view f : kFilterFields) known = known || f == field;
    Check(known, "canonical field");
    for (const std::string& v : vs) {
      Check(!v.empty() && NormalizeFilterValue(v) == v, "normalised value");
    }
    values += vs.size();
  }
  Check(values <= kMaxQueryFilterValues, "filter value limit");
  Check(!(q->terms.empty() && q->sort == Query::Sort::kRelevance), "relevance needs terms");
  return 0;
}
