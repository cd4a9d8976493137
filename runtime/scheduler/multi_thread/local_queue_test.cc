#define BOOST_TEST_MODULE local_queue_test
#include "weft/runtime/scheduler/multi_thread/local_queue.h"

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <thread>
#include <vector>

namespace {

using weft::detail::LocalQueue;

struct Task {
  Task* queue_next = nullptr;
  std::uint32_t id = 0;
  std::uint32_t payload = 0;  // Written by the producer, read by the consumer: TSan checks order.
  std::uint32_t times_taken = 0;
};

using Queue = LocalQueue<Task>;
constexpr std::size_t kCap = Queue::kCapacity;

std::vector<Task> make_tasks(std::size_t n) {
  std::vector<Task> tasks(n);
  for (std::size_t i = 0; i < n; ++i) tasks[i].id = static_cast<std::uint32_t>(i);
  return tasks;
}

// Records each batch as the list of ids, walking the links, and checks the batch's shape.
struct RecordingOverflow {
  std::vector<std::vector<std::uint32_t>> batches;
  bool malformed = false;

  void push_batch(Task* first, Task* last, std::size_t n) {
    std::vector<std::uint32_t> ids;
    Task* prev = nullptr;
    for (Task* t = first; t != nullptr && ids.size() <= n; t = t->queue_next) {
      ids.push_back(t->id);
      prev = t;
    }
    if (ids.size() != n || prev != last) malformed = true;
    batches.push_back(std::move(ids));
  }
};

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

static_assert(weft::detail::LocalQueueOverflow<RecordingOverflow, Task>);
static_assert(weft::detail::QueueLinked<Task>);
static_assert(!weft::detail::QueueLinked<int>);

}  // namespace

BOOST_AUTO_TEST_CASE(new_queue_is_empty) {
  Queue q;
  BOOST_TEST(q.is_empty());
  BOOST_TEST(q.len() == 0u);
  BOOST_TEST(q.remaining_slots() == kCap);
  BOOST_TEST(q.pop() == nullptr);
}

BOOST_AUTO_TEST_CASE(pop_is_fifo) {
  auto tasks = make_tasks(100);
  Queue q;
  RecordingOverflow overflow;
  for (auto& t : tasks) BOOST_TEST(q.push_back_or_overflow(&t, overflow));
  BOOST_TEST(q.len() == 100u);
  BOOST_TEST(q.remaining_slots() == kCap - 100);
  BOOST_TEST(drain(q) == iota(0, 100), boost::test_tools::per_element());
  BOOST_TEST(q.is_empty());
  BOOST_TEST(overflow.batches.empty());
}

BOOST_AUTO_TEST_CASE(interleaved_push_pop_keeps_order) {
  auto tasks = make_tasks(1000);
  Queue q;
  RecordingOverflow overflow;
  std::vector<std::uint32_t> out;
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    q.push_back_or_overflow(&tasks[i], overflow);
    if (i % 4 != 0) out.push_back(q.pop()->id);  // Grows to 250: never overflows.
  }
  for (auto id : drain(q)) out.push_back(id);
  BOOST_TEST(overflow.batches.empty());
  BOOST_TEST(out == iota(0, 1000), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(fills_to_capacity_without_overflow) {
  auto tasks = make_tasks(kCap);
  Queue q;
  RecordingOverflow overflow;
  for (auto& t : tasks) BOOST_TEST(q.push_back_or_overflow(&t, overflow));
  BOOST_TEST(overflow.batches.empty());
  BOOST_TEST(q.len() == kCap);
  BOOST_TEST(q.remaining_slots() == 0u);
  BOOST_TEST(drain(q) == iota(0, kCap), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(overflow_moves_oldest_half_then_new_task_in_order) {
  auto tasks = make_tasks(kCap + 1);
  Queue q;
  RecordingOverflow overflow;
  for (std::size_t i = 0; i < kCap; ++i) q.push_back_or_overflow(&tasks[i], overflow);
  BOOST_TEST(!q.push_back_or_overflow(&tasks[kCap], overflow));

  BOOST_TEST(!overflow.malformed);
  BOOST_TEST_REQUIRE(overflow.batches.size() == 1u);
  std::vector<std::uint32_t> expected = iota(0, kCap / 2);
  expected.push_back(kCap);
  BOOST_TEST(overflow.batches[0] == expected, boost::test_tools::per_element());
  BOOST_TEST(tasks[kCap].queue_next == nullptr);

  BOOST_TEST(q.len() == kCap / 2);
  BOOST_TEST(q.remaining_slots() == kCap / 2);
  BOOST_TEST(drain(q) == iota(kCap / 2, kCap), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(repeated_overflow_loses_nothing) {
  constexpr std::size_t kTotal = 5000;
  auto tasks = make_tasks(kTotal);
  Queue q;
  RecordingOverflow overflow;
  std::size_t local = 0;
  for (auto& t : tasks) local += q.push_back_or_overflow(&t, overflow) ? 1 : 0;
  BOOST_TEST(!overflow.malformed);
  // Every overflow after the first fill happens once another kCap / 2 pushes filled the queue.
  // The first overflow is push kCap + 1; then every (kCap / 2 + 1)-th push overflows again.
  BOOST_TEST(overflow.batches.size() == (kTotal - kCap - 1) / (kCap / 2 + 1) + 1);
  // Each batch is a run of consecutive tasks plus the task being pushed; what stays in the queue
  // is in push order.
  std::vector<int> seen(kTotal, 0);
  for (const auto& b : overflow.batches) {
    BOOST_TEST(b.size() == kCap / 2 + 1);
    for (std::size_t i = 1; i + 1 < b.size(); ++i) BOOST_TEST(b[i] == b[i - 1] + 1);
    for (auto id : b) ++seen[id];
  }
  const auto rest = drain(q);
  for (std::size_t i = 1; i < rest.size(); ++i) BOOST_TEST(rest[i] > rest[i - 1]);
  for (auto id : rest) ++seen[id];
  for (std::size_t i = 0; i < kTotal; ++i) BOOST_TEST(seen[i] == 1, "task " << i);
  BOOST_TEST(rest.size() + overflow.batches.size() * (kCap / 2 + 1) == kTotal);
  BOOST_TEST(local == kTotal - overflow.batches.size());
}

BOOST_AUTO_TEST_CASE(steal_from_empty_returns_nullptr) {
  Queue src, dst;
  BOOST_TEST(src.steal_into(dst) == nullptr);
  BOOST_TEST(dst.is_empty());
}

BOOST_AUTO_TEST_CASE(steal_takes_oldest_half) {
  auto tasks = make_tasks(10);
  Queue src, dst;
  RecordingOverflow overflow;
  for (auto& t : tasks) src.push_back_or_overflow(&t, overflow);

  Task* got = src.steal_into(dst);
  BOOST_TEST_REQUIRE(got != nullptr);
  // Stolen: 0..4. The newest stolen is returned, the others wait in dst in order.
  BOOST_TEST(got->id == 4u);
  BOOST_TEST(dst.len() == 4u);
  BOOST_TEST(src.len() == 5u);
  BOOST_TEST(drain(dst) == iota(0, 4), boost::test_tools::per_element());
  BOOST_TEST(drain(src) == iota(5, 10), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(steal_rounds_half_up) {
  auto tasks = make_tasks(7);
  Queue src, dst;
  RecordingOverflow overflow;
  for (auto& t : tasks) src.push_back_or_overflow(&t, overflow);
  Task* got = src.steal_into(dst);
  BOOST_TEST_REQUIRE(got != nullptr);
  BOOST_TEST(got->id == 3u);
  BOOST_TEST(drain(dst) == iota(0, 3), boost::test_tools::per_element());
  BOOST_TEST(drain(src) == iota(4, 7), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(steal_of_single_task_leaves_dst_empty) {
  auto tasks = make_tasks(1);
  Queue src, dst;
  RecordingOverflow overflow;
  src.push_back_or_overflow(&tasks[0], overflow);
  BOOST_TEST(src.steal_into(dst) == &tasks[0]);
  BOOST_TEST(src.is_empty());
  BOOST_TEST(dst.is_empty());
  BOOST_TEST(src.steal_into(dst) == nullptr);
}

BOOST_AUTO_TEST_CASE(steal_from_full_queue_takes_half) {
  auto tasks = make_tasks(kCap);
  Queue src, dst;
  RecordingOverflow overflow;
  for (auto& t : tasks) src.push_back_or_overflow(&t, overflow);
  Task* got = src.steal_into(dst);
  BOOST_TEST_REQUIRE(got != nullptr);
  BOOST_TEST(got->id == kCap / 2 - 1);
  BOOST_TEST(src.len() == kCap / 2);
  BOOST_TEST(src.remaining_slots() == kCap / 2);
  BOOST_TEST(drain(dst) == iota(0, kCap / 2 - 1), boost::test_tools::per_element());
  BOOST_TEST(drain(src) == iota(kCap / 2, kCap), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(steal_refused_when_dst_is_over_half_full) {
  auto tasks = make_tasks(kCap / 2 + 1 + 4);
  Queue src, dst;
  RecordingOverflow overflow;
  for (std::size_t i = 0; i <= kCap / 2; ++i) dst.push_back_or_overflow(&tasks[i], overflow);
  for (std::size_t i = kCap / 2 + 1; i < tasks.size(); ++i) {
    src.push_back_or_overflow(&tasks[i], overflow);
  }
  BOOST_TEST(src.steal_into(dst) == nullptr);
  BOOST_TEST(src.len() == 4u);
  BOOST_TEST(dst.len() == kCap / 2 + 1);

  // With exactly half of dst in use, the steal goes ahead.
  dst.pop();
  Task* got = src.steal_into(dst);
  BOOST_TEST_REQUIRE(got != nullptr);
  BOOST_TEST(got->id == kCap / 2 + 2);
  BOOST_TEST(dst.len() == kCap / 2 + 1);
  BOOST_TEST(drain(src).size() == 2u);
  BOOST_TEST(drain(dst).size() == kCap / 2 + 1);
}

BOOST_AUTO_TEST_CASE(positions_wrap_around_u32) {
  constexpr std::uint32_t kStart = std::numeric_limits<std::uint32_t>::max() - 100;
  auto tasks = make_tasks(3000);
  Queue q(kStart);
  RecordingOverflow overflow;
  BOOST_TEST(q.is_empty());
  BOOST_TEST(q.remaining_slots() == kCap);

  // Cross the wrap with a partly filled queue, checking order all along.
  std::vector<std::uint32_t> out;
  for (std::size_t i = 0; i < 1000; ++i) {
    q.push_back_or_overflow(&tasks[i], overflow);
    if (i % 4 != 0) out.push_back(q.pop()->id);
  }
  BOOST_TEST(q.len() == 250u);
  BOOST_TEST(overflow.batches.empty());
  for (auto id : drain(q)) out.push_back(id);
  BOOST_TEST(out == iota(0, 1000), boost::test_tools::per_element());

  // Fill across the wrap and overflow.
  Queue q2(kStart);
  for (std::uint32_t i = 1000; i < 1000 + kCap; ++i) {
    BOOST_TEST(q2.push_back_or_overflow(&tasks[i], overflow));
  }
  BOOST_TEST(q2.len() == kCap);
  BOOST_TEST(q2.remaining_slots() == 0u);
  BOOST_TEST(!q2.push_back_or_overflow(&tasks[1000 + kCap], overflow));
  BOOST_TEST_REQUIRE(overflow.batches.size() == 1u);
  std::vector<std::uint32_t> expected = iota(1000, 1000 + kCap / 2);
  expected.push_back(1000 + kCap);
  BOOST_TEST(overflow.batches[0] == expected, boost::test_tools::per_element());

  // Steal across the wrap, into a queue whose own positions wrap too.
  Queue dst(std::numeric_limits<std::uint32_t>::max() - 2);
  Task* got = q2.steal_into(dst);
  BOOST_TEST_REQUIRE(got != nullptr);
  BOOST_TEST(got->id == 1000 + kCap / 2 + kCap / 4 - 1);
  BOOST_TEST(drain(dst) == iota(1000 + kCap / 2, 1000 + kCap / 2 + kCap / 4 - 1),
             boost::test_tools::per_element());
  BOOST_TEST(drain(q2) == iota(1000 + kCap / 2 + kCap / 4, 1000 + kCap),
             boost::test_tools::per_element());
}

namespace {

// One owner pushing (bursts that overflow, and pops) while stealers steal from the owner and from
// each other. Every task must be taken exactly once: popped, stolen, or sent to the overflow.
void run_stress(std::uint32_t start_position, std::size_t total, int stealers) {
  auto tasks = make_tasks(total);
  auto owner_queue = std::make_unique<Queue>(start_position);
  std::vector<std::unique_ptr<Queue>> thief_queues;
  for (int i = 0; i < stealers; ++i)
    thief_queues.push_back(std::make_unique<Queue>(start_position));

  std::atomic<std::size_t> taken{0};
  std::atomic<bool> timed_out{false};
  // All threads start together, so that stealing overlaps the owner's work from the start.
  std::atomic<int> waiting{stealers + 1};
  auto start_together = [&waiting] {
    waiting.fetch_sub(1, std::memory_order_relaxed);
    while (waiting.load(std::memory_order_relaxed) != 0) std::this_thread::yield();
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(40);

  struct Taker {
    std::vector<std::uint32_t> ids;
    std::size_t bad_payloads = 0;
  };
  std::vector<Taker> takers(stealers + 1);
  auto take = [&](Taker& me, Task* t) {
    if (t->payload != (t->id ^ 0x9e3779b9u)) ++me.bad_payloads;
    ++t->times_taken;  // A plain write: two takers of one task would be a race TSan reports.
    me.ids.push_back(t->id);
    taken.fetch_add(1, std::memory_order_relaxed);
  };

  struct StressOverflow {
    std::vector<std::uint32_t> ids;
    std::size_t batches = 0;
    std::size_t singles = 0;  // Full while a steal was in progress: only the new task moves.
    bool malformed = false;
    std::atomic<std::size_t>* taken;
    void push_batch(Task* first, Task* last, std::size_t n) {
      std::size_t count = 0;
      Task* prev = nullptr;
      for (Task* t = first; t != nullptr && count <= n; t = t->queue_next, ++count) {
        ++t->times_taken;
        ids.push_back(t->id);
        prev = t;
      }
      if (count != n || prev != last) malformed = true;
      ++batches;
      if (n == 1) ++singles;
      taken->fetch_add(count, std::memory_order_relaxed);
    }
  } overflow{.taken = &taken};

  std::thread owner([&] {
    Taker& me = takers[0];
    start_together();
    std::uint64_t rng = 0x2545f4914f6cdd1dull;
    auto next_rand = [&rng] {
      rng ^= rng << 13;
      rng ^= rng >> 7;
      rng ^= rng << 17;
      return rng;
    };
    std::size_t i = 0;
    while (i < total) {
      const std::uint64_t r = next_rand();
      // Mostly short bursts balanced by pops; now and then a long burst that overflows.
      const std::size_t burst = (r % 64 == 0) ? kCap + 64 : 1 + (r >> 8) % 8;
      for (std::size_t b = 0; b < burst && i < total; ++b, ++i) {
        tasks[i].payload = tasks[i].id ^ 0x9e3779b9u;
        owner_queue->push_back_or_overflow(&tasks[i], overflow);
      }
      const std::size_t pops = (r >> 16) % 8;
      for (std::size_t p = 0; p < pops; ++p) {
        if (Task* t = owner_queue->pop()) take(me, t);
      }
      // Now and then let the stealers have the CPU (the test machine may have 2 cores).
      if ((r >> 24) % 16 == 0) std::this_thread::yield();
    }
    while (Task* t = owner_queue->pop()) take(me, t);
  });

  std::vector<std::thread> thieves;
  for (int k = 0; k < stealers; ++k) {
    thieves.emplace_back([&, k] {
      Taker& me = takers[k + 1];
      start_together();
      Queue& mine = *thief_queues[k];
      std::uint32_t victim_seed = static_cast<std::uint32_t>(k) * 7919u + 1;
      while (taken.load(std::memory_order_relaxed) < total) {
        if (Task* t = mine.pop()) {
          take(me, t);
          continue;
        }
        // Mostly the owner's queue; sometimes another thief's, which it may be refilling.
        victim_seed = victim_seed * 1103515245u + 12345u;
        const int v = static_cast<int>((victim_seed >> 16) % (stealers + 2));
        Queue& victim = (v >= stealers || v == k) ? *owner_queue : *thief_queues[v];
        if (Task* t = victim.steal_into(mine)) {
          take(me, t);
          continue;
        }
        if (std::chrono::steady_clock::now() > deadline) {
          timed_out = true;
          break;
        }
        std::this_thread::yield();
      }
      while (Task* t = mine.pop()) take(me, t);
    });
  }
  owner.join();
  for (auto& t : thieves) t.join();

  BOOST_TEST(!timed_out.load());
  BOOST_TEST(!overflow.malformed);
  BOOST_TEST(owner_queue->is_empty());
  for (auto& q : thief_queues) BOOST_TEST(q->is_empty());

  std::vector<std::uint32_t> count(total, 0);
  std::size_t bad_payloads = 0;
  for (const auto& me : takers) {
    bad_payloads += me.bad_payloads;
    for (auto id : me.ids) ++count[id];
  }
  for (auto id : overflow.ids) ++count[id];
  BOOST_TEST(bad_payloads == 0u);
  std::size_t lost = 0, duplicated = 0;
  for (std::size_t i = 0; i < total; ++i) {
    if (count[i] == 0) ++lost;
    if (count[i] > 1) ++duplicated;
    if (tasks[i].times_taken != count[i]) ++duplicated;
  }
  BOOST_TEST(lost == 0u);
  BOOST_TEST(duplicated == 0u);
  std::size_t stolen = 0;
  for (std::size_t k = 1; k < takers.size(); ++k) stolen += takers[k].ids.size();
  BOOST_TEST_MESSAGE("tasks " << total << ": owner popped " << takers[0].ids.size() << ", thieves "
                              << stolen << ", overflowed " << overflow.ids.size() << " in "
                              << overflow.batches << " batches (" << overflow.singles
                              << " of one task)");
  // The scenario must really exercise each path.
  BOOST_TEST(stolen > 0u);
  BOOST_TEST(overflow.batches > 0u);

  // After a failure, leave the queues empty so that their destructors' checks stay quiet.
  while (owner_queue->pop() != nullptr) {
  }
  for (auto& q : thief_queues) {
    while (q->pop() != nullptr) {
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(concurrent_owner_and_three_stealers_take_each_task_once) {
  run_stress(0, 600'000, 3);
}

BOOST_AUTO_TEST_CASE(concurrent_stealing_across_the_u32_wrap) {
  run_stress(std::numeric_limits<std::uint32_t>::max() - 5000, 400'000, 2);
}
