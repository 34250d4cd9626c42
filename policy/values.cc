#include "policy/values.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"

namespace hanse::policy {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly `n` digits at text[*pos].
bool Digits(absl::string_view text, size_t* pos, int n, int* out) {
  if (*pos + n > text.size()) return false;
  int v = 0;
  for (int i = 0; i < n; ++i) {
    const char c = text[*pos + i];
    if (!IsDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

bool Expect(absl::string_view text, size_t* pos, char c) {
  if (*pos >= text.size() || text[*pos] != c) return false;
  ++*pos;
  return true;
}

int DaysInMonth(int64_t year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2) {
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return leap ? 29 : 28;
  }
  return kDays[month - 1];
}

}  // namespace

std::optional<absl::Time> ParseDateTime(absl::string_view text) {
  size_t pos = 0;
  int year, month, day;
  if (!Digits(text, &pos, 4, &year) || !Expect(text, &pos, '-') || !Digits(text, &pos, 2, &month) ||
      !Expect(text, &pos, '-') || !Digits(text, &pos, 2, &day)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month)) return std::nullopt;
  if (pos == text.size()) {
    return absl::FromCivil(absl::CivilDay(year, month, day), absl::UTCTimeZone());
  }
  const char sep = text[pos++];
  if (sep != 'T' && sep != 't' && sep != ' ') return std::nullopt;
  int hour, minute, second;
  if (!Digits(text, &pos, 2, &hour) || !Expect(text, &pos, ':') ||
      !Digits(text, &pos, 2, &minute) || !Expect(text, &pos, ':') ||
      !Digits(text, &pos, 2, &second)) {
    return std::nullopt;
  }
  if (hour > 23 || minute > 59 || second > 59) return std::nullopt;
  absl::Duration frac;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int64_t nanos = 0;
    int n = 0;
    while (pos < text.size() && IsDigit(text[pos])) {
      if (n < 9) {
        nanos = nanos * 10 + (text[pos] - '0');
        ++n;
      } else if (n >= 18) {
        return std::nullopt;  // absurdly long fraction
      } else {
        ++n;
      }
      ++pos;
    }
    if (n == 0) return std::nullopt;
    for (int i = std::min(n, 9); i < 9; ++i) nanos *= 10;
    frac = absl::Nanoseconds(nanos);
  }
  absl::Duration offset;
  if (pos == text.size()) {
    // No offset: UTC (documented).
  } else if (text[pos] == 'Z' || text[pos] == 'z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    const int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int oh, om;
    if (!Digits(text, &pos, 2, &oh) || !Expect(text, &pos, ':') || !Digits(text, &pos, 2, &om)) {
      return std::nullopt;
    }
    if (oh > 23 || om > 59) return std::nullopt;
    offset = sign * (absl::Hours(oh) + absl::Minutes(om));
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;
  const absl::Time local = absl::FromCivil(
      absl::CivilSecond(year, month, day, hour, minute, second), absl::UTCTimeZone());
  // Local time = UTC + offset, so UTC = local - offset.
  return local + frac - offset;
}

std::string FormatInstant(absl::Time t) {
  if (t == absl::InfiniteFuture()) return "infinity";
  if (t == absl::InfinitePast()) return "-infinity";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

absl::Time IsoDuration::AddTo(absl::Time start) const {
  if (start == absl::InfiniteFuture() || start == absl::InfinitePast()) return start;
  const absl::TimeZone utc = absl::UTCTimeZone();
  const absl::CivilSecond cs = absl::ToCivilSecond(start, utc);
  const absl::Duration subsecond = start - absl::FromCivil(cs, utc);
  const absl::CivilMonth month = absl::CivilMonth(cs) + months;
  const int day = std::min<int>(cs.day(), DaysInMonth(month.year(), month.month()));
  const absl::CivilSecond shifted(month.year(), month.month(), day, cs.hour(), cs.minute(),
                                  cs.second());
  return absl::FromCivil(shifted, utc) + subsecond + absl::Hours(24) * days + time;
}

std::optional<IsoDuration> ParseIsoDuration(absl::string_view text) {
  if (text.empty() || text[0] != 'P') return std::nullopt;
  size_t pos = 1;
  IsoDuration d;
  bool in_time = false;
  bool any = false;
  bool any_time = false;
  // Designators must appear in this order; `order` is the index of the last one seen.
  constexpr absl::string_view kDateOrder = "YMWD";
  constexpr absl::string_view kTimeOrder = "HMS";
  int order = -1;
  while (pos < text.size()) {
    if (text[pos] == 'T') {
      if (in_time) return std::nullopt;
      in_time = true;
      order = -1;
      ++pos;
      continue;
    }
    int64_t value = 0;
    int digits = 0;
    while (pos < text.size() && IsDigit(text[pos])) {
      if (++digits > 9) return std::nullopt;
      value = value * 10 + (text[pos] - '0');
      ++pos;
    }
    int64_t frac_nanos = -1;
    if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
      ++pos;
      frac_nanos = 0;
      int n = 0;
      while (pos < text.size() && IsDigit(text[pos])) {
        if (++n > 9) return std::nullopt;
        frac_nanos = frac_nanos * 10 + (text[pos] - '0');
        ++pos;
      }
      if (n == 0) return std::nullopt;
      for (int i = n; i < 9; ++i) frac_nanos *= 10;
    }
    if (digits == 0 || pos >= text.size()) return std::nullopt;
    const char unit = text[pos++];
    const absl::string_view units = in_time ? kTimeOrder : kDateOrder;
    const size_t index = units.find(unit);
    if (index == absl::string_view::npos || static_cast<int>(index) <= order) return std::nullopt;
    order = static_cast<int>(index);
    if (frac_nanos >= 0 && !(in_time && unit == 'S')) return std::nullopt;
    any = true;
    if (!in_time) {
      switch (unit) {
        case 'Y':
          d.months += value * 12;
          break;
        case 'M':
          d.months += value;
          break;
        case 'W':
          d.days += value * 7;
          break;
        case 'D':
          d.days += value;
          break;
      }
    } else {
      any_time = true;
      switch (unit) {
        case 'H':
          d.time += absl::Hours(value);
          break;
        case 'M':
          d.time += absl::Minutes(value);
          break;
        case 'S':
          d.time += absl::Seconds(value);
          if (frac_nanos > 0) d.time += absl::Nanoseconds(frac_nanos);
          break;
      }
    }
  }
  if (!any || (in_time && !any_time)) return std::nullopt;
  return d;
}

std::string FormatElapsed(absl::Duration d) {
  if (d < absl::ZeroDuration()) return absl::StrCat("-", FormatElapsed(-d));
  if (d == absl::InfiniteDuration()) return "infinite";
  const int64_t days = absl::IDivDuration(d, absl::Hours(24), &d);
  const int64_t hours = absl::IDivDuration(d, absl::Hours(1), &d);
  const int64_t minutes = absl::IDivDuration(d, absl::Minutes(1), &d);
  const double seconds = absl::ToDoubleSeconds(d);
  std::string out = "P";
  if (days > 0) absl::StrAppend(&out, days, "D");
  if (hours > 0 || minutes > 0 || seconds > 0 || days == 0) {
    out += "T";
    if (hours > 0) absl::StrAppend(&out, hours, "H");
    if (minutes > 0) absl::StrAppend(&out, minutes, "M");
    if (seconds > 0 || (hours == 0 && minutes == 0)) absl::StrAppend(&out, seconds, "S");
  }
  return out;
}

bool IsCountryCode(absl::string_view text) {
  return text.size() == 2 && absl::ascii_isalpha(static_cast<unsigned char>(text[0])) &&
         absl::ascii_isalpha(static_cast<unsigned char>(text[1]));
}

const std::vector<std::string>* CountryGroup(absl::string_view name) {
  // The 27 member states of the European Union (since 2020-02-01), ISO 3166-1 alpha-2 (Greece is
  // GR, not the EU's own "EL").
  static const auto* const kEu = new std::vector<std::string>{
      "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
      "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"};
  static const auto* const kEea = [] {
    auto* v = new std::vector<std::string>(*kEu);
    v->insert(v->end(), {"IS", "LI", "NO"});
    return v;
  }();
  const std::string upper = absl::AsciiStrToUpper(name);
  if (upper == "EU") return kEu;
  if (upper == "EEA") return kEea;
  return nullptr;
}

std::string NormalizeCountry(absl::string_view text) { return absl::AsciiStrToUpper(text); }

std::optional<int> ParseTimeOfDay(absl::string_view text) {
  auto two = [&](size_t at) -> int {
    if (at + 2 > text.size() || !absl::ascii_isdigit(text[at]) ||
        !absl::ascii_isdigit(text[at + 1])) {
      return -1;
    }
    return (text[at] - '0') * 10 + (text[at + 1] - '0');
  };
  if (text.size() != 5 && text.size() != 8) return std::nullopt;
  if (text[2] != ':' || (text.size() == 8 && text[5] != ':')) return std::nullopt;
  const int h = two(0), m = two(3), s = text.size() == 8 ? two(6) : 0;
  if (h < 0 || h > 23 || m < 0 || m > 59 || s < 0 || s > 59) return std::nullopt;
  return h * 3600 + m * 60 + s;
}

std::optional<int> ParseWeekday(absl::string_view text) {
  static constexpr absl::string_view kNames[] = {"monday", "tuesday",  "wednesday", "thursday",
                                                 "friday", "saturday", "sunday"};
  if (text.size() == 1 && text[0] >= '1' && text[0] <= '7') return text[0] - '0';
  const std::string lower = absl::AsciiStrToLower(text);
  for (int i = 0; i < 7; ++i) {
    if (lower == kNames[i] || (lower.size() == 3 && kNames[i].substr(0, 3) == lower)) return i + 1;
  }
  return std::nullopt;
}

absl::string_view WeekdayName(int iso_day) {
  static constexpr absl::string_view kShort[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  return iso_day >= 1 && iso_day <= 7 ? kShort[iso_day - 1] : "?";
}

std::optional<int64_t> ParseCount(absl::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  int64_t v = 0;
  for (char c : text) {
    if (!IsDigit(c)) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

std::string Printable(absl::string_view text, size_t max) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    // Cut only between UTF-8 sequences (a continuation byte finishes its character).
    if (out.size() >= max && (c & 0xC0) != 0x80) {
      out += "...";
      break;
    }
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      out += absl::StrFormat("\\x%02x", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace hanse::policy
