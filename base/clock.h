// The one source of time. Production code asks a Clock it was given; only the composition roots
// (the `hanse` command, Node::Start without a clock) pick Clock::Real(). Tests inject a
// SimulatedClock and move it: a duty due in 30 days is tested by advancing 30 days.
#ifndef HANSE_BASE_CLOCK_H_
#define HANSE_BASE_CLOCK_H_

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "absl/time/time.h"

namespace hanse {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
  // Blocks until Now() >= `t` (a SimulatedClock: until it is advanced that far).
  virtual void SleepUntil(absl::Time t) const = 0;
  void SleepFor(absl::Duration d) const { SleepUntil(Now() + d); }

  // The process-wide real clock.
  static Clock& Real();
};

// A clock that only moves when told to; sleepers wake when it passes their time.
class SimulatedClock final : public Clock {
 public:
  explicit SimulatedClock(absl::Time start) : now_(start) {}
  absl::Time Now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  void SleepUntil(absl::Time t) const override {
    std::unique_lock lock(mu_);
    moved_.wait(lock, [&] { return now_ >= t; });
  }
  void Advance(absl::Duration d) {
    {
      std::lock_guard lock(mu_);
      now_ += d;
    }
    moved_.notify_all();
  }
  void Set(absl::Time t) {
    {
      std::lock_guard lock(mu_);
      now_ = t;
    }
    moved_.notify_all();
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable moved_;
  absl::Time now_;
};

// Measures real elapsed time for pacing a transport (a rate limit, a progress interval, a
// round trip), which is not a fact the node decides anything on.
class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  absl::Duration Elapsed() const {
    return absl::FromChrono(std::chrono::steady_clock::now() - start_);
  }
  void Reset() { start_ = std::chrono::steady_clock::now(); }

 private:
  std::chrono::steady_clock::time_point start_;
};

// A deadline for a transport (a gRPC call, a connection wait) `d` from now. Transports measure
// real time whatever clock the node's logic runs on, so this is the one other place that reads
// it.
std::chrono::system_clock::time_point TransportDeadline(absl::Duration d);

}  // namespace hanse

#endif  // HANSE_BASE_CLOCK_H_
