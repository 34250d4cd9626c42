#include "base/json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/support/status_matchers.h"

namespace hanse {
namespace {

using ::hanse::testing::IsOk;
using ::hanse::testing::StatusIs;
using ::testing::HasSubstr;

TEST(JsonTest, ParsesWhatNlohmannParses) {
  auto j = ParseJson(R"({"a": [1, 2.5, "x", null, true], "b": {"c": -3}})");
  ASSERT_THAT(j.status(), IsOk());
  EXPECT_EQ((*j)["a"][2], "x");
  EXPECT_EQ((*j)["b"]["c"], -3);
}

TEST(JsonTest, SyntaxErrorsSayWhere) {
  EXPECT_THAT(ParseJson("{\"a\": }"), StatusIs(absl::StatusCode::kInvalidArgument,
                                               HasSubstr("not valid JSON: parse error at line 1")));
  EXPECT_THAT(ParseJson(""), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseJson("{} trailing"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(JsonTest, DuplicateKeysAreRefused) {
  EXPECT_THAT(ParseJson(R"({"k": 1, "k": 2})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("duplicate key \"k\"")));
  EXPECT_THAT(ParseJson(R"({"a": {"k": 1}, "b": {"k": 2}})").status(), IsOk());
}

TEST(JsonTest, DepthIsBoundedWhileReading) {
  auto nested = [](int levels) { return std::string(levels, '[') + std::string(levels, ']'); };
  EXPECT_THAT(ParseJson(nested(8), 8).status(), IsOk());
  EXPECT_THAT(ParseJson(nested(9), 8),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("deeper than 8")));
  // Far deeper than any stack would survive in a recursive parser: refused, not a crash.
  EXPECT_THAT(ParseJson(std::string(1 << 20, '['), 64),
              StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST(JsonTest, ObjectRequiredNamesWhat) {
  EXPECT_THAT(ParseJsonObject("[1]", "card"),
              StatusIs(absl::StatusCode::kInvalidArgument, "card: not a JSON object"));
  EXPECT_THAT(ParseJsonObject("{", "card"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("card: not valid JSON")));
}

}  // namespace
}  // namespace hanse
