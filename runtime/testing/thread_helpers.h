// Thread-level helpers for tests: waiting for events from other threads, always bounded, so
// a broken test fails instead of hanging.
//
//   weft::testing::Counter done;                  // threads call done.add()
//   BOOST_TEST(done.wait_for(100));               // false after kLimit
//   weft::testing::Gate gate;  gate.wait();  gate.open();
#pragma once

#include <pthread.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace weft::testing {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Upper bound for every wait: generous for TSan/ASan on a loaded 2-core machine; a healthy run
// never comes near it, a broken one fails instead of hanging.
inline constexpr auto kLimit = 20s;

// Counts events; waiters block until a count is reached (bounded).
class Counter {
 public:
  void add() {
    std::lock_guard lk(mu_);
    ++n_;
    cv_.notify_all();
  }
  bool wait_for(int target, std::chrono::milliseconds limit = kLimit) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, limit, [&] { return n_ >= target; });
  }
  int get() {
    std::lock_guard lk(mu_);
    return n_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int n_ = 0;
};

// Holds jobs until opened. Jobs wait at most kLimit, so a failing test cannot hang the pool.
class Gate {
 public:
  void open() {
    std::lock_guard lk(mu_);
    open_ = true;
    cv_.notify_all();
  }
  bool wait() {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, kLimit, [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// For states the pool exposes only through its metrics: poll, bounded.
template <class Pred>
bool eventually(Pred pred) {
  const auto deadline = Clock::now() + kLimit;
  while (!pred()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// Called on pool threads, so no Boost.Test assertion here (Boost.Test is single-threaded).
inline std::string thread_name() {
  char buf[32] = {};
  if (pthread_getname_np(pthread_self(), buf, sizeof buf) != 0)
    return "<pthread_getname_np failed>";
  return buf;
}

}  // namespace weft::testing
