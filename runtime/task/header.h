// The task header: the scheduler-facing part of every spawned task, and the frame allocator.
//
// Every Task<T> coroutine frame is allocated with a TaskHeader placed just before it, in the
// same allocation (frame_alloc below), so spawning a task costs one allocation and the header
// never moves. A Task that is only ever awaited leaves its header unused; `spawn` turns the
// Task's own frame into a scheduled task by initialising the header.
//
// State word invariants (all in `state`, see the transition functions in header.cc):
//   RUNNING    a worker is resuming the task right now; nobody else may resume it.
//   NOTIFIED   the task must be polled (again); whoever set it while the task was idle also
//              pushed it to a run queue with one reference. Set while RUNNING, the running
//              worker re-queues it after the poll instead.
//   COMPLETE   the task finished (value, exception or cancellation). Final; no more polls.
//   CANCELLED  abort() was called: the next poll destroys the frame instead of resuming it.
//   generation (24 bits) counts polls: transition_to_running bumps it. A Waker remembers the
//              generation it was made in, and a wake from an older generation is ignored. So
//              an awaiter that registered with several resources (select, timeout, a join that
//              raced a timer) can never resume the task later at some unrelated suspension
//              point: a suspended task is resumed only by wakers made during its last poll.
//   refcount   (state / kRefOne) references: one per Waker, JoinHandle and run-queue entry.
//              When it drops to zero the frame (if not yet destroyed) and the memory go away.
//
// Cancellation is destruction: a cancelled task's frame is destroyed at its suspension point,
// which runs every destructor in it; awaiters unregister their wakers there.
//
// Completion destroys the frame too, at once (as Tokio drops a finished future): the result is
// first moved into an output slot at the end of the same allocation (Promise<T> reserves it),
// so a task's parameters and locals (a channel Sender, a socket) never outlive the task, however
// long its JoinHandle is kept.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>

namespace weft::detail {

class Scheduler;
struct TaskHeader;

// What spawn<T> knows about the result type: how to move the result out of the finished frame
// into the output slot, and how to destroy it there.
struct TaskVtable {
  void (*store_output)(TaskHeader*);
  void (*drop_output)(TaskHeader*);
};

struct alignas(16) TaskHeader {
  static constexpr uint64_t kRunning = 1;
  static constexpr uint64_t kComplete = 2;
  static constexpr uint64_t kNotified = 4;
  static constexpr uint64_t kCancelled = 8;
  static constexpr int kGenShift = 4;
  static constexpr uint64_t kGenMask = ((uint64_t{1} << 24) - 1) << kGenShift;
  static constexpr uint64_t kRefOne = uint64_t{1} << 28;
  static constexpr uint64_t kFlagsMask = kRefOne - 1;
  static uint32_t generation_of(uint64_t state) {
    return static_cast<uint32_t>((state & kGenMask) >> kGenShift);
  }

  std::atomic<uint64_t> state{0};
  TaskHeader* queue_next = nullptr;  // run-queue link (inject queue, overflow batches)
  TaskHeader* owned_prev = nullptr;  // the scheduler's list of live tasks (for shutdown)
  TaskHeader* owned_next = nullptr;
  std::coroutine_handle<> leaf;         // where the next poll resumes (innermost suspended frame)
  Scheduler* scheduler = nullptr;       // null: a Task that is awaited, never spawned
  const TaskVtable* vtable = nullptr;   // set by spawn: how to keep the result
  TaskHeader* join_waiter = nullptr;    // task awaiting the JoinHandle (holds a reference)
  uint32_t join_waiter_gen = 0;         // ... and the generation its Waker was made in
  std::atomic<uint8_t> join_lock{0};    // guards join_waiter (tiny spin lock; never contended long)
  std::atomic<bool> join_armed{false};  // a join waiter was ever set (completion skips the lock)
  bool frame_destroyed = false;         // set by whoever destroyed the frame (complete/cancel)
  bool output_stored = false;           // the output slot holds the result (not cancelled)
  bool yielded = false;                 // the last poll ended in yield_now / budget exhaustion
  bool unlisted = false;                // spawned on a worker, not listed yet (scheduler.h)
  uint32_t alloc_size = 0;              // size of the whole allocation (header + frame)
  uint32_t owned_shard = 0;

  // The coroutine frame that follows the header.
  void* frame() { return reinterpret_cast<char*>(this) + sizeof(TaskHeader); }
  std::coroutine_handle<> root() { return std::coroutine_handle<>::from_address(frame()); }
  // The output slot for a result of `size` bytes: the last, suitably aligned bytes of the
  // allocation (Promise<T>::operator new reserved them behind the frame).
  void* output_slot(std::size_t size, std::size_t align) {
    auto end = reinterpret_cast<std::uintptr_t>(this) + alloc_size;
    return reinterpret_cast<void*>((end - size) & ~(static_cast<std::uintptr_t>(align) - 1));
  }
  static TaskHeader* from_frame(void* frame) {
    return reinterpret_cast<TaskHeader*>(static_cast<char*>(frame) - sizeof(TaskHeader));
  }

  // ---- reference counting ----
  void ref() { state.fetch_add(kRefOne, std::memory_order_relaxed); }
  void unref(uint32_t n = 1);  // drops n references; frees the task when they were the last

  // ---- transitions; each returns what the caller must do next ----
  enum class Wake { kNothing, kSubmit };
  // A waker made in generation `gen` fires. kSubmit: the caller must schedule the task with a
  // reference for the run queue. A stale generation does nothing. by_val: the waker gives up
  // its reference (Waker::wake() &&): it becomes the run queue's on kSubmit and is dropped
  // otherwise, in the same read-modify-write (Tokio's wake_by_val); else a new one is taken.
  Wake transition_to_notified(uint32_t gen, bool by_val = false);
  uint32_t generation() const { return generation_of(state.load(std::memory_order_acquire)); }
  // abort(): like a wake, but marks the task cancelled.
  Wake transition_to_notified_and_cancel();
  // A worker took the task from a run queue (with that queue's reference) and will poll it.
  // kCancel: destroy it instead of resuming. kStale: it already finished (or is being
  // cancelled synchronously); just drop the queue's reference.
  enum class Run { kPoll, kCancel, kStale };
  Run transition_to_running();
  // For cancel_now(): takes the task over (RUNNING|CANCELLED) as soon as no poll is running.
  // False if it already completed.
  bool claim_for_cancel();
  enum class Idle { kIdle, kNotified };
  // The poll returned without completing. kNotified: it was woken meanwhile; re-queue it with
  // the same reference. kIdle: the run queue's reference was dropped in the same step.
  // requeue: the task yielded and wants to run again (NOTIFIED is set in the same step).
  // add_refs: references taken in the same step (the live list's, for a task listed after its
  // first poll).
  Idle transition_to_idle(bool requeue = false, uint32_t add_refs = 0);
  // The task finished (or was cancelled): marks it complete and wakes the JoinHandle's waiter,
  // then drops the caller's `refs` references (freeing the task if they were the last). When
  // they are the only ones left (a detached task no waker refers to: nobody else can reach it),
  // the one state change that completes it also tells, and it is freed with no second atomic.
  void complete_and_unref(uint32_t refs);

  bool is_complete() const { return state.load(std::memory_order_acquire) & kComplete; }
  bool is_cancelled() const { return state.load(std::memory_order_acquire) & kCancelled; }

  // The join waiter slot (JoinHandle awaiting from another task). Takes over the caller's
  // reference to `waiter`; returns false (and takes nothing) if the task is already complete.
  bool set_join_waiter(TaskHeader* waiter, uint32_t gen);
  void clear_join_waiter(TaskHeader* waiter);

 private:
  void release_last();  // the last reference is gone: frees the task
  void wake_join_waiter();
  void lock_join();
  void unlock_join() { join_lock.store(0, std::memory_order_release); }
};
static_assert(sizeof(TaskHeader) % alignof(std::max_align_t) == 0,
              "the frame after the header must stay max-aligned");

// Allocates header + coroutine frame of `frame_size` bytes; returns the frame's address.
// Frames are recycled through a small per-thread cache of size classes, so steady-state spawning
// does not reach malloc (disabled under AddressSanitizer, which must see every free).
void* frame_alloc(std::size_t frame_size);
// Called by the coroutine's operator delete. Frees at once for a Task that was never spawned;
// for a spawned task the memory lives until the last reference is dropped.
void frame_free(void* frame);

// Per-thread allocator statistics (tests check that steady-state spawning reuses frames).
struct FrameCacheStats {
  uint64_t allocations = 0;  // calls to frame_alloc
  uint64_t cache_hits = 0;   // served from the cache
};
FrameCacheStats frame_cache_stats();

}  // namespace weft::detail
