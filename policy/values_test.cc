#include "policy/values.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "absl/time/civil_time.h"

namespace hanse::policy {
namespace {

absl::Time Utc(int y, int m, int d, int hh = 0, int mm = 0, int ss = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, ss), absl::UTCTimeZone());
}

TEST(ParseDateTime, OffsetsNameTheSameInstant) {
  EXPECT_EQ(ParseDateTime("2025-01-01T00:00:00+01:00"), Utc(2024, 12, 31, 23));
  EXPECT_EQ(ParseDateTime("2024-12-31T23:00:00Z"), Utc(2024, 12, 31, 23));
  EXPECT_EQ(ParseDateTime("2024-12-31T18:30:00-04:30"), Utc(2024, 12, 31, 23));
  EXPECT_EQ(ParseDateTime("2024-12-31t23:00:00z"), Utc(2024, 12, 31, 23));
  EXPECT_EQ(ParseDateTime("2024-12-31 23:00:00+00:00"), Utc(2024, 12, 31, 23));
  EXPECT_EQ(ParseDateTime("2024-12-31T23:00:00-00:00"), Utc(2024, 12, 31, 23));
}

TEST(ParseDateTime, DateOnlyIsStartOfDayUtcAndNoOffsetIsUtc) {
  EXPECT_EQ(ParseDateTime("2025-01-01"), Utc(2025, 1, 1));
  EXPECT_EQ(ParseDateTime("2025-01-01T08:15:00"), Utc(2025, 1, 1, 8, 15));
}

TEST(ParseDateTime, FractionalSeconds) {
  EXPECT_EQ(ParseDateTime("2025-01-01T00:00:00.5Z"), Utc(2025, 1, 1) + absl::Milliseconds(500));
  EXPECT_EQ(ParseDateTime("2025-01-01T00:00:00.123456789Z"),
            Utc(2025, 1, 1) + absl::Nanoseconds(123456789));
  // Digits past nanoseconds are dropped.
  EXPECT_EQ(ParseDateTime("2025-01-01T00:00:00.1234567891Z"),
            Utc(2025, 1, 1) + absl::Nanoseconds(123456789));
}

TEST(ParseDateTime, RejectsMalformed) {
  for (const char* bad : {"", "2025", "2025-1-01", "2025-13-01", "2025-02-29", "2024-02-30",
                          "2025-01-01T", "2025-01-01T24:00:00Z", "2025-01-01T23:59:60Z",
                          "2025-01-01T23:59Z", "2025-01-01T00:00:00+1", "2025-01-01T00:00:00+24:00",
                          "2025-01-01T00:00:00.Z", "2025-01-01T00:00:00ZZ", "2025-01-01X00:00:00Z",
                          " 2025-01-01", "2025-01-01 ", "P1D", "2025-01-01T00:00:00+01:60"}) {
    EXPECT_FALSE(ParseDateTime(bad).has_value()) << bad;
  }
  EXPECT_TRUE(ParseDateTime("2024-02-29").has_value());
}

TEST(FormatInstant, Rfc3339Utc) {
  EXPECT_EQ(FormatInstant(Utc(2025, 3, 3)), "2025-03-03T00:00:00Z");
  EXPECT_EQ(FormatInstant(Utc(2025, 3, 3) + absl::Milliseconds(250)), "2025-03-03T00:00:00.25Z");
  EXPECT_EQ(FormatInstant(absl::InfiniteFuture()), "infinity");
}

TEST(IsoDuration, Parses) {
  auto d = ParseIsoDuration("P30D");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->days, 30);
  EXPECT_EQ(d->months, 0);
  d = ParseIsoDuration("P1Y2M3DT4H5M6.5S");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->months, 14);
  EXPECT_EQ(d->days, 3);
  EXPECT_EQ(d->time, absl::Hours(4) + absl::Minutes(5) + absl::Milliseconds(6500));
  d = ParseIsoDuration("P2W");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->days, 14);
  d = ParseIsoDuration("PT36H");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->time, absl::Hours(36));
  EXPECT_TRUE(ParseIsoDuration("P0D"));
}

TEST(IsoDuration, RejectsMalformed) {
  for (const char* bad : {"", "P", "PT", "30D", "-P1D", "P1H", "PT1D", "P1.5D", "PT1.5H", "P1D2Y",
                          "P1DT", "P1DD", "P1234567890D", "PT1.S", "P D", "p1d", "P1D "}) {
    EXPECT_FALSE(ParseIsoDuration(bad).has_value()) << bad;
  }
}

TEST(IsoDuration, CalendarArithmeticPinsToMonthEnd) {
  EXPECT_EQ(ParseIsoDuration("P1M")->AddTo(Utc(2025, 1, 31)), Utc(2025, 2, 28));
  EXPECT_EQ(ParseIsoDuration("P1M")->AddTo(Utc(2024, 1, 31)), Utc(2024, 2, 29));
  EXPECT_EQ(ParseIsoDuration("P1Y")->AddTo(Utc(2024, 2, 29)), Utc(2025, 2, 28));
  EXPECT_EQ(ParseIsoDuration("P30D")->AddTo(Utc(2025, 2, 1, 10)), Utc(2025, 3, 3, 10));
  EXPECT_EQ(ParseIsoDuration("P1MT1H")->AddTo(Utc(2025, 1, 15) + absl::Milliseconds(5)),
            Utc(2025, 2, 15, 1) + absl::Milliseconds(5));
}

TEST(FormatElapsed, DaysAndTime) {
  EXPECT_EQ(FormatElapsed(absl::Hours(24 * 13 + 4)), "P13DT4H");
  EXPECT_EQ(FormatElapsed(absl::Hours(48)), "P2D");
  EXPECT_EQ(FormatElapsed(absl::ZeroDuration()), "PT0S");
  EXPECT_EQ(FormatElapsed(absl::Seconds(90)), "PT1M30S");
  EXPECT_EQ(FormatElapsed(-absl::Hours(1)), "-PT1H");
}

TEST(Countries, GroupsAndCodes) {
  const std::vector<std::string>* eu = CountryGroup("EU");
  ASSERT_NE(eu, nullptr);
  EXPECT_EQ(eu->size(), 27u);
  for (const char* member : {"DE", "FR", "GR", "HR", "SE", "IE", "CY"}) {
    EXPECT_NE(std::find(eu->begin(), eu->end(), member), eu->end()) << member;
  }
  for (const char* outside : {"GB", "CH", "NO", "US", "EL", "UK"}) {
    EXPECT_EQ(std::find(eu->begin(), eu->end(), outside), eu->end()) << outside;
  }
  const std::vector<std::string>* eea = CountryGroup("eea");
  ASSERT_NE(eea, nullptr);
  EXPECT_EQ(eea->size(), 30u);
  EXPECT_NE(std::find(eea->begin(), eea->end(), "NO"), eea->end());
  EXPECT_EQ(CountryGroup("DE"), nullptr);
  EXPECT_TRUE(IsCountryCode("de"));
  EXPECT_FALSE(IsCountryCode("DEU"));
  EXPECT_FALSE(IsCountryCode("D1"));
  EXPECT_EQ(NormalizeCountry("de"), "DE");
}

TEST(ParseCount, NonNegativeIntegers) {
  EXPECT_EQ(ParseCount("0"), 0);
  EXPECT_EQ(ParseCount("3"), 3);
  EXPECT_FALSE(ParseCount("-1"));
  EXPECT_FALSE(ParseCount("3.0"));
  EXPECT_FALSE(ParseCount(""));
  EXPECT_FALSE(ParseCount("1234567890123456789"));
}

TEST(Printable, EscapesAndTruncates) {
  EXPECT_EQ(Printable("a\nb\x01"), "a\\nb\\x01");
  EXPECT_EQ(Printable("abcdef", 3), "abc...");
  // Never cuts inside a UTF-8 sequence.
  EXPECT_EQ(Printable("ab\xc3\xa9z", 3), "ab\xc3\xa9...");
}

}  // namespace
}  // namespace hanse::policy
