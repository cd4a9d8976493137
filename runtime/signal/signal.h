// Unix signals as awaitables: ctrl_c() and a stream per signal number (Tokio's tokio::signal).
//
//   co_await weft::signal::ctrl_c();                       // SIGINT
//   auto term = weft::signal::Signal::create(SIGTERM);      // absl::StatusOr<Signal>
//   while (co_await term->recv()) { reload_or_exit(); }
//
// Any number of listeners, in any runtimes, may wait for the same signal: each one sees every
// delivery (deliveries that arrive while a listener is busy coalesce into one, as the kernel
// does). The first listener for a signal installs the process-wide handler, which from then on
// replaces the default action (a SIGTERM no longer kills the process: the program decides).
//
// How: the handler (async-signal-safe) bumps a per-signal counter and writes one byte to a pipe;
// a dispatcher thread, started once, reads the pipe and wakes the listeners whose last seen
// count is behind. recv() is cancel-safe: a cancelled recv() loses no delivery.
#pragma once

#include <coroutine>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "weft/runtime/task/task.h"
#include "weft/runtime/task/waker.h"

namespace weft::signal {

namespace detail {
struct Listener;
}

class Signal {
 public:
  // Listens for `signum` (SIGINT, SIGTERM, SIGHUP, SIGUSR1, ...). INVALID_ARGUMENT for signals
  // that cannot be caught (SIGKILL, SIGSTOP) or are out of range.
  static absl::StatusOr<Signal> create(int signum);

  Signal(Signal&&) noexcept;
  Signal& operator=(Signal&&) noexcept;
  ~Signal();

  class RecvAwaiter {
   public:
    explicit RecvAwaiter(detail::Listener* l) : l_(l) {}
    RecvAwaiter(const RecvAwaiter&) = delete;
    ~RecvAwaiter();
    bool await_ready();
    bool await_suspend(std::coroutine_handle<> h);
    // true: the signal arrived (at least once since the last recv()).
    bool await_resume();

   private:
    detail::Listener* l_;
    bool registered_ = false;
  };
  // Completes when the signal has been delivered since the previous recv() (or since create()).
  RecvAwaiter recv() { return RecvAwaiter(listener_.get()); }
  int signum() const;

 private:
  explicit Signal(std::unique_ptr<detail::Listener> l);
  std::unique_ptr<detail::Listener> listener_;
};

// Completes at the next SIGINT (ctrl-c).
Task<absl::Status> ctrl_c();

}  // namespace weft::signal
