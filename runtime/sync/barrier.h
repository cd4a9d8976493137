// Barrier: lets n tasks wait until all of them have reached the same point (Tokio's
// tokio::sync::Barrier). Reusable: once n tasks have arrived they all go on, and the next n
// wait() calls form the next generation.
//
//   auto barrier = std::make_shared<weft::sync::Barrier>(3);   // shared by the 3 tasks
//   // in each task:
//   weft::sync::BarrierWaitResult r = co_await barrier->wait();
//   if (r.is_leader()) log("everyone is here");               // exactly one per generation
//
// The leader is the task whose arrival completes the generation (it does not wait). A barrier
// for 0 tasks behaves as one for 1, as in Tokio: every wait() returns at once as the leader.
//
// Cancellation (differs from Tokio, whose wait() is not cancel-safe: there a cancelled wait
// still counts as arrived, so its generation is released with one task fewer). Here a wait()
// cancelled while it waits withdraws its arrival: the generation still needs n tasks that are
// waiting, and the cancelled task does not count. A wait() whose generation was already complete
// when it was cancelled (woken but not yet resumed) did count; that generation is unaffected.
//
// Invariants (one std::mutex `mu_` guards them):
//   1. 0 <= arrived_ < n_ between operations, and arrived_ is the number of nodes in waiting_.
//   2. The n-th arrival moves every waiting node to released_ and resets arrived_ under mu_
//      (that starts the next generation), then wakes released_ in batches outside it. A new
//      generation's waiters go to waiting_, so they are never woken by an earlier generation.
//   3. A node is in at most one list; a cancelled wait() unlinks it under mu_ before its frame
//      goes away (decrementing arrived_ if it was still in waiting_).
#pragma once

#include <array>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <utility>

#include "weft/runtime/task/coop.h"
#include "weft/runtime/task/waker.h"

namespace weft::sync {

namespace barrier_detail {

class WaitList;

// A suspended wait() (the awaiter itself, so waiting allocates nothing).
struct WaitNode {
  WaitNode* prev = nullptr;
  WaitNode* next = nullptr;
  WaitList* list = nullptr;  // the list holding the node, or null; guarded by the barrier's mu_
  Waker waker;
};

// Intrusive doubly-linked FIFO of WaitNodes; the owner's mutex guards it and its nodes' links.
class WaitList {
 public:
  bool empty() const { return head_ == nullptr; }
  void push_back(WaitNode* n) {
    n->prev = tail_;
    n->next = nullptr;
    if (tail_ != nullptr) {
      tail_->next = n;
    } else {
      head_ = n;
    }
    tail_ = n;
    n->list = this;
  }
  WaitNode* pop_front() {
    WaitNode* n = head_;
    if (n != nullptr) remove(n);
    return n;
  }
  void remove(WaitNode* n) {
    if (n->prev != nullptr) {
      n->prev->next = n->next;
    } else {
      head_ = n->next;
    }
    if (n->next != nullptr) {
      n->next->prev = n->prev;
    } else {
      tail_ = n->prev;
    }
    n->prev = n->next = nullptr;
    n->list = nullptr;
  }
  // Moves every node of `from` to the back of this list.
  void append(WaitList& from) {
    if (from.head_ == nullptr) return;
    for (WaitNode* n = from.head_; n != nullptr; n = n->next) n->list = this;
    if (tail_ != nullptr) {
      tail_->next = from.head_;
      from.head_->prev = tail_;
    } else {
      head_ = from.head_;
    }
    tail_ = from.tail_;
    from.head_ = from.tail_ = nullptr;
  }

 private:
  WaitNode* head_ = nullptr;
  WaitNode* tail_ = nullptr;
};

}  // namespace barrier_detail

// What wait() gives: whether this task was the generation's leader.
class BarrierWaitResult {
 public:
  explicit BarrierWaitResult(bool leader) : leader_(leader) {}
  bool is_leader() const { return leader_; }

 private:
  bool leader_;
};

class Barrier {
 public:
  // A barrier for n tasks (0 counts as 1).
  explicit Barrier(std::size_t n) : n_(n == 0 ? 1 : n) {}
  // Waiters point into the barrier: it must outlive them, so it is neither copied nor moved.
  Barrier(const Barrier&) = delete;
  Barrier& operator=(const Barrier&) = delete;

  // `BarrierWaitResult r = co_await barrier.wait()`: waits until n tasks have called wait()
  // for this generation. Cancel-safe in the sense described at the top: a cancelled wait
  // withdraws its arrival (unlike Tokio) and leaves nothing registered.
  class [[nodiscard]] WaitFuture : private barrier_detail::WaitNode {
   public:
    explicit WaitFuture(Barrier* b) : barrier_(b) {}
    WaitFuture(const WaitFuture&) = delete;
    WaitFuture& operator=(const WaitFuture&) = delete;
    ~WaitFuture() {
      if (waiting_) barrier_->cancel(this);
    }

    bool await_ready() const { return false; }  // arriving is done in await_suspend
    bool await_suspend(std::coroutine_handle<> h) {
      waker = Waker::current(h);
      if (barrier_->arrive(this)) {
        waiting_ = true;
        return true;
      }
      waker = Waker();
      leader_ = true;
      // Completed without waiting: spend budget (the generation is released already, so a
      // yield, or a cancellation during it, changes nothing for the others).
      if (coop::try_consume()) return false;
      coop::yield_current(h);
      return true;
    }
    BarrierWaitResult await_resume() {
      waiting_ = false;
      return BarrierWaitResult(leader_);
    }

   private:
    Barrier* barrier_;
    bool waiting_ = false;
    bool leader_ = false;
  };
  WaitFuture wait() { return WaitFuture(this); }

  // The number of tasks each generation needs.
  std::size_t count() const { return n_; }

 private:
  // True: `n` was linked and must wait. False: `n`'s arrival completed the generation.
  bool arrive(barrier_detail::WaitNode* n) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (++arrived_ < n_) {
        waiting_.push_back(n);
        return true;
      }
      arrived_ = 0;
      released_.append(waiting_);
    }
    wake_released();
    return false;
  }
  void cancel(barrier_detail::WaitNode* n) {
    std::lock_guard<std::mutex> lock(mu_);
    if (n->list == &waiting_) --arrived_;  // withdraw the arrival (see the top)
    if (n->list != nullptr) n->list->remove(n);
  }
  void wake_released() {
    for (;;) {
      std::array<Waker, kBatch> batch;
      std::size_t count = 0;
      {
        std::lock_guard<std::mutex> lock(mu_);
        while (count < kBatch) {
          barrier_detail::WaitNode* node = released_.pop_front();
          if (node == nullptr) break;
          batch[count++] = std::move(node->waker);
        }
      }
      for (std::size_t i = 0; i < count; ++i) std::move(batch[i]).wake();
      if (count < kBatch) return;
    }
  }

  // Wakers taken out per lock round: no allocation, and few lock rounds for many waiters.
  static constexpr std::size_t kBatch = 16;

  const std::size_t n_;
  std::mutex mu_;
  std::size_t arrived_ = 0;            // guarded by mu_ (invariant 1)
  barrier_detail::WaitList waiting_;   // guarded by mu_
  barrier_detail::WaitList released_;  // guarded by mu_
};

}  // namespace weft::sync
