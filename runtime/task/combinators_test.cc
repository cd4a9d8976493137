// when_all and select on a real runtime: results, exceptions, cancellation of the losers.
#define BOOST_TEST_MODULE combinators_test
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

#include "weft/runtime/runtime.h"
#include "weft/runtime/task/select.h"
#include "weft/runtime/task/when_all.h"
#include "weft/runtime/testing/test_runtime.h"
#include "weft/runtime/time/sleep.h"

using namespace std::chrono_literals;
using weft::Runtime;
using weft::Task;

namespace {
Runtime make_rt() { return weft::testing::make_runtime(); }

using weft::testing::DropFlag;

Task<int> value_after(int v, std::chrono::milliseconds d) {
  co_await weft::time::sleep(d);
  co_return v;
}
Task<std::string> text_after(std::string s, std::chrono::milliseconds d) {
  co_await weft::time::sleep(d);
  co_return s;
}
Task<void> nothing() { co_return; }
Task<int> fail_after(std::chrono::milliseconds d) {
  co_await weft::time::sleep(d);
  throw std::runtime_error("failed");
}
Task<int> forever(std::shared_ptr<std::atomic<bool>> dropped) {
  DropFlag guard{std::move(dropped)};
  co_await weft::time::sleep(1h);
  co_return 0;
}

Task<bool> all_results_in_order() {
  auto [a, b, c] = co_await weft::when_all(value_after(1, 3ms), text_after("x", 1ms), nothing());
  (void)c;
  co_return a == 1 && b == "x";
}

Task<bool> all_rethrows_after_everyone_finished() {
  auto dropped = std::make_shared<std::atomic<bool>>(false);
  try {
    (void)co_await weft::when_all(fail_after(1ms), value_after(2, 10ms));
  } catch (const std::runtime_error& e) {
    co_return std::string(e.what()) == "failed";
  }
  co_return false;
}

Task<bool> first_wins_and_losers_are_destroyed() {
  auto dropped = std::make_shared<std::atomic<bool>>(false);
  auto r = co_await weft::select(forever(dropped), value_after(9, 2ms));
  // The loser's destructors ran before select returned.
  co_return r.index() == 1 && std::get<1>(r) == 9 && dropped->load();
}

Task<bool> winner_exception_is_rethrown() {
  auto dropped = std::make_shared<std::atomic<bool>>(false);
  try {
    (void)co_await weft::select(fail_after(1ms), forever(dropped));
  } catch (const std::runtime_error&) {
    co_return dropped->load();
  }
  co_return false;
}

Task<void> select_forever(std::shared_ptr<std::atomic<bool>> a,
                          std::shared_ptr<std::atomic<bool>> b) {
  (void)co_await weft::select(forever(a), forever(b));
}

Task<bool> cancelled_select_aborts_children() {
  auto a = std::make_shared<std::atomic<bool>>(false);
  auto b = std::make_shared<std::atomic<bool>>(false);
  weft::JoinHandle<void> h = weft::spawn(select_forever(a, b));
  co_await weft::time::sleep(3ms);
  h.abort();
  (void)co_await h;
  for (int i = 0; i < 1000 && !(a->load() && b->load()); ++i) co_await weft::time::sleep(1ms);
  co_return a->load() && b->load();
}
}  // namespace

BOOST_AUTO_TEST_CASE(when_all_returns_every_result) {
  Runtime rt = make_rt();
  BOOST_TEST(rt.block_on(all_results_in_order()));
  BOOST_TEST(rt.block_on(all_rethrows_after_everyone_finished()));
}

BOOST_AUTO_TEST_CASE(select_first_wins_losers_cancelled) {
  Runtime rt = make_rt();
  BOOST_TEST(rt.block_on(first_wins_and_losers_are_destroyed()));
  BOOST_TEST(rt.block_on(winner_exception_is_rethrown()));
  BOOST_TEST(rt.block_on(cancelled_select_aborts_children()));
}
