// The one JSON reader for input from outside the process (peers' documents, the operator's
// files, the node's own stored records): no exceptions, nesting bounded while reading (a SAX
// builder, so no recursion over attacker-chosen depth), duplicate keys refused (two readers of
// one text must never see different values).
#ifndef HANSE_BASE_JSON_H_
#define HANSE_BASE_JSON_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace hanse {

inline constexpr int kDefaultJsonDepth = 64;

// Errors: InvalidArgument "not valid JSON: ..." (syntax, with the position) or "not valid JSON:
// duplicate key \"k\""; ResourceExhausted "JSON nests deeper than N levels".
absl::StatusOr<nlohmann::json> ParseJson(absl::string_view text, int max_depth = kDefaultJsonDepth);

// ParseJson that also requires an object: InvalidArgument "<what>: not a JSON object".
absl::StatusOr<nlohmann::json> ParseJsonObject(absl::string_view text, absl::string_view what,
                                               int max_depth = kDefaultJsonDepth);

}  // namespace hanse

#endif  // HANSE_BASE_JSON_H_
