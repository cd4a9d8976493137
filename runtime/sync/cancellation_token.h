// CancellationToken: a signal that an operation should stop, shareable and hierarchical
// (tokio-util's CancellationToken).
//
//   weft::sync::CancellationToken shutdown;
//   auto child = shutdown.child_token();           // cancelled with its parent (not vice versa)
//   weft::spawn(worker(child));                    // worker: co_await token.cancelled();
//   shutdown.cancel();                             // every waiter on shutdown and child wakes
//
// Copies share the same token. cancel() is idempotent and thread-safe. A child made after the
// parent was cancelled starts cancelled. Cancelling a child does not affect the parent.
// Cancel-safe: a cancelled `co_await token.cancelled()` just leaves the wait list.
#pragma once

#include <coroutine>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "weft/runtime/sync/wait_list.h"

namespace weft::sync {

class CancellationToken {
  struct Node;

 public:
  CancellationToken() : node_(std::make_shared<Node>()) {}

  void cancel() const { cancel_node(node_); }
  bool is_cancelled() const {
    std::lock_guard<std::mutex> lock(node_->mu);
    return node_->cancelled;
  }

  CancellationToken child_token() const {
    CancellationToken child;
    std::lock_guard<std::mutex> lock(node_->mu);
    if (node_->cancelled) {
      child.node_->cancelled = true;
    } else {
      // Drop children that are gone, so a long-lived parent does not grow without bound.
      std::erase_if(node_->children, [](const std::weak_ptr<Node>& w) { return w.expired(); });
      node_->children.push_back(child.node_);
    }
    return child;
  }

  class CancelledAwaiter {
   public:
    explicit CancelledAwaiter(std::shared_ptr<Node> node) : node_(std::move(node)) {}
    CancelledAwaiter(const CancelledAwaiter&) = delete;
    ~CancelledAwaiter() {
      std::lock_guard<std::mutex> lock(node_->mu);
      node_->waiters.remove(&wait_);
    }
    bool await_ready() {
      std::lock_guard<std::mutex> lock(node_->mu);
      return node_->cancelled;
    }
    bool await_suspend(std::coroutine_handle<> h) {
      std::lock_guard<std::mutex> lock(node_->mu);
      if (node_->cancelled) return false;
      wait_.waker = Waker::current(h);
      node_->waiters.push_back(&wait_);
      return true;
    }
    void await_resume() {}

   private:
    std::shared_ptr<Node> node_;  // keeps the token alive while waiting
    detail::WaitNode wait_;
  };

  // Completes once the token (or an ancestor) is cancelled.
  CancelledAwaiter cancelled() const { return CancelledAwaiter(node_); }

  // A guard that cancels this token when destroyed (see DropGuard below).
  class DropGuard drop_guard() const;

 private:
  struct Node {
    std::mutex mu;
    bool cancelled = false;
    detail::WaitList waiters;
    std::vector<std::weak_ptr<Node>> children;
  };

  static void cancel_node(const std::shared_ptr<Node>& node) {
    std::vector<std::weak_ptr<Node>> children;
    {
      detail::WakeBatch batch;
      std::lock_guard<std::mutex> lock(node->mu);
      if (node->cancelled) return;
      node->cancelled = true;
      while (detail::WaitNode* w = node->waiters.pop_front()) batch.add(std::move(w->waker));
      children.swap(node->children);
    }
    for (auto& weak : children) {
      if (std::shared_ptr<Node> child = weak.lock()) cancel_node(child);
    }
  }

  std::shared_ptr<Node> node_;
};

// Cancels its token when destroyed, unless disarm()ed (tokio-util's DropGuard).
class DropGuard {
 public:
  explicit DropGuard(CancellationToken t) : token_(std::move(t)) {}
  DropGuard(DropGuard&& o) noexcept : token_(o.token_), armed_(std::exchange(o.armed_, false)) {}
  ~DropGuard() {
    if (armed_) token_.cancel();
  }
  CancellationToken disarm() {
    armed_ = false;
    return token_;
  }

 private:
  CancellationToken token_;
  bool armed_ = true;
};

inline DropGuard CancellationToken::drop_guard() const { return DropGuard(*this); }

}  // namespace weft::sync
