#include "weft/runtime/scheduler/current_thread/current_thread.h"

#include <thread>

#include "weft/runtime/task/coop.h"

namespace weft::detail {

namespace {
// Check the inject queue first every 31 ticks so remote wakes are not starved by a local
// queue that never empties (Tokio uses 31 for the current-thread flavour).
constexpr uint32_t kGlobalQueueInterval = 31;
// Turn the driver without blocking every 61 ticks so that I/O and timers make progress while
// the local queue stays busy (Tokio's event_interval).
constexpr uint32_t kEventInterval = 61;
}  // namespace

CurrentThreadScheduler::~CurrentThreadScheduler() { shutdown(); }

bool CurrentThreadScheduler::spawn(TaskHeader* task) {
  if (!on_owner_thread()) return spawn_listed(task);
  return spawn_unlisted(task, unlisted_);
}

bool CurrentThreadScheduler::settle(TaskHeader* task, bool list) {
  // Polls and cancellations happen on the owner thread (shutdown() runs as the owner too).
  UnlistedCount::bump(unlisted_.settled);
  return !list || adopt(task);
}

void CurrentThreadScheduler::schedule(TaskHeader* task, bool) {
  if (on_owner_thread()) {
    task->queue_next = nullptr;
    if (tail_ != nullptr)
      tail_->queue_next = task;
    else
      head_ = task;
    tail_ = task;
    local_len_.store(local_len_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return;
  }
  // From another thread: shutdown() waits for calls in flight here (see multi_thread.cc).
  remote_in_flight_.fetch_add(1, std::memory_order_seq_cst);
  if (inject_.push(task)) {
    driver_.unpark();
  } else {
    task->unref();  // shut down: the task was cancelled by shutdown(); drop the queue's ref
  }
  remote_in_flight_.fetch_sub(1, std::memory_order_seq_cst);
}

TaskHeader* CurrentThreadScheduler::next_task() {
  if (tick_ % kGlobalQueueInterval == 0) {
    if (TaskHeader* t = inject_.pop()) return t;
  }
  if (TaskHeader* t = head_) {
    head_ = t->queue_next;
    if (head_ == nullptr) tail_ = nullptr;
    local_len_.store(local_len_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    return t;
  }
  return inject_.pop();
}

void CurrentThreadScheduler::run(TaskHeader* root) {
  Context saved = tls_context;
  tls_context.scheduler = this;
  tls_context.worker = this;
  tls_context.current = nullptr;
  driver_.try_lock();  // the only thread: it always holds the driver
  for (;;) {
    if (root != nullptr ? root->is_complete() : stop_.load(std::memory_order_acquire)) break;
    ++tick_;
    if (tick_ % kEventInterval == 0) driver_.park(0);
    if (TaskHeader* t = next_task()) {
      WorkerCounters::bump(counters_.polls);
      poll_task(t);
      continue;
    }
    WorkerCounters::bump(counters_.parks);
    driver_.park(-1);
  }
  driver_.unlock();
  WorkerCounters::bump(counters_.forced_yields, coop::detail::tls_budget.forced_yields);
  coop::detail::tls_budget.forced_yields = 0;
  tls_context = saved;
}

void CurrentThreadScheduler::run_until(TaskHeader* root) { run(root); }

void CurrentThreadScheduler::run_until_stopped() { run(nullptr); }

void CurrentThreadScheduler::stop() {
  stop_.store(true, std::memory_order_release);
  driver_.unpark();
}

void CurrentThreadScheduler::shutdown() {
  inject_.close();
  Context saved = tls_context;
  tls_context.scheduler = this;
  tls_context.worker = this;  // wakes during cancellation go to the local list, dropped below
  while (TaskHeader* t = owned_.close_and_pop()) shutdown_task(t);
  while (TaskHeader* t = next_task()) shutdown_queued_task(t);
  while (remote_in_flight_.load(std::memory_order_seq_cst) != 0) std::this_thread::yield();
  tls_context = saved;
}

void CurrentThreadScheduler::metrics(WorkerMetrics& m) const {
  counters_.snapshot(m);
  m.local_queue_depth = local_len_.load(std::memory_order_relaxed);
}

}  // namespace weft::detail
