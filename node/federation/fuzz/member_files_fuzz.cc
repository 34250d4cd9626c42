// Fuzz target for the files an operator is handed by other members or writes by hand: a node's
// config.json, a member card (file or bare JWS) and a federation charter. No input may crash a
// parser or be answered with an error outside the documented codes; whatever is accepted must
// be consistent (a card names the DID it is signed by; a charter's id is the hash of what its
// founders signed).
// Built as a libFuzzer target with clang, and with the replay main as a plain program that
// replays the corpus (a ctest test).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "node/federation/membership.h"
#include "node/identity/card.h"
#include "node/identity/config.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "member_files_fuzz: invariant violated: %s\n", what);
    std::abort();
  }
}

// Bad input is the caller's fault, never the node's: no Internal, Unknown or DataLoss.
void CheckError(const absl::Status& s, const char* what) {
  if (s.ok()) return;
  const auto code = s.code();
  Check(code == absl::StatusCode::kInvalidArgument || code == absl::StatusCode::kUnauthenticated ||
            code == absl::StatusCode::kFailedPrecondition ||
            code == absl::StatusCode::kResourceExhausted ||
            code == absl::StatusCode::kPermissionDenied || code == absl::StatusCode::kOutOfRange,
        what);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (1 << 20)) return 0;
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  // A fixed time, so that validity windows do not make replays differ from day to day.
  const absl::Time now =
      absl::FromCivil(absl::CivilSecond(2027, 3, 1, 12, 0, 0), absl::UTCTimeZone());

  auto config = hanse::node::ParseConfig(text, "fuzz/config.json");
  CheckError(config.status(), "config: undocumented error code");
  if (config.ok()) {
    auto again = hanse::node::ParseConfig(hanse::node::SerializeConfig(*config), "again");
    Check(again.ok(), "a parsed config serializes to a config that parses");
  }

  auto card = hanse::node::ParseCardFile(text, now);
  CheckError(card.status(), "card file: undocumented error code");
  if (card.ok()) {
    auto verified = hanse::node::VerifyCard(card->first, now);
    Check(verified.ok() && verified->did == card->second.did, "a card file's JWS verifies alone");
  }

  auto charter = hanse::node::ParseCharter(text, now, /*require_all_signatures=*/false);
  CheckError(charter.status(), "charter: undocumented error code");
  if (charter.ok()) {
    Check(!charter->id.empty() && !charter->founders.empty(), "a charter has an id and founders");
    auto again = hanse::node::ParseCharter(hanse::node::CharterFile(*charter), now, false);
    Check(again.ok() && again->id == charter->id, "a charter file round-trips to the same id");
  }
  return 0;
}
