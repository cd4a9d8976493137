// The runtime's clock: std::chrono::steady_clock (CLOCK_MONOTONIC), and a cheap coarse reading
// of the same clock for code that only needs to know roughly what time it is.
//
//   weft::time::Instant t = weft::time::Clock::now();             // exact (~25 ns in a VM)
//   weft::time::Instant c = weft::time::coarse_now();             // ~5 ns, see below
//   weft::time::Instant n = weft::time::now_within(window / 100);  // coarse if precise enough
//
// coarse_now() is CLOCK_MONOTONIC_COARSE: the same clock as of its last tick, so it is never
// ahead of Clock::now() and at most coarse_resolution() behind (4 ms with HZ=250). Rate limits
// and retry budgets, whose windows are long next to that, read it on every call.
#pragma once

#include <chrono>
#include <ctime>
#include <type_traits>

namespace weft::time {

using Clock = std::chrono::steady_clock;
using Instant = Clock::time_point;
using Duration = Clock::duration;

static_assert(std::is_same_v<Clock::duration, std::chrono::nanoseconds>,
              "weft::time assumes steady_clock counts nanoseconds of CLOCK_MONOTONIC");

inline Instant coarse_now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return Instant(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
}

// How far coarse_now() may lag behind Clock::now().
inline Duration coarse_resolution() {
  static const Duration res = [] {
    timespec ts;
    if (clock_getres(CLOCK_MONOTONIC_COARSE, &ts) != 0) return Duration::max();
    return Duration(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
  }();
  return res;
}

// The current time with an error of at most `tolerance`: coarse_now() when its resolution is
// within it, Clock::now() otherwise.
inline Instant now_within(Duration tolerance) {
  return coarse_resolution() <= tolerance ? coarse_now() : Clock::now();
}

}  // namespace weft::time
