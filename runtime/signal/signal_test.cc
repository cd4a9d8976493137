// Signals delivered to this very process with kill(getpid(), ...).
#define BOOST_TEST_MODULE signal_test
#include "weft/runtime/signal/signal.h"

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

Task<bool> wait_for(int signum, int times) {
  absl::StatusOr<Signal> s = Signal::create(signum);
  if (!s.ok()) co_return false;
  for (int i = 0; i < times; ++i) co_await s->recv();
  co_return true;
}

Task<bool> send_later(int signum, int times) {
  for (int i = 0; i < times; ++i) {
    co_await weft::time::sleep(5ms);
    ::kill(::getpid(), signum);
  }
  co_return true;
}

Task<bool> several_listeners_each_see_it() {
  auto [a, b, c] = co_await weft::when_all(weft::time::timeout(5s, wait_for(SIGUSR1, 1)),
                                           weft::time::timeout(5s, wait_for(SIGUSR1, 1)),
                                           send_later(SIGUSR1, 1));
  co_return a.ok() && *a&& b.ok() && *b&& c;
}

Task<bool> sigterm_stream() {
  auto [a, b] = co_await weft::when_all(weft::time::timeout(5s, wait_for(SIGTERM, 3)),
                                        send_later(SIGTERM, 3));
  co_return a.ok() && *a&& b;
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
  ::kill(::getpid(), SIGUSR2);
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
