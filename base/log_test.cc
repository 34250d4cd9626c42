#include "base/log.h"

#include <gtest/gtest.h>

#include "nlohmann/json.hpp"
#include "tests/support/status_matchers.h"

namespace hanse::log {
namespace {

using ::hanse::testing::IsOkAndHolds;
using ::hanse::testing::StatusIs;

TEST(LogTest, TextQuotesValuesWithSpaces) {
  EXPECT_EQ(Render(Format::kText, "peer added", {{"did", "did:key:z6Mk"}, {"name", "Acme SA"}}),
            "peer added did=did:key:z6Mk name=\"Acme SA\"");
}

TEST(LogTest, JsonIsOneParsableObject) {
  std::string line = Render(Format::kJson, "say \"hi\"\n", {{"request_id", "r1"}});
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["msg"], "say \"hi\"\n");
  EXPECT_EQ(j["request_id"], "r1");
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(LogTest, ParseFormatAndLevel) {
  EXPECT_THAT(ParseFormat("json"), IsOkAndHolds(Format::kJson));
  EXPECT_THAT(ParseFormat("xml"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseLevel("warn"), IsOkAndHolds(Level::kWarn));
  EXPECT_THAT(ParseLevel("loud"), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace hanse::log
