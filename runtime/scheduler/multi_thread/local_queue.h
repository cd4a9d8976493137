// A worker's local run queue: fixed-size, one producer (the owning worker), many consumers (the
// owner popping, other workers stealing). After Tokio's runtime/scheduler/multi_thread/queue.rs.
//
//   LocalQueue<Task> q;                        // one per worker, owned by that worker's thread
//   q.push_back_or_overflow(task, overflow);   // owner: full? half the queue goes to `overflow`
//   Task* next = q.pop();                      // owner: oldest task first (FIFO)
//   Task* got = victim.steal_into(q);          // another worker, into its own queue `q`
//
// The queue stores `T*` and owns nothing: a task pointer is handed in by push and handed back by
// exactly one pop, steal or overflow. T is any QueueLinked type (queue_link.h), e.g. a struct with
// a `T* queue_next` member; the link is only used to chain an overflow batch.
//
// Positions and the head word
//
//   Positions are free-running u32 counters; a position p lives in slot `p % kCapacity`. Three
//   positions describe the queue, always in this order (modulo 2^32):
//
//       steal  <=  real  <=  tail  <=  steal + kCapacity
//
//   head_ packs (steal, real) into one u64 (steal in the high half, real in the low half) so that
//   both move together in a single CAS; tail_ is a separate u32.
//
//   [real, tail)   tasks waiting in the queue; len() = tail - real.
//   [steal, real)  tasks a stealer has claimed and is still copying out. steal != real means a
//                  steal is in progress; at most one at a time (a second stealer backs off).
//   tail - steal   slots in use; the owner may write slot `tail` only while this is < kCapacity,
//                  so a slot is never reused while a stealer may still be reading it.
//
// Invariants: who may touch which slot
//
//   1. Only the owner writes tail_ and the slots, always at positions in [tail, steal + kCapacity):
//      one at a time in push, or n at once as the thief in steal_into(dst) (dst is the thief's own
//      queue; it requires dst's tail - steal <= kCapacity / 2, and n <= kCapacity / 2). Written
//      slots become visible to others only through the release store of tail_.
//   2. A slot at a position in [real, tail) is read only by the thread that first moves `real`
//      past it with a successful CAS on head_: the owner in pop() or in an overflow, or a stealer
//      (which also leaves `steal` behind, marking the slots as still being read).
//   3. A stealer hands its slots back by moving `steal` up to `real` (release); the owner reuses
//      them only after loading head_ with acquire and seeing that `steal` (invariant 1).
//   4. Every change of `real` happens after the tail_ store that made those positions valid, and
//      is a release: a thread that acquire-loads head_ and then loads tail_ sees tail >= real.
//
// Constants
//
//   kCapacity = 256: big enough that a task spawning or waking a burst of tasks stays off the
//     inject queue's lock; small enough that the buffer is 2 KiB (L1-resident) and the longest
//     steal copies 128 pointers. A power of two so that position -> slot is a mask.
//   Overflow moves kCapacity / 2 tasks plus the new one: one lock acquisition on the inject queue
//     per 129 tasks, and the owner keeps half a queue of work while other workers can take the
//     rest from the inject queue.
//   A steal takes ceil(len / 2): victim and thief end up with about the same amount of work, and
//     a queue holding one task can still be stolen from.
//   u32 positions, though 9 bits would address the slots: a full queue (tail - real == 256) and
//     an empty one (0) differ, and an ABA on head_ (a stealer's CAS succeeding on a recycled
//     value) needs 2^32 pops while one stealer sits between its load and its CAS (Tokio issue
//     #5041: u8 positions did wrap in practice).
//   64-byte alignment: the contended head_/tail_ words don't share a cache line with a neighbour.
#pragma once

#include <atomic>
#include <cassert>
#include <concepts>
#include <cstddef>
#include <cstdint>

#include "weft/runtime/scheduler/multi_thread/queue_link.h"

namespace weft::detail {

// Where a full LocalQueue sends tasks: push_batch receives `n` tasks chained through their links
// from `first` to `last` (oldest first; last's link is nullptr) and takes ownership of all of them.
// It must return void: the local queue has already given the tasks up, so an overflow that can
// refuse (a closed InjectQueue) must be wrapped by the caller, who decides what a refused task
// becomes (e.g. shut it down).
template <typename O, typename T>
concept LocalQueueOverflow = requires(O& overflow, T* task, std::size_t n) {
  { overflow.push_batch(task, task, n) } -> std::same_as<void>;
};

template <QueueLinked T>
class alignas(64) LocalQueue {
 public:
  static constexpr std::uint32_t kCapacity = 256;

  LocalQueue() noexcept : LocalQueue(0) {}

  // For tests: starts every position at `start_position`, e.g. just below UINT32_MAX so that the
  // positions wrap within a few hundred operations.
  explicit LocalQueue(std::uint32_t start_position) noexcept
      : head_(pack(start_position, start_position)), tail_(start_position) {}

  LocalQueue(const LocalQueue&) = delete;
  LocalQueue& operator=(const LocalQueue&) = delete;

  // The queue owns no task: dropping a non-empty queue would lose its tasks.
  ~LocalQueue() { assert(is_empty() && "LocalQueue destroyed with tasks in it"); }

  // Owner only. Appends `task`. If the queue is full, moves its kCapacity / 2 oldest tasks and
  // then `task` to `overflow` as one batch - or only `task`, if a steal in progress is about to
  // free slots anyway. Returns true if `task` went into this queue, false if it went to
  // `overflow`. Noexcept: if push_batch threw, the claimed tasks would be lost, so terminate.
  template <LocalQueueOverflow<T> Overflow>
  bool push_back_or_overflow(T* task, Overflow& overflow) noexcept {
    assert(task != nullptr);
    // relaxed: only this thread ever stores tail_, and a thread always reads its own last store.
    const std::uint32_t tail = tail_.load(std::memory_order_relaxed);
    for (;;) {
      // acquire: synchronises with a stealer's release of its slots (invariant 3), so its reads
      // of slot `tail` (from an earlier lap) happen before our write below.
      const std::uint64_t head = head_.load(std::memory_order_acquire);
      const std::uint32_t steal = steal_of(head);
      const std::uint32_t real = real_of(head);
      if (static_cast<std::uint32_t>(tail - steal) < kCapacity) {
        buffer_[tail & kMask] = task;
        // release: publishes the slot write to stealers, who acquire-load tail_.
        tail_.store(tail + 1, std::memory_order_release);
        return true;
      }
      if (steal != real) {
        // A stealer is copying tasks out and will free their slots soon: don't take half the
        // queue (the stealer holds the range below `real`), send only this task.
        QueueLink<T>::set_next(*task, nullptr);
        overflow.push_batch(task, task, 1);
        return false;
      }
      if (push_overflow(task, real, tail, overflow)) return false;
      // A stealer claimed tasks between our load and our CAS: there may be room now.
    }
  }

  // Owner only. Takes the oldest task, or returns nullptr if the queue is empty.
  T* pop() noexcept {
    // relaxed: our own store (see push_back_or_overflow).
    const std::uint32_t tail = tail_.load(std::memory_order_relaxed);
    // relaxed: the slot we read was written by this thread, and the CAS below validates the value.
    std::uint64_t head = head_.load(std::memory_order_relaxed);
    for (;;) {
      const std::uint32_t steal = steal_of(head);
      const std::uint32_t real = real_of(head);
      if (real == tail) return nullptr;
      const std::uint32_t next_real = real + 1;
      // No stealer: move both halves. A stealer in progress: leave its `steal` mark alone; it
      // catches up to our `real` when it finishes.
      const std::uint64_t next =
          steal == real ? pack(next_real, next_real) : pack(steal, next_real);
      // success release: invariant 4 (readers of the new `real` must see a tail_ that covers it).
      // failure relaxed: the value is only fed back into this CAS, which re-validates it.
      if (head_.compare_exchange_weak(head, next, std::memory_order_release,
                                      std::memory_order_relaxed)) {
        return buffer_[real & kMask];
      }
    }
  }

  // Called by a worker other than this queue's owner, with `dst` its own queue (dst != this).
  // Moves ceil(len / 2) of this queue's oldest tasks into `dst` and returns one of them (the
  // newest stolen) to run now, the rest (oldest first) left in `dst`. Returns nullptr, stealing
  // nothing, if this queue is empty, another steal from it is in progress, or `dst` has fewer
  // than kCapacity / 2 free slots.
  T* steal_into(LocalQueue& dst) noexcept {
    assert(&dst != this);
    // relaxed: the caller owns dst, so this is its own store.
    const std::uint32_t dst_tail = dst.tail_.load(std::memory_order_relaxed);
    // acquire: synchronises with the release by anyone who stole from dst (invariant 3), so their
    // reads of the dst slots we are about to overwrite happen before our writes.
    const std::uint32_t dst_steal = steal_of(dst.head_.load(std::memory_order_acquire));
    if (static_cast<std::uint32_t>(dst_tail - dst_steal) > kCapacity / 2) return nullptr;

    std::uint32_t n = steal_into_buffer(dst, dst_tail);
    if (n == 0) return nullptr;

    // Hand back the newest stolen task. Its slot in dst is not published (dst_tail doesn't cover
    // it), so no other thread can see it.
    --n;
    T* const ret = dst.buffer_[(dst_tail + n) & kMask];
    if (n != 0) {
      // release: publishes the copied slots to whoever steals from dst.
      dst.tail_.store(dst_tail + n, std::memory_order_release);
    }
    return ret;
  }

  // Any thread. Number of tasks waiting (not counting tasks a stealer is copying out). From a
  // thread other than the owner it is a snapshot that may be stale at once.
  std::size_t len() const noexcept {
    // acquire: invariant 4 - the tail_ we load next is at least this `real`.
    const std::uint32_t real = real_of(head_.load(std::memory_order_acquire));
    // relaxed: only a count is formed; no slot is read on its strength.
    const std::uint32_t tail = tail_.load(std::memory_order_relaxed);
    const std::uint32_t n = tail - real;
    // A non-owner's `real` can be stale by more than a lap; the count is never above capacity.
    return n > kCapacity ? kCapacity : n;
  }

  bool is_empty() const noexcept { return len() == 0; }

  // How many pushes fit before the next overflow (slots being stolen from count as used). Exact
  // for the owner; a snapshot for anyone else.
  std::size_t remaining_slots() const noexcept {
    // acquire / relaxed: as in len().
    const std::uint32_t steal = steal_of(head_.load(std::memory_order_acquire));
    const std::uint32_t tail = tail_.load(std::memory_order_relaxed);
    const std::uint32_t used = tail - steal;
    return used >= kCapacity ? 0 : kCapacity - used;
  }

 private:
  static constexpr std::uint32_t kMask = kCapacity - 1;
  static_assert((kCapacity & kMask) == 0, "kCapacity must be a power of two");
  static_assert(kCapacity >= 2 && kCapacity <= (1u << 30),
                "positions must be able to tell full "
                "from empty");

  static constexpr std::uint64_t pack(std::uint32_t steal, std::uint32_t real) noexcept {
    return (static_cast<std::uint64_t>(steal) << 32) | real;
  }
  static constexpr std::uint32_t steal_of(std::uint64_t head) noexcept {
    return static_cast<std::uint32_t>(head >> 32);
  }
  static constexpr std::uint32_t real_of(std::uint64_t head) noexcept {
    return static_cast<std::uint32_t>(head);
  }

  // Owner only, queue full (tail - real == kCapacity) with no steal in progress. Claims the
  // kCapacity / 2 oldest tasks and sends them, then `task`, to overflow. Returns false, touching
  // nothing, if a stealer moved head_ first.
  template <typename Overflow>
  bool push_overflow(T* task, std::uint32_t real, std::uint32_t tail, Overflow& overflow) noexcept {
    constexpr std::uint32_t kTaken = kCapacity / 2;
    assert(static_cast<std::uint32_t>(tail - real) == kCapacity);
    std::uint64_t expected = pack(real, real);
    // success release: invariant 4 (`real` moves forward). No acquire: the claimed slots were
    // all written by this thread. failure relaxed: the caller starts over with a fresh acquire.
    // Claiming before reading is safe because only this thread could write these slots.
    if (!head_.compare_exchange_strong(expected, pack(real + kTaken, real + kTaken),
                                       std::memory_order_release, std::memory_order_relaxed)) {
      return false;
    }
    T* const first = buffer_[real & kMask];
    T* prev = first;
    for (std::uint32_t i = 1; i < kTaken; ++i) {
      T* const next = buffer_[(real + i) & kMask];
      QueueLink<T>::set_next(*prev, next);
      prev = next;
    }
    QueueLink<T>::set_next(*prev, task);
    QueueLink<T>::set_next(*task, nullptr);
    overflow.push_batch(first, task, kTaken + 1);
    return true;
  }

  // Claims ceil(len / 2) tasks of this queue and copies them to dst's slots from dst_tail on,
  // without publishing them in dst. Returns how many were copied.
  std::uint32_t steal_into_buffer(LocalQueue& dst, std::uint32_t dst_tail) noexcept {
    // acquire: invariant 4, so the tail_ load below covers `real`; this value also seeds the CAS.
    std::uint64_t prev = head_.load(std::memory_order_acquire);
    std::uint32_t first = 0;
    std::uint32_t n = 0;
    for (;;) {
      const std::uint32_t steal = steal_of(prev);
      const std::uint32_t real = real_of(prev);
      if (steal != real) return 0;  // Another stealer is at work: it took the other half.
      // acquire: synchronises with the owner's release store, so the slot writes below this tail
      // happen before our reads of them.
      const std::uint32_t tail = tail_.load(std::memory_order_acquire);
      const std::uint32_t available = tail - real;
      n = available - available / 2;
      if (n == 0) return 0;
      // Move `real` past the claimed tasks but leave `steal` where it is: the slots stay marked as
      // in use (the owner won't overwrite them) and other stealers keep off until we finish.
      // A stale `prev` can make `n` nonsense (even above capacity); the CAS then fails.
      // success release: invariant 4. No acquire: the slots are covered by tail_'s acquire.
      // failure acquire: the value read becomes `prev` for the next round, which must be an
      // acquire load for invariant 4 just like the first one.
      if (head_.compare_exchange_weak(prev, pack(steal, real + n), std::memory_order_release,
                                      std::memory_order_acquire)) {
        first = real;
        break;
      }
    }
    assert(n <= kCapacity / 2);

    // Invariant 2: the CAS made these slots ours to read. dst's slots from dst_tail on are free
    // (checked by the caller) and unpublished, so no one else touches them.
    for (std::uint32_t i = 0; i < n; ++i) {
      dst.buffer_[(dst_tail + i) & kMask] = buffer_[(first + i) & kMask];
    }

    // Give the slots back: move `steal` up to the current `real` (which the owner may have moved
    // further by popping meanwhile).
    prev = pack(first, first + n);
    for (;;) {
      const std::uint32_t real = real_of(prev);
      // success release: invariant 3 - our reads of the slots happen before the owner reuses
      // them. failure relaxed: only `real` is taken from the value, and the CAS re-validates it.
      if (head_.compare_exchange_weak(prev, pack(real, real), std::memory_order_release,
                                      std::memory_order_relaxed)) {
        return n;
      }
      // Only the owner's pop can have moved head_ meanwhile, and it leaves `steal` alone.
      assert(steal_of(prev) == first && steal_of(prev) != real_of(prev));
    }
  }

  // head_ and tail_ first, together: every operation reads both.
  std::atomic<std::uint64_t> head_;
  std::atomic<std::uint32_t> tail_;
  // Plain pointers: the atomics above order every access (invariants 1-4), which keeps the slots
  // cheap and lets ThreadSanitizer check that ordering.
  T* buffer_[kCapacity] = {};
};

}  // namespace weft::detail
