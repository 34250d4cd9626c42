#include "base/clock.h"

#include "absl/time/clock.h"

namespace hanse {
namespace {

class RealClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
  void SleepUntil(absl::Time t) const override {
    absl::Duration d = t - absl::Now();
    if (d > absl::ZeroDuration()) absl::SleepFor(d);
  }
};

}  // namespace

Clock& Clock::Real() {
  static RealClock* clock = new RealClock();
  return *clock;
}

std::chrono::system_clock::time_point TransportDeadline(absl::Duration d) {
  return absl::ToChronoTime(absl::Now() + d);
}

}  // namespace hanse
