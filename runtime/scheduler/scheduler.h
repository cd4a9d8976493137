// The interface every runtime flavour implements, and the per-thread runtime context.
//
// A scheduler owns run queues and the list of live tasks. Tasks reach it these ways:
//   spawn(task)        a new task (carries a run-queue reference). From another thread: listed,
//                      then scheduled. From one of the scheduler's own threads it is only
//                      queued, marked `unlisted`: most such tasks finish in their first poll,
//                      and a task that is queued needs no list entry to be found at shutdown
//                      (the queues are drained, and unfinished tasks found there cancelled).
//                      This saves the list's lock twice per short-lived task.
//   settle(task, l)    an unlisted task's first poll ended: l = it suspended, list it now
//                      (false: shutting down, the caller cancels it); otherwise it finished
//   adopt(task)        a new task that is not queued (spawn_polled ran its first poll already);
//                      listed only
//   schedule(task, y)  a woken task (carries a run-queue reference); y: it yielded, so it goes
//                      to the back of the queue instead of the LIFO slot
//   release(task)      the task finished or was cancelled; drop it from the live list (true if
//                      it was there: the caller then drops the list's reference)
#pragma once

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>

#include "weft/runtime/task/header.h"

namespace weft::detail {

class Driver;
class BlockingPool;

// Live tasks not in the list (spawned on a worker, not yet through their first poll), for
// metrics: `spawned` counts up on the spawning thread, `settled` on the one that ran the first
// poll. One writer per counter (the thread that owns it), so no read-modify-write.
struct UnlistedCount {
  std::atomic<uint64_t> spawned{0}, settled{0};
  static void bump(std::atomic<uint64_t>& c) {
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  // Unlisted tasks alive, from sums of the counters (a snapshot may see a settle before the
  // spawn it settles).
  static std::size_t alive(uint64_t spawned, uint64_t settled) {
    return spawned > settled ? static_cast<std::size_t>(spawned - settled) : 0;
  }
};

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  // Return false when the runtime is shutting down: the caller then cancels the task.
  virtual bool adopt(TaskHeader* task) = 0;
  virtual bool spawn(TaskHeader* task) = 0;
  virtual bool settle(TaskHeader* task, bool list) = 0;
  virtual void schedule(TaskHeader* task, bool yielded) = 0;
  virtual bool release(TaskHeader* task) = 0;
  virtual Driver& driver() = 0;
  virtual BlockingPool& blocking_pool() = 0;

 protected:
  // spawn() from a thread that is not one of the scheduler's: listed, then scheduled.
  bool spawn_listed(TaskHeader* task) {
    // The list's reference. The task is not shared yet: no read-modify-write needed.
    task->state.store(task->state.load(std::memory_order_relaxed) + TaskHeader::kRefOne,
                      std::memory_order_relaxed);
    if (!adopt(task)) {
      task->state.store(task->state.load(std::memory_order_relaxed) - TaskHeader::kRefOne,
                        std::memory_order_relaxed);
      return false;
    }
    schedule(task, false);
    return true;
  }
  // spawn() on one of the scheduler's own threads, whose counters are `on_this_thread`:
  // queued only, listed after its first poll if that leaves it suspended (settle()).
  bool spawn_unlisted(TaskHeader* task, UnlistedCount& on_this_thread) {
    task->unlisted = true;
    UnlistedCount::bump(on_this_thread.spawned);
    schedule(task, false);
    return true;
  }
};

// What the current thread is doing for the runtime.
struct Context {
  Scheduler* scheduler = nullptr;  // the runtime this thread runs tasks for (or block_on's)
  TaskHeader* current = nullptr;   // the task being polled on this thread
  void* worker = nullptr;          // scheduler-private per-thread state
};
inline thread_local Context tls_context;

// Wakes `task` if it is still in poll generation `gen` (see header.h); keeps the caller's
// reference.
void wake_task_by_ref(TaskHeader* task, uint32_t gen);
// Inside a poll: suspend the current task at `h` and queue it again behind the others.
void yield_task(std::coroutine_handle<> h);
// Makes `frame` a task of `s` and runs its first poll right now, on this thread, nested in the
// current poll (its wakers wake it, not the caller). Finished in that poll (the common case for
// work that never waits): returns nullptr, and `frame` is a plain finished coroutine again (the
// caller takes its result and destroys it; no queue, no list, no atomic read-modify-write).
// Otherwise it is a spawned task like any other: returns its header with a JoinHandle reference.
TaskHeader* spawn_polled_raw(Scheduler* s, std::coroutine_handle<> frame, const TaskVtable* vtable);
// Runs one poll of `task` (the caller hands over the run queue's reference): resumes it, or
// destroys it when cancelled, and afterwards re-queues, parks or completes it.
void poll_task(TaskHeader* task);
// Destroys a task's frame and completes it as cancelled; the caller holds the task claimed
// (RUNNING) and hands over one reference.
void cancel_task(TaskHeader* task);
// Cancels `task` now, on this thread: waits for a poll running elsewhere to end, then destroys
// the frame. When it returns the task's destructors have run. (TaskScope's guarantee.)
void cancel_now(TaskHeader* task);
// Shutdown step for a task taken from a run queue (the caller hands over the queue's
// reference): a task that never ran and was never listed is cancelled (its destructors run and
// its JoinHandle sees CANCELLED); any other entry just drops its reference.
void shutdown_queued_task(TaskHeader* task);

}  // namespace weft::detail
