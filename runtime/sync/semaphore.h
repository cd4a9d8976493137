// Semaphore: an async counting semaphore, FIFO-fair (Tokio's tokio::sync::Semaphore).
//
//   weft::sync::Semaphore sem(10);                        // at most 10 at once
//   absl::StatusOr<weft::sync::SemaphorePermit> p = co_await sem.acquire();
//   if (!p.ok()) return;                                 // FAILED_PRECONDITION: closed
//   ... // the permit is released when p goes out of scope
//
// Waiters are served strictly in order: a large acquire_many at the head is not overtaken by
// later small ones (no starvation), and try_acquire never jumps the queue.
// Cancel-safe: a cancelled acquire leaves the queue; if permits had already been assigned to it
// they go back to the semaphore (and on to the next waiter). Mutex and RwLock are built on it.
#pragma once

#include <coroutine>
#include <cstddef>
#include <memory>
#include <mutex>
#include <utility>

#include "absl/status/statusor.h"
#include "weft/runtime/sync/wait_list.h"
#include "weft/runtime/task/coop.h"
#include "weft/runtime/task/task.h"

namespace weft::sync {

class Semaphore;

// Permits held; returned to the semaphore on destruction (unless forget()).
class SemaphorePermit {
 public:
  SemaphorePermit() = default;
  SemaphorePermit(Semaphore* sem, std::size_t n) : sem_(sem), n_(n) {}
  SemaphorePermit(SemaphorePermit&& o) noexcept
      : sem_(std::exchange(o.sem_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  SemaphorePermit& operator=(SemaphorePermit&& o) noexcept {
    if (this != &o) {
      release();
      sem_ = std::exchange(o.sem_, nullptr);
      n_ = std::exchange(o.n_, 0);
    }
    return *this;
  }
  ~SemaphorePermit() { release(); }
  std::size_t num_permits() const { return n_; }
  // Keeps the permits out of the semaphore for good.
  void forget() {
    sem_ = nullptr;
    n_ = 0;
  }

 private:
  void release();
  Semaphore* sem_ = nullptr;
  std::size_t n_ = 0;
};

// A permit that keeps its semaphore alive (for permits moved into spawned tasks).
class OwnedSemaphorePermit {
 public:
  OwnedSemaphorePermit(std::shared_ptr<Semaphore> sem, SemaphorePermit p)
      : sem_(std::move(sem)), permit_(std::move(p)) {}
  OwnedSemaphorePermit(OwnedSemaphorePermit&&) noexcept = default;
  OwnedSemaphorePermit& operator=(OwnedSemaphorePermit&& o) noexcept {
    permit_ = std::move(o.permit_);  // release ours while our semaphore is still alive
    sem_ = std::move(o.sem_);
    return *this;
  }
  ~OwnedSemaphorePermit() { permit_ = SemaphorePermit(); }
  std::size_t num_permits() const { return permit_.num_permits(); }

 private:
  std::shared_ptr<Semaphore> sem_;
  SemaphorePermit permit_;
};

class Semaphore {
 public:
  explicit Semaphore(std::size_t permits) : permits_(permits) {}
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;

  class AcquireAwaiter {
   public:
    AcquireAwaiter(Semaphore* s, std::size_t n) : sem_(s) { node_.needed = n; }
    AcquireAwaiter(const AcquireAwaiter&) = delete;
    ~AcquireAwaiter() { sem_->abandon(&node_); }
    bool await_ready() {
      if (!coop::try_consume()) {
        yield_ = true;  // out of budget: let others run first
        return false;
      }
      node_.granted = sem_->try_take(node_.needed);
      return node_.granted;
    }
    bool await_suspend(std::coroutine_handle<> h) {
      if (sem_->enqueue(&node_, h)) return true;  // waiting in the queue: that is a suspension
      if (yield_ && node_.granted) {
        // Out of coop budget: take the permits now, then let others run before continuing.
        // (Cancelled during the yield, the destructor gives them back.)
        yield_ = false;
        coop::yield_current(h);
        return true;
      }
      return false;  // granted (or closed) without waiting
    }
    absl::StatusOr<SemaphorePermit> await_resume() {
      if (!node_.granted) return absl::FailedPreconditionError("semaphore closed");
      node_.granted = false;  // the permit owns them now
      return SemaphorePermit(sem_, node_.needed);
    }

   private:
    Semaphore* sem_;
    detail::WaitNode node_;
    bool yield_ = false;
  };

  // Waits for `n` permits (n may exceed the current count; it waits for releases).
  AcquireAwaiter acquire(std::size_t n = 1) { return AcquireAwaiter(this, n); }
  AcquireAwaiter acquire_many(std::size_t n) { return AcquireAwaiter(this, n); }

  // RESOURCE_EXHAUSTED when not enough permits are free (or others are queued),
  // FAILED_PRECONDITION when closed.
  absl::StatusOr<SemaphorePermit> try_acquire(std::size_t n = 1) {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return absl::FailedPreconditionError("semaphore closed");
    if (!waiters_.empty() || permits_ < n) return absl::ResourceExhaustedError("no permits");
    permits_ -= n;
    return SemaphorePermit(this, n);
  }

  void add_permits(std::size_t n) { release(n); }

  // Like acquire, for a semaphore shared through a shared_ptr: the permit keeps it alive.
  static Task<absl::StatusOr<OwnedSemaphorePermit>> acquire_owned(std::shared_ptr<Semaphore> sem,
                                                                  std::size_t n = 1) {
    absl::StatusOr<SemaphorePermit> p = co_await sem->acquire(n);
    if (!p.ok()) co_return p.status();
    co_return OwnedSemaphorePermit(std::move(sem), std::move(*p));
  }

  // Wakes every waiter with FAILED_PRECONDITION; later acquires fail at once. Permits already
  // held stay valid.
  void close() {
    detail::WakeBatch batch;
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    while (detail::WaitNode* n = waiters_.pop_front()) batch.add(std::move(n->waker));
  }
  bool is_closed() const {
    std::lock_guard<std::mutex> lock(mu_);
    return closed_;
  }
  std::size_t available_permits() const {
    std::lock_guard<std::mutex> lock(mu_);
    return permits_;
  }

 private:
  friend class SemaphorePermit;

  bool try_take(std::size_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_ || !waiters_.empty() || permits_ < n) return false;
    permits_ -= n;
    return true;
  }

  // Returns false (do not suspend) if the permits were taken or the semaphore is closed.
  bool enqueue(detail::WaitNode* node, std::coroutine_handle<> h) {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return false;
    if (waiters_.empty() && permits_ >= node->needed) {
      permits_ -= node->needed;
      node->granted = true;
      return false;
    }
    node->waker = Waker::current(h);
    waiters_.push_back(node);
    return true;
  }

  void release(std::size_t n) {
    detail::WakeBatch batch;  // declared first: woken after the lock is released
    std::lock_guard<std::mutex> lock(mu_);
    permits_ += n;
    grant_locked(batch);
  }

  // Serves the queue head while it can be satisfied (strict FIFO).
  void grant_locked(detail::WakeBatch& batch) {
    while (detail::WaitNode* head = waiters_.front()) {
      if (permits_ < head->needed) break;
      permits_ -= head->needed;
      waiters_.remove(head);
      head->granted = true;
      batch.add(std::move(head->waker));
    }
  }

  // The awaiter is going away: leave the queue, or give back permits it never used.
  void abandon(detail::WaitNode* node) {
    detail::WakeBatch batch;
    std::lock_guard<std::mutex> lock(mu_);
    if (node->linked()) {
      bool was_head = waiters_.front() == node;
      waiters_.remove(node);
      node->waker = Waker();
      if (was_head) grant_locked(batch);  // smaller requests behind it may fit now
    } else if (node->granted) {
      permits_ += node->needed;
      node->granted = false;
      grant_locked(batch);
    }
  }

  mutable std::mutex mu_;
  std::size_t permits_;
  bool closed_ = false;
  detail::WaitList waiters_;
};

inline void SemaphorePermit::release() {
  if (sem_ != nullptr && n_ != 0) std::exchange(sem_, nullptr)->release(std::exchange(n_, 0));
}

}  // namespace weft::sync
