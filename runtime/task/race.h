// Building blocks for timeout, select and JoinSet: awaiting "whichever comes first" of several
// registrations made in one poll. Because a Waker only wakes the poll it was made in (see
// header.h), the task is resumed exactly once however many of them fire; the destructors of the
// awaiters below then unregister whatever did not fire.
#pragma once

#include <array>
#include <coroutine>
#include <cstddef>
#include <utility>

#include "weft/runtime/task/join_handle.h"

namespace weft::detail {

// Suspends until any of `tasks` completes. Cancel-safe.
template <std::size_t N>
struct AnyCompletion {
  CompletionAwaiter* awaiters[N];
  bool await_ready() const noexcept {
    for (auto* a : awaiters) {
      if (a->await_ready()) return true;
    }
    return false;
  }
  bool await_suspend(std::coroutine_handle<> h) {
    for (auto* a : awaiters) {
      if (!a->await_suspend(h)) return false;  // one finished meanwhile: resume at once
    }
    return true;
  }
  void await_resume() const noexcept {}
};

// Cancels the tasks when destroyed unless released: a combinator whose caller is cancelled must
// not leave its child tasks running. Synchronously (cancel_now): when the destructor returns
// every child's destructors have run, so children may borrow from the caller's frame.
template <std::size_t N>
class AbortOnDrop {
 public:
  explicit AbortOnDrop(std::array<TaskHeader*, N> tasks) : tasks_(tasks) {}
  AbortOnDrop(const AbortOnDrop&) = delete;
  ~AbortOnDrop() {
    if (!armed_) return;
    for (TaskHeader* t : tasks_) cancel_now(t);
  }
  void release() { armed_ = false; }

 private:
  std::array<TaskHeader*, N> tasks_;
  bool armed_ = true;
};

}  // namespace weft::detail
