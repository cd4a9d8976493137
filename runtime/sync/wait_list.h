// WaitList: the intrusive FIFO of suspended waiters that every wait-queue primitive of
// runtime/sync shares (Semaphore, Notify, CancellationToken, Barrier, the broadcast, watch and
// mpsc channels). Nodes live inside awaiters (no allocation); the owner's mutex guards the list
// and every node field. Wakers are collected under the lock and woken after it.
#pragma once

#include <cstddef>
#include <mutex>
#include <utility>

#include "weft/runtime/task/waker.h"

namespace weft::sync::detail {

class WaitList;

struct WaitNode {
  Waker waker;
  WaitNode* prev = nullptr;
  WaitNode* next = nullptr;
  WaitList* list = nullptr;  // the list holding the node, or null
  bool granted = false;      // the owner satisfied this waiter (permits assigned, notified, ...)
  std::size_t needed = 0;    // Semaphore: permits wanted
  bool linked() const { return list != nullptr; }
};

class WaitList {
 public:
  WaitList() = default;
  WaitList(const WaitList&) = delete;  // nodes point back at their list
  WaitList& operator=(const WaitList&) = delete;

  bool empty() const { return head_ == nullptr; }
  WaitNode* front() const { return head_; }

  void push_back(WaitNode* n) {
    n->prev = tail_;
    n->next = nullptr;
    if (tail_ != nullptr)
      tail_->next = n;
    else
      head_ = n;
    tail_ = n;
    n->list = this;
  }

  // Unlinks `n` if it is linked (into this list: a node's list is the one to remove it from).
  void remove(WaitNode* n) {
    if (!n->linked()) return;
    if (n->prev != nullptr)
      n->prev->next = n->next;
    else
      head_ = n->next;
    if (n->next != nullptr)
      n->next->prev = n->prev;
    else
      tail_ = n->prev;
    n->prev = n->next = nullptr;
    n->list = nullptr;
  }

  WaitNode* pop_front() {
    WaitNode* n = head_;
    if (n != nullptr) remove(n);
    return n;
  }

  // Moves every node of `from` to the back of this list (relinking costs one store per node).
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

// Wakers to wake once the lock is released. Small inline capacity: wake-ups are usually one.
class WakeBatch {
 public:
  WakeBatch() = default;
  WakeBatch(const WakeBatch&) = delete;
  ~WakeBatch() { wake_all(); }
  bool full() const { return n_ == kInline; }
  // Past the inline capacity the earlier ones are woken at once (still correct under the
  // owner's lock: waking only schedules a task, it never calls back into the primitive).
  void add(Waker w) {
    if (n_ == kInline) wake_all();
    wakers_[n_++] = std::move(w);
  }
  void wake_all() {
    for (std::size_t i = 0; i < n_; ++i) std::move(wakers_[i]).wake();
    n_ = 0;
  }

 private:
  static constexpr std::size_t kInline = 16;
  Waker wakers_[kInline];
  std::size_t n_ = 0;
};

// Unlinks and wakes every node of `list`, which `mu` guards (the caller does not hold it): a
// WakeBatch at a time, taken under `mu` and woken after it is released. So many waiters cost
// no allocation and few lock rounds, and no wake runs under the lock.
inline void wake_all(std::mutex& mu, WaitList& list) {
  for (;;) {
    WakeBatch batch;  // declared first: woken after the lock is released
    std::lock_guard<std::mutex> lock(mu);
    while (!batch.full()) {
      WaitNode* n = list.pop_front();
      if (n == nullptr) return;
      batch.add(std::move(n->waker));
    }
  }
}

}  // namespace weft::sync::detail
