// Barrier: n tasks pass together with exactly one leader; reuse over many generations; a
// barrier for 0 or 1 task; abort of a waiting task withdraws its arrival (the documented
// behaviour, unlike Tokio). On a 2-worker multi-thread runtime.
//
// Only the root task and the test body make Boost assertions (Boost.Test is not thread-safe);
// spawned tasks report through their results. Coroutine parameters are moved into locals and
// awaited results bound to locals (see mpsc_test.cc).
#define BOOST_TEST_MODULE barrier_test
// clang-format off: Boost.Test must come right after its module name
#include <boost/test/unit_test.hpp>
// clang-format on

#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "weft/runtime/runtime.h"
#include "weft/runtime/sync/barrier.h"
#include "weft/runtime/task/yield_now.h"
#include "weft/runtime/testing/test_runtime.h"

using weft::Runtime;
using weft::Task;
using weft::sync::Barrier;
using weft::sync::BarrierWaitResult;

namespace {

using Flag = std::shared_ptr<std::atomic<bool>>;
Flag make_flag() { return std::make_shared<std::atomic<bool>>(false); }
using Counter = std::shared_ptr<std::atomic<int>>;
Counter make_counter() { return std::make_shared<std::atomic<int>>(0); }

Task<void> wait_for(Flag f) {
  while (!f->load()) co_await weft::yield_now();
}
Task<void> yield_times(int n) {
  for (int i = 0; i < n; ++i) co_await weft::yield_now();
}

// Arrives, waits, and checks that everybody had arrived before it passed.
// Returns 1 for the leader, 0 for the others, -1 if it passed too early.
Task<int> arrive(std::shared_ptr<Barrier> b, Counter arrived, int n) {
  arrived->fetch_add(1);
  BarrierWaitResult r = co_await b->wait();
  if (arrived->load() < n) co_return -1;
  co_return r.is_leader() ? 1 : 0;
}

Task<void> case_pass_together() {
  constexpr int kN = 5;
  auto b = std::make_shared<Barrier>(kN);
  BOOST_TEST(b->count() == std::size_t{kN});
  Counter arrived = make_counter();
  std::vector<weft::JoinHandle<int>> hs;
  for (int i = 0; i < kN - 1; ++i) hs.push_back(weft::spawn(arrive(b, arrived, kN)));
  while (arrived->load() < kN - 1) co_await weft::yield_now();
  co_await yield_times(5);
  for (auto& h : hs) BOOST_TEST(!h.is_finished());  // nobody passes with n - 1 arrived
  hs.push_back(weft::spawn(arrive(b, arrived, kN)));
  int leaders = 0;
  for (auto& h : hs) {
    absl::StatusOr<int> r = co_await h;
    BOOST_REQUIRE(r.ok());
    BOOST_REQUIRE(*r >= 0);
    leaders += *r;
  }
  BOOST_TEST(leaders == 1);
}

// Passes `gens` generations; after passing generation g, all n tasks must have arrived at it.
// Counts its leaderships per generation. Returns 0, or -1 if it passed too early.
Task<int> loop(std::shared_ptr<Barrier> b, int n, int gens, Counter arrivals,
               std::shared_ptr<std::vector<std::atomic<int>>> leaders) {
  for (int g = 0; g < gens; ++g) {
    arrivals->fetch_add(1);
    BarrierWaitResult r = co_await b->wait();
    if (arrivals->load() < (g + 1) * n) co_return -1;
    if (r.is_leader()) (*leaders)[g].fetch_add(1);
    if (g % 7 == 0) co_await weft::yield_now();  // vary who arrives last
  }
  co_return 0;
}

Task<void> case_reuse(int n) {
  constexpr int kGens = 100;
  auto b = std::make_shared<Barrier>(n);
  Counter arrivals = make_counter();
  auto leaders = std::make_shared<std::vector<std::atomic<int>>>(kGens);
  std::vector<weft::JoinHandle<int>> hs;
  for (int i = 0; i < n; ++i) hs.push_back(weft::spawn(loop(b, n, kGens, arrivals, leaders)));
  for (auto& h : hs) {
    absl::StatusOr<int> r = co_await h;
    BOOST_REQUIRE(r.ok());
    BOOST_TEST(*r == 0);
  }
  for (int g = 0; g < kGens; ++g) BOOST_TEST((*leaders)[g].load() == 1);
  BOOST_TEST(arrivals->load() == n * kGens);
}

Task<void> case_trivial() {
  Barrier zero(0);
  Barrier one(1);
  BOOST_TEST(zero.count() == 1u);
  for (int i = 0; i < 3; ++i) {
    BarrierWaitResult a = co_await zero.wait();
    BOOST_TEST(a.is_leader());
    BarrierWaitResult b = co_await one.wait();
    BOOST_TEST(b.is_leader());
  }
}

Task<int> wait_entered(std::shared_ptr<Barrier> b, Flag entered) {
  entered->store(true);
  BarrierWaitResult r = co_await b->wait();
  co_return r.is_leader() ? 1 : 0;
}
// Waits at the barrier; returns whether `other_started` was set by the time it passed (it
// cannot pass before the other task arrives).
Task<int> wait_checked(std::shared_ptr<Barrier> b, Flag entered, Flag other_started) {
  entered->store(true);
  BarrierWaitResult r = co_await b->wait();
  if (!other_started->load()) co_return -1;
  co_return r.is_leader() ? 1 : 0;
}

// Abort a waiting task: its arrival is withdrawn, so the generation still needs n live
// arrivals, and the barrier keeps working.
Task<void> case_abort() {
  auto b = std::make_shared<Barrier>(2);
  for (int round = 0; round < 20; ++round) {
    // A arrives (or is aborted before it gets to) and is aborted: the count goes back to 0.
    Flag a_entered = make_flag();
    auto a = weft::spawn(wait_entered(b, a_entered));
    co_await wait_for(a_entered);
    if (round % 2 == 0) co_await yield_times(5);  // surely waiting by now
    a.abort();
    absl::StatusOr<int> ra = co_await a;
    BOOST_TEST(absl::IsCancelled(ra.status()));

    // R must now wait for B: had A's arrival stayed counted, R would pass alone at once.
    Flag r_entered = make_flag();
    Flag b_started = make_flag();
    auto r = weft::spawn(wait_checked(b, r_entered, b_started));
    co_await wait_for(r_entered);
    co_await yield_times(5);
    BOOST_TEST(!r.is_finished());
    b_started->store(true);
    Flag b_entered = make_flag();
    auto bh = weft::spawn(wait_entered(b, b_entered));
    absl::StatusOr<int> rr = co_await r;
    BOOST_REQUIRE(rr.ok());
    BOOST_TEST(*rr >= 0);
    if (*rr < 0) bh.abort();  // the barrier misbehaved: do not wait for B forever
    absl::StatusOr<int> rb = co_await bh;
    if (*rr >= 0) {
      BOOST_REQUIRE(rb.ok());
      BOOST_TEST(*rr + *rb == 1);  // one leader
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(n_tasks_pass_together_with_one_leader) {
  Runtime rt = weft::testing::make_runtime();
  rt.block_on(case_pass_together());
}

BOOST_AUTO_TEST_CASE(reusable_for_100_generations) {
  Runtime rt = weft::testing::make_runtime();
  for (int n : {1, 2, 3, 8}) rt.block_on(case_reuse(n));
}

BOOST_AUTO_TEST_CASE(barrier_for_zero_or_one_task_never_waits) {
  Runtime rt = weft::testing::make_runtime();
  rt.block_on(case_trivial());
}

BOOST_AUTO_TEST_CASE(abort_while_waiting_withdraws_the_arrival) {
  Runtime rt = weft::testing::make_runtime();
  rt.block_on(case_abort());
}
