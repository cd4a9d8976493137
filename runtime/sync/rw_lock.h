// RwLock<T>: an async reader-writer lock, FIFO-fair (Tokio's tokio::sync::RwLock).
//
//   weft::sync::RwLock<Config> cfg;
//   { auto r = co_await cfg.read();  use(*r); }          // many readers at once
//   { auto w = co_await cfg.write(); w->port = 8080; }   // one writer, no readers
//
// Requests are served in arrival order: a waiting writer holds back readers that come after it,
// so writers never starve. Built on Semaphore: a reader takes one permit, a writer all of them.
// Cancel-safe: a cancelled read()/write() leaves the queue and holds nothing.
#pragma once

#include <optional>
#include <utility>

#include "weft/runtime/sync/semaphore.h"

namespace weft::sync {

template <class T>
class RwLockReadGuard {
 public:
  RwLockReadGuard(const T* v, SemaphorePermit p) : value_(v), permit_(std::move(p)) {}
  RwLockReadGuard(RwLockReadGuard&&) noexcept = default;
  const T& operator*() const { return *value_; }
  const T* operator->() const { return value_; }

 private:
  const T* value_;
  SemaphorePermit permit_;
};

template <class T>
class RwLockWriteGuard {
 public:
  RwLockWriteGuard(T* v, SemaphorePermit p) : value_(v), permit_(std::move(p)) {}
  RwLockWriteGuard(RwLockWriteGuard&&) noexcept = default;
  T& operator*() const { return *value_; }
  T* operator->() const { return value_; }

 private:
  T* value_;
  SemaphorePermit permit_;
};

template <class T>
class RwLock {
 public:
  // Readers at once: large enough never to matter, small enough that a writer's request fits.
  static constexpr std::size_t kMaxReaders = std::size_t{1} << 24;

  template <class... Args>
  explicit RwLock(Args&&... args) : value_(std::forward<Args>(args)...) {}

  auto read() { return Awaiter<RwLockReadGuard<T>>{this, sem_.acquire(1)}; }
  auto write() { return Awaiter<RwLockWriteGuard<T>>{this, sem_.acquire(kMaxReaders)}; }

  std::optional<RwLockReadGuard<T>> try_read() {
    absl::StatusOr<SemaphorePermit> p = sem_.try_acquire(1);
    if (!p.ok()) return std::nullopt;
    return RwLockReadGuard<T>(&value_, std::move(*p));
  }
  std::optional<RwLockWriteGuard<T>> try_write() {
    absl::StatusOr<SemaphorePermit> p = sem_.try_acquire(kMaxReaders);
    if (!p.ok()) return std::nullopt;
    return RwLockWriteGuard<T>(&value_, std::move(*p));
  }

 private:
  template <class Guard>
  struct Awaiter {
    RwLock* lock;
    Semaphore::AcquireAwaiter inner;
    bool await_ready() { return inner.await_ready(); }
    bool await_suspend(std::coroutine_handle<> h) { return inner.await_suspend(h); }
    Guard await_resume() { return Guard(&lock->value_, std::move(*inner.await_resume())); }
  };

  Semaphore sem_{kMaxReaders};
  T value_;
};

}  // namespace weft::sync
