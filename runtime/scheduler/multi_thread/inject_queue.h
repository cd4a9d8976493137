// The runtime's global run queue: tasks scheduled from outside a worker, and the overflow of
// full local queues. Any thread pushes, any worker pops; after Tokio's scheduler/inject.
//
//   InjectQueue<Task> inject;
//   if (!inject.push(task)) shut_down(task);        // refused once closed: caller keeps it
//   while (Task* t = inject.pop()) run(t);
//   inject.pop_n(16, [&](Task* t) { local.push_back_or_overflow(t, overflow); });
//   inject.close();                                  // runtime shutdown: refuse new tasks
//
// An intrusive FIFO list (T is QueueLinked, see queue_link.h) under a std::mutex: a batch of any
// size is spliced in O(1) and no operation allocates. std::mutex rather than absl::Mutex so that
// ThreadSanitizer sees the synchronisation (DESIGN.md). The queue owns no task; a task pointer is
// handed back by exactly one pop, or stays with the caller when a push is refused.
//
// Invariants
//
//   1. head_, tail_ and the links of queued tasks are read and written only under mu_.
//   2. len_ equals the number of queued tasks whenever mu_ is free; it is written only under mu_
//      and may be read without it (a hint: "is there anything worth taking the lock for?").
//   3. closed_ goes from false to true once, under mu_. A push that takes mu_ after that refuses,
//      so once close() returns no task enters the queue; tasks already in it can still be popped
//      (the shutdown drains them).
#pragma once

#include <atomic>
#include <cassert>
#include <cstddef>
#include <mutex>

#include "weft/runtime/scheduler/multi_thread/queue_link.h"

namespace weft::detail {

template <QueueLinked T>
class InjectQueue {
 public:
  InjectQueue() = default;
  InjectQueue(const InjectQueue&) = delete;
  InjectQueue& operator=(const InjectQueue&) = delete;

  // The queue owns no task: dropping a non-empty queue would lose its tasks.
  ~InjectQueue() { assert(head_ == nullptr && "InjectQueue destroyed with tasks in it"); }

  // Appends `task`. Returns false if the queue is closed: the task was not taken and still
  // belongs to the caller.
  bool push(T* task) {
    assert(task != nullptr);
    return push_batch(task, task, 1);
  }

  // Appends the `n` tasks chained from `first` to `last` through their links (n >= 1), in order.
  // Returns false if the queue is closed: the whole chain still belongs to the caller, unchanged.
  bool push_batch(T* first, T* last, std::size_t n) {
    assert(first != nullptr && last != nullptr && n > 0);
    std::lock_guard lock(mu_);
    // relaxed: closed_ is only written under mu_, which we hold (invariant 3).
    if (closed_.load(std::memory_order_relaxed)) return false;
    QueueLink<T>::set_next(*last, nullptr);
    if (tail_ == nullptr) {
      head_ = first;
    } else {
      QueueLink<T>::set_next(*tail_, first);
    }
    tail_ = last;
    // relaxed: len_ is a hint (invariant 2); whoever acts on it takes mu_, and mu_ orders the
    // tasks. A reader woken through another synchronisation (an unpark) still sees this store.
    len_.store(len_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    return true;
  }

  // Takes the oldest task, or returns nullptr if the queue is empty. Works after close().
  T* pop() {
    if (is_empty()) return nullptr;  // Skip the lock: the common case for a polling worker.
    std::lock_guard lock(mu_);
    T* const task = head_;
    if (task == nullptr) return nullptr;
    head_ = QueueLink<T>::next(*task);
    if (head_ == nullptr) tail_ = nullptr;
    QueueLink<T>::set_next(*task, nullptr);
    // relaxed: as in push_batch.
    len_.store(len_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    return task;
  }

  // Takes up to `max` of the oldest tasks and calls `on_task(T*)` on each, oldest first. The
  // batch is unlinked under the lock and handed over after it is released, so `on_task` may push
  // to this queue again or relink the task. Returns how many tasks were taken. Works after close().
  template <typename F>
  std::size_t pop_n(std::size_t max, F&& on_task) {
    if (max == 0 || is_empty()) return 0;
    T* first = nullptr;
    std::size_t n = 0;
    {
      std::lock_guard lock(mu_);
      first = head_;
      T* last = nullptr;
      for (T* t = head_; t != nullptr && n < max; t = QueueLink<T>::next(*t)) {
        last = t;
        ++n;
      }
      if (n == 0) return 0;
      head_ = QueueLink<T>::next(*last);
      if (head_ == nullptr) tail_ = nullptr;
      QueueLink<T>::set_next(*last, nullptr);
      // relaxed: as in push_batch.
      len_.store(len_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
    }
    // The chain is ours now: read each link before on_task may reuse it.
    for (T* t = first; t != nullptr;) {
      T* const next = QueueLink<T>::next(*t);
      QueueLink<T>::set_next(*t, nullptr);
      on_task(t);
      t = next;
    }
    return n;
  }

  // From now on every push refuses. Returns true for the call that closed the queue.
  bool close() {
    std::lock_guard lock(mu_);
    // relaxed: closed_ is only written under mu_, which we hold.
    if (closed_.load(std::memory_order_relaxed)) return false;
    // release: pairs with is_closed()'s acquire, for readers that don't take mu_. Pushes don't
    // need it: they read closed_ under mu_ (invariant 3).
    closed_.store(true, std::memory_order_release);
    return true;
  }

  // Any thread, without the lock. True once close() has been called (or is about to return).
  bool is_closed() const noexcept {
    // acquire: a thread that sees the queue closed also sees what the closer did before close()
    // (e.g. its own shutdown flags).
    return closed_.load(std::memory_order_acquire);
  }

  // Any thread, without the lock: a snapshot, possibly stale at once (invariant 2).
  std::size_t len() const noexcept {
    // relaxed: see push_batch.
    return len_.load(std::memory_order_relaxed);
  }

  bool is_empty() const noexcept { return len() == 0; }

 private:
  std::mutex mu_;
  T* head_ = nullptr;  // Oldest task; guarded by mu_.
  T* tail_ = nullptr;  // Newest task; guarded by mu_.
  std::atomic<std::size_t> len_{0};
  std::atomic<bool> closed_{false};
};

}  // namespace weft::detail
