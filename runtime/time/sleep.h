// sleep / sleep_until: suspend the current task until a point in time.
//
//   co_await weft::time::sleep(std::chrono::milliseconds(10));
//   co_await weft::time::sleep_until(deadline);
//
// Never fires early; with a parked worker, fires within about 1 ms after the deadline.
// A Sleep object can be reset and awaited again (interval does this).
// Cancel-safe: destroying a pending Sleep unregisters its timer.
#pragma once

#include <coroutine>

#include "weft/runtime/time/time_driver.h"

namespace weft::time {

class Sleep {
 public:
  explicit Sleep(Instant deadline) : deadline_(deadline) {}
  Sleep(const Sleep&) = delete;
  Sleep& operator=(const Sleep&) = delete;
  ~Sleep() { unregister(); }

  Instant deadline() const { return deadline_; }
  bool is_elapsed() const { return Clock::now() >= deadline_; }
  // Changes the deadline; a pending wait is unregistered first.
  void reset(Instant deadline) {
    unregister();
    deadline_ = deadline;
  }

  bool await_ready();
  bool await_suspend(std::coroutine_handle<> h);
  void await_resume() { unregister(); }

 private:
  void unregister();
  Instant deadline_;
  TimeDriver* driver_ = nullptr;  // set while registered
  bool yield_ = false;
  TimerNode node_;
};

inline Sleep sleep_until(Instant deadline) { return Sleep(deadline); }
inline Sleep sleep(Duration d) { return Sleep(Clock::now() + d); }

}  // namespace weft::time
