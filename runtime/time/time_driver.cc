#include "weft/runtime/time/time_driver.h"

#include <limits>
#include <vector>

#include "weft/runtime/reactor/reactor.h"

namespace weft::time {

namespace {
constexpr uint64_t kNoDeadline = std::numeric_limits<uint64_t>::max();
}

TimeDriver::TimeDriver(reactor::Reactor* reactor) : reactor_(reactor), start_(Clock::now()) {}

TimeDriver::~TimeDriver() = default;

uint64_t TimeDriver::to_ms_floor(Instant t) const {
  if (t <= start_) return 0;
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(t - start_).count());
}

uint64_t TimeDriver::deadline_ms(Instant t) const {
  if (t <= start_) return 0;
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t - start_).count();
  return static_cast<uint64_t>((ns + 999'999) / 1'000'000);  // round up: never fire early
}

bool TimeDriver::insert(TimerNode* node) {
  node->fired = false;
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Bring the wheel up to date first so that "already due" is judged against the clock.
    if (node->deadline_ms <= now_ms()) return false;
    if (!wheel_.insert(node)) return false;
    wake = node->deadline_ms < sleeping_until_;
    if (wake) sleeping_until_ = node->deadline_ms;
  }
  if (wake) reactor_->wake();
  return true;
}

void TimeDriver::remove(TimerNode* node) {
  std::lock_guard<std::mutex> lock(mu_);
  wheel_.remove(node);
}

size_t TimeDriver::process() {
  // Wakers are collected under the lock and woken after it: waking may schedule tasks that
  // immediately register new timers. The buffer is per thread to avoid allocating per turn.
  thread_local std::vector<Waker> due;
  {
    std::lock_guard<std::mutex> lock(mu_);
    wheel_.poll(now_ms(), [](detail::TimerEntry* e) {
      auto* node = static_cast<TimerNode*>(e);
      node->fired = true;
      due.push_back(std::move(node->waker));
    });
  }
  size_t n = due.size();
  for (Waker& w : due) std::move(w).wake();
  due.clear();
  return n;
}

int64_t TimeDriver::begin_park(int64_t max_ns) {
  std::lock_guard<std::mutex> lock(mu_);
  std::optional<uint64_t> next = wheel_.next_expiration();
  uint64_t until = kNoDeadline;
  int64_t timeout = max_ns;
  if (next) {
    // Sleep exactly until the millisecond boundary of the deadline: waking earlier wastes a
    // turn, later makes the timer late.
    Instant wake_at = start_ + std::chrono::milliseconds(*next);
    int64_t wait = std::chrono::duration_cast<std::chrono::nanoseconds>(wake_at - Clock::now())
                       .count();
    if (wait < 0) wait = 0;
    if (max_ns < 0 || wait < max_ns) timeout = wait;
    until = *next;
  }
  sleeping_until_ = until;
  return timeout;
}

void TimeDriver::end_park() {
  std::lock_guard<std::mutex> lock(mu_);
  sleeping_until_ = 0;
}

size_t TimeDriver::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return wheel_.size();
}

}  // namespace weft::time
