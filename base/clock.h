// The one source of time. Production code asks a Clock; tests inject a SimulatedClock.
#ifndef HANSE_BASE_CLOCK_H_
#define HANSE_BASE_CLOCK_H_

#include <mutex>

#include "absl/time/time.h"

namespace hanse {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;

  // The process-wide real clock.
  static Clock& Real();
};

// A clock that only moves when told to.
class SimulatedClock final : public Clock {
 public:
  explicit SimulatedClock(absl::Time start) : now_(start) {}
  absl::Time Now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    std::lock_guard lock(mu_);
    now_ += d;
  }
  void Set(absl::Time t) {
    std::lock_guard lock(mu_);
    now_ = t;
  }

 private:
  mutable std::mutex mu_;
  absl::Time now_;
};

}  // namespace hanse

#endif  // HANSE_BASE_CLOCK_H_
