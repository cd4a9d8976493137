// BlockingPool: the thread pool behind weft::spawn_blocking, for work that would stall a
// runtime worker (file I/O, getaddrinfo, CPU-heavy calls). After Tokio's
// runtime/blocking/pool.rs: threads are started on demand up to a bound, idle threads linger
// for a while so a burst reuses them, and queued jobs run in FIFO order.
//
//   weft::detail::BlockingPool pool({.max_threads = 64, .thread_name = "my-io"});
//   pool.execute([path] { std::ifstream(path) >> ...; });   // runs on a pool thread
//   ...
//   pool.shutdown(std::chrono::seconds(5));   // refuse new jobs, drain the queue, join
//
// Invariants (every counter below is changed only with `mu` held):
//   1. A thread is BUSY (running jobs from the queue until it is empty), IDLE (waiting on the
//      condition variable) or EXITING (it has stopped taking jobs; it only runs on_thread_stop
//      and returns). num_threads() counts BUSY + IDLE threads and is at most max_threads.
//      An EXITING thread is no longer counted, so for a moment the OS may see a few more
//      threads than max_threads (the same trade-off Tokio makes: a job never waits for a
//      thread that has decided to exit).
//   2. Each IDLE thread is either counted in num_idle_threads() or holds one pending wake-up
//      token (idle threads = idle + tokens). execute() turns an idle thread into a token and
//      signals; whichever idle thread wakes first takes the token. Tokens make spurious
//      wake-ups harmless and guarantee a queued job is never left with every thread asleep.
//   3. execute() with the queue non-empty and no idle thread starts a thread unless
//      num_threads() == max_threads; then a BUSY thread will reach the job, since a BUSY thread
//      only goes IDLE after seeing the queue empty.
//   4. After shutdown() starts, execute() returns false; jobs already queued still run; a thread
//      exits once the queue is empty.
//
// Shutdown protocol:
//   1. Under `mu`: set `shutdown`; wake every idle thread.
//   2. Threads drain the queue, then exit; the last one to finish signals `shutdown_cv`.
//   3. shutdown() waits up to its timeout for every thread to finish, then joins them all.
//      Threads still running a job at the timeout are detached (as Tokio does): they finish
//      that job, any queued jobs, and exit on their own. The pool's shared state is owned
//      jointly by the BlockingPool and every thread, so a detached thread never touches freed
//      memory, even after ~BlockingPool.
//
// Jobs must not throw: an exception escaping a job calls std::terminate (as in std::thread).
// spawn_blocking catches the caller's exceptions inside its job.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "absl/functional/any_invocable.h"

namespace weft::detail {

class BlockingPool {
 public:
  // Move-only, called once: a job may own its buffers, sockets, promises.
  using Job = absl::AnyInvocable<void() &&>;

  struct Options {
    // Tokio's default. Blocking jobs mostly wait (disk, DNS), so many threads cost little
    // compared with a queue that stalls behind a few slow calls; the bound caps memory
    // (512 stacks) when something blocks forever.
    std::size_t max_threads = 512;
    // Tokio's default: long enough that a steady trickle of file I/O reuses warm threads,
    // short enough that a quiet service goes back to its base thread count. milliseconds::max():
    // idle threads never exit.
    std::chrono::milliseconds keep_alive{10000};
    // Linux keeps 15 bytes of a thread name; longer names are cut. 13 bytes here.
    std::string thread_name = "weft-blocking";
    // Run on each pool thread after it starts / before it exits (e.g. to set up tracing).
    std::function<void()> on_thread_start, on_thread_stop;
  };

  BlockingPool();
  // Throws std::invalid_argument if max_threads is 0 (no job could ever run).
  explicit BlockingPool(Options opts);
  // shutdown() with no time limit, if it was not called yet.
  ~BlockingPool();

  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  // Runs `job` on an idle thread, else on a new thread if fewer than max_threads exist, else
  // queues it (FIFO). Returns false, and destroys `job` without running it, after shutdown().
  // Throws std::system_error if the OS refuses a thread and no pool thread exists to take
  // the job (the job is destroyed). Thread-safe; never called while holding the pool's lock,
  // so a job may call execute() itself.
  bool execute(Job job);

  // Refuses new jobs, lets queued and running jobs finish and joins the threads, waiting at
  // most `timeout` (std::chrono::milliseconds::max(): no limit). Threads still busy at the
  // timeout are detached and finish on their own. Only the first call does anything. Must
  // not be called from a job of this pool (it would wait for itself).
  void shutdown(std::chrono::milliseconds timeout);

  // Metrics; relaxed snapshots, exact only when the pool is quiet.
  std::size_t num_threads() const;       // BUSY + IDLE threads
  std::size_t num_idle_threads() const;  // IDLE threads no job has been handed to yet
  std::size_t queue_depth() const;       // jobs waiting for a thread

 private:
  struct State;
  static void thread_main(std::shared_ptr<State> state, std::size_t id);
  // Starts a pool thread; `mu` must be held. Throws std::system_error.
  void spawn_thread_locked();

  std::shared_ptr<State> state_;
};

}  // namespace weft::detail
