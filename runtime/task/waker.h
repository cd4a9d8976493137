// Waker: a handle that makes a suspended task runnable again.
//
// Every awaiter that waits for a resource (socket readiness, timer, channel, lock) does the same
// three things in await_suspend(h):
//
//   waker_ = Waker::current(h);          // this task, to be resumed at h
//   resource.register(&waker_) under its lock, re-checking readiness;
//   return;                              // suspend
//
// and unregisters in its destructor, because cancellation destroys the frame at that point.
// The resource calls `waker.wake()` (or `wake_by_ref()`) when ready, from any thread.
//
// A Waker holds a reference to the task's header, so it stays valid (waking a finished or
// destroyed task does nothing) however long the resource keeps it. It also remembers the poll
// it was made in: once the task has been resumed, older wakers are stale and waking them does
// nothing (see header.h), so an awaiter registered in several places is resumed once.
#pragma once

#include <coroutine>
#include <utility>

#include "weft/runtime/task/header.h"

namespace weft {

class Waker {
 public:
  Waker() = default;
  Waker(const Waker& o) : task_(o.task_), gen_(o.gen_) {
    if (task_ != nullptr) task_->ref();
  }
  Waker(Waker&& o) noexcept : task_(std::exchange(o.task_, nullptr)), gen_(o.gen_) {}
  Waker& operator=(Waker o) noexcept {
    std::swap(task_, o.task_);
    std::swap(gen_, o.gen_);
    return *this;
  }
  ~Waker() {
    if (task_ != nullptr) task_->unref();
  }

  // The task running on this thread, to be resumed at `resume_at` (the innermost coroutine
  // that is suspending). Only valid inside await_suspend of a coroutine run by a weft runtime.
  static Waker current(std::coroutine_handle<> resume_at);
  // Makes this handle `current(resume_at)`, reusing its reference when it already names the
  // running task (a resource that keeps its waker between waits pays no reference count).
  void assign_current(std::coroutine_handle<> resume_at);

  // Wakes the task and releases this handle.
  void wake() &&;
  // Wakes the task and keeps the handle (for wakers that fire more than once).
  void wake_by_ref() const;

  bool valid() const { return task_ != nullptr; }
  explicit operator bool() const { return valid(); }
  // Whether both handles wake the same task (lets a resource skip replacing an equal waker).
  bool will_wake(const Waker& o) const { return task_ == o.task_ && gen_ == o.gen_; }

  // For the runtime: adopt/give up the raw reference.
  static Waker adopt(detail::TaskHeader* task, uint32_t gen) {
    Waker w;
    w.task_ = task;
    w.gen_ = gen;
    return w;
  }
  detail::TaskHeader* release() { return std::exchange(task_, nullptr); }
  detail::TaskHeader* task() const { return task_; }
  uint32_t generation() const { return gen_; }

 private:
  detail::TaskHeader* task_ = nullptr;
  uint32_t gen_ = 0;
};

}  // namespace weft
