// timeout(d, task): runs `task`, giving up after `d`.
//
//   absl::StatusOr<Response> r = co_await weft::time::timeout(100ms, fetch(req));
//   if (absl::IsDeadlineExceeded(r.status())) { ... }
//
// On time: the task's value (an exception it threw is rethrown here). Late: DEADLINE_EXCEEDED,
// and the inner task has been destroyed (its destructors ran) before timeout returns.
// The inner task runs as a child task of the current runtime (it reuses the Task's own frame:
// no extra allocation). Its first poll runs at once, on this thread; only if it then waits does
// the timer start and the caller suspend. Cancel-safe: cancelling the awaiting task cancels the
// inner one before its frame goes away.
#pragma once

#include <chrono>
#include <string>
#include <type_traits>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "weft/runtime/runtime.h"
#include "weft/runtime/task/race.h"
#include "weft/runtime/time/sleep.h"

namespace weft::time {

// The result of timeout(d, Task<T>): the task's own Status-like result where it has one (so a
// task returning absl::Status or absl::StatusOr<U> gives the same type, DEADLINE_EXCEEDED
// merged into it), absl::Status for void, absl::StatusOr<T> otherwise.
namespace detail {
template <class T>
struct TimeoutResultFor {
  using type = absl::StatusOr<T>;
};
template <>
struct TimeoutResultFor<void> {
  using type = absl::Status;
};
template <>
struct TimeoutResultFor<absl::Status> {
  using type = absl::Status;
};
template <class U>
struct TimeoutResultFor<absl::StatusOr<U>> {
  using type = absl::StatusOr<U>;
};
}  // namespace detail
template <class T>
using TimeoutResult = typename detail::TimeoutResultFor<T>::type;

namespace detail {
// Waits until either `task` completes or `sleep` elapses.
struct TaskOrSleep {
  weft::detail::CompletionAwaiter join;
  Sleep* sleep;
  bool await_ready() { return join.await_ready() || sleep->is_elapsed(); }
  bool await_suspend(std::coroutine_handle<> h) {
    if (!sleep->await_suspend(h)) return false;  // elapsed meanwhile
    return join.await_suspend(h);
  }
  void await_resume() {}
};
}  // namespace detail

template <class T>
Task<TimeoutResult<T>> timeout_at(Instant deadline, Task<T> task) {
  // The task's first poll runs right here (as Tokio's Timeout polls its future in place): one
  // that finishes without waiting costs no queue round trip and no timer.
  std::coroutine_handle<weft::detail::Promise<T>> frame = task.release();
  weft::detail::TaskHeader* raw = weft::detail::spawn_polled_raw(
      weft::detail::current_scheduler_or_throw(), frame, &weft::detail::TaskVtableFor<T>::kVtable);
  if (raw == nullptr) {
    Task<T> finished(frame);  // owns the frame again: destroyed when this returns
    if constexpr (std::is_void_v<T>) {
      frame.promise().take();
      co_return absl::OkStatus();
    } else {
      co_return frame.promise().take();
    }
  }
  JoinHandle<T> h(raw);
  weft::detail::AbortOnDrop<1> guard({h.raw()});
  Sleep sleep = sleep_until(deadline);
  co_await detail::TaskOrSleep{weft::detail::CompletionAwaiter(h.raw()), &sleep};
  if (h.is_finished()) {
    guard.release();
    if constexpr (std::is_void_v<T>) {
      h.take_or_throw();
      co_return absl::OkStatus();
    } else {
      co_return h.take_or_throw();
    }
  }
  h.abort();
  guard.release();
  co_await weft::detail::CompletionAwaiter(h.raw());  // its destructors have run after this
  co_return absl::DeadlineExceededError("deadline exceeded");
}

template <class T>
Task<TimeoutResult<T>> timeout(Duration d, Task<T> task) {
  return timeout_at(Clock::now() + d, std::move(task));
}

}  // namespace weft::time
