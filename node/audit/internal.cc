#include "node/audit/internal.h"

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "base/json.h"

namespace hanse::audit::internal {

using Json = nlohmann::json;

absl::StatusOr<Json> ParseBoundedJson(absl::string_view text, absl::string_view what) {
  absl::StatusOr<Json> j = ParseJson(text, kMaxJsonDepth);
  // Malformed or too deep, a record is invalid input.
  if (!j.ok()) return absl::InvalidArgumentError(absl::StrCat(what, ": ", j.status().message()));
  return j;
}

bool IsPrintableUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t extra;
    std::uint32_t cp;
    std::uint32_t min;
    if ((c & 0xE0) == 0xC0) {
      extra = 1, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (s.size() - i <= extra) return false;
    for (size_t k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

absl::StatusOr<std::string> HexDecode(absl::string_view hex, size_t bytes, absl::string_view what) {
  if (hex.size() != 2 * bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": expected ", 2 * bytes, " hex digits, got ", hex.size()));
  }
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out(bytes, '\0');
  for (size_t i = 0; i < bytes; ++i) {
    const int hi = nibble(hex[2 * i]);
    const int lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": not lowercase hex"));
    }
    out[i] = static_cast<char>((hi << 4) | lo);
  }
  return out;
}

std::string BigEndian64(std::uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xFF);
    v >>= 8;
  }
  return out;
}

std::uint64_t ReadBigEndian64(absl::string_view bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[i]);
  return v;
}

std::string FormatUtc(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E9SZ", t, absl::UTCTimeZone());
}

absl::StatusOr<absl::Time> ParseUtc(absl::string_view text, absl::string_view what) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, std::string(text), &t, &err) || !TimeInRange(t) ||
      FormatUtc(t) != text) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": not a UTC time of the form 2024-06-01T12:00:00.000000000Z"));
  }
  return t;
}

bool TimeInRange(absl::Time t) {
  static const absl::Time kEnd =
      absl::FromCivil(absl::CivilSecond(10000, 1, 1, 0, 0, 0), absl::UTCTimeZone());
  return t >= absl::UnixEpoch() && t < kEnd;
}

std::string JsonString(absl::string_view s) {
  return Json(std::string(s)).dump(-1, ' ', false, Json::error_handler_t::replace);
}

absl::StatusOr<std::string> GetString(const Json& j, const char* key, absl::string_view what) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": field \"", key, "\" missing or not a string"));
  }
  return it->get<std::string>();
}

absl::StatusOr<std::uint64_t> GetUint(const Json& j, const char* key, absl::string_view what) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_unsigned()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": field \"", key, "\" missing or not a non-negative integer"));
  }
  return it->get<std::uint64_t>();
}

}  // namespace hanse::audit::internal
