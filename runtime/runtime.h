// Runtime: owns the worker threads, the I/O and timer driver and the blocking pool, and runs
// Tasks on them. Three flavours behind one API:
//
//   auto rt = weft::Runtime::Builder::new_multi_thread().worker_threads(2).build();
//   int v = rt->block_on(main_task());     // runs main_task() to completion on the runtime
//
//   new_multi_thread()    work stealing over N workers (uneven load; the default choice)
//   new_current_thread()  everything on the thread that calls block_on (tests, small tools)
//   new_thread_per_core() N independent current-thread runtimes, one per thread; a task and
//                         everything it spawns stays on its thread (uniform load, e.g. one
//                         SO_REUSEPORT listener per core). block_on runs the task on thread 0;
//                         handle_for(i) spawns onto thread i.
//
// Inside a task, weft::spawn / weft::spawn_blocking / Handle::current() reach the runtime that
// runs it. Destroying the Runtime cancels every task that is left (their destructors run),
// joins all threads and frees everything.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "weft/runtime/metrics.h"
#include "weft/runtime/scheduler/scheduler.h"
#include "weft/runtime/task/join_handle.h"
#include "weft/runtime/task/task.h"

namespace weft {

namespace detail {
class RuntimeCore;  // scheduler + driver + blocking pool of one runtime
// Makes `task`'s frame a scheduled task on `s`; the JoinHandle gets one reference.
TaskHeader* spawn_raw(Scheduler* s, std::coroutine_handle<> frame, const TaskVtable* vtable);
Scheduler* current_scheduler_or_throw();
}  // namespace detail

// A cheap, copyable reference to a running runtime.
class Handle {
 public:
  // The runtime running the current task. Throws std::logic_error outside a runtime.
  static Handle current() { return Handle(detail::current_scheduler_or_throw()); }
  static bool in_runtime() { return detail::tls_context.scheduler != nullptr; }

  template <class T>
  JoinHandle<T> spawn(Task<T> task) const {
    return JoinHandle<T>(
        detail::spawn_raw(scheduler_, task.release(), &detail::TaskVtableFor<T>::kVtable));
  }

  explicit Handle(detail::Scheduler* s) : scheduler_(s) {}
  detail::Scheduler* scheduler() const { return scheduler_; }

 private:
  detail::Scheduler* scheduler_;
};

// Spawns a task on the current runtime (the current thread's, in thread-per-core mode).
template <class T>
JoinHandle<T> spawn(Task<T> task) {
  return Handle::current().spawn(std::move(task));
}

class Runtime {
 public:
  class Builder;

  Runtime(Runtime&&) noexcept;
  Runtime& operator=(Runtime&&) noexcept;
  ~Runtime();

  // Runs `task` to completion and returns its value; rethrows its exception.
  template <class T>
  T block_on(Task<T> task) {
    JoinHandle<T> h(detail::spawn_raw(entry_scheduler(), task.release(),
                                      &detail::TaskVtableFor<T>::kVtable));
    wait_blocking(h.raw());
    return h.take_or_throw();
  }

  Handle handle() const { return Handle(entry_scheduler()); }
  // Worker threads; in thread-per-core mode, handle_for(i) spawns onto thread i (for the
  // other flavours every index gives the one shared scheduler).
  std::size_t num_workers() const;
  Handle handle_for(std::size_t i) const;
  RuntimeMetrics metrics() const;

  // Cancels every task, then waits up to `timeout` for the threads (and blocking-pool threads)
  // to finish. The runtime is unusable afterwards.
  void shutdown_timeout(std::chrono::milliseconds timeout);

 private:
  friend class Builder;
  explicit Runtime(std::unique_ptr<detail::RuntimeCore> core);
  detail::Scheduler* entry_scheduler() const;
  // Blocks the calling thread until `t` completes (running it, for current-thread).
  void wait_blocking(detail::TaskHeader* t);
  std::unique_ptr<detail::RuntimeCore> core_;
};

class Runtime::Builder {
 public:
  static Builder new_multi_thread();
  static Builder new_current_thread();
  static Builder new_thread_per_core();

  // Worker threads (multi-thread) or threads (thread-per-core); default: the CPUs this process
  // may run on (its affinity mask: taskset, a container's cpuset), as Tokio counts them.
  Builder& worker_threads(std::size_t n);
  Builder& thread_name(std::string name);
  Builder& on_thread_start(std::function<void()> f);
  Builder& on_thread_stop(std::function<void()> f);
  // Upper bound on spawn_blocking threads (default 512) and how long an idle one lingers.
  Builder& max_blocking_threads(std::size_t n);
  Builder& thread_keep_alive(std::chrono::milliseconds d);
  // I/O and timers are always available; these exist so code written for Tokio reads the same.
  Builder& enable_io() { return *this; }
  Builder& enable_time() { return *this; }
  Builder& enable_all() { return *this; }

  absl::StatusOr<Runtime> build();

  enum class Flavor { kMultiThread, kCurrentThread, kThreadPerCore };
  struct Options {
    Flavor flavor = Flavor::kMultiThread;
    std::size_t workers = 0;
    std::string thread_name = "weft-worker";
    std::function<void()> on_thread_start, on_thread_stop;
    std::size_t max_blocking_threads = 512;
    std::chrono::milliseconds keep_alive{10000};
  };

 private:
  Options opts_;
};

}  // namespace weft
