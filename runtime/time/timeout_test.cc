// timeout and interval on a real runtime.
#define BOOST_TEST_MODULE timeout_test
#include "weft/runtime/time/timeout.h"

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <memory>
#include <stdexcept>

#include "weft/runtime/runtime.h"
#include "weft/runtime/testing/test_runtime.h"
#include "weft/runtime/time/interval.h"
#include "weft/runtime/time/sleep.h"

using namespace std::chrono_literals;
using weft::Runtime;
using weft::Task;
using weft::time::Clock;

namespace {
Runtime make_rt() { return weft::testing::make_runtime(); }

using weft::testing::DropFlag;

Task<int> slow(std::chrono::milliseconds d, std::shared_ptr<std::atomic<bool>> dropped) {
  DropFlag guard{std::move(dropped)};
  co_await weft::time::sleep(d);
  co_return 5;
}

Task<int> throws_fast() {
  co_await weft::time::sleep(1ms);
  throw std::runtime_error("inner");
}

Task<bool> on_time() {
  auto dropped = std::make_shared<std::atomic<bool>>(false);
  absl::StatusOr<int> r = co_await weft::time::timeout(1s, slow(1ms, dropped));
  co_return r.ok() && *r == 5 && dropped->load();
}

Task<bool> too_late() {
  auto dropped = std::make_shared<std::atomic<bool>>(false);
  Clock::time_point start = Clock::now();
  absl::StatusOr<int> r = co_await weft::time::timeout(5ms, slow(10s, dropped));
  auto took = Clock::now() - start;
  // The inner task's destructors have run by the time timeout returns.
  co_return absl::IsDeadlineExceeded(r.status()) && dropped->load() && took < 1s;
}

Task<bool> exception_passes_through() {
  try {
    (void)co_await weft::time::timeout(1s, throws_fast());
  } catch (const std::runtime_error& e) {
    co_return std::string(e.what()) == "inner";
  }
  co_return false;
}

Task<void> wait_with_timeout(std::shared_ptr<std::atomic<bool>> dropped) {
  (void)co_await weft::time::timeout(10s, slow(10s, dropped));
}

Task<bool> cancelling_the_caller_aborts_the_inner_task() {
  auto dropped = std::make_shared<std::atomic<bool>>(false);
  weft::JoinHandle<void> h = weft::spawn(wait_with_timeout(dropped));
  co_await weft::time::sleep(5ms);
  h.abort();
  (void)co_await h;
  for (int i = 0; i < 1000 && !dropped->load(); ++i) co_await weft::time::sleep(1ms);
  co_return dropped->load();
}

Task<int> ticks(weft::time::MissedTickBehavior b) {
  weft::time::Interval it = weft::time::interval(5ms);
  it.set_missed_tick_behavior(b);
  Clock::time_point start = Clock::now();
  Clock::time_point first = co_await it.tick();  // immediate
  if (Clock::now() - start > 3ms) co_return -1;
  Clock::time_point second = co_await it.tick();
  if (second - first != 5ms || Clock::now() < second) co_return -2;
  // Miss several ticks, then see how the schedule recovers.
  co_await weft::time::sleep(23ms);
  Clock::time_point third = co_await it.tick();
  Clock::time_point fourth = co_await it.tick();
  switch (b) {
    case weft::time::MissedTickBehavior::kBurst:  // catches up one period at a time
      co_return (third == second + 5ms && fourth == second + 10ms) ? 1 : -3;
    case weft::time::MissedTickBehavior::kSkip:  // stays on the original grid
      co_return ((fourth - first) % 5ms == 0ms && fourth - third >= 5ms) ? 1 : -4;
    case weft::time::MissedTickBehavior::kDelay:  // a full period after the late tick
      co_return (fourth - third >= 5ms) ? 1 : -5;
  }
  co_return 0;
}
Task<absl::Status> status_after(std::chrono::milliseconds d) {
  co_await weft::time::sleep(d);
  co_return absl::NotFoundError("inner");
}

Task<bool> status_results_are_merged() {
  // A task that returns a Status gives a Status: the inner error or DEADLINE_EXCEEDED.
  absl::Status late = co_await weft::time::timeout(2ms, status_after(10s));
  absl::Status on_time = co_await weft::time::timeout(1s, status_after(1ms));
  co_return absl::IsDeadlineExceeded(late) && absl::IsNotFound(on_time);
}
}  // namespace

BOOST_AUTO_TEST_CASE(timeout_merges_status_results) {
  Runtime rt = make_rt();
  BOOST_TEST(rt.block_on(status_results_are_merged()));
}

BOOST_AUTO_TEST_CASE(timeout_returns_the_value_when_on_time) {
  Runtime rt = make_rt();
  BOOST_TEST(rt.block_on(on_time()));
}

BOOST_AUTO_TEST_CASE(timeout_exceeded_destroys_the_inner_task) {
  Runtime rt = make_rt();
  BOOST_TEST(rt.block_on(too_late()));
}

BOOST_AUTO_TEST_CASE(timeout_rethrows_the_inner_exception) {
  Runtime rt = make_rt();
  BOOST_TEST(rt.block_on(exception_passes_through()));
}

BOOST_AUTO_TEST_CASE(cancelled_timeout_aborts_its_inner_task) {
  Runtime rt = make_rt();
  BOOST_TEST(rt.block_on(cancelling_the_caller_aborts_the_inner_task()));
}

BOOST_AUTO_TEST_CASE(interval_missed_tick_behaviours) {
  Runtime rt = make_rt();
  BOOST_TEST(rt.block_on(ticks(weft::time::MissedTickBehavior::kBurst)) == 1);
  BOOST_TEST(rt.block_on(ticks(weft::time::MissedTickBehavior::kSkip)) == 1);
  BOOST_TEST(rt.block_on(ticks(weft::time::MissedTickBehavior::kDelay)) == 1);
}
