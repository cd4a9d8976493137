// The reactor through real fds: pipes, eventfds and socketpairs, on the multi-thread runtime.
#define BOOST_TEST_MODULE reactor_test
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "weft/runtime/reactor/reactor.h"
#include "weft/runtime/runtime.h"
#include "weft/runtime/task/yield_now.h"
#include "weft/runtime/time/sleep.h"

using namespace std::chrono_literals;
using weft::Runtime;
using weft::Task;
using weft::reactor::Interest;
using weft::reactor::Registration;

namespace {

Runtime make_rt(bool multi = true) {
  auto rt = multi ? Runtime::Builder::new_multi_thread().worker_threads(2).build()
                  : Runtime::Builder::new_current_thread().build();
  BOOST_REQUIRE(rt.ok());
  return std::move(*rt);
}

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int fds[2];
    BOOST_REQUIRE(::pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0);
    r = fds[0];
    w = fds[1];
  }
  ~Pipe() {
    if (r >= 0) ::close(r);
    if (w >= 0) ::close(w);
  }
};

// Reads exactly n bytes from a non-blocking fd through the reactor.
Task<std::string> read_n(int fd, size_t n) {
  absl::StatusOr<Registration> reg = Registration::create_current(fd);
  if (!reg.ok()) co_return "register failed";
  std::string out;
  char buf[4096];
  while (out.size() < n) {
    weft::reactor::ReadyEvent ev = co_await reg->readiness(Interest::kReadable);
    ssize_t got = ::read(fd, buf, sizeof buf);
    if (got > 0) {
      out.append(buf, static_cast<size_t>(got));
    } else if (got == 0) {
      break;  // EOF
    } else if (errno == EAGAIN) {
      reg->clear_readiness(ev);
    } else {
      co_return "read error";
    }
  }
  co_return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(pipe_data_written_by_another_thread_wakes_the_reader) {
  for (bool multi : {true, false}) {
    Runtime rt = make_rt(multi);
    Pipe p;
    std::thread writer([&] {
      std::this_thread::sleep_for(5ms);
      for (int i = 0; i < 100; ++i) BOOST_REQUIRE(::write(p.w, "0123456789", 10) == 10);
    });
    std::string got = rt.block_on(read_n(p.r, 1000));
    writer.join();
    BOOST_TEST(got.size() == 1000u);
    BOOST_TEST(got.substr(0, 10) == "0123456789");
  }
}

BOOST_AUTO_TEST_CASE(eof_is_seen_as_readiness) {
  Runtime rt = make_rt();
  Pipe p;
  ::close(std::exchange(p.w, -1));
  BOOST_TEST(rt.block_on(read_n(p.r, 10)).empty());
}

namespace {
Task<void> wait_readable_forever(int fd, std::shared_ptr<std::atomic<int>> state) {
  absl::StatusOr<Registration> reg = Registration::create_current(fd);
  struct Guard {
    std::shared_ptr<std::atomic<int>> s;
    ~Guard() { s->store(2); }
  } guard{state};
  state->store(1);
  for (;;) {
    weft::reactor::ReadyEvent ev = co_await reg->readiness(Interest::kReadable);
    uint64_t v;
    if (::read(fd, &v, sizeof v) < 0 && errno == EAGAIN) reg->clear_readiness(ev);
  }
}

Task<bool> abort_while_waiting(int fd, std::shared_ptr<std::atomic<int>> state) {
  weft::JoinHandle<void> h = weft::spawn(wait_readable_forever(fd, state));
  while (state->load() != 1) co_await weft::yield_now();
  co_await weft::time::sleep(2ms);  // it is now parked on readiness
  h.abort();
  absl::Status st = co_await h;
  co_return absl::IsCancelled(st) && state->load() == 2;
}

// After the waiter was cancelled, another task can still register the same fd and be woken.
Task<bool> next_waiter_still_wakes(int efd) {
  std::thread t([efd] {
    std::this_thread::sleep_for(5ms);
    uint64_t one = 1;
    // (A (void) cast does not silence warn_unused_result in g++; the read below checks it.)
    if (::write(efd, &one, sizeof one) != sizeof one) return;
  });
  std::string got = co_await read_n(efd, 8);
  t.join();
  co_return got.size() == 8;
}
}  // namespace

BOOST_AUTO_TEST_CASE(abort_while_waiting_for_readiness_unregisters) {
  Runtime rt = make_rt();
  int efd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  BOOST_REQUIRE(efd >= 0);
  auto state = std::make_shared<std::atomic<int>>(0);
  BOOST_TEST(rt.block_on(abort_while_waiting(efd, state)));
  BOOST_TEST(rt.block_on(next_waiter_still_wakes(efd)));
  ::close(efd);
}

namespace {
Task<size_t> ping_pong_socketpair(int a, int b, int rounds) {
  absl::StatusOr<Registration> ra = Registration::create_current(a);
  absl::StatusOr<Registration> rb = Registration::create_current(b);
  size_t done = 0;
  char c = 'x';
  for (int i = 0; i < rounds; ++i) {
    if (::write(a, &c, 1) != 1) co_return done;
    for (;;) {
      weft::reactor::ReadyEvent ev = co_await rb->readiness(Interest::kReadable);
      if (::read(b, &c, 1) == 1) break;
      rb->clear_readiness(ev);
    }
    ++done;
  }
  co_return done;
}
}  // namespace

BOOST_AUTO_TEST_CASE(socketpair_round_trips) {
  Runtime rt = make_rt();
  int sv[2];
  BOOST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
  BOOST_TEST(rt.block_on(ping_pong_socketpair(sv[0], sv[1], 10000)) == 10000u);
  ::close(sv[0]);
  ::close(sv[1]);
}

BOOST_AUTO_TEST_CASE(registration_fails_cleanly_for_a_bad_fd) {
  weft::reactor::Reactor reactor;
  BOOST_REQUIRE(reactor.init_status().ok());
  absl::StatusOr<Registration> reg = Registration::create(reactor, -1);
  BOOST_TEST(!reg.ok());
  BOOST_TEST(std::string(reg.status().message()).find("epoll_ctl") != std::string::npos);
}
