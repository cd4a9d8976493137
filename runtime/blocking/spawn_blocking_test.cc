#define BOOST_TEST_MODULE spawn_blocking_test
#include "weft/runtime/blocking/spawn_blocking.h"

#include <pthread.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weft/runtime/runtime.h"
#include "weft/runtime/testing/thread_helpers.h"
#include "weft/runtime/time/sleep.h"

namespace {

using namespace std::chrono_literals;
using weft::JoinHandle;
using weft::Runtime;
using weft::Task;
using Clock = std::chrono::steady_clock;

// Boost.Test is single-threaded: coroutines and blocking functions below only record what they
// see; the assertions run on the test thread after block_on returns.

using weft::testing::Counter;
using weft::testing::eventually;
using weft::testing::Gate;
using weft::testing::kLimit;
using weft::testing::thread_name;

enum Flavor { kMulti, kCurrent, kPerCore };

Runtime make(Flavor f, std::size_t max_blocking = 512) {
  auto b = f == kMulti     ? Runtime::Builder::new_multi_thread().worker_threads(2)
           : f == kCurrent ? Runtime::Builder::new_current_thread()
                           : Runtime::Builder::new_thread_per_core().worker_threads(2);
  b.max_blocking_threads(max_blocking);
  auto rt = b.build();
  BOOST_REQUIRE(rt.ok());
  return std::move(*rt);
}

// Counts its destructions (moved-from instances don't count): tells when a result was dropped.
struct Payload {
  std::shared_ptr<Counter> drops;
  explicit Payload(std::shared_ptr<Counter> d) : drops(std::move(d)) {}
  Payload(Payload&&) = default;
  ~Payload() {
    if (drops) drops->add();
  }
};

// Waits, without blocking the worker, until `c` reaches 1. (Blocking the worker instead could
// deadlock: the task just spawned may sit in this worker's LIFO slot, which is not stolen.)
Task<void> until_started(Counter* c) {
  const auto deadline = Clock::now() + kLimit;
  while (c->get() == 0 && Clock::now() < deadline) co_await weft::time::sleep(1ms);
}

// ---- tasks under test (parameters by value: they outlive the first suspension) ----

struct Results {
  absl::StatusOr<int> value = absl::UnknownError("unset");
  absl::StatusOr<std::string> name = absl::UnknownError("unset");
  absl::Status void_status = absl::UnknownError("unset");
  bool void_ran = false;
  absl::StatusOr<std::unique_ptr<int>> move_only = absl::UnknownError("unset");
};

Task<Results> basic_results() {
  Results r;
  JoinHandle<int> h = weft::spawn_blocking([] { return 6 * 7; });
  r.value = co_await h;
  JoinHandle<std::string> n = weft::spawn_blocking([] { return thread_name(); });
  r.name = co_await n;
  auto flag = std::make_shared<std::atomic<bool>>(false);
  JoinHandle<void> v = weft::spawn_blocking([flag] { flag->store(true); });
  r.void_status = co_await v;
  r.void_ran = flag->load();
  JoinHandle<std::unique_ptr<int>> m =
      weft::spawn_blocking([] { return std::make_unique<int>(7); });
  r.move_only = co_await m;
  co_return r;
}

Task<absl::Status> throwing() {
  JoinHandle<int> h =
      weft::spawn_blocking([]() -> int { throw std::runtime_error("disk on fire"); });
  absl::StatusOr<int> r = co_await h;
  co_return r.status();
}

struct Concurrency {
  std::atomic<int> now{0};
  std::atomic<int> max{0};
};

Task<long> many(int n, std::shared_ptr<Concurrency> c) {
  std::vector<JoinHandle<int>> handles;
  for (int i = 0; i < n; ++i) {
    handles.push_back(weft::spawn_blocking([i, c] {
      int v = c->now.fetch_add(1) + 1;
      int m = c->max.load();
      while (v > m && !c->max.compare_exchange_weak(m, v)) {
      }
      std::this_thread::sleep_for(2ms);  // the blocking call being simulated
      c->now.fetch_sub(1);
      return i;
    }));
  }
  long sum = 0;
  for (auto& h : handles) {
    absl::StatusOr<int> r = co_await h;
    sum += r.ok() ? *r : -1000000;
  }
  co_return sum;
}

struct AbortProbe {
  Gate gate;
  Counter started;
  std::shared_ptr<Counter> drops = std::make_shared<Counter>();
};

Task<absl::Status> abort_while_running(std::shared_ptr<AbortProbe> p) {
  JoinHandle<Payload> h = weft::spawn_blocking([p] {
    p->started.add();
    p->gate.wait();
    return Payload(p->drops);
  });
  co_await until_started(&p->started);
  h.abort();
  absl::StatusOr<Payload> r = co_await h;
  co_return r.status();
}

struct SkipProbe {
  Gate gate;
  Counter started;
  std::atomic<bool> second_ran{false};
};

Task<std::vector<absl::Status>> abort_before_start(std::shared_ptr<SkipProbe> p,
                                                   std::shared_ptr<int> token) {
  // One blocking thread: the second function waits in the queue behind the first.
  JoinHandle<void> first = weft::spawn_blocking([p] {
    p->started.add();
    p->gate.wait();
  });
  co_await until_started(&p->started);
  JoinHandle<void> second = weft::spawn_blocking([p, token] { p->second_ran = true; });
  token.reset();
  second.abort();
  std::vector<absl::Status> out;
  out.push_back(co_await second);
  p->gate.open();
  out.push_back(co_await first);
  co_return out;
}

Task<void> detach_one(std::shared_ptr<Counter> ran) {
  // The JoinHandle is dropped at once: the function still runs.
  (void)weft::spawn_blocking([ran] { ran->add(); });
  co_return;
}

Task<void> start_and_leave(std::shared_ptr<AbortProbe> p) {
  (void)weft::spawn_blocking([p] {
    p->started.add();
    p->gate.wait();
    return Payload(p->drops);
  });
  co_await until_started(&p->started);
  co_return;
}

}  // namespace

BOOST_AUTO_TEST_CASE(result_is_returned_on_every_flavour) {
  for (Flavor f : {kMulti, kCurrent, kPerCore}) {
    BOOST_TEST_CONTEXT("flavour " << f) {
      Runtime rt = make(f);
      Results r = rt.block_on(basic_results());
      BOOST_REQUIRE(r.value.ok());
      BOOST_CHECK_EQUAL(*r.value, 42);
      BOOST_REQUIRE(r.name.ok());
      BOOST_CHECK_EQUAL(*r.name, "weft-blocking");  // ran on a blocking-pool thread
      BOOST_CHECK(r.void_status.ok());
      BOOST_CHECK(r.void_ran);
      BOOST_REQUIRE(r.move_only.ok());
      BOOST_CHECK_EQUAL(**r.move_only, 7);
    }
  }
}

BOOST_AUTO_TEST_CASE(exception_surfaces_as_internal) {
  Runtime rt = make(kMulti);
  absl::Status st = rt.block_on(throwing());
  BOOST_CHECK(absl::IsInternal(st));
  BOOST_CHECK_MESSAGE(st.message().find("disk on fire") != std::string::npos, st.ToString());
}

BOOST_AUTO_TEST_CASE(many_concurrent_blocking_calls) {
  constexpr int kCalls = 200;
  constexpr std::size_t kMaxBlocking = 8;
  for (Flavor f : {kMulti, kCurrent}) {
    BOOST_TEST_CONTEXT("flavour " << f) {
      Runtime rt = make(f, kMaxBlocking);
      auto c = std::make_shared<Concurrency>();
      long sum = rt.block_on(many(kCalls, c));
      BOOST_CHECK_EQUAL(sum, static_cast<long>(kCalls) * (kCalls - 1) / 2);
      BOOST_CHECK_LE(c->max.load(), static_cast<int>(kMaxBlocking));
      BOOST_CHECK_GT(c->max.load(), 1);  // they did run side by side
      BOOST_CHECK_LE(rt.metrics().blocking_threads, kMaxBlocking);
    }
  }
}

BOOST_AUTO_TEST_CASE(abort_while_running_drops_the_result_later) {
  Runtime rt = make(kMulti);
  auto p = std::make_shared<AbortProbe>();
  absl::Status st = rt.block_on(abort_while_running(p));
  BOOST_REQUIRE_EQUAL(p->started.get(), 1);  // aborted while the function ran
  BOOST_CHECK(absl::IsCancelled(st));
  BOOST_CHECK_EQUAL(p->drops->get(), 0);  // the function is still running
  p->gate.open();
  // It runs to completion on its thread; the result nobody wants is destroyed there.
  BOOST_CHECK(p->drops->wait_for(1));
  BOOST_CHECK(eventually([&] { return rt.metrics().blocking_idle_threads == 1; }));
  BOOST_CHECK_EQUAL(p->drops->get(), 1);
}

BOOST_AUTO_TEST_CASE(abort_before_start_skips_the_function) {
  Runtime rt = make(kMulti, /*max_blocking=*/1);
  auto p = std::make_shared<SkipProbe>();
  auto token = std::make_shared<int>(0);
  std::weak_ptr<int> second_alive = token;
  std::vector<absl::Status> st = rt.block_on(abort_before_start(p, std::move(token)));
  BOOST_REQUIRE_EQUAL(p->started.get(), 1);
  BOOST_REQUIRE_EQUAL(st.size(), 2u);
  BOOST_CHECK(absl::IsCancelled(st[0]));
  BOOST_CHECK(st[1].ok());
  // The skipped job is destroyed once the pool thread reaches it.
  BOOST_CHECK(eventually([&] { return second_alive.expired(); }));
  BOOST_CHECK(!p->second_ran.load());
}

BOOST_AUTO_TEST_CASE(dropped_handle_still_runs) {
  Runtime rt = make(kMulti);
  auto ran = std::make_shared<Counter>();
  rt.block_on(detach_one(ran));
  BOOST_CHECK(ran->wait_for(1));
}

BOOST_AUTO_TEST_CASE(runtime_shutdown_while_a_function_runs) {
  auto p = std::make_shared<AbortProbe>();
  {
    Runtime rt = make(kMulti);
    rt.block_on(start_and_leave(p));
    BOOST_REQUIRE_EQUAL(p->started.get(), 1);
    // Cancels the waiting task; the pool gives up on the busy thread after 50 ms and detaches
    // it (the function cannot be interrupted).
    rt.shutdown_timeout(50ms);
  }
  BOOST_CHECK_EQUAL(p->drops->get(), 0);
  p->gate.open();
  BOOST_CHECK(p->drops->wait_for(1));
}

BOOST_AUTO_TEST_CASE(outside_a_runtime_throws) {
  BOOST_CHECK_THROW(weft::spawn_blocking([] { return 1; }), std::logic_error);
}
