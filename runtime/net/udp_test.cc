// UdpSocket on loopback, on a 2-worker multi-thread runtime. Tasks report failures as a Status
// (Boost.Test assertions are not thread-safe); the test body checks them.
#define BOOST_TEST_MODULE udp_test
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "weft/runtime/net/udp_socket.h"
#include "weft/runtime/runtime.h"
#include "weft/runtime/testing/test_runtime.h"
#include "weft/runtime/task/yield_now.h"
#include "weft/runtime/time/sleep.h"

using weft::JoinHandle;
using weft::Runtime;
using weft::Task;
using weft::net::SocketAddr;
using weft::net::UdpSocket;


namespace {

Runtime make_rt() { return weft::testing::make_runtime(); }

// Answers `n` datagrams with "echo:" + payload, to whoever sent them.
Task<absl::Status> echo_n(UdpSocket* s, int n) {
  char buf[2048];
  for (int i = 0; i < n; ++i) {
    auto got = co_await s->recv_from(std::span<char>(buf));
    if (!got.ok()) co_return got.status();
    std::string reply = "echo:" + std::string(buf, got->first);
    absl::StatusOr<size_t> sent = co_await s->send_to(std::span<const char>(reply), got->second);
    if (!sent.ok()) co_return sent.status();
  }
  co_return absl::OkStatus();
}

Task<absl::Status> send_to_recv_from() {
  absl::StatusOr<UdpSocket> server = UdpSocket::bind(SocketAddr::loopback_v4(0));
  if (!server.ok()) co_return server.status();
  SocketAddr server_addr = *server->local_addr();
  WEFT_CO_CHECK(server_addr.port() != 0);
  JoinHandle<absl::Status> echo = weft::spawn(echo_n(&*server, 100));

  absl::StatusOr<UdpSocket> client = UdpSocket::bind(SocketAddr::loopback_v4(0));
  if (!client.ok()) co_return client.status();
  char buf[2048];
  for (int i = 0; i < 100; ++i) {
    std::string msg = absl::StrCat("datagram ", i);
    absl::StatusOr<size_t> sent = co_await client->send_to(std::span<const char>(msg), server_addr);
    WEFT_CO_CHECK(sent.ok() && *sent == msg.size());
    auto got = co_await client->recv_from(std::span<char>(buf));
    if (!got.ok()) co_return got.status();
    WEFT_CO_CHECK(std::string(buf, got->first) == "echo:" + msg);
    WEFT_CO_CHECK(got->second == server_addr);
  }
  absl::StatusOr<absl::Status> st = co_await echo;
  WEFT_CO_CHECK(st.ok() && st->ok());
  co_return absl::OkStatus();
}

Task<absl::Status> connected_send_recv() {
  absl::StatusOr<UdpSocket> a = UdpSocket::bind(SocketAddr::loopback_v4(0));
  absl::StatusOr<UdpSocket> b = UdpSocket::bind(SocketAddr::loopback_v4(0));
  if (!a.ok() || !b.ok()) co_return absl::InternalError("bind failed");
  // Unconnected: send has no destination.
  absl::StatusOr<size_t> no_dest = co_await a->send(std::span<const char>("x", 1));
  WEFT_CO_CHECK(!no_dest.ok());
  WEFT_CO_CHECK(a->connect(*b->local_addr()).ok());
  WEFT_CO_CHECK(b->connect(*a->local_addr()).ok());
  WEFT_CO_CHECK(*a->peer_addr() == *b->local_addr());
  absl::StatusOr<size_t> n = co_await a->send(std::span<const char>("ping", 4));
  WEFT_CO_CHECK(n.ok() && *n == 4);
  char buf[16];
  absl::StatusOr<size_t> r = co_await b->recv(std::span<char>(buf));
  WEFT_CO_CHECK(r.ok() && std::string(buf, *r) == "ping");
  // Truncation: a short buffer gets the head of the datagram.
  n = co_await b->send(std::span<const char>("0123456789", 10));
  WEFT_CO_CHECK(n.ok());
  char small[4];
  r = co_await a->recv(std::span<char>(small));
  WEFT_CO_CHECK(r.ok() && *r == 4 && std::string(small, 4) == "0123");
  co_return absl::OkStatus();
}

Task<void> blocked_recv(UdpSocket* s, std::shared_ptr<std::atomic<bool>> started) {
  char buf[16];
  started->store(true);
  auto r = co_await s->recv_from(std::span<char>(buf));
  (void)r;
}

Task<absl::Status> abort_recv() {
  absl::StatusOr<UdpSocket> s = UdpSocket::bind(SocketAddr::loopback_v4(0));
  if (!s.ok()) co_return s.status();
  auto started = std::make_shared<std::atomic<bool>>(false);
  JoinHandle<void> h = weft::spawn(blocked_recv(&*s, started));
  while (!started->load()) co_await weft::yield_now();
  h.abort();
  absl::Status st = co_await h;
  WEFT_CO_CHECK(absl::IsCancelled(st));
  // Cancel-safe: the datagram sent now is received whole by the next recv.
  absl::StatusOr<UdpSocket> c = UdpSocket::bind(SocketAddr::loopback_v4(0));
  if (!c.ok()) co_return c.status();
  absl::StatusOr<size_t> n =
      co_await c->send_to(std::span<const char>("after", 5), *s->local_addr());
  WEFT_CO_CHECK(n.ok());
  char buf[16];
  auto got = co_await s->recv_from(std::span<char>(buf));
  WEFT_CO_CHECK(got.ok() && std::string(buf, got->first) == "after");
  WEFT_CO_CHECK(got->second == *c->local_addr());
  co_return absl::OkStatus();
}

}  // namespace

BOOST_AUTO_TEST_CASE(send_to_and_recv_from_echo) {
  Runtime rt = make_rt();
  absl::Status st = rt.block_on(send_to_recv_from());
  BOOST_TEST(st.ok(), st);
}

BOOST_AUTO_TEST_CASE(connected_send_and_recv) {
  Runtime rt = make_rt();
  absl::Status st = rt.block_on(connected_send_recv());
  BOOST_TEST(st.ok(), st);
}

BOOST_AUTO_TEST_CASE(abort_blocked_recv_from_then_receive) {
  Runtime rt = make_rt();
  absl::Status st = rt.block_on(abort_recv());
  BOOST_TEST(st.ok(), st);
}

BOOST_AUTO_TEST_CASE(bind_in_use_is_a_clear_error) {
  Runtime rt = make_rt();
  absl::Status st = rt.block_on([]() -> Task<absl::Status> {
    absl::StatusOr<UdpSocket> a = UdpSocket::bind(SocketAddr::loopback_v4(0));
    if (!a.ok()) co_return a.status();
    absl::StatusOr<UdpSocket> b = UdpSocket::bind(*a->local_addr());
    co_return b.status();
  }());
  BOOST_TEST(absl::IsAlreadyExists(st), st);
  BOOST_TEST(st.message().find("Address already in use") != absl::string_view::npos, st);
}

// A connected UDP socket whose peer port is closed gets an ICMP error (EPOLLERR): the next
// recv reports it, and a later recv must wait for data again without spinning.
namespace {
Task<absl::Status> icmp_error_then_wait(const Runtime* rt) {
  SocketAddr closed;
  {
    absl::StatusOr<UdpSocket> tmp = UdpSocket::bind(SocketAddr::loopback_v4(0));
    if (!tmp.ok()) co_return tmp.status();
    closed = *tmp->local_addr();
  }
  absl::StatusOr<UdpSocket> s = UdpSocket::bind(SocketAddr::loopback_v4(0));
  if (!s.ok()) co_return s.status();
  WEFT_CO_CHECK(s->connect(closed).ok());
  absl::StatusOr<size_t> n = co_await s->send(std::span<const char>("x", 1));
  WEFT_CO_CHECK(n.ok());
  // Let the driver see the EPOLLERR edge before recv consumes the error (the kernel reports
  // only the current state when epoll harvests).
  co_await weft::time::sleep(std::chrono::milliseconds(20));
  char buf[8];
  absl::StatusOr<size_t> r = co_await s->recv(std::span<char>(buf));
  WEFT_CO_CHECK(!r.ok() && absl::IsUnavailable(r.status()));
  // Now nothing is pending: a recv must park, not spin.
  JoinHandle<absl::StatusOr<size_t>> waiter =
      weft::spawn([](UdpSocket* s) -> Task<absl::StatusOr<size_t>> {
        char b[8];
        absl::StatusOr<size_t> got = co_await s->recv(std::span<char>(b));
        co_return got;
      }(&*s));
  uint64_t before = rt->metrics().total_polls();
  co_await weft::time::sleep(std::chrono::milliseconds(50));  // a window to count polls in
  uint64_t polls = rt->metrics().total_polls() - before;
  if (polls > 20) {
    waiter.abort();
    (void)co_await waiter;
    co_return absl::InternalError(absl::StrCat("recv spun: ", polls, " polls"));
  }
  // The waiter still gets the next datagram from its peer.
  absl::StatusOr<UdpSocket> peer = UdpSocket::bind(closed);
  if (!peer.ok()) co_return peer.status();
  n = co_await peer->send_to(std::span<const char>("late", 4), *s->local_addr());
  WEFT_CO_CHECK(n.ok());
  absl::StatusOr<absl::StatusOr<size_t>> got = co_await waiter;
  WEFT_CO_CHECK(got.ok() && got->ok() && **got == 4);
  co_return absl::OkStatus();
}
}  // namespace

BOOST_AUTO_TEST_CASE(recv_after_icmp_error_does_not_spin) {
  Runtime rt = make_rt();
  absl::Status st = rt.block_on(icmp_error_then_wait(&rt));
  BOOST_TEST(st.ok(), st);
}
