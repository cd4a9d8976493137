// interval(period): a ticker. The first tick completes at once, then one per period.
//
//   weft::time::Interval ticker = weft::time::interval(std::chrono::seconds(1));
//   for (;;) { co_await ticker.tick(); report(); }
//
// When ticks are missed (the task was busy longer than a period), MissedTickBehavior decides,
// as in Tokio: kBurst (default) fires the missed ticks back to back until caught up; kDelay
// restarts the schedule from now; kSkip jumps to the next tick on the original schedule.
// Cancel-safe: a cancelled tick() leaves the schedule unchanged (the same tick is awaited again).
#pragma once

#include "weft/runtime/task/task.h"
#include "weft/runtime/time/sleep.h"

namespace weft::time {

enum class MissedTickBehavior { kBurst, kDelay, kSkip };

class Interval {
 public:
  Interval(Instant start, Duration period) : next_(start), period_(period), sleep_(start) {}

  void set_missed_tick_behavior(MissedTickBehavior b) { behavior_ = b; }
  Duration period() const { return period_; }

  // Completes at the next tick; returns the instant that tick was scheduled for.
  Task<Instant> tick() {
    Instant scheduled = next_;
    sleep_.reset(scheduled);
    co_await sleep_;
    Instant now = Clock::now();
    next_ = following(scheduled, now);
    co_return scheduled;
  }

  // Restarts the schedule: the next tick is one period from now.
  void reset() { next_ = Clock::now() + period_; }

 private:
  Instant following(Instant scheduled, Instant now) const {
    Instant next = scheduled + period_;
    if (next > now) return next;  // on time
    switch (behavior_) {
      case MissedTickBehavior::kBurst:
        return next;
      case MissedTickBehavior::kDelay:
        return now + period_;
      case MissedTickBehavior::kSkip: {
        auto missed = (now - scheduled) / period_;
        return scheduled + (missed + 1) * period_;
      }
    }
    return next;
  }

  Instant next_;
  Duration period_;
  MissedTickBehavior behavior_ = MissedTickBehavior::kBurst;
  Sleep sleep_;
};

inline Interval interval(Duration period) { return Interval(Clock::now(), period); }
inline Interval interval_at(Instant start, Duration period) { return Interval(start, period); }

}  // namespace weft::time
