// WaitList: the intrusive FIFO of suspended waiters that Semaphore, Notify and
// CancellationToken share. Nodes live inside awaiters (no allocation); the owner's mutex guards
// the list and every node field. Wakers are collected under the lock and woken after it.
#pragma once

#include <cstddef>
#include <utility>

#include "weft/runtime/task/waker.h"

namespace weft::sync::detail {

struct WaitNode {
  Waker waker;
  WaitNode* prev = nullptr;
  WaitNode* next = nullptr;
  bool linked = false;
  bool granted = false;    // the owner satisfied this waiter (permits assigned, notified, ...)
  std::size_t needed = 0;  // Semaphore: permits wanted
};

class WaitList {
 public:
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
    n->linked = true;
  }

  void remove(WaitNode* n) {
    if (!n->linked) return;
    if (n->prev != nullptr)
      n->prev->next = n->next;
    else
      head_ = n->next;
    if (n->next != nullptr)
      n->next->prev = n->prev;
    else
      tail_ = n->prev;
    n->prev = n->next = nullptr;
    n->linked = false;
  }

  WaitNode* pop_front() {
    WaitNode* n = head_;
    if (n != nullptr) remove(n);
    return n;
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

}  // namespace weft::sync::detail
