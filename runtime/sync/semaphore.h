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
//
// Lock-free while nobody waits: the count lives in one atomic word with a CLOSED and a QUEUED
// bit, so an uncontended acquire or release is one compare-and-swap. QUEUED is set (under the
// mutex, by a CAS on the word the waiter found short of permits) exactly while the queue is
// not empty; then every change of the count goes through the mutex, which serves the queue.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
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
  // The check stays inline, so destroying a moved-from permit (the common case) costs nothing.
  ~SemaphorePermit() {
    if (sem_ != nullptr) release();
  }
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
  explicit Semaphore(std::size_t permits) : state_(uint64_t{permits} << kShift) {}
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;

  class AcquireAwaiter {
   public:
    AcquireAwaiter(Semaphore* s, std::size_t n) : sem_(s) { node_.needed = n; }
    AcquireAwaiter(const AcquireAwaiter&) = delete;
    ~AcquireAwaiter() {
      // Unqueued, only this thread ever touched node_: nothing to give back unless granted.
      if (queued_ || node_.granted) sem_->abandon(&node_);
    }
    bool await_ready() {
      if (!coop::try_consume()) {
        yield_ = true;  // out of budget: let others run first
        return false;
      }
      node_.granted = sem_->try_take(node_.needed);
      return node_.granted;
    }
    bool await_suspend(std::coroutine_handle<> h) {
      if (sem_->enqueue(&node_, h)) {
        queued_ = true;  // waiting in the queue: that is a suspension
        return true;
      }
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
    bool queued_ = false;  // enqueue() put node_ in the queue (others may touch it, under mu_)
  };

  // Waits for `n` permits (n may exceed the current count; it waits for releases).
  AcquireAwaiter acquire(std::size_t n = 1) { return AcquireAwaiter(this, n); }
  AcquireAwaiter acquire_many(std::size_t n) { return AcquireAwaiter(this, n); }

  // RESOURCE_EXHAUSTED when not enough permits are free (or others are queued),
  // FAILED_PRECONDITION when closed.
  [[gnu::always_inline]] absl::StatusOr<SemaphorePermit> try_acquire(std::size_t n = 1) {
    if (try_take(n)) return SemaphorePermit(this, n);
    return try_acquire_error();
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
    state_.fetch_or(kClosed, std::memory_order_acq_rel);
    while (detail::WaitNode* n = waiters_.pop_front()) batch.add(std::move(n->waker));
    state_.fetch_and(~kQueued, std::memory_order_release);
  }
  bool is_closed() const { return state_.load(std::memory_order_acquire) & kClosed; }
  std::size_t available_permits() const {
    return static_cast<std::size_t>(state_.load(std::memory_order_acquire) >> kShift);
  }

 private:
  friend class SemaphorePermit;

  static constexpr uint64_t kClosed = 1;
  static constexpr uint64_t kQueued = 2;
  static constexpr int kShift = 2;
  static uint64_t permits_in(uint64_t state) { return state >> kShift; }

  // Why try_acquire failed. Out of line, so that try_acquire inlines and its permit stays in
  // registers. Shared statuses: a limit that is reached fails on every call (load shedding), and
  // a status with a message would allocate each time; copying one only bumps a reference count.
  [[gnu::noinline]] absl::Status try_acquire_error() const {
    static const absl::Status kClosedError = absl::FailedPreconditionError("semaphore closed");
    static const absl::Status kNoPermitsError = absl::ResourceExhaustedError("no permits");
    return is_closed() ? kClosedError : kNoPermitsError;
  }

  // Takes n permits without waiting: never while closed or while others wait (FIFO).
  bool try_take(std::size_t n) {
    uint64_t cur = state_.load(std::memory_order_relaxed);
    for (;;) {
      if ((cur & (kClosed | kQueued)) || permits_in(cur) < n) return false;
      if (state_.compare_exchange_weak(cur, cur - (uint64_t{n} << kShift),
                                       std::memory_order_acquire, std::memory_order_relaxed)) {
        return true;
      }
    }
  }

  // Returns false (do not suspend) if the permits were taken or the semaphore is closed.
  bool enqueue(detail::WaitNode* node, std::coroutine_handle<> h) {
    std::lock_guard<std::mutex> lock(mu_);
    uint64_t cur = state_.load(std::memory_order_relaxed);
    for (;;) {
      if (cur & kClosed) return false;
      if (!(cur & kQueued) && permits_in(cur) >= node->needed) {
        if (state_.compare_exchange_weak(cur, cur - (uint64_t{node->needed} << kShift),
                                         std::memory_order_acquire, std::memory_order_relaxed)) {
          node->granted = true;
          return false;
        }
        continue;
      }
      // Short of permits (or queued behind others): from now on releases take the mutex. The
      // CAS fails if a lock-free release added permits since `cur` was read: look again.
      if ((cur & kQueued) ||
          state_.compare_exchange_weak(cur, cur | kQueued, std::memory_order_acq_rel,
                                       std::memory_order_relaxed)) {
        break;
      }
    }
    node->waker = Waker::current(h);
    waiters_.push_back(node);
    return true;
  }

  void release(std::size_t n) {
    uint64_t cur = state_.load(std::memory_order_relaxed);
    while (!(cur & kQueued)) {
      if (state_.compare_exchange_weak(cur, cur + (uint64_t{n} << kShift),
                                       std::memory_order_release, std::memory_order_relaxed)) {
        return;
      }
    }
    release_to_waiters(n);
  }
  // release() with tasks queued: out of line, so that the lock-free path above inlines.
  [[gnu::noinline]] void release_to_waiters(std::size_t n) {
    detail::WakeBatch batch;  // declared first: woken after the lock is released
    std::lock_guard<std::mutex> lock(mu_);
    state_.fetch_add(uint64_t{n} << kShift, std::memory_order_acq_rel);
    grant_locked(batch);
  }

  // Serves the queue head while it can be satisfied (strict FIFO); clears QUEUED when the queue
  // empties. With QUEUED set nobody changes the count without the mutex.
  void grant_locked(detail::WakeBatch& batch) {
    while (detail::WaitNode* head = waiters_.front()) {
      if (permits_in(state_.load(std::memory_order_relaxed)) < head->needed) return;
      state_.fetch_sub(uint64_t{head->needed} << kShift, std::memory_order_acq_rel);
      waiters_.remove(head);
      head->granted = true;
      batch.add(std::move(head->waker));
    }
    state_.fetch_and(~kQueued, std::memory_order_release);
  }

  // The awaiter is going away: leave the queue, or give back permits it never used.
  void abandon(detail::WaitNode* node) {
    detail::WakeBatch batch;
    std::lock_guard<std::mutex> lock(mu_);
    if (node->linked()) {
      waiters_.remove(node);
      node->waker = Waker();
      grant_locked(batch);  // smaller requests behind it may fit now; clears QUEUED if empty
    } else if (node->granted) {
      node->granted = false;
      state_.fetch_add(uint64_t{node->needed} << kShift, std::memory_order_acq_rel);
      grant_locked(batch);
    }
  }

  mutable std::mutex mu_;
  std::atomic<uint64_t> state_;  // permits << kShift | kQueued | kClosed
  detail::WaitList waiters_;
};

inline void SemaphorePermit::release() {
  if (sem_ != nullptr && n_ != 0) std::exchange(sem_, nullptr)->release(std::exchange(n_, 0));
}

}  // namespace weft::sync
