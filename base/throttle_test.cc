#include "base/throttle.h"

#include <gtest/gtest.h>

namespace hanse {
namespace {

TEST(ThrottleTest, OneLinePerKeyAndPeriodWithTheCountHeldBack) {
  Throttle t(absl::Seconds(60));
  const absl::Time t0 = absl::FromUnixSeconds(1'800'000'000);
  std::uint64_t held = 99;
  EXPECT_TRUE(t.Allow("peer-a", t0, &held));
  EXPECT_EQ(held, 0u);
  EXPECT_FALSE(t.Allow("peer-a", t0 + absl::Seconds(1), &held));
  EXPECT_FALSE(t.Allow("peer-a", t0 + absl::Seconds(59), &held));
  // Another condition has its own period.
  EXPECT_TRUE(t.Allow("peer-b", t0 + absl::Seconds(2), &held));
  EXPECT_TRUE(t.Allow("peer-a", t0 + absl::Seconds(60), &held));
  EXPECT_EQ(held, 2u);
  EXPECT_FALSE(t.Allow("peer-a", t0 + absl::Seconds(61), &held));
}

TEST(ThrottleTest, KeysAreBoundedForgettingTheOldest) {
  Throttle t(absl::Seconds(60), /*max_keys=*/2);
  const absl::Time t0 = absl::FromUnixSeconds(1'800'000'000);
  std::uint64_t held = 0;
  EXPECT_TRUE(t.Allow("a", t0, &held));
  EXPECT_TRUE(t.Allow("b", t0 + absl::Seconds(1), &held));
  EXPECT_TRUE(t.Allow("c", t0 + absl::Seconds(2), &held));  // forgets "a"
  EXPECT_TRUE(t.Allow("a", t0 + absl::Seconds(3), &held));  // new again
  EXPECT_FALSE(t.Allow("c", t0 + absl::Seconds(4), &held));
}

}  // namespace
}  // namespace hanse
