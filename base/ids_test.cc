#include "base/ids.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>

namespace hanse {
namespace {

TEST(IdsTest, UuidIsVersion4Variant10) {
  const std::regex rfc4122("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = NewUuid();
    ASSERT_TRUE(std::regex_match(id, rfc4122)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

}  // namespace
}  // namespace hanse
