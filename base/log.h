// Structured logging behind a small facade over spdlog. Text lines for people by default,
// JSON lines for machines. Log DIDs and request ids as fields; never keys, tokens or payloads.
#ifndef HANSE_BASE_LOG_H_
#define HANSE_BASE_LOG_H_

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hanse::log {

enum class Format { kText, kJson };
enum class Level { kDebug, kInfo, kWarn, kError };

absl::StatusOr<Format> ParseFormat(absl::string_view name);
absl::StatusOr<Level> ParseLevel(absl::string_view name);

// Configures the process logger (stderr). Safe to call more than once.
void Init(Format format, Level level);

using Field = std::pair<absl::string_view, std::string>;

void Write(Level level, absl::string_view msg, std::initializer_list<Field> fields);

// Renders one line; exposed for tests.
std::string Render(Format format, absl::string_view msg, std::initializer_list<Field> fields);

inline void Debug(absl::string_view msg, std::initializer_list<Field> fields = {}) {
  Write(Level::kDebug, msg, fields);
}
inline void Info(absl::string_view msg, std::initializer_list<Field> fields = {}) {
  Write(Level::kInfo, msg, fields);
}
inline void Warn(absl::string_view msg, std::initializer_list<Field> fields = {}) {
  Write(Level::kWarn, msg, fields);
}
inline void Error(absl::string_view msg, std::initializer_list<Field> fields = {}) {
  Write(Level::kError, msg, fields);
}

}  // namespace hanse::log

#endif  // HANSE_BASE_LOG_H_
