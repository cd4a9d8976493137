#define BOOST_TEST_MODULE inject_queue_test
#include "weft/runtime/scheduler/multi_thread/inject_queue.h"

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

namespace {

using weft::detail::InjectQueue;

struct Task {
  Task* queue_next = nullptr;
  std::uint32_t id = 0;
  std::uint32_t payload = 0;  // Written by the producer, read by the consumer: TSan checks order.
  std::uint32_t times_taken = 0;
};

using Queue = InjectQueue<Task>;

std::vector<Task> make_tasks(std::size_t n) {
  std::vector<Task> tasks(n);
  for (std::size_t i = 0; i < n; ++i) tasks[i].id = static_cast<std::uint32_t>(i);
  return tasks;
}

// Links tasks[from, to) into a chain and returns its first task.
Task* chain(std::vector<Task>& tasks, std::size_t from, std::size_t to) {
  for (std::size_t i = from; i + 1 < to; ++i) tasks[i].queue_next = &tasks[i + 1];
  tasks[to - 1].queue_next = nullptr;
  return &tasks[from];
}

std::vector<std::uint32_t> drain(Queue& q) {
  std::vector<std::uint32_t> ids;
  while (Task* t = q.pop()) ids.push_back(t->id);
  return ids;
}

std::vector<std::uint32_t> iota(std::uint32_t from, std::uint32_t to) {
  std::vector<std::uint32_t> v;
  for (std::uint32_t i = from; i < to; ++i) v.push_back(i);
  return v;
}

}  // namespace

BOOST_AUTO_TEST_CASE(new_queue_is_empty_and_open) {
  Queue q;
  BOOST_TEST(q.is_empty());
  BOOST_TEST(q.len() == 0u);
  BOOST_TEST(!q.is_closed());
  BOOST_TEST(q.pop() == nullptr);
  BOOST_TEST(q.pop_n(8, [](Task*) { BOOST_FAIL("no task expected"); }) == 0u);
}

BOOST_AUTO_TEST_CASE(push_pop_is_fifo) {
  auto tasks = make_tasks(10);
  Queue q;
  for (auto& t : tasks) BOOST_TEST(q.push(&t));
  BOOST_TEST(q.len() == 10u);
  BOOST_TEST(!q.is_empty());
  Task* first = q.pop();
  BOOST_TEST_REQUIRE(first == &tasks[0]);
  BOOST_TEST(first->queue_next == nullptr);  // A popped task's link is cleared.
  BOOST_TEST(q.len() == 9u);
  BOOST_TEST(drain(q) == iota(1, 10), boost::test_tools::per_element());
  BOOST_TEST(q.is_empty());

  // Reusable once emptied.
  BOOST_TEST(q.push(&tasks[3]));
  BOOST_TEST(q.pop() == &tasks[3]);
  BOOST_TEST(q.pop() == nullptr);
}

BOOST_AUTO_TEST_CASE(push_batch_keeps_order_among_single_pushes) {
  auto tasks = make_tasks(12);
  Queue q;
  BOOST_TEST(q.push(&tasks[0]));
  BOOST_TEST(q.push_batch(chain(tasks, 1, 6), &tasks[5], 5));
  BOOST_TEST(q.push(&tasks[6]));
  BOOST_TEST(q.push_batch(chain(tasks, 7, 12), &tasks[11], 5));
  BOOST_TEST(q.len() == 12u);
  BOOST_TEST(drain(q) == iota(0, 12), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(push_batch_of_one_and_into_empty_queue) {
  auto tasks = make_tasks(2);
  Queue q;
  tasks[0].queue_next = &tasks[1];  // A stale link past `last` must not be followed.
  BOOST_TEST(q.push_batch(&tasks[0], &tasks[0], 1));
  BOOST_TEST(q.len() == 1u);
  BOOST_TEST(q.pop() == &tasks[0]);
  BOOST_TEST(q.pop() == nullptr);
}

BOOST_AUTO_TEST_CASE(pop_n_takes_oldest_in_order) {
  auto tasks = make_tasks(20);
  Queue q;
  BOOST_TEST(q.push_batch(chain(tasks, 0, 20), &tasks[19], 20));

  std::vector<std::uint32_t> got;
  auto collect = [&](Task* t) {
    BOOST_TEST(t->queue_next == nullptr);
    got.push_back(t->id);
  };
  BOOST_TEST(q.pop_n(7, collect) == 7u);
  BOOST_TEST(got == iota(0, 7), boost::test_tools::per_element());
  BOOST_TEST(q.len() == 13u);

  got.clear();
  BOOST_TEST(q.pop_n(100, collect) == 13u);  // Fewer than asked: all there is.
  BOOST_TEST(got == iota(7, 20), boost::test_tools::per_element());
  BOOST_TEST(q.is_empty());
  BOOST_TEST(q.pop_n(5, collect) == 0u);
  BOOST_TEST(q.pop_n(0, collect) == 0u);

  // The queue still works after being emptied by pop_n.
  BOOST_TEST(q.push(&tasks[4]));
  BOOST_TEST(q.pop() == &tasks[4]);
}

BOOST_AUTO_TEST_CASE(pop_n_callback_may_push_back_into_the_queue) {
  auto tasks = make_tasks(6);
  Queue q;
  for (auto& t : tasks) q.push(&t);
  // The lock is released before the callback runs: re-queueing must not deadlock.
  BOOST_TEST(q.pop_n(3, [&](Task* t) { BOOST_TEST(q.push(t)); }) == 3u);
  BOOST_TEST(drain(q) == (std::vector<std::uint32_t>{3, 4, 5, 0, 1, 2}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(close_refuses_pushes_but_keeps_queued_tasks) {
  auto tasks = make_tasks(8);
  Queue q;
  BOOST_TEST(q.push(&tasks[0]));
  BOOST_TEST(q.push(&tasks[1]));

  BOOST_TEST(q.close());
  BOOST_TEST(q.is_closed());
  BOOST_TEST(!q.close());  // Only the first call closes.

  BOOST_TEST(!q.push(&tasks[2]));
  Task* first = chain(tasks, 3, 8);
  BOOST_TEST(!q.push_batch(first, &tasks[7], 5));
  // A refused chain is left as it was: the caller still owns it.
  for (std::size_t i = 3; i < 7; ++i) BOOST_TEST(tasks[i].queue_next == &tasks[i + 1]);
  BOOST_TEST(tasks[7].queue_next == nullptr);
  BOOST_TEST(q.len() == 2u);

  // Tasks queued before the close can still be taken (shutdown drains them).
  BOOST_TEST(drain(q) == iota(0, 2), boost::test_tools::per_element());
  BOOST_TEST(q.is_closed());
  BOOST_TEST(!q.push(&tasks[0]));
  BOOST_TEST(q.is_empty());
}

namespace {

struct Consumed {
  std::vector<std::uint32_t> ids;
  std::size_t bad_payloads = 0;
};

// Producers push every task (singly and in batches of 1-8) while consumers pop and pop_n; with
// `close_midway`, a producer closes the queue partway and producers count what was refused. Each
// accepted task must be taken exactly once, and no refused task ever.
void run_concurrent(std::size_t per_producer, int producers, int consumers, bool close_midway) {
  const std::size_t total = per_producer * static_cast<std::size_t>(producers);
  auto tasks = make_tasks(total);
  Queue q;
  std::atomic<std::size_t> accepted{0};
  std::atomic<std::size_t> refused{0};
  std::atomic<std::size_t> taken{0};
  std::atomic<int> producers_left{producers};
  std::atomic<bool> timed_out{false};
  // All threads start together, so that pushes, pops and the close overlap.
  std::atomic<int> waiting{producers + consumers};
  auto start_together = [&waiting] {
    waiting.fetch_sub(1, std::memory_order_relaxed);
    while (waiting.load(std::memory_order_relaxed) != 0) std::this_thread::yield();
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(40);
  std::vector<std::vector<char>> refused_marks(producers, std::vector<char>(per_producer, 0));

  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      const std::size_t base = static_cast<std::size_t>(p) * per_producer;
      std::size_t i = 0;
      start_together();
      std::uint32_t rng = static_cast<std::uint32_t>(p) * 2654435761u + 1;
      while (i < per_producer) {
        // The first producer to see a third of all tasks accepted closes the queue, while the
        // others may be pushing. Some tasks are then certainly left, and refused.
        if (close_midway && !q.is_closed() &&
            accepted.load(std::memory_order_relaxed) >= total / 3) {
          q.close();
        }
        if (i % 64 == 0) std::this_thread::yield();  // Interleave producers, even on 2 cores.
        rng = rng * 1103515245u + 12345u;
        const std::size_t n = std::min<std::size_t>(1 + (rng >> 16) % 8, per_producer - i);
        for (std::size_t k = 0; k < n; ++k) {
          tasks[base + i + k].payload = tasks[base + i + k].id * 3u + 1u;
        }
        Task* first = &tasks[base + i];
        Task* last = &tasks[base + i + n - 1];
        bool ok;
        if (n == 1) {
          ok = q.push(first);
        } else {
          ok = q.push_batch(chain(tasks, base + i, base + i + n), last, n);
        }
        (ok ? accepted : refused).fetch_add(n, std::memory_order_relaxed);
        if (!ok) {
          for (std::size_t k = 0; k < n; ++k) refused_marks[p][i + k] = 1;
        }
        i += n;
      }
      producers_left.fetch_sub(1, std::memory_order_release);
    });
  }

  std::vector<Consumed> consumed(consumers);
  for (int c = 0; c < consumers; ++c) {
    threads.emplace_back([&, c] {
      Consumed& me = consumed[c];
      start_together();
      auto take = [&](Task* t) {
        if (t->payload != t->id * 3u + 1u) ++me.bad_payloads;
        ++t->times_taken;  // A plain write: two takers of one task would be a race TSan reports.
        me.ids.push_back(t->id);
        taken.fetch_add(1, std::memory_order_relaxed);
      };
      for (std::size_t round = 0;; ++round) {
        std::size_t got = 0;
        if (round % 2 == 0) {
          if (Task* t = q.pop()) {
            take(t);
            got = 1;
          }
        } else {
          got = q.pop_n(1 + round % 16, take);
        }
        if (got != 0) continue;
        // Done once every producer finished (acquire: their pushes are visible) and the queue is
        // empty; len() then is exact, since no one pushes any more.
        if (producers_left.load(std::memory_order_acquire) == 0 && q.is_empty()) break;
        if (std::chrono::steady_clock::now() > deadline) {
          timed_out = true;
          break;
        }
        std::this_thread::yield();
      }
    });
  }
  for (auto& t : threads) t.join();

  BOOST_TEST(!timed_out.load());
  BOOST_TEST(accepted.load() + refused.load() == total);
  BOOST_TEST(taken.load() == accepted.load());
  if (close_midway) {
    BOOST_TEST(q.is_closed());
    BOOST_TEST(refused.load() > 0u);
    BOOST_TEST(accepted.load() >= total / 3);
  } else {
    BOOST_TEST(refused.load() == 0u);
  }
  std::vector<std::uint32_t> count(total, 0);
  std::size_t bad_payloads = 0;
  for (const auto& me : consumed) {
    bad_payloads += me.bad_payloads;
    for (auto id : me.ids) ++count[id];
  }
  BOOST_TEST(bad_payloads == 0u);
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < total; ++i) {
    const bool was_refused = refused_marks[i / per_producer][i % per_producer] != 0;
    const std::uint32_t expected = was_refused ? 0 : 1;
    if (count[i] != expected || tasks[i].times_taken != expected) ++wrong;
  }
  BOOST_TEST(wrong == 0u);
  BOOST_TEST_MESSAGE("tasks " << total << ": accepted " << accepted.load() << ", refused "
                              << refused.load());
  while (q.pop() != nullptr) {
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(concurrent_producers_and_consumers_lose_nothing) {
  run_concurrent(50'000, 3, 2, /*close_midway=*/false);
}

BOOST_AUTO_TEST_CASE(close_during_concurrent_pushes_loses_nothing) {
  run_concurrent(50'000, 3, 2, /*close_midway=*/true);
}
