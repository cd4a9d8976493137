// Mutex<T>: an async mutex that owns its data, FIFO-fair (Tokio's tokio::sync::Mutex).
//
//   weft::sync::Mutex<std::vector<int>> m;
//   {
//     auto guard = co_await m.lock();   // waits without blocking the worker thread
//     guard->push_back(1);
//   }                                   // unlocked here
//
// Hold the guard across co_await freely; for short critical sections without awaits a
// std::mutex is cheaper. Lock order is first come, first served (Semaphore with one permit).
// Cancel-safe: a cancelled lock() leaves the queue and never holds the lock.
#pragma once

#include <optional>
#include <utility>

#include "weft/runtime/sync/semaphore.h"

namespace weft::sync {

template <class T>
class MutexGuard {
 public:
  MutexGuard(T* value, SemaphorePermit permit) : value_(value), permit_(std::move(permit)) {}
  MutexGuard(MutexGuard&&) noexcept = default;
  MutexGuard& operator=(MutexGuard&&) noexcept = default;
  T& operator*() const { return *value_; }
  T* operator->() const { return value_; }

 private:
  T* value_;
  SemaphorePermit permit_;
};

template <class T>
class Mutex {
 public:
  template <class... Args>
  explicit Mutex(Args&&... args) : value_(std::forward<Args>(args)...) {}

  // `co_await m.lock()` gives a MutexGuard<T>.
  auto lock() {
    struct Awaiter {
      Mutex* m;
      Semaphore::AcquireAwaiter inner;
      bool await_ready() { return inner.await_ready(); }
      bool await_suspend(std::coroutine_handle<> h) { return inner.await_suspend(h); }
      MutexGuard<T> await_resume() {
        // Never closed, so acquiring always succeeds.
        return MutexGuard<T>(&m->value_, std::move(*inner.await_resume()));
      }
    };
    return Awaiter{this, sem_.acquire(1)};
  }

  std::optional<MutexGuard<T>> try_lock() {
    absl::StatusOr<SemaphorePermit> p = sem_.try_acquire(1);
    if (!p.ok()) return std::nullopt;
    return MutexGuard<T>(&value_, std::move(*p));
  }

  // Direct access when no other task can hold the lock (e.g. before sharing the mutex).
  T& get_mut() { return value_; }

 private:
  Semaphore sem_{1};
  T value_;
};

}  // namespace weft::sync
