// Signals delivered to this very process, by raise_here(): pthread_kill on the calling thread.
// (Not kill(getpid()): the kernel may then pick a worker parked in a raw futex syscall, where
// ThreadSanitizer defers the handler until the thread wakes, which can be never in a test.)
#define BOOST_TEST_MODULE signal_test
#include "weft/runtime/signal/signal.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <thread>

#include "weft/runtime/runtime.h"
#include "weft/runtime/task/when_all.h"
#include "weft/runtime/time/sleep.h"
#include "weft/runtime/time/timeout.h"

using namespace std::chrono_literals;
using weft::Task;
using weft::signal::Signal;

namespace {
weft::Runtime make_rt() {
  auto rt = weft::Runtime::Builder::new_multi_thread().worker_threads(2).build();
  BOOST_REQUIRE(rt.ok());
  return std::move(*rt);
}

void raise_here(int signum) { ::pthread_kill(::pthread_self(), signum); }

Task<bool> recv_once(Signal* s) { co_return co_await s->recv(); }

// The 5 ms make it likely that the listeners are already waiting (the dispatcher's wake-up
// path); a delivery that comes first is counted for them too, so the test holds either way.
Task<bool> send_later(int signum) {
  co_await weft::time::sleep(5ms);
  raise_here(signum);
  co_return true;
}

// Both listeners exist before the signal is sent (one sent earlier is not theirs to see).
Task<bool> several_listeners_each_see_it() {
  absl::StatusOr<Signal> a = Signal::create(SIGUSR1);
  absl::StatusOr<Signal> b = Signal::create(SIGUSR1);
  if (!a.ok() || !b.ok()) co_return false;
  auto [ra, rb, sent] =
      co_await weft::when_all(weft::time::timeout(5s, recv_once(&*a)),
                              weft::time::timeout(5s, recv_once(&*b)), send_later(SIGUSR1));
  co_return ra.ok() && *ra&& rb.ok() && *rb&& sent;
}

// Three deliveries, three recvs. One at a time: deliveries that reach a busy listener coalesce.
Task<bool> sigterm_stream() {
  absl::StatusOr<Signal> s = Signal::create(SIGTERM);
  if (!s.ok()) co_return false;
  for (int i = 0; i < 3; ++i) {
    raise_here(SIGTERM);
    absl::StatusOr<bool> r = co_await weft::time::timeout(5s, recv_once(&*s));
    if (!r.ok() || !*r) co_return false;
  }
  co_return true;
}

Task<bool> cancelled_recv_loses_nothing() {
  absl::StatusOr<Signal> s = Signal::create(SIGUSR2);
  if (!s.ok()) co_return false;
  // A recv that gives up before the signal comes...
  auto early = co_await weft::time::timeout(2ms, [](Signal* s) -> Task<bool> {
    co_await s->recv();
    co_return true;
  }(&*s));
  if (!absl::IsDeadlineExceeded(early.status())) co_return false;
  raise_here(SIGUSR2);
  // ...and the next recv still sees the delivery.
  auto later = co_await weft::time::timeout(5s, [](Signal* s) -> Task<bool> {
    co_await s->recv();
    co_return true;
  }(&*s));
  co_return later.ok() && *later;
}
}  // namespace

BOOST_AUTO_TEST_CASE(uncatchable_signals_are_rejected) {
  BOOST_TEST(absl::IsInvalidArgument(Signal::create(SIGKILL).status()));
  BOOST_TEST(absl::IsInvalidArgument(Signal::create(0).status()));
}

BOOST_AUTO_TEST_CASE(every_listener_sees_the_signal) {
  weft::Runtime rt = make_rt();
  BOOST_TEST(rt.block_on(several_listeners_each_see_it()));
}

BOOST_AUTO_TEST_CASE(sigterm_is_a_stream_and_does_not_kill_the_process) {
  weft::Runtime rt = make_rt();
  BOOST_TEST(rt.block_on(sigterm_stream()));
}

BOOST_AUTO_TEST_CASE(a_cancelled_recv_loses_no_delivery) {
  weft::Runtime rt = make_rt();
  BOOST_TEST(rt.block_on(cancelled_recv_loses_nothing()));
}
