#include "weft/runtime/blocking/blocking_pool.h"

#include <pthread.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>

namespace weft::detail {

// Shared by the BlockingPool and each of its threads (see "Shutdown protocol" in the header).
struct BlockingPool::State {
  explicit State(Options o) : opts(std::move(o)) {}

  const Options opts;

  std::mutex mu;
  std::condition_variable cv;           // idle threads wait here for a token or shutdown
  std::condition_variable shutdown_cv;  // shutdown() waits here for live == 0

  // Guarded by mu.
  std::deque<Job> queue;
  std::size_t tokens = 0;  // invariant 2: wake-ups handed to idle threads, not yet taken
  bool shutdown = false;
  std::size_t live = 0;  // threads whose function has not returned (includes EXITING)
  std::size_t next_id = 0;
  std::unordered_map<std::size_t, std::thread> threads;  // handles of BUSY/IDLE threads
  // A thread that left on keep_alive hands its own handle here and joins the previous one,
  // so the exited threads are reaped one by one without a reaper thread (as Tokio does).
  std::optional<std::thread> last_exited;

  // Written under mu, read anywhere (metrics): relaxed, they order nothing.
  std::atomic<std::size_t> num_threads{0};
  std::atomic<std::size_t> num_idle{0};
  std::atomic<std::size_t> queue_depth{0};

  static void dec(std::atomic<std::size_t>& a) {
    a.store(a.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
  }
  static void inc(std::atomic<std::size_t>& a) {
    a.store(a.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
};

namespace {

// An exception escaping a job is a bug in the caller; fail loudly at the throw site.
void run_job(BlockingPool::Job& job) noexcept { std::move(job)(); }

// now + d, or nullopt when that does not fit in a time_point (a "forever" setting).
std::optional<std::chrono::steady_clock::time_point> deadline_after(
    std::chrono::steady_clock::time_point now, std::chrono::milliseconds d) {
  if (d >= std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::time_point::max() - now)) {
    return std::nullopt;
  }
  return now + d;
}

void set_thread_name(const std::string& name) {
  // Linux: at most 15 bytes plus the terminator, else pthread_setname_np fails with ERANGE.
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

}  // namespace

BlockingPool::BlockingPool() : BlockingPool(Options{}) {}

BlockingPool::BlockingPool(Options opts) {
  if (opts.max_threads == 0) {
    throw std::invalid_argument("weft::BlockingPool: max_threads must be at least 1");
  }
  state_ = std::make_shared<State>(std::move(opts));
}

BlockingPool::~BlockingPool() { shutdown(std::chrono::milliseconds::max()); }

bool BlockingPool::execute(Job job) {
  State& s = *state_;
  std::unique_lock lk(s.mu);
  if (s.shutdown) return false;  // `job` is destroyed after the lock is released
  s.queue.push_back(std::move(job));
  State::inc(s.queue_depth);

  if (s.num_idle.load(std::memory_order_relaxed) > 0) {
    State::dec(s.num_idle);
    ++s.tokens;
    s.cv.notify_one();
  } else if (s.num_threads.load(std::memory_order_relaxed) < s.opts.max_threads) {
    try {
      spawn_thread_locked();
    } catch (const std::system_error&) {
      // With another thread alive the job will be reached (invariant 3); otherwise it never
      // would be: hand the error to the caller instead of hanging.
      if (s.num_threads.load(std::memory_order_relaxed) > 0) return true;
      Job orphan = std::move(s.queue.back());
      s.queue.pop_back();
      State::dec(s.queue_depth);
      lk.unlock();
      throw;
    }
  }
  return true;
}

void BlockingPool::spawn_thread_locked() {
  State& s = *state_;
  std::size_t id = s.next_id;
  // The thread cannot look up its own handle before we insert it: it needs `mu` first.
  std::thread t(&BlockingPool::thread_main, state_, id);
  ++s.next_id;
  s.threads.emplace(id, std::move(t));
  State::inc(s.num_threads);
  ++s.live;
}

void BlockingPool::thread_main(std::shared_ptr<State> state, std::size_t id) {
  State& s = *state;
  set_thread_name(s.opts.thread_name);
  if (s.opts.on_thread_start) s.opts.on_thread_start();

  std::unique_lock lk(s.mu);
  std::optional<std::thread> to_join;
  for (;;) {
    // BUSY
    while (!s.queue.empty()) {
      Job job = std::move(s.queue.front());
      s.queue.pop_front();
      State::dec(s.queue_depth);
      lk.unlock();
      run_job(job);
      job = nullptr;  // destroy captures outside the lock: they may call execute()
      lk.lock();
    }
    if (s.shutdown) break;

    // IDLE: until a token, shutdown, or keep_alive without work. A fixed deadline, so
    // spurious wake-ups don't extend the thread's life.
    State::inc(s.num_idle);
    const auto deadline = deadline_after(std::chrono::steady_clock::now(), s.opts.keep_alive);
    bool timed_out = false;
    bool leave = false;
    for (;;) {
      if (s.tokens > 0) {  // execute() already took us out of num_idle; go run the job
        --s.tokens;
        break;
      }
      if (s.shutdown || timed_out) {  // shutdown: back to BUSY, which drains and breaks
        State::dec(s.num_idle);
        leave = !s.shutdown;
        break;
      }
      if (deadline) {
        timed_out = s.cv.wait_until(lk, *deadline) == std::cv_status::timeout;
      } else {
        s.cv.wait(lk);
      }
    }
    if (leave) {
      // Left on keep_alive: reap the previous leaver, leave our handle for the next one (or
      // for shutdown()). After shutdown started, shutdown() owns every handle instead.
      auto it = s.threads.find(id);
      to_join = std::exchange(s.last_exited, std::move(it->second));
      s.threads.erase(it);
      break;
    }
    if (s.shutdown && s.queue.empty()) break;
    // Otherwise we were handed a job (or shutdown left queued work): back to BUSY.
  }
  // EXITING
  State::dec(s.num_threads);
  lk.unlock();

  if (s.opts.on_thread_stop) s.opts.on_thread_stop();
  if (to_join) to_join->join();

  lk.lock();
  if (--s.live == 0 && s.shutdown) s.shutdown_cv.notify_all();
  lk.unlock();
  // `state` (possibly the last reference, for a detached thread) is released on return.
}

void BlockingPool::shutdown(std::chrono::milliseconds timeout) {
  State& s = *state_;
  std::unique_lock lk(s.mu);
  if (s.shutdown) return;
  s.shutdown = true;
  s.cv.notify_all();

  auto done = [&s] { return s.live == 0; };
  bool all_done = true;
  if (auto deadline = deadline_after(std::chrono::steady_clock::now(), timeout)) {
    all_done = s.shutdown_cv.wait_until(lk, *deadline, done);
  } else {
    s.shutdown_cv.wait(lk, done);
  }

  auto threads = std::move(s.threads);
  s.threads.clear();
  std::optional<std::thread> last = std::move(s.last_exited);
  s.last_exited.reset();
  lk.unlock();

  // Every thread has returned when all_done, so these joins do not block. Otherwise some
  // are still running jobs: detach them, as Tokio does; they own a reference to the state.
  for (auto& [id, t] : threads) {
    if (all_done) {
      t.join();
    } else {
      t.detach();
    }
  }
  if (last) {
    if (all_done) {
      last->join();
    } else {
      last->detach();
    }
  }
}

std::size_t BlockingPool::num_threads() const {
  return state_->num_threads.load(std::memory_order_relaxed);
}
std::size_t BlockingPool::num_idle_threads() const {
  return state_->num_idle.load(std::memory_order_relaxed);
}
std::size_t BlockingPool::queue_depth() const {
  return state_->queue_depth.load(std::memory_order_relaxed);
}

}  // namespace weft::detail
