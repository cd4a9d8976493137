// SpinLock: a test-and-test-and-set lock for critical sections of a few instructions, where
// std::mutex's second atomic (and its futex path under contention) costs more than the work.
// Yields the thread if the holder was preempted. TSan understands it (plain atomics).
//
//   weft::sync::SpinLock mu;
//   { std::lock_guard<weft::sync::SpinLock> lock(mu); ++counter; }
//
// Never hold it across a suspension or a syscall: use weft::sync::Mutex or std::mutex there.
#pragma once

#include <atomic>
#include <thread>

namespace weft::sync {

class SpinLock {
 public:
  void lock() {
    for (int spins = 0; locked_.exchange(true, std::memory_order_acquire); ++spins) {
      while (locked_.load(std::memory_order_relaxed)) {
        if (++spins > 64) std::this_thread::yield();
      }
    }
  }
  void unlock() { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

}  // namespace weft::sync
