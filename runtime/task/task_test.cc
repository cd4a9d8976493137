// Tasks, JoinHandles, abort, exceptions, yield and frame recycling, on every runtime flavour.
#define BOOST_TEST_MODULE task_test
#include <sched.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "weft/runtime/runtime.h"
#include "weft/runtime/task/yield_now.h"
#include "weft/runtime/testing/test_runtime.h"
#include "weft/runtime/time/sleep.h"

using namespace std::chrono_literals;
using weft::JoinHandle;
using weft::Runtime;
using weft::Task;

namespace {

Runtime make(int flavor) { return weft::testing::make_runtime(weft::testing::kAllFlavors[flavor]); }

Task<int> answer() { co_return 42; }
Task<int> twice() {
  int a = co_await answer();
  int b = co_await answer();
  co_return a + b;
}
Task<int> deep(int n) {
  if (n == 0) co_return 0;
  co_return 1 + co_await deep(n - 1);
}
Task<int> thrower() {
  co_await weft::yield_now();
  throw std::runtime_error("boom");
}

using weft::testing::DropFlag;

Task<void> sleep_forever(std::shared_ptr<std::atomic<bool>> dropped) {
  DropFlag guard{std::move(dropped)};
  co_await weft::time::sleep(1h);
}

// The guard is a parameter, so it lives in the frame from the start: an abort that lands
// before the first poll (likely under TSan's slow scheduling) still destroys it.
Task<int> spin_yield(DropFlag guard) {
  for (;;) co_await weft::yield_now();
}

}  // namespace

BOOST_AUTO_TEST_CASE(block_on_returns_the_value_on_every_flavour) {
  for (int f = 0; f < 3; ++f) {
    Runtime rt = make(f);
    BOOST_TEST(rt.block_on(twice()) == 84);
  }
}

// Symmetric transfer: 100k nested awaits would overflow the stack otherwise. clang guarantees
// the tail call. Under g++ (and sanitizers) Task resumes children inline instead (see task.h:
// that keeps loops flat, but nesting depth uses stack), so the depth is kept modest there.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define WEFT_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define WEFT_SANITIZED 1
#endif
#endif
#if !defined(WEFT_SANITIZED) && defined(__clang__)
constexpr int kDepth = 100000;
#else
constexpr int kDepth = 2000;
#endif

BOOST_AUTO_TEST_CASE(deep_await_chains_do_not_grow_the_stack) {
  Runtime rt = make(1);
  BOOST_TEST(rt.block_on(deep(kDepth)) == kDepth);
}

Task<int> spawn_and_join() {
  JoinHandle<int> h = weft::spawn(twice());
  absl::StatusOr<int> v = co_await h;
  co_return v.ok() ? *v : -1;
}

BOOST_AUTO_TEST_CASE(spawned_task_result_through_join_handle) {
  for (int f = 0; f < 3; ++f) {
    Runtime rt = make(f);
    BOOST_TEST(rt.block_on(spawn_and_join()) == 84);
  }
}

Task<std::string> join_thrower() {
  absl::StatusOr<int> r = co_await weft::spawn(thrower());
  co_return std::string(r.status().message());
}

BOOST_AUTO_TEST_CASE(exception_surfaces_through_join_handle_and_block_on) {
  Runtime rt = make(0);
  BOOST_TEST(rt.block_on(join_thrower()) == "task threw: boom");
  BOOST_CHECK_THROW(rt.block_on(thrower()), std::runtime_error);
}

Task<bool> abort_sleeping(std::shared_ptr<std::atomic<bool>> dropped) {
  JoinHandle<void> h = weft::spawn(sleep_forever(dropped));
  co_await weft::yield_now();  // let it start and register its timer
  co_await weft::time::sleep(2ms);
  h.abort();
  absl::Status st = co_await h;
  co_return absl::IsCancelled(st) && dropped->load() && h.is_finished();
}

BOOST_AUTO_TEST_CASE(abort_destroys_a_sleeping_task) {
  for (int f = 0; f < 3; ++f) {
    Runtime rt = make(f);
    auto dropped = std::make_shared<std::atomic<bool>>(false);
    BOOST_TEST(rt.block_on(abort_sleeping(dropped)));
  }
}

Task<bool> abort_busy(std::shared_ptr<std::atomic<bool>> dropped) {
  JoinHandle<int> h = weft::spawn(spin_yield(DropFlag{dropped}));
  for (int i = 0; i < 10; ++i) co_await weft::yield_now();
  h.abort();
  absl::StatusOr<int> r = co_await h;
  co_return absl::IsCancelled(r.status()) && dropped->load();
}

BOOST_AUTO_TEST_CASE(abort_stops_a_task_that_keeps_yielding) {
  for (int f = 0; f < 3; ++f) {
    Runtime rt = make(f);
    auto dropped = std::make_shared<std::atomic<bool>>(false);
    BOOST_TEST(rt.block_on(abort_busy(dropped)));
  }
}

Task<int> abort_before_start() {
  JoinHandle<int> h = weft::spawn(answer());
  h.abort();
  absl::StatusOr<int> r = co_await h;
  // Either it was cancelled before its first poll or it had already finished.
  co_return r.ok() ? *r : (absl::IsCancelled(r.status()) ? 1 : -1);
}

BOOST_AUTO_TEST_CASE(abort_right_after_spawn) {
  Runtime rt = make(0);
  for (int i = 0; i < 100; ++i) {
    int v = rt.block_on(abort_before_start());
    BOOST_TEST((v == 1 || v == 42));
  }
}

Task<void> count_to(std::atomic<int>* counter, int yields) {
  for (int i = 0; i < yields; ++i) co_await weft::yield_now();
  counter->fetch_add(1);
}

Task<int> many_tasks(int n) {
  std::atomic<int> counter{0};
  std::vector<JoinHandle<void>> hs;
  hs.reserve(n);
  for (int i = 0; i < n; ++i) hs.push_back(weft::spawn(count_to(&counter, 3)));
  for (auto& h : hs) (void)co_await h;
  co_return counter.load();
}

BOOST_AUTO_TEST_CASE(hundred_thousand_yielding_tasks_all_finish) {
  for (int f = 0; f < 3; ++f) {
    Runtime rt = make(f);
    BOOST_TEST(rt.block_on(many_tasks(100000)) == 100000);
  }
}

namespace {
// The guard is a parameter: it lives in the frame from spawn on, so shutdown destroys it whether
// or not the task has run yet (no need to wait for the tasks to get going).
Task<void> sleep_forever_holding(DropFlag guard) { co_await weft::time::sleep(1h); }
Task<void> spin_yield_holding(DropFlag guard) {
  for (;;) co_await weft::yield_now();
}
}  // namespace

BOOST_AUTO_TEST_CASE(shutdown_with_pending_tasks_runs_their_destructors) {
  auto dropped = std::make_shared<std::atomic<bool>>(false);
  auto dropped2 = std::make_shared<std::atomic<bool>>(false);
  {
    Runtime rt = make(0);
    rt.handle().spawn(sleep_forever_holding(DropFlag(dropped)));
    rt.handle().spawn(spin_yield_holding(DropFlag(dropped2)));
  }
  BOOST_TEST(dropped->load());
  BOOST_TEST(dropped2->load());
}

namespace {
using weft::testing::DropCounter;
Task<void> finish_holding(DropCounter c) { co_return; }
// Spawns n tasks and returns at once: on a current-thread runtime none of them has run when
// block_on returns (the runtime stops as soon as the root task is done).
Task<std::vector<JoinHandle<void>>> spawn_and_return(std::shared_ptr<std::atomic<int>> drops,
                                                     int n) {
  std::vector<JoinHandle<void>> hs;
  for (int i = 0; i < n; ++i) hs.push_back(weft::spawn(finish_holding(DropCounter(drops))));
  co_return hs;
}
}  // namespace

// Tasks spawned on a worker join the live list only after a first poll that leaves them
// suspended (scheduler.h); until then the run queues are the only place they are in. Dropping
// the runtime must still cancel them: destructors run, JoinHandles see them finished.
BOOST_AUTO_TEST_CASE(tasks_never_polled_before_shutdown_are_cancelled) {
  for (weft::testing::Flavor flavor : weft::testing::kAllFlavors) {
    BOOST_TEST_CONTEXT("flavour " << static_cast<int>(flavor)) {
      auto drops = std::make_shared<std::atomic<int>>(0);
      std::vector<JoinHandle<void>> hs;
      {
        Runtime rt = weft::testing::make_runtime(flavor);
        hs = rt.block_on(spawn_and_return(drops, 100));
        if (flavor == weft::testing::Flavor::kCurrentThread) {
          BOOST_TEST(drops->load() == 0);                  // none has run
          BOOST_TEST(rt.metrics().tasks_alive == 100u);  // ... and each is counted alive
        }
      }
      BOOST_TEST(drops->load() == 100);  // run or cancelled, every frame is gone
      for (const JoinHandle<void>& h : hs) BOOST_TEST(h.is_finished());
    }
  }
}

BOOST_AUTO_TEST_CASE(spawn_after_shutdown_gives_a_cancelled_task) {
  Runtime rt = make(0);
  rt.shutdown_timeout(1s);
  auto dropped = std::make_shared<std::atomic<bool>>(false);
  JoinHandle<void> h = rt.handle().spawn(sleep_forever(dropped));
  BOOST_TEST(h.is_finished());
  BOOST_TEST(dropped->load() == false);  // never started: the guard was never constructed
}

Task<std::thread::id> thread_of() { co_return std::this_thread::get_id(); }

Task<bool> stays_on_thread() {
  std::thread::id me = std::this_thread::get_id();
  for (int i = 0; i < 50; ++i) {
    absl::StatusOr<std::thread::id> other = co_await weft::spawn(thread_of());
    if (!other.ok() || *other != me) co_return false;
  }
  co_return true;
}

// The default worker count is the CPUs the process may run on, not the machine's (a server
// started under taskset or in a cpuset container must not oversubscribe its CPUs).
BOOST_AUTO_TEST_CASE(default_worker_count_follows_the_cpu_affinity_mask) {
  cpu_set_t saved;
  BOOST_REQUIRE(sched_getaffinity(0, sizeof saved, &saved) == 0);
  int first = -1;
  for (int c = 0; c < CPU_SETSIZE && first < 0; ++c) {
    if (CPU_ISSET(c, &saved)) first = c;
  }
  BOOST_REQUIRE(first >= 0);
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  BOOST_REQUIRE(sched_setaffinity(0, sizeof one, &one) == 0);
  std::size_t multi = 0, per_core = 0;
  {
    absl::StatusOr<Runtime> rt = Runtime::Builder::new_multi_thread().build();
    if (rt.ok()) multi = rt->num_workers();
    absl::StatusOr<Runtime> tpc = Runtime::Builder::new_thread_per_core().build();
    if (tpc.ok()) per_core = tpc->num_workers();
  }
  BOOST_REQUIRE(sched_setaffinity(0, sizeof saved, &saved) == 0);
  BOOST_TEST(multi == 1u);
  BOOST_TEST(per_core == 1u);
  absl::StatusOr<Runtime> all = Runtime::Builder::new_multi_thread().build();
  BOOST_REQUIRE(all.ok());
  BOOST_TEST(all->num_workers() == static_cast<std::size_t>(CPU_COUNT(&saved)));
}

BOOST_AUTO_TEST_CASE(thread_per_core_spawn_stays_on_the_calling_thread) {
  Runtime rt = make(2);
  BOOST_TEST(rt.num_workers() == 2u);
  for (std::size_t i = 0; i < rt.num_workers(); ++i) {
    JoinHandle<bool> h = rt.handle_for(i).spawn(stays_on_thread());
    BOOST_TEST(rt.block_on([](JoinHandle<bool> h) -> Task<bool> {
      absl::StatusOr<bool> r = co_await h;
      co_return r.ok() && *r;
    }(std::move(h))));
  }
}

Task<uint64_t> spawn_loop(int n) {
  for (int i = 0; i < n; ++i) (void)co_await weft::spawn(answer());
  co_return weft::detail::frame_cache_stats().cache_hits;
}

BOOST_AUTO_TEST_CASE(steady_state_spawning_reuses_frames) {
  Runtime rt = make(1);
  uint64_t hits = rt.block_on(spawn_loop(10000));
#if defined(__SANITIZE_ADDRESS__)
  BOOST_TEST(hits == 0u);  // the cache is off under ASan
#else
  BOOST_TEST(hits >= 9000u);
#endif
}

Task<bool> outside_runtime_throws() { co_return true; }

BOOST_AUTO_TEST_CASE(spawn_outside_a_runtime_throws) {
  BOOST_CHECK_THROW(weft::spawn(outside_runtime_throws()), std::logic_error);
}

BOOST_AUTO_TEST_CASE(metrics_count_polls_and_tasks) {
  Runtime rt = make(0);
  BOOST_TEST(rt.block_on(many_tasks(1000)) == 1000);
  weft::RuntimeMetrics m = rt.metrics();
  BOOST_TEST(m.workers == 2u);
  BOOST_TEST(m.total_polls() >= 4000u);
  // Only block_on's watcher task may still be finishing (it wakes the caller before it ends).
  BOOST_TEST(m.tasks_alive <= 1u);
}

namespace {
Task<int> holds_guard(DropFlag guard) {
  co_await weft::yield_now();
  co_return 7;
}

Task<bool> parameters_die_with_the_task(std::shared_ptr<std::atomic<bool>> dropped) {
  JoinHandle<int> h = weft::spawn(holds_guard(DropFlag{dropped}));
  while (!h.is_finished()) co_await weft::yield_now();
  bool gone_before_join = dropped->load();  // the handle is still alive here
  absl::StatusOr<int> v = co_await h;
  co_return gone_before_join&& v.ok() && *v == 7;
}
}  // namespace

BOOST_AUTO_TEST_CASE(a_finished_task_frees_its_parameters_before_the_handle_is_dropped) {
  for (int f = 0; f < 3; ++f) {
    Runtime rt = make(f);
    auto dropped = std::make_shared<std::atomic<bool>>(false);
    BOOST_TEST(rt.block_on(parameters_die_with_the_task(dropped)));
  }
}

namespace {
Task<void> wait_until(weft::time::Clock::time_point t, std::atomic<int>* woken) {
  co_await weft::time::sleep_until(t);
  woken->fetch_add(1, std::memory_order_relaxed);
}

Task<int> million_woken(int n) {
  std::atomic<int> woken{0};
  std::vector<JoinHandle<void>> hs;
  hs.reserve(n);
  auto t = weft::time::Clock::now() + 50ms;
  for (int i = 0; i < n; ++i) hs.push_back(weft::spawn(wait_until(t, &woken)));
  for (auto& h : hs) (void)co_await h;
  co_return woken.load();
}
}  // namespace

BOOST_AUTO_TEST_CASE(a_million_tasks_woken_across_threads) {
#ifdef WEFT_SANITIZED
  constexpr int kTasks = 100000;  // sanitizers make each task several times heavier
#else
  constexpr int kTasks = 1000000;
#endif
  Runtime rt = make(0);
  BOOST_TEST(rt.block_on(million_woken(kTasks)) == kTasks);
  weft::RuntimeMetrics m = rt.metrics();
  // Both workers ran some of them.
  BOOST_TEST(m.per_worker[0].polls > 0u);
  BOOST_TEST(m.per_worker[1].polls > 0u);
}

namespace {
Task<int> one() { co_return 1; }
Task<long> sum_in_a_loop(int n) {
  long total = 0;
  for (int i = 0; i < n; ++i) total += co_await one();
  co_return total;
}
}  // namespace

BOOST_AUTO_TEST_CASE(a_loop_of_synchronously_completing_awaits_keeps_the_stack_flat) {
  // Without tail calls (g++ -O0, sanitizers) naive symmetric transfer grows the stack by two
  // frames per iteration; a million iterations would overflow it.
  Runtime rt = make(0);
  BOOST_TEST(rt.block_on(sum_in_a_loop(1000000)) == 1000000);
}
