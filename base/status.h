// Status propagation macros. The project does not throw: every fallible call returns
// absl::Status or absl::StatusOr<T>, and these macros add context on the way up.
#ifndef HANSE_BASE_STATUS_H_
#define HANSE_BASE_STATUS_H_

#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace hanse {

// Returns `status` with `context` prepended to its message ("context: message").
inline absl::Status Annotate(const absl::Status& status, absl::string_view context) {
  if (status.ok() || context.empty()) return status;
  return absl::Status(status.code(), absl::StrCat(context, ": ", status.message()));
}

namespace internal {
inline absl::string_view Context() { return {}; }
inline absl::string_view Context(absl::string_view context) { return context; }
}  // namespace internal

}  // namespace hanse

#define HANSE_CONCAT_INNER_(a, b) a##b
#define HANSE_CONCAT_(a, b) HANSE_CONCAT_INNER_(a, b)

// HANSE_RETURN_IF_ERROR(expr) or HANSE_RETURN_IF_ERROR(expr, context) where context is any
// string (a literal, a path).
#define HANSE_RETURN_IF_ERROR(expr, ...)                                                \
  do {                                                                                  \
    ::absl::Status hanse_status_ = (expr);                                              \
    if (!hanse_status_.ok())                                                            \
      return ::hanse::Annotate(hanse_status_, ::hanse::internal::Context(__VA_ARGS__)); \
  } while (false)

#define HANSE_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr, ...)                                         \
  auto tmp = (expr);                                                                              \
  if (!tmp.ok()) return ::hanse::Annotate(tmp.status(), ::hanse::internal::Context(__VA_ARGS__)); \
  lhs = std::move(tmp).value()

// HANSE_ASSIGN_OR_RETURN(auto x, Foo()) or HANSE_ASSIGN_OR_RETURN(x, Foo(), "while ...").
#define HANSE_ASSIGN_OR_RETURN(lhs, expr, ...) \
  HANSE_ASSIGN_OR_RETURN_IMPL_(HANSE_CONCAT_(hanse_statusor_, __LINE__), lhs, expr, __VA_ARGS__)

#endif  // HANSE_BASE_STATUS_H_
