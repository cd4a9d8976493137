// JoinSet and TaskScope on a real runtime.
#define BOOST_TEST_MODULE join_set_test
#include "weft/runtime/task/join_set.h"

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <memory>
#include <set>

#include "weft/runtime/runtime.h"
#include "weft/runtime/task/task_scope.h"
#include "weft/runtime/task/yield_now.h"
#include "weft/runtime/testing/test_runtime.h"
#include "weft/runtime/time/sleep.h"

using namespace std::chrono_literals;
using weft::Runtime;
using weft::Task;

namespace {
Runtime make_rt() { return weft::testing::make_runtime(); }

Task<int> after(int v, std::chrono::milliseconds d) {
  co_await weft::time::sleep(d);
  co_return v;
}

using Counter = weft::testing::DropCounter;

// The counter is a parameter: it lives in the frame from the spawn on, so it is destroyed
// (and counts) even if the task is cancelled before it ever ran.
Task<int> forever(Counter c) {
  co_await weft::time::sleep(1h);
  co_return 0;
}

Task<bool> joins_in_completion_order() {
  weft::JoinSet<int> set;
  // Gaps far above a loaded machine's scheduling delays (7 ms between finishes once came out
  // of order in CI, with a worker preempted between its wake-up and its poll).
  set.spawn(after(3, 120ms));
  set.spawn(after(1, 1ms));
  set.spawn(after(2, 60ms));
  std::vector<int> order;
  while (auto r = co_await set.join_next()) order.push_back(r->ok() ? **r : -1);
  co_return order == std::vector<int>{1, 2, 3} && set.empty();
}

Task<int> many(int n) {
  weft::JoinSet<int> set;
  for (int i = 0; i < n; ++i) set.spawn(after(i, std::chrono::milliseconds(i % 3)));
  std::set<int> seen;
  while (auto r = co_await set.join_next()) seen.insert(**r);
  co_return static_cast<int>(seen.size());
}

Task<bool> dropping_the_set_aborts(std::shared_ptr<std::atomic<int>> dropped) {
  {
    weft::JoinSet<int> set;
    for (int i = 0; i < 10; ++i) set.spawn(forever(Counter{dropped}));
    co_await weft::time::sleep(2ms);
  }
  for (int i = 0; i < 1000 && dropped->load() < 10; ++i) co_await weft::time::sleep(1ms);
  co_return dropped->load() == 10;
}

Task<void> busy_child(Counter c) {
  for (;;) co_await weft::yield_now();
}

Task<bool> scope_joins_children() {
  auto n = std::make_shared<std::atomic<int>>(0);
  weft::TaskScope scope;
  for (int i = 0; i < 5; ++i) {
    scope.spawn([](std::shared_ptr<std::atomic<int>> n) -> Task<void> {
      co_await weft::time::sleep(1ms);
      n->fetch_add(1);
    }(n));
  }
  co_await scope.join();
  co_return n->load() == 5;
}

Task<bool> scope_destruction_cancels_synchronously() {
  auto dropped = std::make_shared<std::atomic<int>>(0);
  {
    weft::TaskScope scope;
    for (int i = 0; i < 4; ++i) scope.spawn(forever(Counter{dropped}));
    for (int i = 0; i < 4; ++i) scope.spawn(busy_child(Counter{dropped}));  // polled on other workers
    co_await weft::time::sleep(2ms);
  }
  // No waiting: ~TaskScope returned only after every child's destructors ran.
  co_return dropped->load() == 8;
}
}  // namespace

BOOST_AUTO_TEST_CASE(join_set_yields_results_as_tasks_finish) {
  Runtime rt = make_rt();
  BOOST_TEST(rt.block_on(joins_in_completion_order()));
  BOOST_TEST(rt.block_on(many(10000)) == 10000);
}

BOOST_AUTO_TEST_CASE(join_set_aborts_what_is_left_when_dropped) {
  Runtime rt = make_rt();
  BOOST_TEST(rt.block_on(dropping_the_set_aborts(std::make_shared<std::atomic<int>>(0))));
}

BOOST_AUTO_TEST_CASE(task_scope_join_and_synchronous_cancellation) {
  Runtime rt = make_rt();
  BOOST_TEST(rt.block_on(scope_joins_children()));
  for (int i = 0; i < 20; ++i) BOOST_TEST(rt.block_on(scope_destruction_cancels_synchronously()));
}
