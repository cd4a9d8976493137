#include "weft/runtime/scheduler/multi_thread/multi_thread.h"

#include <pthread.h>

#include <algorithm>

#include "weft/runtime/task/coop.h"

namespace weft::detail {

namespace {
// Tokio's constants, for the same reasons: check the inject queue first every 61 ticks (remote
// work is not starved by a busy local queue); turn the driver without blocking every 61 ticks
// (I/O and timers progress while every worker is busy); at most 3 LIFO polls in a row (two
// tasks pinging each other cannot monopolise a worker).
constexpr uint32_t kGlobalQueueInterval = 61;
constexpr uint32_t kEventInterval = 61;
constexpr uint32_t kMaxLifoPolls = 3;
}  // namespace

struct MultiThreadScheduler::Worker {
  std::size_t index = 0;
  LocalQueue<TaskHeader> queue;
  std::atomic<TaskHeader*> lifo{nullptr};  // stealable, see the header comment
  uint32_t lifo_polls = 0;
  uint32_t tick = 0;
  uint32_t rng = 0;
  bool searching = false;  // owned by the worker thread
  // Parking: `notified` is set by unpark(); `in_driver` while sleeping in epoll_wait.
  std::atomic<bool> notified{false};
  std::atomic<bool> in_driver{false};
  bool sleeping = false;  // guarded by idle_mu_: in sleepers_
  std::mutex mu;
  std::condition_variable cv;
  WorkerCounters counters;
  UnlistedCount unlisted;
  std::thread thread;

  uint32_t next_rand() {  // xorshift: cheap victim selection for stealing
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
  }
  bool has_local_work() const {
    return lifo.load(std::memory_order_relaxed) != nullptr || !queue.is_empty();
  }
};

MultiThreadScheduler::MultiThreadScheduler(Options opts, BlockingPool* pool)
    : opts_(std::move(opts)), pool_(pool) {
  std::size_t n = std::max<std::size_t>(1, opts_.workers);
  for (std::size_t i = 0; i < n; ++i) {
    auto w = std::make_unique<Worker>();
    w->index = i;
    w->rng = static_cast<uint32_t>(0x9E3779B9u * (i + 1));
    workers_.push_back(std::move(w));
  }
  num_unparked_.store(static_cast<uint32_t>(n));
}

MultiThreadScheduler::~MultiThreadScheduler() { shutdown(); }

void MultiThreadScheduler::start() {
  for (auto& w : workers_) {
    Worker* wp = w.get();
    wp->thread = std::thread([this, wp] {
      std::string name = opts_.thread_name.substr(0, 15);
      pthread_setname_np(pthread_self(), name.c_str());
      if (opts_.on_thread_start) opts_.on_thread_start();
      run(*wp);
      if (opts_.on_thread_stop) opts_.on_thread_stop();
    });
  }
}

// ---- scheduling ----

namespace {
// A full local queue spills half of itself into the inject queue. After shutdown closed it,
// the spilled tasks' run-queue references are dropped (shutdown cancels the tasks).
struct SpillToInject {
  InjectQueue<TaskHeader>& inject;
  void push_batch(TaskHeader* first, TaskHeader* last, std::size_t n) {
    if (inject.push_batch(first, last, n)) return;
    while (first != nullptr) {
      TaskHeader* next = first->queue_next;
      first->unref();
      first = next;
    }
  }
};
}  // namespace

void MultiThreadScheduler::push_local(Worker& w, TaskHeader* task) {
  SpillToInject spill{inject_};
  if (!w.queue.push_back_or_overflow(task, spill)) WorkerCounters::bump(w.counters.overflows);
}

bool MultiThreadScheduler::spawn(TaskHeader* task) {
  Context& cx = tls_context;
  if (cx.scheduler != this || cx.worker == nullptr) return spawn_listed(task);
  return spawn_unlisted(task, static_cast<Worker*>(cx.worker)->unlisted);
}

bool MultiThreadScheduler::settle(TaskHeader* task, bool list) {
  Context& cx = tls_context;
  if (cx.scheduler == this && cx.worker != nullptr) {
    UnlistedCount::bump(static_cast<Worker*>(cx.worker)->unlisted.settled);
  } else {
    settled_elsewhere_.fetch_add(1, std::memory_order_relaxed);  // several threads may
  }
  return !list || adopt(task);
}

void MultiThreadScheduler::schedule(TaskHeader* task, bool yielded) {
  Context& cx = tls_context;
  if (cx.scheduler == this && cx.worker != nullptr && !shutdown_.load(std::memory_order_relaxed)) {
    Worker& w = *static_cast<Worker*>(cx.worker);
    if (yielded) {
      // This worker stays awake and runs it after the others: no one else needs waking (as
      // Tokio defers yielded tasks). Idle workers still steal it if they are searching.
      push_local(w, task);
      return;
    } else {
      // Only this worker ever fills its slot (others only empty it, stealing): found empty, it
      // stays empty until our store, which needs no read-modify-write.
      if (w.lifo.load(std::memory_order_relaxed) == nullptr) {
        w.lifo.store(task, std::memory_order_release);
        return;  // only the LIFO slot changed: no one else needs waking
      }
      TaskHeader* prev = w.lifo.exchange(task, std::memory_order_acq_rel);
      if (prev == nullptr) return;  // stolen meanwhile: as above
      push_local(w, prev);
    }
    notify_parked();
    return;
  }
  // From outside the workers (another runtime, the blocking pool, the signal thread): shutdown()
  // waits for calls in flight here before the scheduler goes away.
  remote_in_flight_.fetch_add(1, std::memory_order_seq_cst);
  if (inject_.push(task)) {
    notify_parked();
  } else {
    task->unref();  // shutting down: shutdown() cancels the task itself
  }
  remote_in_flight_.fetch_sub(1, std::memory_order_seq_cst);
}

TaskHeader* MultiThreadScheduler::next_task(Worker& w) {
  if (w.tick % kGlobalQueueInterval == 0) {
    if (TaskHeader* t = inject_.pop()) return t;
  }
  // Load first: the slot is usually empty, and an exchange is a locked RMW every time.
  if (w.lifo.load(std::memory_order_relaxed) != nullptr) {
    if (w.lifo_polls < kMaxLifoPolls) {
      if (TaskHeader* t = w.lifo.exchange(nullptr, std::memory_order_acq_rel)) {
        ++w.lifo_polls;
        return t;
      }
    } else if (TaskHeader* t = w.lifo.exchange(nullptr, std::memory_order_acq_rel)) {
      push_local(w, t);  // LIFO budget spent: to the back, behind what waited
    }
  }
  w.lifo_polls = 0;
  if (TaskHeader* t = w.queue.pop()) return t;
  return pop_inject_batch(w);
}

TaskHeader* MultiThreadScheduler::pop_inject_batch(Worker& w) {
  // The local queue is empty: take this worker's share of the inject queue in one lock (as
  // Tokio's next_remote_task_batch), at most half a local queue, so that a burst spilled there
  // (a spawn loop, yields overflowing the local queue) is not popped one lock at a time.
  std::size_t share = inject_.len() / workers_.size() + 1;
  std::size_t n = std::min<std::size_t>(share, LocalQueue<TaskHeader>::kCapacity / 2);
  TaskHeader* first = nullptr;
  SpillToInject spill{inject_};
  inject_.pop_n(n, [&](TaskHeader* t) {
    if (first == nullptr) {
      first = t;
    } else {
      w.queue.push_back_or_overflow(t, spill);  // never overflows: the queue was empty
    }
  });
  return first;
}

TaskHeader* MultiThreadScheduler::steal_work(Worker& w) {
  std::size_t n = workers_.size();
  std::size_t start = w.next_rand() % n;
  for (std::size_t i = 0; i < n; ++i) {
    Worker& victim = *workers_[(start + i) % n];
    if (&victim == &w) continue;
    if (TaskHeader* t = victim.queue.steal_into(w.queue)) {
      WorkerCounters::bump(w.counters.steals);
      return t;
    }
    if (victim.lifo.load(std::memory_order_relaxed) != nullptr) {
      if (TaskHeader* t = victim.lifo.exchange(nullptr, std::memory_order_acq_rel)) {
        WorkerCounters::bump(w.counters.steals);
        return t;
      }
    }
  }
  return inject_.pop();
}

// ---- searching and parking ----

bool MultiThreadScheduler::transition_to_searching(Worker& w) {
  if (w.searching) return true;
  // At most half of the awake workers search: more would only contend on the same queues.
  uint32_t searching = num_searching_.load(std::memory_order_seq_cst);
  uint32_t unparked = num_unparked_.load(std::memory_order_seq_cst);
  if (2 * searching >= unparked) return false;
  num_searching_.fetch_add(1, std::memory_order_seq_cst);
  w.searching = true;
  return true;
}

void MultiThreadScheduler::transition_from_searching(Worker& w) {
  if (!w.searching) return;
  w.searching = false;
  // The last searcher found work: wake another worker to look for more.
  if (num_searching_.fetch_sub(1, std::memory_order_seq_cst) == 1) notify_parked();
}

void MultiThreadScheduler::notify_parked() {
  // The only worker, calling from its own thread, has nobody to wake: it runs what it queued
  // before it parks (park() rechecks). Common under a 1-CPU cpuset (a small container): this
  // saves a fence and idle_mu_ per wake while it dispatches I/O events.
  if (workers_.size() == 1 && tls_context.scheduler == this && tls_context.worker != nullptr) {
    return;
  }
  // Fast path: a searcher will find the work, or everybody is awake already.
  // The caller just published work with a plain store; a load here could be ordered before
  // that store (x86 store buffer) while the last searcher decrements the count and finds no
  // work: a lost wake-up. The fence orders the store before the read, pairing with park()'s
  // fetch_sub + recheck. (A fence, not Tokio's fetch_add(0): an RMW takes the count's cache line
  // exclusive on every wake, and the workers then bounce it: measured +45% on `yield`.)
#if defined(__SANITIZE_THREAD__)
  // g++ rejects fences under TSan (which does not model them): the RMW is equivalent there.
  if (num_searching_.fetch_add(0, std::memory_order_seq_cst) != 0 ||
#else
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (num_searching_.load(std::memory_order_seq_cst) != 0 ||
#endif
      num_unparked_.load(std::memory_order_seq_cst) >= workers_.size()) {
    return;
  }
  Worker* w = nullptr;
  {
    std::lock_guard<std::mutex> lock(idle_mu_);
    if (num_searching_.load(std::memory_order_seq_cst) != 0 || sleepers_.empty()) return;
    // A worker dispatching driver events is still listed as a sleeper, but it will run what it
    // queued when the turn ends: wake someone else (or no one).
    auto self = std::find(sleepers_.rbegin(), sleepers_.rend(), tls_context.worker);
    if (self == sleepers_.rbegin()) {
      if (sleepers_.size() == 1) return;
      std::iter_swap(sleepers_.rbegin(), sleepers_.rbegin() + 1);
    }
    w = sleepers_.back();
    sleepers_.pop_back();
    w->sleeping = false;
    num_searching_.fetch_add(1, std::memory_order_seq_cst);
    num_unparked_.fetch_add(1, std::memory_order_seq_cst);
  }
  unpark(*w);
}

void MultiThreadScheduler::unpark(Worker& w) {
  std::lock_guard<std::mutex> lock(w.mu);
  w.notified.store(true, std::memory_order_seq_cst);
  if (w.in_driver.load(std::memory_order_seq_cst)) driver_.unpark();
  w.cv.notify_one();  // under the lock: the worker cannot be destroyed while we notify it
}

// Consumes the notification of a notifier that took `w` off the sleeper list: it sets
// `notified` in unpark(), which may still be on its way. Clearing the flag before it is set
// would leave a stale notification for the next park, which would then count this worker as a
// searcher a second time (num_searching_ drifts, and with it every later wake-up decision).
void MultiThreadScheduler::take_notification(Worker& w) {
  std::unique_lock<std::mutex> lock(w.mu);
  w.cv.wait(lock, [&] { return w.notified.load() || shutdown_.load(); });
  w.notified.store(false);
}

bool MultiThreadScheduler::work_pending() const {
  if (!inject_.is_empty()) return true;
  // Other workers' queues, but not their LIFO slots (as Tokio): a LIFO slot holds the one task
  // its (awake) owner runs next. Counting it kept the last searcher of a 2-worker runtime
  // searching for as long as the other worker passed messages, stealing them back and forth
  // (chained: 96 -> 117 ms per run, bimodal).
  for (const auto& w : workers_) {
    if (!w->queue.is_empty()) return true;
  }
  return false;
}

void MultiThreadScheduler::park(Worker& w) {
  bool last_searcher = false;
  {
    std::lock_guard<std::mutex> lock(idle_mu_);
    if (w.searching) {
      w.searching = false;
      last_searcher = num_searching_.fetch_sub(1, std::memory_order_seq_cst) == 1;
    }
    num_unparked_.fetch_sub(1, std::memory_order_seq_cst);
    sleepers_.push_back(&w);
    w.sleeping = true;
  }
  // Work may have been queued after this worker last looked and before it was counted as
  // parked, by a thread that then saw a searcher and woke no one. Recheck, and if so search
  // again instead of sleeping. (Calling notify_parked() here is not enough: it never picks the
  // calling worker, which then sleeps, while the only other worker may be about to park as a
  // non-searcher that never rechecks: both asleep, the task stranded in the inject queue. Seen
  // as a rare hang of block_on.)
  if (last_searcher && work_pending()) {
    bool claimed;
    {
      std::lock_guard<std::mutex> lock(idle_mu_);
      claimed = !w.sleeping;
      if (!claimed) {
        sleepers_.erase(std::find(sleepers_.begin(), sleepers_.end(), &w));
        w.sleeping = false;
        num_unparked_.fetch_add(1, std::memory_order_seq_cst);
        num_searching_.fetch_add(1, std::memory_order_seq_cst);
      }
    }
    if (claimed) take_notification(w);  // a notifier already counted us awake and searching
    w.searching = true;
    return;
  }
  WorkerCounters::bump(w.counters.parks);

  for (;;) {
    if (driver_.try_lock()) {
      w.in_driver.store(true, std::memory_order_seq_cst);
      if (!w.notified.load(std::memory_order_seq_cst) && !shutdown_.load()) driver_.park(-1);
      w.in_driver.store(false, std::memory_order_seq_cst);
      driver_.unlock();
    } else {
      std::unique_lock<std::mutex> lock(w.mu);
      w.cv.wait(lock, [&] { return w.notified.load() || shutdown_.load(); });
    }
    if (w.notified.exchange(false, std::memory_order_seq_cst)) {
      w.searching = true;  // notify_parked woke us as a searcher and counted us awake
      return;
    }
    if (shutdown_.load()) return;
    if (w.has_local_work()) {
      // The driver turn woke tasks onto this worker: un-park ourselves.
      std::lock_guard<std::mutex> lock(idle_mu_);
      if (w.sleeping) {
        sleepers_.erase(std::find(sleepers_.begin(), sleepers_.end(), &w));
        w.sleeping = false;
        num_unparked_.fetch_add(1, std::memory_order_seq_cst);
      } else {
        // A notifier took us off the list concurrently (and counted us as a searcher).
        take_notification(w);
        w.searching = true;
      }
      return;
    }
  }
}

// ---- the worker loop ----

void MultiThreadScheduler::run(Worker& w) {
  tls_context.scheduler = this;
  tls_context.worker = &w;
  while (!shutdown_.load(std::memory_order_acquire)) {
    ++w.tick;
    if (w.tick % kEventInterval == 0 && driver_.try_lock()) {
      driver_.park(0);
      driver_.unlock();
    }
    TaskHeader* t = next_task(w);
    if (t == nullptr && transition_to_searching(w)) t = steal_work(w);
    if (t != nullptr) {
      transition_from_searching(w);
      WorkerCounters::bump(w.counters.polls);
      poll_task(t);
      if (uint64_t& y = coop::detail::tls_budget.forced_yields; y != 0) {
        WorkerCounters::bump(w.counters.forced_yields, y);
        y = 0;
      }
      continue;
    }
    park(w);
  }
  tls_context = Context{};
}

void MultiThreadScheduler::shutdown() {
  if (shut_down_done_) return;
  shut_down_done_ = true;
  shutdown_.store(true, std::memory_order_seq_cst);
  inject_.close();
  for (auto& w : workers_) unpark(*w);
  driver_.unpark();
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
  // A thread outside the runtime may still be inside schedule() (it woke a task just before
  // the shutdown): wait for it to leave before anything is freed.
  while (remote_in_flight_.load(std::memory_order_seq_cst) != 0) std::this_thread::yield();
  // No worker runs any more: cancel what is left on this thread.
  Context saved = tls_context;
  tls_context.scheduler = this;
  tls_context.worker = nullptr;
  while (TaskHeader* t = owned_.close_and_pop()) shutdown_task(t);
  for (auto& w : workers_) {
    if (TaskHeader* t = w->lifo.exchange(nullptr)) shutdown_queued_task(t);
    while (TaskHeader* t = w->queue.pop()) shutdown_queued_task(t);
  }
  while (TaskHeader* t = inject_.pop()) shutdown_queued_task(t);
  while (remote_in_flight_.load(std::memory_order_seq_cst) != 0) std::this_thread::yield();
  tls_context = saved;
}

void MultiThreadScheduler::metrics(RuntimeMetrics& m) const {
  m.workers = workers_.size();
  // Listed tasks plus those spawned and not yet through their first poll (scheduler.h).
  uint64_t spawned = 0;
  uint64_t settled = settled_elsewhere_.load(std::memory_order_relaxed);
  for (const auto& w : workers_) {
    spawned += w->unlisted.spawned.load(std::memory_order_relaxed);
    settled += w->unlisted.settled.load(std::memory_order_relaxed);
  }
  m.tasks_alive = owned_.alive() + UnlistedCount::alive(spawned, settled);
  m.inject_queue_depth = inject_.len();
  m.per_worker.resize(workers_.size());
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    workers_[i]->counters.snapshot(m.per_worker[i]);
    m.per_worker[i].local_queue_depth = workers_[i]->queue.len();
  }
}

}  // namespace weft::detail
