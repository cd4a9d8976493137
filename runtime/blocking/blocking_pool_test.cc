#define BOOST_TEST_MODULE blocking_pool_test
#include "weft/runtime/blocking/blocking_pool.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "weft/runtime/testing/thread_helpers.h"

namespace {

using weft::detail::BlockingPool;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

using weft::testing::Counter;
using weft::testing::eventually;
using weft::testing::Gate;
using weft::testing::kLimit;
using weft::testing::thread_name;

// Keeps a running maximum of a concurrently updated count.
struct Gauge {
  std::atomic<int> now{0};
  std::atomic<int> max{0};
  void inc() {
    int v = now.fetch_add(1) + 1;
    int m = max.load();
    while (v > m && !max.compare_exchange_weak(m, v)) {
    }
  }
  void dec() { now.fetch_sub(1); }
};

}  // namespace

BOOST_AUTO_TEST_CASE(jobs_run) {
  BlockingPool pool;
  Counter done;
  std::atomic<int> sum{0};
  for (int i = 1; i <= 20; ++i) {
    BOOST_CHECK(pool.execute([&, i] {
      sum += i;
      done.add();
    }));
  }
  BOOST_REQUIRE(done.wait_for(20));
  BOOST_CHECK_EQUAL(sum.load(), 210);
  BOOST_CHECK_LE(pool.num_threads(), 20u);
}

BOOST_AUTO_TEST_CASE(move_only_job_and_reentrant_execute) {
  BlockingPool pool;
  Counter done;
  auto owned = std::make_unique<int>(7);
  std::atomic<int> seen{0};
  std::atomic<bool> inner_accepted{false};  // Boost.Test assertions only on the test thread
  BOOST_CHECK(pool.execute([&, owned = std::move(owned)]() mutable {
    seen = *owned;
    // A job may submit more work: the pool's lock is not held while it runs.
    inner_accepted = pool.execute([&] { done.add(); });
    done.add();
  }));
  BOOST_REQUIRE(done.wait_for(2));
  BOOST_CHECK(inner_accepted.load());
  BOOST_CHECK_EQUAL(seen.load(), 7);
}

BOOST_AUTO_TEST_CASE(thread_count_is_bounded_and_queued_jobs_all_run) {
  constexpr std::size_t kMax = 4;
  constexpr int kJobs = 300;
  Gauge live_threads;
  BlockingPool::Options opts;
  opts.max_threads = kMax;
  opts.on_thread_start = [&] { live_threads.inc(); };
  opts.on_thread_stop = [&] { live_threads.dec(); };
  BlockingPool pool(std::move(opts));

  Gate gate;
  Counter started, done;
  Gauge running;
  for (int i = 0; i < kJobs; ++i) {
    BOOST_REQUIRE(pool.execute([&] {
      running.inc();
      started.add();
      gate.wait();
      running.dec();
      done.add();
    }));
    BOOST_CHECK_LE(pool.num_threads(), kMax);
  }
  BOOST_REQUIRE(started.wait_for(kMax));
  BOOST_CHECK_EQUAL(pool.num_threads(), kMax);
  BOOST_CHECK_EQUAL(pool.num_idle_threads(), 0u);
  BOOST_CHECK_EQUAL(pool.queue_depth(), kJobs - kMax);
  BOOST_CHECK_EQUAL(started.get(), static_cast<int>(kMax));  // the rest wait in the queue

  gate.open();
  BOOST_REQUIRE(done.wait_for(kJobs));
  BOOST_CHECK_EQUAL(pool.queue_depth(), 0u);
  BOOST_CHECK_LE(running.max.load(), static_cast<int>(kMax));
  BOOST_CHECK_LE(live_threads.max.load(), static_cast<int>(kMax));
  BOOST_CHECK_LE(pool.num_threads(), kMax);
  BOOST_CHECK(eventually([&] { return pool.num_idle_threads() == pool.num_threads(); }));
}

BOOST_AUTO_TEST_CASE(queued_jobs_run_in_fifo_order) {
  BlockingPool::Options opts;
  opts.max_threads = 1;
  BlockingPool pool(std::move(opts));
  Gate gate;
  Counter done;
  Counter blocker_running;
  std::vector<int> order;  // touched by the single pool thread only, read after `done`
  BOOST_REQUIRE(pool.execute([&] {
    blocker_running.add();
    gate.wait();
  }));
  BOOST_REQUIRE(blocker_running.wait_for(1));
  for (int i = 0; i < 100; ++i) {
    BOOST_REQUIRE(pool.execute([&, i] {
      order.push_back(i);
      done.add();
    }));
  }
  BOOST_CHECK_EQUAL(pool.queue_depth(), 100u);
  gate.open();
  BOOST_REQUIRE(done.wait_for(100));
  BOOST_REQUIRE_EQUAL(order.size(), 100u);
  for (int i = 0; i < 100; ++i) BOOST_CHECK_EQUAL(order[i], i);
}

BOOST_AUTO_TEST_CASE(idle_thread_is_reused) {
  BlockingPool pool;
  Counter done;
  std::thread::id first, second;
  BOOST_REQUIRE(pool.execute([&] {
    first = std::this_thread::get_id();
    done.add();
  }));
  BOOST_REQUIRE(done.wait_for(1));
  BOOST_REQUIRE(eventually([&] { return pool.num_idle_threads() == 1; }));
  BOOST_REQUIRE(pool.execute([&] {
    second = std::this_thread::get_id();
    done.add();
  }));
  BOOST_REQUIRE(done.wait_for(2));
  BOOST_CHECK_EQUAL(pool.num_threads(), 1u);
  BOOST_CHECK(first == second);
}

BOOST_AUTO_TEST_CASE(idle_threads_exit_after_keep_alive) {
  constexpr auto kKeepAlive = 50ms;
  std::mutex mu;
  std::vector<Clock::time_point> stop_times;
  Counter starts, stops;
  BlockingPool::Options opts;
  opts.keep_alive = kKeepAlive;
  opts.on_thread_start = [&] { starts.add(); };
  opts.on_thread_stop = [&] {
    {
      std::lock_guard lk(mu);
      stop_times.push_back(Clock::now());
    }
    stops.add();
  };
  BlockingPool pool(std::move(opts));

  // Three jobs that only finish once all three run at once: three threads.
  Counter started, done;
  Clock::time_point first_finish = Clock::time_point::max();
  for (int i = 0; i < 3; ++i) {
    BOOST_REQUIRE(pool.execute([&] {
      started.add();
      started.wait_for(3);
      {
        std::lock_guard lk(mu);
        first_finish = std::min(first_finish, Clock::now());
      }
      done.add();
    }));
  }
  BOOST_REQUIRE(done.wait_for(3));
  BOOST_CHECK_EQUAL(starts.get(), 3);

  BOOST_REQUIRE(stops.wait_for(3));
  BOOST_CHECK_EQUAL(pool.num_threads(), 0u);
  BOOST_CHECK_EQUAL(pool.num_idle_threads(), 0u);
  {
    std::lock_guard lk(mu);
    // A thread goes idle after its job finishes, and leaves no earlier than keep_alive later.
    for (auto t : stop_times) BOOST_CHECK(t - first_finish >= kKeepAlive);
  }

  // The pool still works: a new thread is started.
  BOOST_REQUIRE(pool.execute([&] { done.add(); }));
  BOOST_REQUIRE(done.wait_for(4));
  BOOST_CHECK_EQUAL(starts.get(), 4);
  BOOST_CHECK(stops.wait_for(4));
}

BOOST_AUTO_TEST_CASE(unbounded_keep_alive_and_shutdown_timeout) {
  // milliseconds::max() must mean "forever", not overflow into an already-past deadline.
  BlockingPool::Options opts;
  opts.keep_alive = std::chrono::milliseconds::max();
  BlockingPool pool(std::move(opts));
  Counter done;
  BOOST_REQUIRE(pool.execute([&] { done.add(); }));
  BOOST_REQUIRE(done.wait_for(1));
  BOOST_REQUIRE(eventually([&] { return pool.num_idle_threads() == 1; }));
  std::this_thread::sleep_for(20ms);  // a past deadline would let the thread leave by now
  BOOST_CHECK_EQUAL(pool.num_threads(), 1u);
  pool.shutdown(std::chrono::milliseconds::max());
  BOOST_CHECK_EQUAL(pool.num_threads(), 0u);
}

BOOST_AUTO_TEST_CASE(shutdown_waits_for_running_and_queued_jobs) {
  BlockingPool::Options opts;
  opts.max_threads = 2;
  BlockingPool pool(std::move(opts));
  Gate gate;
  Counter started, done;
  for (int i = 0; i < 2; ++i) {
    BOOST_REQUIRE(pool.execute([&] {
      started.add();
      gate.wait();
      done.add();
    }));
  }
  for (int i = 0; i < 5; ++i) BOOST_REQUIRE(pool.execute([&] { done.add(); }));
  BOOST_REQUIRE(started.wait_for(2));

  // Open the gate only once shutdown has begun (execute starts refusing): shutdown must then
  // still be waiting for the two running jobs and the five queued ones.
  std::atomic<bool> opened{false};
  std::thread opener([&] {
    const auto deadline = Clock::now() + kLimit;
    while (pool.execute([] {}) && Clock::now() < deadline) std::this_thread::sleep_for(1ms);
    opened = true;
    gate.open();
  });
  pool.shutdown(std::chrono::duration_cast<std::chrono::milliseconds>(kLimit));
  BOOST_CHECK(opened.load());
  BOOST_CHECK_EQUAL(done.get(), 7);
  BOOST_CHECK_EQUAL(pool.num_threads(), 0u);
  BOOST_CHECK_EQUAL(pool.num_idle_threads(), 0u);
  BOOST_CHECK_EQUAL(pool.queue_depth(), 0u);
  opener.join();
}

BOOST_AUTO_TEST_CASE(execute_after_shutdown_is_refused) {
  BlockingPool pool;
  pool.shutdown(1s);
  auto token = std::make_shared<int>(0);
  bool ran = false;
  BOOST_CHECK(!pool.execute([token, &ran] { ran = true; }));
  BOOST_CHECK_EQUAL(token.use_count(), 1);  // the refused job was destroyed
  BOOST_CHECK(!ran);
  pool.shutdown(1s);  // a second call is harmless
}

BOOST_AUTO_TEST_CASE(shutdown_timeout_detaches_busy_threads) {
  auto gate = std::make_shared<Gate>();
  auto done = std::make_shared<Counter>();
  auto sentinel = std::make_shared<int>(0);
  std::weak_ptr<int> state_alive = sentinel;
  BlockingPool::Options opts;
  opts.on_thread_stop = [sentinel] {};  // lives as long as the pool's shared state
  sentinel.reset();
  auto pool = std::make_unique<BlockingPool>(std::move(opts));
  BOOST_REQUIRE(pool->execute([gate, done] {
    gate->wait();
    done->add();
  }));

  const auto t0 = Clock::now();
  pool->shutdown(50ms);
  BOOST_CHECK(Clock::now() - t0 >= 50ms);
  BOOST_CHECK_EQUAL(done->get(), 0);  // still running, now on a detached thread
  pool.reset();                       // does not wait again
  BOOST_CHECK_EQUAL(done->get(), 0);
  BOOST_CHECK(!state_alive.expired());  // the detached thread keeps the state alive

  gate->open();
  BOOST_REQUIRE(done->wait_for(1));
  // The thread releases the last reference to the state on its way out.
  BOOST_CHECK(eventually([&] { return state_alive.expired(); }));
}

BOOST_AUTO_TEST_CASE(destructor_drains_the_queue) {
  Counter done;
  {
    BlockingPool::Options opts;
    opts.max_threads = 1;
    BlockingPool pool(std::move(opts));
    for (int i = 0; i < 10; ++i) BOOST_REQUIRE(pool.execute([&] { done.add(); }));
  }
  BOOST_CHECK_EQUAL(done.get(), 10);
}

BOOST_AUTO_TEST_CASE(hooks_run_once_per_thread) {
  std::mutex mu;
  std::multiset<std::thread::id> started_ids, stopped_ids;
  std::set<std::thread::id> job_ids;
  std::vector<std::string> hook_names;
  BlockingPool::Options opts;
  opts.max_threads = 3;
  opts.on_thread_start = [&] {
    std::lock_guard lk(mu);
    started_ids.insert(std::this_thread::get_id());
    hook_names.push_back(thread_name());  // the name is set before the hook runs
  };
  opts.on_thread_stop = [&] {
    std::lock_guard lk(mu);
    stopped_ids.insert(std::this_thread::get_id());
  };
  BlockingPool pool(std::move(opts));
  Counter started;
  for (int i = 0; i < 6; ++i) {
    BOOST_REQUIRE(pool.execute([&] {
      {
        std::lock_guard lk(mu);
        job_ids.insert(std::this_thread::get_id());
      }
      started.add();
      started.wait_for(3);
    }));
  }
  BOOST_REQUIRE(started.wait_for(6));
  pool.shutdown(std::chrono::duration_cast<std::chrono::milliseconds>(kLimit));

  std::lock_guard lk(mu);
  BOOST_CHECK_EQUAL(started_ids.size(), 3u);
  BOOST_CHECK_EQUAL(std::set<std::thread::id>(started_ids.begin(), started_ids.end()).size(), 3u);
  BOOST_CHECK(started_ids == stopped_ids);
  BOOST_CHECK(job_ids == std::set<std::thread::id>(started_ids.begin(), started_ids.end()));
  for (const auto& n : hook_names) BOOST_CHECK_EQUAL(n, "weft-blocking");
}

BOOST_AUTO_TEST_CASE(thread_names_are_set) {
  auto name_in_pool = [](std::string configured) {
    BlockingPool::Options opts;
    if (!configured.empty()) opts.thread_name = configured;
    BlockingPool pool(std::move(opts));
    Counter done;
    std::string seen;
    BOOST_REQUIRE(pool.execute([&] {
      seen = thread_name();
      done.add();
    }));
    BOOST_REQUIRE(done.wait_for(1));
    return seen;
  };
  BOOST_CHECK_EQUAL(name_in_pool(""), "weft-blocking");
  BOOST_CHECK_EQUAL(name_in_pool("my-io"), "my-io");
  // Linux keeps 15 bytes: a longer name is cut rather than rejected.
  BOOST_CHECK_EQUAL(name_in_pool("a-much-too-long-thread-name"), "a-much-too-long");
}

BOOST_AUTO_TEST_CASE(zero_max_threads_is_rejected) {
  BlockingPool::Options opts;
  opts.max_threads = 0;
  BOOST_CHECK_THROW(BlockingPool(std::move(opts)), std::invalid_argument);
}
