// timeout and interval on a real runtime.
#define BOOST_TEST_MODULE timeout_test
#include "weft/runtime/time/timeout.h"

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <thread>
#include <utility>

#include "weft/runtime/runtime.h"
#include "weft/runtime/sync/oneshot.h"
#include "weft/runtime/task/waker.h"
#include "weft/runtime/task/yield_now.h"
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
// ---- the first poll runs in place (a task that never waits costs no spawn and no timer) ----

Task<int> immediate(int x, std::thread::id* ran_on) {
  *ran_on = std::this_thread::get_id();
  co_return x;
}
Task<int> immediate_throw() {
  throw std::runtime_error("at once");
  co_return 0;
}

// Registers a waker and resumes at once without using it: the task finishes in its first poll
// while a waker made in that poll is still held (here, in `kept`).
struct KeepWaker {
  weft::Waker* kept;
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    *kept = weft::Waker::current(h);
    return false;
  }
  void await_resume() const noexcept {}
};
Task<int> finishes_holding_a_waker(weft::Waker* kept, std::shared_ptr<std::atomic<bool>> dropped) {
  DropFlag guard{std::move(dropped)};
  co_await KeepWaker{kept};
  co_return 11;
}

Task<int> yields_then(int x) {
  co_await weft::yield_now();
  co_return x;
}

Task<int> receive(weft::sync::oneshot::Receiver<int> rx) {
  absl::StatusOr<int> v = co_await rx;
  co_return v.ok() ? *v : -1;
}
Task<void> send_later(weft::sync::oneshot::Sender<int> tx) {
  co_await weft::time::sleep(2ms);
  (void)tx.send(21);
}

Task<absl::Status> first_poll_in_place() {
  std::thread::id ran_on;
  absl::StatusOr<int> r = co_await weft::time::timeout(1s, immediate(3, &ran_on));
  if (!r.ok() || *r != 3) co_return absl::InternalError("immediate: wrong value");
  if (ran_on != std::this_thread::get_id()) co_return absl::InternalError("not run in place");
  // Even with no time at all: the task is polled before the deadline is looked at (Tokio's rule).
  r = co_await weft::time::timeout(0ms, immediate(4, &ran_on));
  if (!r.ok() || *r != 4) co_return absl::InternalError("zero timeout: wrong value");
  try {
    (void)co_await weft::time::timeout(1s, immediate_throw());
    co_return absl::InternalError("no exception");
  } catch (const std::runtime_error& e) {
    if (std::string(e.what()) != "at once") co_return absl::InternalError("wrong exception");
  }
  // Finished while a waker from its poll is still held: the value arrives, the frame is gone,
  // and the late wake-up is harmless (ASan checks the memory).
  weft::Waker kept;
  auto dropped = weft::testing::drop_flag();
  r = co_await weft::time::timeout(1s, finishes_holding_a_waker(&kept, dropped));
  if (!r.ok() || *r != 11) co_return absl::InternalError("held waker: wrong value");
  if (!dropped->load()) co_return absl::InternalError("held waker: frame not destroyed");
  if (!kept.valid()) co_return absl::InternalError("held waker: no waker");
  std::move(kept).wake();
  // A task that yields in its first poll, or waits for another task, goes on as a spawned task.
  r = co_await weft::time::timeout(1s, yields_then(5));
  if (!r.ok() || *r != 5) co_return absl::InternalError("yield: wrong value");
  auto [tx, rx] = weft::sync::oneshot::channel<int>();
  weft::JoinHandle<void> sender = weft::spawn(send_later(std::move(tx)));
  r = co_await weft::time::timeout(1s, receive(std::move(rx)));
  if (!r.ok() || *r != 21) co_return absl::InternalError("wait: wrong value");
  (void)co_await sender;
  co_return absl::OkStatus();
}
Task<bool> hundred_immediate_timeouts() {
  std::thread::id ran_on;
  int sum = 0;
  for (int i = 0; i < 100; ++i) {
    absl::StatusOr<int> r = co_await weft::time::timeout(1s, immediate(1, &ran_on));
    sum += r.ok() ? *r : 0;
  }
  co_return sum == 100;
}
}  // namespace

BOOST_AUTO_TEST_CASE(timeout_of_work_that_never_waits_needs_no_extra_poll) {
  // Spawning each inner task would cost at least two polls per timeout (child, then caller).
  Runtime rt = weft::testing::make_runtime(weft::testing::Flavor::kCurrentThread);
  uint64_t before = rt.metrics().total_polls();
  BOOST_TEST(rt.block_on(hundred_immediate_timeouts()));
  BOOST_TEST(rt.metrics().total_polls() - before < 10u);
}

BOOST_AUTO_TEST_CASE(timeout_runs_the_first_poll_in_place) {
  absl::Status st = weft::testing::run_in_all_flavors(&first_poll_in_place);
  BOOST_TEST(st.ok(), st);
}

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
