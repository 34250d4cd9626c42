// gMock matchers for absl::Status / StatusOr (Debian's Abseil ships none).
#ifndef HANSE_TESTS_SUPPORT_STATUS_MATCHERS_H_
#define HANSE_TESTS_SUPPORT_STATUS_MATCHERS_H_

#include <gmock/gmock.h>

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace hanse::testing {

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

MATCHER(IsOk, "is OK") {
  const absl::Status& s = ::hanse::testing::GetStatus(arg);
  if (!s.ok()) *result_listener << "status is " << s.ToString();
  return s.ok();
}

// `code` is a StatusCode or a matcher of one (e.g. ::testing::_).
MATCHER_P(StatusIs, code, "has a matching status code") {
  const absl::Status& s = ::hanse::testing::GetStatus(arg);
  *result_listener << "status is " << s.ToString();
  return ::testing::Matches(code)(s.code());
}

MATCHER_P2(StatusIs, code, message_matcher, "has a matching status code and message") {
  const absl::Status& s = ::hanse::testing::GetStatus(arg);
  *result_listener << "status is " << s.ToString();
  return ::testing::Matches(code)(s.code()) &&
         ::testing::ExplainMatchResult(message_matcher, std::string(s.message()), result_listener);
}

MATCHER_P(IsOkAndHolds, value_matcher, "is OK and holds a matching value") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status().ToString();
    return false;
  }
  return ::testing::ExplainMatchResult(value_matcher, *arg, result_listener);
}

}  // namespace hanse::testing

#define HANSE_ASSERT_OK_AND_ASSIGN(lhs, expr)                         \
  auto HANSE_CONCAT_TEST_(statusor_, __LINE__) = (expr);              \
  ASSERT_TRUE(HANSE_CONCAT_TEST_(statusor_, __LINE__).ok())           \
      << HANSE_CONCAT_TEST_(statusor_, __LINE__).status().ToString(); \
  lhs = std::move(HANSE_CONCAT_TEST_(statusor_, __LINE__)).value()
#define HANSE_CONCAT_TEST_INNER_(a, b) a##b
#define HANSE_CONCAT_TEST_(a, b) HANSE_CONCAT_TEST_INNER_(a, b)

#endif  // HANSE_TESTS_SUPPORT_STATUS_MATCHERS_H_
