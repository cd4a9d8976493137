// spawn_blocking: runs a blocking function (file I/O, getaddrinfo, a CPU-heavy call) on the
// runtime's blocking pool instead of a worker, and gives a JoinHandle for its result, as
// tokio::task::spawn_blocking does.
//
//   weft::JoinHandle<std::string> h =
//       weft::spawn_blocking([path] { return read_whole_file(path); });
//   absl::StatusOr<std::string> text = co_await h;   // INTERNAL if the function threw
//
// How: spawn_blocking spawns a small Task that submits `f` to the pool of the runtime it runs
// on and suspends; the pool thread runs `f`, stores its value (or exception) in a state shared
// with the Task, and wakes the Task, which returns the value through the JoinHandle.
//
// Invariants:
//   1. The job and the awaiter each own a reference to the shared state (std::shared_ptr), so
//      either may go first: a Task aborted while `f` runs leaves the job a valid place to put
//      its result, which is then dropped on the pool thread.
//   2. `done` and `waker` change only under the state's mutex. The job sets `done` and takes
//      the waker in one step; the awaiter registers its waker only while `done` is false, and
//      its destructor (cancellation) takes the waker back. So the job wakes the Task at most
//      once, and never after the Task let go of the wait.
//   3. The value and the exception are written before `done` and read after it (both under the
//      mutex's ordering), by one thread each.
//
// Cancellation, as in Tokio: JoinHandle::abort() cannot stop a function that is already
// running: it runs to completion on its pool thread and its result is destroyed there. A
// function still waiting in the pool's queue when its Task is aborted is skipped. Dropping the
// JoinHandle detaches: the function runs and its result is dropped.
//
// When the runtime is shutting down and its pool refuses new work, the Task fails with
// std::runtime_error (INTERNAL through the JoinHandle). `f` runs on a pool thread, outside the
// runtime: weft::spawn and Handle::current() are not available inside it.
#pragma once

#include <atomic>
#include <coroutine>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>

#include "weft/runtime/blocking/blocking_pool.h"
#include "weft/runtime/runtime.h"
#include "weft/runtime/scheduler/scheduler.h"
#include "weft/runtime/task/join_handle.h"
#include "weft/runtime/task/task.h"
#include "weft/runtime/task/waker.h"

namespace weft {

namespace detail {

template <class R>
struct BlockingState {
  std::mutex mu;
  bool done = false;                   // guarded by mu (invariant 2)
  Waker waker;                         // guarded by mu; set while the Task waits
  std::atomic<bool> abandoned{false};  // the Task is gone: skip `f` if it has not started
  std::conditional_t<std::is_void_v<R>, std::monostate, std::optional<R>> value;
  std::exception_ptr error;
};

// The pool job: owns `f` and one reference to the state.
template <class R, class F>
struct BlockingJob {
  std::shared_ptr<BlockingState<R>> state;
  F f;

  void operator()() && {
    // Relaxed: skipping is only an optimisation; a late-seen abort just runs `f` for nothing.
    if (!state->abandoned.load(std::memory_order_relaxed)) {
      try {
        if constexpr (std::is_void_v<R>) {
          std::move(f)();
        } else {
          state->value.emplace(std::move(f)());
        }
      } catch (...) {
        state->error = std::current_exception();
      }
    }
    Waker w;
    {
      std::lock_guard<std::mutex> lk(state->mu);
      state->done = true;
      w = std::move(state->waker);
    }
    std::move(w).wake();  // outside the lock: waking may schedule, which takes other locks
  }
};

template <class R, class F>
class BlockingAwaiter {
 public:
  explicit BlockingAwaiter(F f) : f_(std::move(f)) {}
  BlockingAwaiter(const BlockingAwaiter&) = delete;
  BlockingAwaiter& operator=(const BlockingAwaiter&) = delete;

  // Runs when the Task is cancelled at this suspension point (and after a normal resume).
  ~BlockingAwaiter() {
    if (!state_) return;
    state_->abandoned.store(true, std::memory_order_relaxed);
    Waker w;
    {
      std::lock_guard<std::mutex> lk(state_->mu);
      w = std::move(state_->waker);
    }
    // `w` is dropped here, outside the lock; the job now wakes nobody.
  }

  bool await_ready() const noexcept { return false; }

  bool await_suspend(std::coroutine_handle<> h) {
    state_ = std::make_shared<BlockingState<R>>();
    BlockingPool& pool = tls_context.scheduler->blocking_pool();
    // May throw std::system_error (no thread could be started): it then surfaces through the
    // JoinHandle like an exception from `f`.
    if (!pool.execute(BlockingJob<R, F>{state_, std::move(f_)})) {
      refused_ = true;
      return false;
    }
    std::lock_guard<std::mutex> lk(state_->mu);
    if (state_->done) return false;  // finished already: resume at once
    state_->waker = Waker::current(h);
    return true;
  }

  R await_resume() {
    if (refused_) {
      throw std::runtime_error("weft::spawn_blocking: the runtime is shutting down");
    }
    {
      // Resumed only by the job's wake or after seeing `done`; the lock orders the reads
      // after the job's writes for any observer (TSan included).
      std::lock_guard<std::mutex> lk(state_->mu);
    }
    // Taken out of the state: the pool thread may drop the state last, and it must not hold
    // the exception then (its reference count lives in libstdc++, which ThreadSanitizer does
    // not see, so releasing it there looks like a race with this thread's reads).
    if (state_->error) std::rethrow_exception(std::exchange(state_->error, nullptr));
    if constexpr (!std::is_void_v<R>) return std::move(*state_->value);
  }

 private:
  F f_;
  std::shared_ptr<BlockingState<R>> state_;
  bool refused_ = false;
};

// The spawned Task. `f` is taken by value: it lives in this frame until it is handed to the
// pool (coroutine parameters must not be references).
template <class R, class F>
Task<R> blocking_task(F f) {
  // A named awaiter: no temporaries in the co_await expression (see DESIGN.md, pitfalls).
  BlockingAwaiter<R, F> job(std::move(f));
  if constexpr (std::is_void_v<R>) {
    co_await job;
  } else {
    co_return co_await job;
  }
}

}  // namespace detail

// Runs `f()` on the current runtime's blocking pool; the JoinHandle yields its result, or
// INTERNAL (with the exception's what()) if it threw, or CANCELLED if aborted. Must be called
// from inside a runtime (throws std::logic_error otherwise, like weft::spawn).
template <class F>
auto spawn_blocking(F f) -> JoinHandle<std::invoke_result_t<F>> {
  using R = std::invoke_result_t<F>;
  static_assert(!std::is_reference_v<R>,
                "weft::spawn_blocking: the function must return by value (its result outlives "
                "the call, possibly on another thread)");
  return spawn(detail::blocking_task<R, F>(std::move(f)));
}

}  // namespace weft
