// Helpers shared by the contract sources; not part of the library's API.
#ifndef HANSE_NODE_CONTRACT_INTERNAL_H_
#define HANSE_NODE_CONTRACT_INTERNAL_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace hanse::contract::internal {

// RFC 3339 in UTC with as many fractional digits as needed ("2025-01-15T12:00:00Z").
std::string FormatTime(absl::Time t);
// Strict inverse of FormatTime (any RFC 3339 date-time is accepted).
std::optional<absl::Time> ParseTime(absl::string_view text);

// 64 lower-case hex digits.
bool IsSha256Hex(absl::string_view s);
// 1-256 printable ASCII characters, no spaces (request ids, agreement ids, duty ids).
bool IsValidId(absl::string_view s);

// Largest integer a JSON number carries exactly.
inline constexpr std::uint64_t kMaxJsonInteger = (std::uint64_t{1} << 53) - 1;

}  // namespace hanse::contract::internal

#endif  // HANSE_NODE_CONTRACT_INTERNAL_H_
