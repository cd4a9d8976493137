// Driver: the reactor (epoll) and the time driver of one runtime, driven by one thread at a time.
//
// A worker with nothing to do tries to become the driver (try_lock). The winner parks in
// epoll_wait until I/O, the next timer or an unpark(); the others sleep on their own condition
// variables. Busy workers still turn the driver without blocking every few dozen tasks, so I/O
// and timers are never starved by a full run queue.
#pragma once

#include <atomic>
#include <mutex>

#include "absl/status/status.h"
#include "weft/runtime/reactor/reactor.h"
#include "weft/runtime/time/time_driver.h"

namespace weft::detail {

class Driver {
 public:
  Driver() : time_(&reactor_) {}
  absl::Status init_status() const { return reactor_.init_status(); }

  reactor::Reactor& reactor() { return reactor_; }
  time::TimeDriver& time() { return time_; }

  // Only one thread drives at a time.
  bool try_lock() { return mu_.try_lock(); }
  void unlock() { mu_.unlock(); }

  // With the driver held: wait for I/O, a timer or unpark() for at most max_ms (-1: no limit;
  // 0: only look), then dispatch readiness and fire due timers.
  void park(int max_ms) {
    int64_t timeout = time_.begin_park(max_ms < 0 ? -1 : int64_t{max_ms} * 1'000'000);
    if (timeout != 0) {
      // Parked -> a concurrent unpark() must write the eventfd. A pending unpark makes this a
      // non-blocking turn.
      if (state_.exchange(kParked, std::memory_order_acq_rel) == kNotified) timeout = 0;
    }
    reactor_.turn(timeout, &state_, kEmpty);
    time_.end_park();
    time_.process();
  }

  // Wakes the thread parked in park(), or makes its next park() return at once.
  void unpark() {
    if (state_.exchange(kNotified, std::memory_order_acq_rel) == kParked) reactor_.wake();
  }

 private:
  enum : int { kEmpty, kParked, kNotified };
  reactor::Reactor reactor_;
  time::TimeDriver time_;
  std::mutex mu_;
  std::atomic<int> state_{kEmpty};
};

}  // namespace weft::detail
