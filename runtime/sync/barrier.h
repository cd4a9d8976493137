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

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <utility>

#include "weft/runtime/sync/wait_list.h"
#include "weft/runtime/task/coop.h"
#include "weft/runtime/task/waker.h"

namespace weft::sync {

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
  // withdraws its arrival (unlike Tokio) and leaves nothing registered. The future is its own
  // wait-list node, so waiting allocates nothing.
  class [[nodiscard]] WaitFuture : private detail::WaitNode {
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
  bool arrive(detail::WaitNode* n) {
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
  void cancel(detail::WaitNode* n) {
    std::lock_guard<std::mutex> lock(mu_);
    if (n->list == &waiting_) --arrived_;  // withdraw the arrival (see the top)
    if (n->list != nullptr) n->list->remove(n);
  }
  void wake_released() { detail::wake_all(mu_, released_); }

  const std::size_t n_;
  std::mutex mu_;
  std::size_t arrived_ = 0;    // guarded by mu_ (invariant 1)
  detail::WaitList waiting_;   // guarded by mu_
  detail::WaitList released_;  // guarded by mu_
};

}  // namespace weft::sync
