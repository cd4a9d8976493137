// The current-thread scheduler: every task runs on the thread that calls block_on.
//
// Tasks woken on that thread go to a plain intrusive FIFO (no atomics); tasks woken from other
// threads (timers fired elsewhere never happen here, but blocking-pool jobs and other runtimes
// do wake) go to a mutex-protected inject queue and unpark the driver. When there is nothing to
// run, the thread parks in the driver (epoll_wait until I/O, the next timer or a remote wake).
//
// Also the building block of the thread-per-core flavour: one of these per thread, each run by
// its own thread (run_forever) instead of by block_on.
#pragma once

#include <atomic>
#include <cstdint>

#include "weft/runtime/blocking/blocking_pool.h"
#include "weft/runtime/metrics.h"
#include "weft/runtime/scheduler/driver.h"
#include "weft/runtime/scheduler/multi_thread/inject_queue.h"
#include "weft/runtime/scheduler/scheduler.h"
#include "weft/runtime/task/owned_tasks.h"

namespace weft::detail {

class CurrentThreadScheduler final : public Scheduler {
 public:
  explicit CurrentThreadScheduler(BlockingPool* pool) : pool_(pool) {}
  ~CurrentThreadScheduler() override;

  bool adopt(TaskHeader* task) override { return owned_.insert(task); }
  bool spawn(TaskHeader* task) override;
  bool settle(TaskHeader* task, bool list) override;
  void schedule(TaskHeader* task, bool yielded) override;
  bool release(TaskHeader* task) override { return owned_.remove(task); }
  Driver& driver() override { return driver_; }
  BlockingPool& blocking_pool() override { return *pool_; }

  // Runs tasks on the calling thread until `root` completes (block_on).
  void run_until(TaskHeader* root);
  // Runs tasks on the calling thread until stop() (thread-per-core worker threads).
  void run_until_stopped();
  void stop();
  // Cancels every task and drops queued ones; call with no thread running this scheduler.
  void shutdown();

  void metrics(WorkerMetrics& m) const;
  // Listed tasks plus those spawned and not yet through their first poll (scheduler.h).
  std::size_t alive() const {
    return owned_.alive() + UnlistedCount::alive(unlisted_.spawned.load(std::memory_order_relaxed),
                                                 unlisted_.settled.load(std::memory_order_relaxed));
  }
  std::size_t inject_depth() const { return inject_.len(); }

 private:
  bool on_owner_thread() const { return tls_context.worker == this; }
  TaskHeader* next_task();
  void run(TaskHeader* root);

  Driver driver_;
  BlockingPool* pool_;
  OwnedTasks owned_;
  UnlistedCount unlisted_;  // written only by the thread running the scheduler
  InjectQueue<TaskHeader> inject_;
  // Local FIFO: touched only by the thread running the scheduler.
  TaskHeader* head_ = nullptr;
  TaskHeader* tail_ = nullptr;
  std::atomic<std::size_t> local_len_{0};  // written by the owner, read by metrics()
  uint32_t tick_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<uint32_t> remote_in_flight_{0};  // schedule() calls from other threads
  WorkerCounters counters_;
};

}  // namespace weft::detail
