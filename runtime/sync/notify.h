// Notify: wakes tasks without sending data (Tokio's tokio::sync::Notify).
//
//   weft::sync::Notify ready;
//   // task A:                         // task B:
//   co_await ready.notified();         ready.notify_one();
//
// notify_one() wakes the longest-waiting task, or, if none waits, stores one permit so that
// the next notified() completes at once (permits do not accumulate beyond one).
// notify_waiters() wakes every task waiting right now and stores nothing.
// Cancel-safe: a cancelled notified() leaves the queue; if notify_one had already picked it,
// the notification passes to the next waiter (or back to the permit), so none is lost.
#pragma once

#include <coroutine>
#include <mutex>

#include "weft/runtime/sync/wait_list.h"
#include "weft/runtime/task/coop.h"

namespace weft::sync {

class Notify {
 public:
  Notify() = default;
  Notify(const Notify&) = delete;
  Notify& operator=(const Notify&) = delete;

  void notify_one() {
    detail::WakeBatch batch;
    std::lock_guard<std::mutex> lock(mu_);
    notify_one_locked(batch);
  }

  void notify_waiters() {
    detail::WakeBatch batch;
    std::lock_guard<std::mutex> lock(mu_);
    while (detail::WaitNode* n = waiters_.pop_front()) {
      n->granted = true;
      batch.add(std::move(n->waker));
    }
  }

  class NotifiedAwaiter {
   public:
    explicit NotifiedAwaiter(Notify* n) : n_(n) {}
    NotifiedAwaiter(const NotifiedAwaiter&) = delete;
    ~NotifiedAwaiter() {
      detail::WakeBatch batch;
      std::lock_guard<std::mutex> lock(n_->mu_);
      if (node_.linked()) {
        n_->waiters_.remove(&node_);
        node_.waker = Waker();
      } else if (node_.granted && !consumed_ && node_.needed == kByNotifyOne) {
        n_->notify_one_locked(batch);  // picked by notify_one but never resumed: pass it on
      }
    }
    bool await_ready() {
      std::lock_guard<std::mutex> lock(n_->mu_);
      if (!n_->permit_) return false;
      n_->permit_ = false;
      consumed_ = true;
      return true;
    }
    bool await_suspend(std::coroutine_handle<> h) {
      std::lock_guard<std::mutex> lock(n_->mu_);
      if (n_->permit_) {
        n_->permit_ = false;
        consumed_ = true;
        return false;
      }
      node_.waker = Waker::current(h);
      n_->waiters_.push_back(&node_);
      return true;
    }
    void await_resume() {
      std::lock_guard<std::mutex> lock(n_->mu_);
      consumed_ = true;
    }

   private:
    Notify* n_;
    detail::WaitNode node_;
    bool consumed_ = false;
  };

  NotifiedAwaiter notified() { return NotifiedAwaiter(this); }

 private:
  static constexpr std::size_t kByNotifyOne = 1;  // marks a node woken by notify_one

  void notify_one_locked(detail::WakeBatch& batch) {
    if (detail::WaitNode* n = waiters_.pop_front()) {
      n->granted = true;
      n->needed = kByNotifyOne;
      batch.add(std::move(n->waker));
    } else {
      permit_ = true;
    }
  }

  std::mutex mu_;
  detail::WaitList waiters_;
  bool permit_ = false;
};

}  // namespace weft::sync
