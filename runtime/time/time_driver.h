// The time driver: the runtime's timer wheel behind a mutex, measured on the monotonic clock.
//
// Sleep, interval and timeout register a TimerNode (a wheel entry plus the waker to call). The
// thread that parks in the driver sleeps in epoll_wait until the earliest deadline; a timer
// registered with an earlier deadline than the one the parked thread is sleeping until wakes it
// (an eventfd write), any other registration costs no syscall.
//
// Deadlines round up to the next millisecond and fire once the clock has passed them, so a
// timer never fires early; it fires well within 1 ms of its deadline when a thread is parked
// (epoll_pwait2 sleeps with nanosecond precision).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>

#include "weft/runtime/task/waker.h"
#include "weft/runtime/time/clock.h"
#include "weft/runtime/time/wheel.h"

namespace weft::reactor {
class Reactor;
}

namespace weft::time {

// A registered timer: fires by waking `waker`. Owned by the awaiter that embeds it.
struct TimerNode : detail::TimerEntry {
  Waker waker;
  bool fired = false;  // guarded by the driver's mutex
};

class TimeDriver {
 public:
  explicit TimeDriver(reactor::Reactor* reactor);
  ~TimeDriver();

  // Milliseconds since the driver started: the wheel's clock.
  uint64_t now_ms() const { return to_ms_floor(Clock::now()); }
  uint64_t deadline_ms(Instant t) const;

  // Registers `node` with node->deadline_ms set. Returns false (not registered) when the
  // deadline has already passed.
  bool insert(TimerNode* node);
  // Unregisters `node` if it has not fired. Safe to call in any state.
  void remove(TimerNode* node);
  // Fires every due timer (wakes their tasks). Returns how many fired.
  size_t process();
  // How long a parking thread may sleep (ns, -1 = no timer), capped by `max_ns` (-1: none), and
  // records that it is sleeping until then so that an earlier insert wakes it.
  int64_t begin_park(int64_t max_ns);
  void end_park();
  size_t size() const;

 private:
  uint64_t to_ms_floor(Instant t) const;
  reactor::Reactor* reactor_;
  Instant start_;
  mutable std::mutex mu_;
  detail::TimerWheel wheel_;
  // Under mu_: the deadline a parked thread sleeps until; 0 while nobody is parked (then a new
  // timer needs no wake-up: it is seen before the next park).
  uint64_t sleeping_until_ = 0;
};

}  // namespace weft::time
