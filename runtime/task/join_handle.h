// JoinHandle<T>: the handle `spawn` returns. Awaiting it gives the task's result, or an error
// when the task was cancelled or threw (Tokio's JoinError):
//
//   weft::JoinHandle<int> h = weft::spawn(compute());
//   h.abort();                  // cancel: the frame is destroyed at its suspension point
//   absl::StatusOr<int> r = co_await h;
//   // CANCELLED if aborted; INTERNAL if it threw (the message has what())
//
// Dropping a JoinHandle detaches the task (it keeps running). Await a handle at most once.
// Cancel-safe: destroying a task that awaits a JoinHandle unregisters it; the joined task is
// unaffected.
#pragma once

#include <coroutine>
#include <exception>
#include <stdexcept>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weft/runtime/scheduler/scheduler.h"
#include "weft/runtime/task/task.h"
#include "weft/runtime/task/waker.h"

namespace weft {

namespace detail {
absl::Status join_error(const std::exception_ptr& e);

// Suspends until `task` completes (any result type). Cancel-safe: unregisters on destruction.
struct CompletionAwaiter {
  TaskHeader* task;
  TaskHeader* waiting = nullptr;  // us, while registered
  bool await_ready() const noexcept { return task->is_complete(); }
  bool await_suspend(std::coroutine_handle<> h) {
    Waker w = Waker::current(h);
    uint32_t gen = w.generation();
    TaskHeader* me = w.release();
    if (!task->set_join_waiter(me, gen)) {
      me->unref();
      return false;  // finished meanwhile: resume at once
    }
    waiting = me;
    return true;
  }
  void await_resume() { waiting = nullptr; }  // complete() took the registration
  CompletionAwaiter(TaskHeader* t) : task(t) {}
  CompletionAwaiter(CompletionAwaiter&& o) noexcept
      : task(o.task), waiting(std::exchange(o.waiting, nullptr)) {}
  ~CompletionAwaiter() {
    if (waiting != nullptr) task->clear_join_waiter(waiting);
  }
};
}  // namespace detail

template <class T>
class JoinHandle {
 public:
  using Output = std::conditional_t<std::is_void_v<T>, absl::Status, absl::StatusOr<T>>;

  JoinHandle() = default;
  explicit JoinHandle(detail::TaskHeader* task) : task_(task) {}  // adopts a reference
  JoinHandle(JoinHandle&& o) noexcept : task_(std::exchange(o.task_, nullptr)) {}
  JoinHandle& operator=(JoinHandle&& o) noexcept {
    if (this != &o) {
      reset();
      task_ = std::exchange(o.task_, nullptr);
    }
    return *this;
  }
  ~JoinHandle() { reset(); }

  // Requests cancellation; the task is destroyed the next time a worker picks it up (at once
  // if it is idle). No effect on a finished task.
  void abort() const {
    if (task_ != nullptr &&
        task_->transition_to_notified_and_cancel() == detail::TaskHeader::Wake::kSubmit) {
      task_->scheduler->schedule(task_, false);
    }
  }
  bool is_finished() const { return task_ != nullptr && task_->is_complete(); }
  bool valid() const { return task_ != nullptr; }

  // For Runtime::block_on: the finished task's value, rethrowing its exception.
  T take_or_throw() {
    if (!task_->output_stored) throw std::runtime_error("weft: task was cancelled");
    detail::Outcome<T>* out = detail::outcome_of<T>(task_);
    if (out->exception) std::rethrow_exception(out->exception);
    if constexpr (!std::is_void_v<T>) return std::move(*out->value);
  }
  detail::TaskHeader* raw() const { return task_; }

  auto operator co_await() noexcept {
    struct Awaiter : detail::CompletionAwaiter {
      Output await_resume() {
        detail::CompletionAwaiter::await_resume();
        return JoinHandle::output(task);
      }
    };
    return Awaiter{{task_}};
  }

 private:
  static Output output(detail::TaskHeader* task) {
    if (!task->output_stored) return absl::CancelledError("task was cancelled");
    detail::Outcome<T>* out = detail::outcome_of<T>(task);
    if (out->exception) return detail::join_error(out->exception);
    if constexpr (std::is_void_v<T>) {
      return absl::OkStatus();
    } else {
      return std::move(*out->value);
    }
  }
  void reset() {
    if (task_ != nullptr) std::exchange(task_, nullptr)->unref();
  }
  detail::TaskHeader* task_ = nullptr;
};

}  // namespace weft
