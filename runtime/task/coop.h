// Cooperative scheduling budget (as Tokio's coop): a task that keeps finding its resources
// ready would otherwise never suspend and starve every other task on its worker.
//
// Each poll of a task starts with kBudget units. Every runtime resource operation that
// completes without suspending (a socket read that found data, a channel recv that found a
// message, an elapsed timer) spends one unit first:
//
//   bool await_ready() { if (!coop::try_consume()) return false; /* budget spent: suspend */ ... }
//   void await_suspend(h) { if (coop::exhausted()) { coop::yield_current(h); return; } ... }
//
// When the budget is gone the operation reports "not ready" and the task yields: it goes to the
// back of its run queue and resumes at the same operation later.
#pragma once

#include <coroutine>
#include <cstdint>

namespace weft::coop {

// 128 as in Tokio: large enough that a busy task rarely yields needlessly, small enough that
// a worker cycles through its queue many times per millisecond.
inline constexpr int kBudget = 128;

namespace detail {
struct Budget {
  int remaining = -1;  // < 0: not inside a runtime task (no limit)
  uint64_t forced_yields = 0;
};
inline thread_local Budget tls_budget;
}  // namespace detail

// Spends one unit; false when the budget is exhausted and the caller must yield instead.
inline bool try_consume() {
  auto& b = detail::tls_budget;
  if (b.remaining < 0) return true;
  if (b.remaining == 0) return false;
  --b.remaining;
  return true;
}

inline bool exhausted() { return detail::tls_budget.remaining == 0; }

// Suspends the current task at `h` and puts it at the back of the run queue. Counts a forced
// yield for the runtime's metrics.
void yield_current(std::coroutine_handle<> h);

// Runtime internals: set the budget before polling a task / clear it after.
inline void reset(int units = kBudget) { detail::tls_budget.remaining = units; }
inline void unlimited() { detail::tls_budget.remaining = -1; }

}  // namespace weft::coop
