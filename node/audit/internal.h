// Helpers shared by the audit sources: bounded JSON parsing, strict text checks, hex and
// big-endian integers. Not part of the public API.
#ifndef HANSE_NODE_AUDIT_INTERNAL_H_
#define HANSE_NODE_AUDIT_INTERNAL_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace hanse::audit::internal {

inline constexpr int kMaxJsonDepth = 32;

// Parses `text` as JSON after checking that it nests at most kMaxJsonDepth levels (so that
// hostile input cannot exhaust the stack). `what` names the input in errors.
absl::StatusOr<nlohmann::json> ParseBoundedJson(absl::string_view text, absl::string_view what);

// True if `s` is valid UTF-8 with no control characters (U+0000..U+001F, U+007F).
bool IsPrintableUtf8(absl::string_view s);

// Lowercase hex of exactly `bytes` bytes; anything else is InvalidArgument naming `what`.
absl::StatusOr<std::string> HexDecode(absl::string_view hex, size_t bytes, absl::string_view what);

// 8-byte big-endian encoding, so that keys sort by number.
std::string BigEndian64(std::uint64_t v);
std::uint64_t ReadBigEndian64(absl::string_view bytes);  // bytes.size() >= 8

// "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" (always nine fraction digits, UTC).
std::string FormatUtc(absl::Time t);
// Inverse of FormatUtc; any other spelling is refused, so a time has one encoding.
absl::StatusOr<absl::Time> ParseUtc(absl::string_view text, absl::string_view what);
// Times an entry may carry: 1970-01-01 to 9999-12-31.
bool TimeInRange(absl::Time t);

// A JSON string value as the canonical encodings write it (no ASCII escaping of non-ASCII).
std::string JsonString(absl::string_view s);

// Reads a required member of an object. Errors name `what` and the member.
absl::StatusOr<std::string> GetString(const nlohmann::json& j, const char* key,
                                      absl::string_view what);
absl::StatusOr<std::uint64_t> GetUint(const nlohmann::json& j, const char* key,
                                      absl::string_view what);

}  // namespace hanse::audit::internal

#endif  // HANSE_NODE_AUDIT_INTERNAL_H_
