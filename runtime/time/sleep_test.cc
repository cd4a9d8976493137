// Timers through the runtime: order, precision, cancellation.
#define BOOST_TEST_MODULE sleep_test
#include "weft/runtime/time/sleep.h"

#include <algorithm>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

#include "weft/runtime/runtime.h"

using namespace std::chrono_literals;
using weft::Runtime;
using weft::Task;
using weft::time::Clock;

namespace {
struct Record {
  std::mutex mu;
  std::vector<int> order;
  std::vector<double> late_ms;  // how long after its deadline each timer fired
};

Task<void> sleeper(int id, Clock::time_point deadline, Record* rec) {
  co_await weft::time::sleep_until(deadline);
  double late = std::chrono::duration<double, std::milli>(Clock::now() - deadline).count();
  std::lock_guard<std::mutex> lock(rec->mu);
  rec->order.push_back(id);
  rec->late_ms.push_back(late);
}

Task<void> run_sleepers(Record* rec) {
  Clock::time_point start = Clock::now() + 5ms;
  std::vector<weft::JoinHandle<void>> hs;
  // Spawned in reverse so that firing order cannot come from spawn order.
  for (int i = 19; i >= 0; --i) hs.push_back(weft::spawn(sleeper(i, start + i * 3ms, rec)));
  for (auto& h : hs) (void)co_await h;
}
}  // namespace

BOOST_AUTO_TEST_CASE(timers_fire_in_order_never_early_and_within_2ms) {
  for (bool multi : {true, false}) {
    auto rt = multi ? Runtime::Builder::new_multi_thread().worker_threads(2).build()
                    : Runtime::Builder::new_current_thread().build();
    BOOST_REQUIRE(rt.ok());
    // Order and "never early" hold on every attempt. Precision is a property of a machine
    // that is not overloaded: other builds on this 2-core box can delay any thread by tens of
    // milliseconds, so the precision check passes if one of three attempts meets it.
    double best_median = 1e9;
    for (int attempt = 0; attempt < 3 && best_median > 2.0; ++attempt) {
      Record rec;
      rt->block_on(run_sleepers(&rec));
      BOOST_REQUIRE(rec.order.size() == 20u);
      // On one thread the recording order is the firing order; with two workers a woken task
      // may be delayed behind another on a loaded machine, so only one thread checks order.
      if (!multi) {
        for (int i = 0; i < 20; ++i) BOOST_TEST(rec.order[i] == i);
      }
      for (double late : rec.late_ms) BOOST_TEST(late >= 0.0);  // never early
      std::vector<double> sorted = rec.late_ms;
      std::sort(sorted.begin(), sorted.end());
      best_median = std::min(best_median, sorted[sorted.size() / 2]);
    }
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    BOOST_TEST(best_median <= 2.0);  // sanitizers slow everything down: not checked there
#endif
  }
}

namespace {
Task<bool> cancelled_sleep_does_not_fire(std::shared_ptr<std::atomic<bool>> fired) {
  auto h = weft::spawn([](std::shared_ptr<std::atomic<bool>> f) -> Task<void> {
    co_await weft::time::sleep(20ms);
    f->store(true);
  }(fired));
  co_await weft::time::sleep(2ms);
  h.abort();
  absl::Status st = co_await h;
  co_await weft::time::sleep(40ms);  // past the aborted timer's deadline
  co_return absl::IsCancelled(st) && !fired->load();
}

Task<bool> zero_and_past_deadlines_complete() {
  co_await weft::time::sleep(0ms);
  co_await weft::time::sleep_until(Clock::now() - 1s);
  co_return true;
}
}  // namespace

BOOST_AUTO_TEST_CASE(aborted_sleep_never_fires) {
  auto rt = Runtime::Builder::new_multi_thread().worker_threads(2).build();
  BOOST_REQUIRE(rt.ok());
  auto fired = std::make_shared<std::atomic<bool>>(false);
  BOOST_TEST(rt->block_on(cancelled_sleep_does_not_fire(fired)));
  BOOST_TEST(rt->block_on(zero_and_past_deadlines_complete()));
}

namespace {
Task<void> many_sleeps(int n, std::atomic<int>* done) {
  for (int i = 0; i < n; ++i) co_await weft::time::sleep(1ms);
  done->fetch_add(1);
}
Task<int> thousands_of_concurrent_timers() {
  std::atomic<int> done{0};
  std::vector<weft::JoinHandle<void>> hs;
  for (int i = 0; i < 10000; ++i) hs.push_back(weft::spawn(many_sleeps(3, &done)));
  for (auto& h : hs) (void)co_await h;
  co_return done.load();
}
}  // namespace

BOOST_AUTO_TEST_CASE(ten_thousand_tasks_sleeping_concurrently) {
  auto rt = Runtime::Builder::new_multi_thread().worker_threads(2).build();
  BOOST_REQUIRE(rt.ok());
  BOOST_TEST(rt->block_on(thousands_of_concurrent_timers()) == 10000);
}
