#include "weft/runtime/time/sleep.h"

#include "weft/runtime/scheduler/driver.h"
#include "weft/runtime/scheduler/scheduler.h"
#include "weft/runtime/task/coop.h"

namespace weft::time {

bool Sleep::await_ready() {
  if (Clock::now() < deadline_) return false;
  if (coop::try_consume()) return true;
  yield_ = true;
  return false;
}

bool Sleep::await_suspend(std::coroutine_handle<> h) {
  if (yield_) {
    yield_ = false;
    coop::yield_current(h);
    return true;
  }
  TimeDriver& driver = detail::tls_context.scheduler->driver().time();
  node_.waker = Waker::current(h);
  node_.deadline_ms = driver.deadline_ms(deadline_);
  if (!driver.insert(&node_)) {
    node_.waker = Waker();
    return false;  // already due: continue at once
  }
  driver_ = &driver;
  return true;
}

void Sleep::unregister() {
  if (driver_ != nullptr) {
    driver_->remove(&node_);
    driver_ = nullptr;
  }
  node_.waker = Waker();
}

}  // namespace weft::time
