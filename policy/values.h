// Value syntax shared by the policy parser, the request parser and the evaluator: RFC 3339 times,
// ISO 8601 durations, ISO 3166-1 alpha-2 country codes and the country groups (EU, EEA), and the
// printing helpers the trace uses. docs/policies.md has the user-facing rules.
#ifndef HANSE_POLICY_VALUES_H_
#define HANSE_POLICY_VALUES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace hanse::policy {

// IRI namespaces. A left operand, operator, action or policy type is compared by its full IRI.
inline constexpr absl::string_view kOdrlNs = "http://www.w3.org/ns/odrl/2/";
inline constexpr absl::string_view kHanseNs = "https://w3id.org/hanse/v1#";
inline constexpr absl::string_view kDpvNs = "https://w3id.org/dpv#";
inline constexpr absl::string_view kXsdNs = "http://www.w3.org/2001/XMLSchema#";
inline constexpr absl::string_view kRdfNs = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";

// Parses an RFC 3339 date-time ("2025-01-01T00:00:00+01:00", "...Z", fractional seconds allowed,
// 'T', 't' or ' ' between date and time) and returns the instant. Without an offset the time is
// read as UTC. A date alone ("2025-01-01") is the start of that day in UTC. Leap seconds
// (":60"), 24:00 and out-of-range fields are rejected.
std::optional<absl::Time> ParseDateTime(absl::string_view text);

// Formats an instant as RFC 3339 in UTC ("2025-01-01T00:00:00Z", fractional seconds only when
// present); the infinite past/future as "-infinity"/"infinity".
std::string FormatInstant(absl::Time t);

// An ISO 8601 duration (PnYnMnWnDTnHnMnS, as xsd:duration plus weeks). Years and months are
// calendar units: AddTo adds them on the UTC calendar, pinning the day to the end of a shorter
// month (2025-01-31 + P1M = 2025-02-28), then adds days as 24 hours and the time part exactly.
struct IsoDuration {
  int64_t months = 0;   // years * 12 + months
  int64_t days = 0;     // weeks * 7 + days
  absl::Duration time;  // hours, minutes, seconds (fractional seconds allowed)

  absl::Time AddTo(absl::Time start) const;
};

// Parses "P30D", "PT12H", "P1Y2M3DT4H5M6.5S", "P2W". Negative durations, empty ones ("P",
// "PT"), fractions other than on seconds and components over 9 digits are rejected.
std::optional<IsoDuration> ParseIsoDuration(absl::string_view text);

// Formats a non-negative absl::Duration as an ISO 8601 duration in days and time ("P13DT4H").
std::string FormatElapsed(absl::Duration d);

// True for two ASCII letters (either case): the shape of an ISO 3166-1 alpha-2 code. The code
// itself is not checked against the ISO list.
bool IsCountryCode(absl::string_view text);

// The member countries of a group name ("EU": the 27 member states; "EEA": the EU plus IS, LI,
// NO), or nullptr when `name` is not a group. Names are upper case.
const std::vector<std::string>* CountryGroup(absl::string_view name);

// Upper-cases a country code or group name.
std::string NormalizeCountry(absl::string_view text);

// A wall-clock time "HH:MM" or "HH:MM:SS" (00:00:00 ... 23:59:59) as seconds since midnight.
std::optional<int> ParseTimeOfDay(absl::string_view text);

// An ISO weekday: "Mon" ... "Sun" (any case; full English names too) or "1" ... "7" (Monday = 1).
std::optional<int> ParseWeekday(absl::string_view text);

// "Mon" ... "Sun" for ISO weekday 1 ... 7.
absl::string_view WeekdayName(int iso_day);

// Parses a non-negative decimal integer of at most 18 digits.
std::optional<int64_t> ParseCount(absl::string_view text);

// A value for the one-line text forms: control characters escaped (\n, \xNN), at most `max`
// bytes (then "..."), never a newline.
std::string Printable(absl::string_view text, size_t max = 200);

}  // namespace hanse::policy

#endif  // HANSE_POLICY_VALUES_H_
