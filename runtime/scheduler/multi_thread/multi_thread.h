// The multi-thread, work-stealing scheduler (after Tokio's runtime/scheduler/multi_thread).
//
// Each worker thread owns a fixed-size local run queue (LocalQueue, 256 slots) and a LIFO slot.
// A task woken by a running task goes to the waker's LIFO slot and runs next (message passing
// stays on one hot core); the previous occupant moves to the local queue. New work from outside
// the workers goes to the global inject queue.
//
// Where a worker looks for its next task, in order:
//   1. every kGlobalQueueInterval ticks: the inject queue first (fairness for remote work);
//   2. the LIFO slot, at most kMaxLifoPolls times in a row (then that task goes to the back);
//   3. its local queue; 4. the inject queue;
//   5. searching: steal half of another worker's queue (or its LIFO slot: a task parked there
//      behind a long poll would otherwise be stranded, Tokio issue 4941); at most half of the
//      awake workers search at once;
//   6. park: the first idle worker becomes the driver and sleeps in epoll_wait (I/O, timers);
//      the others sleep on their own condition variable.
//
// Waking parked workers (notify_parked) avoids a thundering herd: nothing happens while another
// worker is searching (it will find the work); otherwise exactly one sleeper is woken, as a
// searcher. A searcher that finds work and was the last one searching wakes another sleeper,
// so work spreads one worker at a time.
//
// Shutdown protocol:
//   1. set shutdown_, close the inject queue, wake every worker;
//   2. workers leave their loops; join them;
//   3. cancel every live task (OwnedTasks): destroy idle frames, run destructors;
//   4. drop the run-queue references left in LIFO slots, local queues and the inject queue.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "weft/runtime/blocking/blocking_pool.h"
#include "weft/runtime/metrics.h"
#include "weft/runtime/scheduler/driver.h"
#include "weft/runtime/scheduler/multi_thread/inject_queue.h"
#include "weft/runtime/scheduler/multi_thread/local_queue.h"
#include "weft/runtime/scheduler/scheduler.h"
#include "weft/runtime/task/owned_tasks.h"

namespace weft::detail {

class MultiThreadScheduler final : public Scheduler {
 public:
  struct Options {
    std::size_t workers = 2;
    std::string thread_name = "weft-worker";
    std::function<void()> on_thread_start, on_thread_stop;
  };
  MultiThreadScheduler(Options opts, BlockingPool* pool);
  ~MultiThreadScheduler() override;

  // Starts the worker threads.
  void start();
  // Runs the shutdown protocol above; idempotent.
  void shutdown();

  bool adopt(TaskHeader* task) override { return owned_.insert(task); }
  bool spawn(TaskHeader* task) override;
  bool settle(TaskHeader* task, bool list) override;
  void schedule(TaskHeader* task, bool yielded) override;
  bool release(TaskHeader* task) override { return owned_.remove(task); }
  Driver& driver() override { return driver_; }
  BlockingPool& blocking_pool() override { return *pool_; }

  std::size_t num_workers() const { return workers_.size(); }
  void metrics(RuntimeMetrics& m) const;

 private:
  struct Worker;
  void run(Worker& w);
  TaskHeader* next_task(Worker& w);
  TaskHeader* pop_inject_batch(Worker& w);
  TaskHeader* steal_work(Worker& w);
  bool transition_to_searching(Worker& w);
  void transition_from_searching(Worker& w);
  void park(Worker& w);
  void notify_parked();
  void unpark(Worker& w);
  bool work_pending() const;
  void take_notification(Worker& w);
  void push_local(Worker& w, TaskHeader* task);

  Options opts_;
  BlockingPool* pool_;
  Driver driver_;
  OwnedTasks owned_;
  // First polls (or cancellations) of unlisted tasks outside the workers: shutdown, cancel_now.
  std::atomic<uint64_t> settled_elsewhere_{0};
  InjectQueue<TaskHeader> inject_;
  std::vector<std::unique_ptr<Worker>> workers_;

  // Idle bookkeeping (after Tokio's idle.rs). The counters are read without the lock on the
  // fast path of notify_parked; changes happen under idle_mu_.
  std::mutex idle_mu_;
  std::vector<Worker*> sleepers_;
  std::atomic<uint32_t> num_searching_{0};
  std::atomic<uint32_t> num_unparked_{0};
  std::atomic<bool> shutdown_{false};
  std::atomic<uint32_t> remote_in_flight_{0};  // schedule() calls from non-worker threads
  bool shut_down_done_ = false;
};

}  // namespace weft::detail
