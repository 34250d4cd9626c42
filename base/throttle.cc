#include "base/throttle.h"

#include <algorithm>

#include "absl/time/clock.h"

namespace hanse {

bool Throttle::Allow(absl::string_view key, std::uint64_t* held_back) {
  return Allow(key, absl::Now(), held_back);
}

bool Throttle::Allow(absl::string_view key, absl::Time now, std::uint64_t* held_back) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= max_keys_) {
      auto oldest = std::min_element(
          entries_.begin(), entries_.end(),
          [](const auto& a, const auto& b) { return a.second.last < b.second.last; });
      entries_.erase(oldest);
    }
    it = entries_.emplace(std::string(key), Entry{}).first;
  }
  Entry& e = it->second;
  if (now - e.last < period_) {
    ++e.held_back;
    return false;
  }
  *held_back = e.held_back;
  e.held_back = 0;
  e.last = now;
  return true;
}

}  // namespace hanse
