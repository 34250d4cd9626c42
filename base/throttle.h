// One log line per condition and period: a peer that stays unreachable, or a stranger that keeps
// knocking, is reported once in a while with how often it happened, instead of on every attempt.
#ifndef HANSE_BASE_THROTTLE_H_
#define HANSE_BASE_THROTTLE_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace hanse {

class Throttle {
 public:
  // At most `max_keys` conditions are tracked; past that, the oldest-reported is forgotten.
  explicit Throttle(absl::Duration period, size_t max_keys = 1024)
      : period_(period), max_keys_(max_keys) {}

  // True when a line for `key` may be written at `now`. `*held_back` is then the number of
  // occurrences since the last line that were not written.
  bool Allow(absl::string_view key, absl::Time now, std::uint64_t* held_back);
  bool Allow(absl::string_view key, std::uint64_t* held_back);

 private:
  struct Entry {
    absl::Time last = absl::InfinitePast();
    std::uint64_t held_back = 0;
  };
  const absl::Duration period_;
  const size_t max_keys_;
  std::mutex mu_;
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace hanse

#endif  // HANSE_BASE_THROTTLE_H_
