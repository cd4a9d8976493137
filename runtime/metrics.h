// Runtime metrics: counters kept per worker with relaxed atomics (one uncontended add per
// event, cheap enough to stay on), read as a snapshot by Runtime::metrics().
//
//   auto m = rt->metrics();
//   std::printf("alive=%zu polls=%llu\n", m.tasks_alive, (unsigned long long)m.total_polls());
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace weft {

struct WorkerMetrics {
  uint64_t polls = 0;          // task polls (resumptions)
  uint64_t steals = 0;         // tasks stolen from other workers
  uint64_t parks = 0;          // times the worker went to sleep
  uint64_t forced_yields = 0;  // polls ended because the coop budget ran out
  uint64_t overflows = 0;      // local queue full: half moved to the inject queue
  std::size_t local_queue_depth = 0;
};

struct RuntimeMetrics {
  std::size_t workers = 0;
  std::size_t tasks_alive = 0;
  std::size_t inject_queue_depth = 0;
  std::size_t blocking_threads = 0;
  std::size_t blocking_idle_threads = 0;
  std::vector<WorkerMetrics> per_worker;

  uint64_t total_polls() const {
    uint64_t n = 0;
    for (const auto& w : per_worker) n += w.polls;
    return n;
  }
  uint64_t total_steals() const {
    uint64_t n = 0;
    for (const auto& w : per_worker) n += w.steals;
    return n;
  }
};

namespace detail {
// Written by one worker thread, read by anyone: relaxed is enough for statistics.
struct WorkerCounters {
  std::atomic<uint64_t> polls{0}, steals{0}, parks{0}, forced_yields{0}, overflows{0};
  static void bump(std::atomic<uint64_t>& c, uint64_t n = 1) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void snapshot(WorkerMetrics& m) const {
    m.polls = polls.load(std::memory_order_relaxed);
    m.steals = steals.load(std::memory_order_relaxed);
    m.parks = parks.load(std::memory_order_relaxed);
    m.forced_yields = forced_yields.load(std::memory_order_relaxed);
    m.overflows = overflows.load(std::memory_order_relaxed);
  }
};
}  // namespace detail

}  // namespace weft
