#include "catalog/query.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "tests/support/status_matchers.h"

namespace hanse::catalog {
namespace {

using ::hanse::testing::IsOk;
using ::hanse::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

int64_t Day(absl::string_view s) { return *ParseDay(s); }

TEST(QueryTest, ExampleFromTheDocs) {
  HANSE_ASSERT_OK_AND_ASSIGN(
      Query q, ParseQuery("air quality theme:environment country:FR issued>=2024-01-01 "
                          "sort:-issued"));
  EXPECT_THAT(q.terms, ElementsAre("air", "quality"));
  EXPECT_THAT(q.filters, UnorderedElementsAre(Pair("theme", ElementsAre("environment")),
                                              Pair("country", ElementsAre("fr"))));
  EXPECT_EQ(q.issued_min_day, Day("2024-01-01"));
  EXPECT_FALSE(q.issued_max_day.has_value());
  EXPECT_EQ(q.sort, Query::Sort::kIssuedDesc);
}

TEST(QueryTest, EveryFilterField) {
  HANSE_ASSERT_OK_AND_ASSIGN(Query q,
                             ParseQuery("publisher:ACME theme:Health keyword:traffic licence:CC-BY "
                                        "mediatype:text/csv language:de country:FR hosting:eu"));
  EXPECT_THAT(q.terms, IsEmpty());
  EXPECT_THAT(q.filters,
              UnorderedElementsAre(
                  Pair("publisher", ElementsAre("acme")), Pair("theme", ElementsAre("health")),
                  Pair("keyword", ElementsAre("traffic")), Pair("licence", ElementsAre("cc-by")),
                  Pair("mediatype", ElementsAre("text/csv")), Pair("language", ElementsAre("de")),
                  Pair("country", ElementsAre("fr")), Pair("hosting", ElementsAre("eu"))));
  EXPECT_EQ(q.sort, Query::Sort::kIssuedDesc);
}

TEST(QueryTest, LicenseIsLicenceAndFieldNamesIgnoreCase) {
  HANSE_ASSERT_OK_AND_ASSIGN(Query q, ParseQuery("license:odbl LICENCE:cc0 Theme:x"));
  EXPECT_THAT(q.filters, UnorderedElementsAre(Pair("licence", ElementsAre("odbl", "cc0")),
                                              Pair("theme", ElementsAre("x"))));
}

TEST(QueryTest, RepeatedFieldCollectsDistinctValues) {
  HANSE_ASSERT_OK_AND_ASSIGN(Query q, ParseQuery("theme:a theme:b theme:A"));
  EXPECT_THAT(q.filters, UnorderedElementsAre(Pair("theme", ElementsAre("a", "b"))));
}

TEST(QueryTest, QuotedValues) {
  HANSE_ASSERT_OK_AND_ASSIGN(
      Query q, ParseQuery(R"(publisher:"Météo France" keyword:"say \"hi\" \\ now" x)"));
  EXPECT_THAT(q.filters, UnorderedElementsAre(Pair("publisher", ElementsAre("météo france")),
                                              Pair("keyword", ElementsAre(R"(say "hi" \ now)"))));
  EXPECT_THAT(q.terms, IsEmpty());  // "x" is too short to be a term
}

TEST(QueryTest, PhrasesAreTheirWords) {
  HANSE_ASSERT_OK_AND_ASSIGN(Query q, ParseQuery(R"("Air Quality" index air)"));
  EXPECT_THAT(q.terms, ElementsAre("air", "quality", "index"));
  EXPECT_EQ(q.sort, Query::Sort::kRelevance);
}

TEST(QueryTest, WordsAreTokenized) {
  HANSE_ASSERT_OK_AND_ASSIGN(Query q, ParseQuery("NO2-levels, Öl a"));
  EXPECT_THAT(q.terms, ElementsAre("no2", "levels", "öl"));
}

TEST(QueryTest, IssuedComparisons) {
  const int64_t d = Day("2024-03-10");
  struct Case {
    const char* text;
    std::optional<int64_t> min, max;
  } cases[] = {
      {"issued>=2024-03-10", d, std::nullopt},
      {"issued>2024-03-10", d + 1, std::nullopt},
      {"issued<=2024-03-10", std::nullopt, d},
      {"issued<2024-03-10", std::nullopt, d - 1},
      {"issued:2024-03-10", d, d},
      {"ISSUED:\"2024-03-10\"", d, d},
  };
  for (const Case& c : cases) {
    HANSE_ASSERT_OK_AND_ASSIGN(Query q, ParseQuery(c.text));
    EXPECT_EQ(q.issued_min_day, c.min) << c.text;
    EXPECT_EQ(q.issued_max_day, c.max) << c.text;
    EXPECT_THAT(q.filters, IsEmpty());
  }
}

TEST(QueryTest, IssuedComparisonsNarrowOneRange) {
  HANSE_ASSERT_OK_AND_ASSIGN(Query q,
                             ParseQuery("issued>=2024-01-01 issued>2024-02-01 issued<2025-01-01 "
                                        "issued<=2024-06-30"));
  EXPECT_EQ(q.issued_min_day, Day("2024-02-02"));
  EXPECT_EQ(q.issued_max_day, Day("2024-06-30"));
  HANSE_ASSERT_OK_AND_ASSIGN(Query empty, ParseQuery("issued>2024-01-01 issued<2023-01-01"));
  EXPECT_GT(*empty.issued_min_day, *empty.issued_max_day);  // valid, matches nothing
}

TEST(QueryTest, ParseDay) {
  EXPECT_EQ(ParseDay("1970-01-01"), 0);
  EXPECT_EQ(ParseDay("1970-01-02"), 1);
  EXPECT_EQ(ParseDay("1969-12-31"), -1);
  EXPECT_EQ(ParseDay("2000-02-29"), 11016);
  EXPECT_FALSE(ParseDay("2023-02-29"));
  EXPECT_FALSE(ParseDay("2023-13-01"));
  EXPECT_FALSE(ParseDay("2023-00-10"));
  EXPECT_FALSE(ParseDay("2023-04-31"));
  EXPECT_FALSE(ParseDay("2023-4-1"));
  EXPECT_FALSE(ParseDay("2023-04-01T00"));
  EXPECT_FALSE(ParseDay("+023-04-01"));
}

TEST(QueryTest, Sort) {
  EXPECT_EQ(ParseQuery("x sort:issued")->sort, Query::Sort::kIssuedAsc);
  EXPECT_EQ(ParseQuery("sort:-issued air")->sort, Query::Sort::kIssuedDesc);
  EXPECT_EQ(ParseQuery("air sort:relevance")->sort, Query::Sort::kRelevance);
  EXPECT_EQ(ParseQuery("air")->sort, Query::Sort::kRelevance);
  EXPECT_EQ(ParseQuery("theme:x")->sort, Query::Sort::kIssuedDesc);
  // Without terms there is nothing to rank by.
  EXPECT_EQ(ParseQuery("sort:relevance theme:x")->sort, Query::Sort::kIssuedDesc);
}

TEST(QueryTest, EmptyQuery) {
  for (const char* text : {"", "   ", "\t\n", "a", "!!"}) {
    HANSE_ASSERT_OK_AND_ASSIGN(Query q, ParseQuery(text));
    EXPECT_THAT(q.terms, IsEmpty());
    EXPECT_THAT(q.filters, IsEmpty());
    EXPECT_FALSE(q.issued_min_day || q.issued_max_day);
    EXPECT_EQ(q.sort, Query::Sort::kIssuedDesc);
  }
}

TEST(QueryTest, DuplicateTermsCountOnce) {
  HANSE_ASSERT_OK_AND_ASSIGN(Query q, ParseQuery("air AIR Air quality air"));
  EXPECT_THAT(q.terms, ElementsAre("air", "quality"));
}

// Each error, with its column and the caret line under it.
struct ErrorCase {
  const char* text;
  const char* message;
  int column;
};

class QueryErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(QueryErrorTest, PointsAtTheProblem) {
  const ErrorCase& c = GetParam();
  absl::StatusOr<Query> q = ParseQuery(c.text);
  ASSERT_THAT(q, StatusIs(absl::StatusCode::kInvalidArgument));
  const std::string expected = absl::StrCat(c.message, " at column ", c.column, "\n  ", c.text,
                                            "\n  ", std::string(c.column - 1, ' '), "^");
  EXPECT_EQ(q.status().message(), expected);
}

INSTANTIATE_TEST_SUITE_P(
    Errors, QueryErrorTest,
    ::testing::Values(
        ErrorCase{"air quality colour:red", "unknown field \"colour\"", 13},
        ErrorCase{"http://example.org", "unknown field \"http\"", 1},
        ErrorCase{"air theme:", "missing value for \"theme\"", 11},
        ErrorCase{"theme: x", "missing value for \"theme\"", 7},
        ErrorCase{"air \"quality index", "unterminated quote", 5},
        ErrorCase{"publisher:\"acme", "unterminated quote", 11},
        ErrorCase{"\"air quality\"index", "expected a space after the closing quote", 14},
        ErrorCase{"theme:\"\"", "empty value for field \"theme\"", 7},
        ErrorCase{"issued>=2024-02-30", "invalid date \"2024-02-30\" (expected YYYY-MM-DD)", 9},
        ErrorCase{"x issued:yesterday", "invalid date \"yesterday\" (expected YYYY-MM-DD)", 10},
        ErrorCase{"issued<", "missing value for \"issued\"", 8},
        ErrorCase{"sort:date",
                  "unknown sort order \"date\" (expected relevance, issued or "
                  "-issued)",
                  6},
        ErrorCase{"sort:issued air sort:relevance", "sort is given twice", 17},
        ErrorCase{"theme>=x",
                  "field \"theme\" takes no comparison (only issued does); use "
                  "theme:value",
                  6}));

TEST(QueryTest, ColumnsCountCharactersNotBytes) {
  absl::StatusOr<Query> q = ParseQuery("énergie colour:x");
  ASSERT_THAT(q, StatusIs(absl::StatusCode::kInvalidArgument,
                          HasSubstr("unknown field \"colour\" at column 9")));
  EXPECT_THAT(std::string(q.status().message()), HasSubstr("\n          ^"));
}

TEST(QueryTest, ControlCharactersAreBlankedInTheEcho) {
  absl::StatusOr<Query> q = ParseQuery("air\tcolour:x");
  ASSERT_THAT(q, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(q.status().message(), "unknown field \"colour\" at column 5\n  air colour:x\n      ^");
}

TEST(QueryTest, LengthLimit) {
  EXPECT_THAT(ParseQuery(std::string(kMaxQueryBytes, ' ')), IsOk());
  EXPECT_THAT(ParseQuery(std::string(kMaxQueryBytes + 1, ' ')),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("limit is 1024")));
}

TEST(QueryTest, TermLimit) {
  std::string text;
  for (int i = 0; i < 32; ++i) absl::StrAppend(&text, "t", i, " ");
  EXPECT_THAT(ParseQuery(text), IsOk());
  EXPECT_THAT(ParseQuery(text + "t0 t1"), IsOk());  // repeats do not count
  const int column = static_cast<int>(text.size()) + 1;
  EXPECT_THAT(ParseQuery(text + "t32"),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr(absl::StrCat("too many search terms (the limit is 32) at column ",
                                              column))));
}

TEST(QueryTest, FilterValueLimit) {
  std::string text;
  for (int i = 0; i < 63; ++i) absl::StrAppend(&text, "theme:v", i, " ");
  text += "issued>=2020-01-01 ";
  EXPECT_THAT(ParseQuery(text), IsOk());
  EXPECT_THAT(ParseQuery(text + "country:fr"),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("too many filter values (the limit is 64)")));
}

}  // namespace
}  // namespace hanse::catalog
