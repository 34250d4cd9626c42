#include "base/log.h"

#include <atomic>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/clock.h"
#include "nlohmann/json.hpp"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace hanse::log {
namespace {

std::atomic<Format> g_format{Format::kText};

spdlog::logger& Logger() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto l = std::make_shared<spdlog::logger>("hanse",
                                              std::make_shared<spdlog::sinks::stderr_sink_mt>());
    l->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %v");
    l->set_level(spdlog::level::info);
    l->flush_on(spdlog::level::debug);
    return l;
  }();
  return *logger;
}

spdlog::level::level_enum ToSpd(Level level) {
  switch (level) {
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarn:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

bool NeedsQuotes(absl::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<Format> ParseFormat(absl::string_view name) {
  if (name == "text") return Format::kText;
  if (name == "json") return Format::kJson;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown log format \"", name, "\" (expected text or json)"));
}

absl::StatusOr<Level> ParseLevel(absl::string_view name) {
  if (name == "debug") return Level::kDebug;
  if (name == "info") return Level::kInfo;
  if (name == "warn") return Level::kWarn;
  if (name == "error") return Level::kError;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown log level \"", name, "\" (expected debug, info, warn or error)"));
}

void Init(Format format, Level level) {
  g_format = format;
  auto& l = Logger();
  if (format == Format::kJson) {
    // The whole line is rendered by Render(); spdlog only adds the newline.
    l.set_pattern("%v");
  } else {
    l.set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %v");
  }
  l.set_level(ToSpd(level));
}

std::string Render(Format format, absl::string_view msg, std::initializer_list<Field> fields) {
  if (format == Format::kJson) {
    // Timestamp and level are added by Write for JSON; keep field order stable.
    nlohmann::ordered_json j;
    j["msg"] = std::string(msg);
    for (const auto& [k, v] : fields) j[std::string(k)] = v;
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  std::string line(msg);
  for (const auto& [k, v] : fields) {
    absl::StrAppend(&line, " ", k, "=");
    if (NeedsQuotes(v)) {
      absl::StrAppend(
          &line, nlohmann::json(v).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    } else {
      absl::StrAppend(&line, v);
    }
  }
  return line;
}

void Write(Level level, absl::string_view msg, std::initializer_list<Field> fields) {
  auto& l = Logger();
  auto spd = ToSpd(level);
  if (!l.should_log(spd)) return;
  if (g_format.load() == Format::kJson) {
    nlohmann::ordered_json j;
    j["ts"] =
        absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", hanse::Clock::Real().Now(), absl::UTCTimeZone());
    j["level"] = std::string(spdlog::level::to_string_view(spd).data());
    j["msg"] = std::string(msg);
    for (const auto& [k, v] : fields) j[std::string(k)] = v;
    l.log(spd, "{}", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  } else {
    l.log(spd, "{}", Render(Format::kText, msg, fields));
  }
}

}  // namespace hanse::log
