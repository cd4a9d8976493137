// TcpListener / TcpStream on real loopback sockets, on a 2-worker multi-thread runtime.
//
// Boost.Test assertions are not thread-safe, so tasks (which run on worker threads) report
// failures as a Status and the test body checks them on the main thread.
#define BOOST_TEST_MODULE tcp_test
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "weft/runtime/io/read_write.h"
#include "weft/runtime/net/tcp_listener.h"
#include "weft/runtime/net/tcp_stream.h"
#include "weft/runtime/runtime.h"
#include "weft/runtime/testing/test_runtime.h"
#include "weft/runtime/scheduler/driver.h"
#include "weft/runtime/task/yield_now.h"
#include "weft/runtime/time/sleep.h"

using namespace std::chrono_literals;
using weft::JoinHandle;
using weft::Runtime;
using weft::Task;
using weft::net::BindOptions;
using weft::net::OwnedReadHalf;
using weft::net::OwnedWriteHalf;
using weft::net::SocketAddr;
using weft::net::TcpListener;
using weft::net::TcpStream;


namespace {

Runtime make_rt() { return weft::testing::make_runtime(); }

// 1,000 clients plus their server ends need more than a default soft limit of 1024 fds.
struct RaiseFdLimit {
  RaiseFdLimit() {
    rlimit r;
    ::getrlimit(RLIMIT_NOFILE, &r);
    if (r.rlim_cur < 8192 && r.rlim_max > r.rlim_cur) {
      r.rlim_cur = r.rlim_max < 8192 ? r.rlim_max : 8192;
      ::setrlimit(RLIMIT_NOFILE, &r);
    }
    // Writes to a reset peer must not kill the process: make sure SIGPIPE is not ignored, so
    // that a write without MSG_NOSIGNAL would show up as a crash.
    ::signal(SIGPIPE, SIG_DFL);
  }
};
BOOST_GLOBAL_FIXTURE(RaiseFdLimit);

std::string pattern(size_t n) {
  std::string s(n, '\0');
  uint32_t x = 12345;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1103515245u + 12345u;
    s[i] = static_cast<char>(x >> 24);
  }
  return s;
}

template <class W>
Task<absl::Status> write_all(W* w, const char* data, size_t len) {
  size_t off = 0;
  while (off < len) {
    absl::StatusOr<size_t> n = co_await w->write(std::span<const char>(data + off, len - off));
    if (!n.ok()) co_return n.status();
    off += *n;
  }
  co_return absl::OkStatus();
}

template <class R>
Task<absl::StatusOr<std::string>> read_to_end(R* r, size_t chunk = 65536) {
  std::string out;
  std::vector<char> buf(chunk);
  for (;;) {
    absl::StatusOr<size_t> n = co_await r->read(std::span<char>(buf));
    if (!n.ok()) co_return n.status();
    if (*n == 0) co_return out;
    out.append(buf.data(), *n);
  }
}

// Echoes everything until EOF, then half-closes.
Task<absl::Status> echo(TcpStream s) {
  std::vector<char> buf(65536);
  for (;;) {
    absl::StatusOr<size_t> n = co_await s.read(std::span<char>(buf));
    if (!n.ok()) co_return n.status();
    if (*n == 0) break;
    WEFT_CO_OK(co_await write_all(&s, buf.data(), *n));
  }
  co_return s.shutdown_write();
}

Task<absl::Status> accept_and_echo(TcpListener* l) {
  auto c = co_await l->accept();
  if (!c.ok()) co_return c.status();
  absl::Status st = co_await echo(std::move(c->first));
  co_return st;
}

uint64_t live_registrations() {
  return weft::detail::tls_context.scheduler->driver().reactor().registrations();
}

}  // namespace

// ---- 8 MiB echo through split halves ----

namespace {
Task<absl::Status> write_then_close(OwnedWriteHalf w, const std::string* data) {
  absl::Status st = co_await write_all(&w, data->data(), data->size());
  co_return st;  // `w` is dropped here: its destructor half-closes, the server sees EOF
}

Task<absl::Status> echo_8mib() {
  absl::StatusOr<TcpListener> l = TcpListener::bind(SocketAddr::loopback_v4(0));
  if (!l.ok()) co_return l.status();
  absl::StatusOr<SocketAddr> addr = l->local_addr();
  WEFT_CO_CHECK(addr.ok() && addr->port() != 0);
  JoinHandle<absl::Status> server = weft::spawn(accept_and_echo(&*l));

  absl::StatusOr<TcpStream> s = co_await TcpStream::connect(*addr);
  if (!s.ok()) co_return s.status();
  WEFT_CO_CHECK(s->peer_addr().ok() && *s->peer_addr() == *addr);
  auto [rd, wr] = std::move(*s).into_split();
  const std::string data = pattern(8 << 20);
  JoinHandle<absl::Status> writer = weft::spawn(write_then_close(std::move(wr), &data));
  absl::StatusOr<std::string> got = co_await read_to_end(&rd);
  absl::StatusOr<absl::Status> wst = co_await writer;
  absl::StatusOr<absl::Status> sst = co_await server;
  if (!got.ok()) co_return got.status();
  WEFT_CO_CHECK(wst.ok() && wst->ok());
  WEFT_CO_CHECK(sst.ok() && sst->ok());
  WEFT_CO_CHECK(got->size() == data.size());
  WEFT_CO_CHECK(*got == data);
  co_return absl::OkStatus();
}
}  // namespace

BOOST_AUTO_TEST_CASE(echo_8mib_through_split_halves) {
  Runtime rt = make_rt();
  absl::Status st = rt.block_on(echo_8mib());
  BOOST_TEST(st.ok(), st);
}

// ---- 1,000 concurrent clients ----

namespace {
Task<absl::Status> serve_n(TcpListener* l, int n) {
  for (int i = 0; i < n; ++i) {
    auto c = co_await l->accept();
    if (!c.ok()) co_return c.status();
    weft::spawn(echo(std::move(c->first)));  // detached
  }
  co_return absl::OkStatus();
}

Task<absl::Status> client(SocketAddr addr, int i) {
  absl::StatusOr<TcpStream> s = co_await TcpStream::connect(addr);
  if (!s.ok()) co_return s.status();
  WEFT_CO_OK(s->set_nodelay(true));
  std::string msg = absl::StrCat("hello from client ", i, " ", std::string(i % 97, 'x'));
  WEFT_CO_OK(co_await write_all(&*s, msg.data(), msg.size()));
  WEFT_CO_OK(s->shutdown_write());
  absl::StatusOr<std::string> back = co_await read_to_end(&*s, 4096);
  if (!back.ok()) co_return back.status();
  WEFT_CO_CHECK(*back == msg);
  co_return absl::OkStatus();
}

Task<std::string> thousand_clients() {
  constexpr int kClients = 1000;
  absl::StatusOr<TcpListener> l = TcpListener::bind(SocketAddr::loopback_v4(0));
  if (!l.ok()) co_return l.status().ToString();
  SocketAddr addr = *l->local_addr();
  JoinHandle<absl::Status> server = weft::spawn(serve_n(&*l, kClients));
  std::vector<JoinHandle<absl::Status>> clients;
  clients.reserve(kClients);
  for (int i = 0; i < kClients; ++i) clients.push_back(weft::spawn(client(addr, i)));
  int failed = 0;
  std::string first_error;
  for (auto& h : clients) {
    absl::StatusOr<absl::Status> r = co_await h;
    absl::Status st = r.ok() ? *r : r.status();
    if (!st.ok() && failed++ == 0) first_error = st.ToString();
  }
  absl::StatusOr<absl::Status> s = co_await server;
  if (!s.ok() || !s->ok()) co_return "server: " + (s.ok() ? s->ToString() : s.status().ToString());
  if (failed != 0) co_return absl::StrCat(failed, " clients failed; first: ", first_error);
  co_return "";
}
}  // namespace

BOOST_AUTO_TEST_CASE(thousand_concurrent_clients_echo) {
  Runtime rt = make_rt();
  std::string err = rt.block_on(thousand_clients());
  BOOST_TEST(err.empty(), err);
}

// ---- half-close ----

namespace {
Task<absl::Status> half_close_server(TcpListener* l) {
  auto c = co_await l->accept();
  if (!c.ok()) co_return c.status();
  TcpStream& s = c->first;
  absl::StatusOr<std::string> got = co_await read_to_end(&s);  // ends only at the client's EOF
  if (!got.ok()) co_return got.status();
  WEFT_CO_CHECK(*got == "ping");
  // The client's write side is closed, ours is still open.
  WEFT_CO_OK(co_await write_all(&s, "pong", 4));
  co_return absl::OkStatus();  // dropping the stream closes it
}

Task<absl::Status> half_close() {
  absl::StatusOr<TcpListener> l = TcpListener::bind(SocketAddr::loopback_v4(0));
  if (!l.ok()) co_return l.status();
  JoinHandle<absl::Status> server = weft::spawn(half_close_server(&*l));
  absl::StatusOr<TcpStream> s = co_await TcpStream::connect(*l->local_addr());
  if (!s.ok()) co_return s.status();
  WEFT_CO_OK(co_await write_all(&*s, "ping", 4));
  WEFT_CO_OK(s->shutdown_write());
  absl::StatusOr<std::string> back = co_await read_to_end(&*s);
  if (!back.ok()) co_return back.status();
  WEFT_CO_CHECK(*back == "pong");
  // Writing after shutdown_write fails cleanly (EPIPE), without SIGPIPE.
  absl::StatusOr<size_t> late = co_await s->write(std::span<const char>("x", 1));
  WEFT_CO_CHECK(!late.ok());
  absl::StatusOr<absl::Status> sst = co_await server;
  WEFT_CO_CHECK(sst.ok());
  co_return *sst;
}
}  // namespace

BOOST_AUTO_TEST_CASE(half_close_peer_reads_eof_and_can_still_write) {
  Runtime rt = make_rt();
  absl::Status st = rt.block_on(half_close());
  BOOST_TEST(st.ok(), st);
}

// ---- readable + try_read ----

namespace {
Task<absl::Status> readable_then_try_read() {
  absl::StatusOr<TcpListener> l = TcpListener::bind(SocketAddr::loopback_v4(0));
  if (!l.ok()) co_return l.status();
  absl::StatusOr<TcpStream> client = co_await TcpStream::connect(*l->local_addr());
  if (!client.ok()) co_return client.status();
  auto accepted = co_await l->accept();
  if (!accepted.ok()) co_return accepted.status();
  TcpStream server = std::move(accepted->first);
  char buf[64];
  // Nothing sent yet: try_read never blocks.
  absl::StatusOr<size_t> none = server.try_read(std::span<char>(buf));
  WEFT_CO_CHECK(absl::IsUnavailable(none.status()));
  absl::StatusOr<size_t> w = co_await client->write(std::span<const char>("ping", 4));
  WEFT_CO_CHECK(w.ok() && *w == 4);
  for (;;) {  // a wake-up may be spurious: wait again on "would block"
    co_await server.readable();
    absl::StatusOr<size_t> n = server.try_read(std::span<char>(buf));
    if (absl::IsUnavailable(n.status())) continue;
    WEFT_CO_CHECK(n.ok() && *n == 4 && std::string(buf, 4) == "ping");
    break;
  }
  // try_write writes at once when the socket has room.
  absl::StatusOr<size_t> tw = server.try_write(std::span<const char>("pong", 4));
  WEFT_CO_CHECK(tw.ok() && *tw == 4);
  char back[4];
  Task<absl::Status> rd = weft::io::read_exact(*client, std::span<char>(back));
  absl::Status got = co_await std::move(rd);
  WEFT_CO_OK(got);
  WEFT_CO_CHECK(std::string(back, 4) == "pong");
  // Drained by a short read: the next try_read answers "would block" without waiting.
  absl::StatusOr<size_t> again = server.try_read(std::span<char>(buf));
  WEFT_CO_CHECK(absl::IsUnavailable(again.status()));
  WEFT_CO_OK(client->shutdown_write());
  for (;;) {
    co_await server.readable();
    absl::StatusOr<size_t> n = server.try_read(std::span<char>(buf));
    if (absl::IsUnavailable(n.status())) continue;
    WEFT_CO_CHECK(n.ok() && *n == 0);  // EOF
    break;
  }
  co_return absl::OkStatus();
}
}  // namespace

BOOST_AUTO_TEST_CASE(readable_then_try_read_reads_without_waiting) {
  Runtime rt = make_rt();
  absl::Status st = rt.block_on(readable_then_try_read());
  BOOST_TEST(st.ok(), st);
}

// ---- peer reset mid-write ----

namespace {
Task<absl::Status> reset_after_first_bytes(TcpListener* l) {
  auto c = co_await l->accept();
  if (!c.ok()) co_return c.status();
  TcpStream s = std::move(c->first);
  std::vector<char> buf(65536);
  size_t total = 0;
  while (total < (256u << 10)) {
    absl::StatusOr<size_t> n = co_await s.read(std::span<char>(buf));
    if (!n.ok()) co_return n.status();
    WEFT_CO_CHECK(*n > 0);
    total += *n;
  }
  WEFT_CO_OK(s.set_linger(std::chrono::seconds(0)));
  co_return absl::OkStatus();  // closing with SO_LINGER 0 sends RST, unread data is dropped
}

Task<absl::Status> peer_reset() {
  absl::StatusOr<TcpListener> l = TcpListener::bind(SocketAddr::loopback_v4(0));
  if (!l.ok()) co_return l.status();
  JoinHandle<absl::Status> server = weft::spawn(reset_after_first_bytes(&*l));
  absl::StatusOr<TcpStream> s = co_await TcpStream::connect(*l->local_addr());
  if (!s.ok()) co_return s.status();
  const std::string chunk = pattern(1 << 20);
  absl::Status write_error;
  // Bounded: the peer resets after 256 KiB; the socket buffers hold a few MiB at most.
  for (int i = 0; i < 4096 && write_error.ok(); ++i) {
    absl::StatusOr<size_t> n = co_await s->write(std::span<const char>(chunk));
    if (!n.ok()) write_error = n.status();
  }
  absl::StatusOr<absl::Status> sst = co_await server;
  WEFT_CO_CHECK(sst.ok() && sst->ok());
  WEFT_CO_CHECK(!write_error.ok());
  WEFT_CO_CHECK(absl::IsUnavailable(write_error));
  // Reads after the reset report an error or EOF, never crash.
  char b[16];
  absl::StatusOr<size_t> r = co_await s->read(std::span<char>(b));
  WEFT_CO_CHECK(!r.ok() || *r == 0);
  co_return absl::OkStatus();
}
}  // namespace

BOOST_AUTO_TEST_CASE(peer_reset_mid_write_is_an_error_not_sigpipe) {
  Runtime rt = make_rt();
  absl::Status st = rt.block_on(peer_reset());
  BOOST_TEST(st.ok(), st);
  // Still alive, and the runtime still works.
  BOOST_TEST(rt.block_on(echo_8mib()).ok());
}

// ---- connect to a closed port ----

namespace {
Task<absl::Status> connect_refused() {
  SocketAddr addr;
  {
    absl::StatusOr<TcpListener> l = TcpListener::bind(SocketAddr::loopback_v4(0));
    if (!l.ok()) co_return l.status();
    addr = *l->local_addr();
  }  // closed: nothing listens on addr now
  absl::StatusOr<TcpStream> s = co_await TcpStream::connect(addr);
  WEFT_CO_CHECK(!s.ok());
  co_return s.status();
}
}  // namespace

BOOST_AUTO_TEST_CASE(connect_to_closed_port_is_unavailable_with_errno_text) {
  Runtime rt = make_rt();
  absl::Status st = rt.block_on(connect_refused());
  BOOST_TEST(absl::IsUnavailable(st), st);
  BOOST_TEST(st.message().find("Connection refused") != absl::string_view::npos, st);
  BOOST_TEST(st.message().find("127.0.0.1:") != absl::string_view::npos, st);
}

// ---- accept with the fd table full ----

namespace {
int highest_open_fd() {
  int hi = 0;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return 1024;
  while (dirent* e = ::readdir(d)) hi = std::max(hi, std::atoi(e->d_name));
  ::closedir(d);
  return hi;
}

// Lowers RLIMIT_NOFILE and fills the table; restores both on destruction (even on failure).
struct FdExhaustion {
  rlimit saved{};
  std::vector<int> fillers;
  bool exhausted = false;
  FdExhaustion() {
    ::getrlimit(RLIMIT_NOFILE, &saved);
    rlimit low = saved;
    low.rlim_cur = static_cast<rlim_t>(highest_open_fd() + 64);
    if (::setrlimit(RLIMIT_NOFILE, &low) != 0) return;
    for (;;) {
      int fd = ::fcntl(0, F_DUPFD_CLOEXEC, 0);
      if (fd < 0) {
        exhausted = errno == EMFILE;
        break;
      }
      fillers.push_back(fd);
    }
  }
  void release() {
    for (int fd : fillers) ::close(fd);
    fillers.clear();
  }
  ~FdExhaustion() {
    release();
    ::setrlimit(RLIMIT_NOFILE, &saved);
  }
};

Task<absl::StatusOr<SocketAddr>> accept_one(TcpListener* l) {
  auto c = co_await l->accept();
  if (!c.ok()) co_return c.status();
  co_return c->second;
}

Task<absl::Status> accept_when_out_of_fds(const Runtime* rt) {
  absl::StatusOr<TcpListener> l = TcpListener::bind(SocketAddr::loopback_v4(0));
  if (!l.ok()) co_return l.status();
  sockaddr_storage ss;
  socklen_t len = l->local_addr()->to_sockaddr(&ss);
  // The client socket must exist before the table is full.
  int client = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  WEFT_CO_CHECK(client >= 0);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{client};

  FdExhaustion full;
  WEFT_CO_CHECK(full.exhausted);
  // The kernel completes the handshake and queues the connection: accept4 will hit EMFILE.
  int rc = ::connect(client, reinterpret_cast<sockaddr*>(&ss), len);
  WEFT_CO_CHECK(rc == 0 || errno == EINPROGRESS);

  JoinHandle<absl::StatusOr<SocketAddr>> acceptor = weft::spawn(accept_one(&*l));
  uint64_t polls_before = rt->metrics().total_polls();
  co_await weft::time::sleep(50ms);  // a window to count polls in, not a synchronisation
  uint64_t polls = rt->metrics().total_polls() - polls_before;
  WEFT_CO_CHECK(!acceptor.is_finished());  // neither failed nor gave up
  // Backoff 1+2+4+8+16+32 ms: about 7 polls of the acceptor in 50 ms, plus this task's own.
  // A spinning accept loop would make tens of thousands.
  if (polls > 40) co_return absl::InternalError(absl::StrCat("accept spun: ", polls, " polls"));

  full.release();  // fds available again: the next retry (<= 100 ms away) succeeds
  absl::StatusOr<absl::StatusOr<SocketAddr>> peer = co_await acceptor;
  WEFT_CO_CHECK(peer.ok());
  if (!peer->ok()) co_return peer->status();
  WEFT_CO_CHECK((*peer)->is_loopback());
  co_return absl::OkStatus();
}
}  // namespace

BOOST_AUTO_TEST_CASE(accept_backs_off_at_fd_limit_and_recovers) {
  Runtime rt = make_rt();
  absl::Status st = rt.block_on(accept_when_out_of_fds(&rt));
  BOOST_TEST(st.ok(), st);
}

// ---- abort a task blocked in accept / read / connect ----

namespace {
Task<void> blocked_accept(TcpListener* l, std::shared_ptr<std::atomic<bool>> started) {
  started->store(true);
  auto c = co_await l->accept();
  (void)c;
}

Task<absl::Status> abort_accept() {
  absl::StatusOr<TcpListener> l = TcpListener::bind(SocketAddr::loopback_v4(0));
  if (!l.ok()) co_return l.status();
  auto started = std::make_shared<std::atomic<bool>>(false);
  JoinHandle<void> h = weft::spawn(blocked_accept(&*l, started));
  while (!started->load()) co_await weft::yield_now();
  h.abort();
  absl::Status st = co_await h;
  WEFT_CO_CHECK(absl::IsCancelled(st));
  // The aborted waiter is gone from the listener's registration: a new connection wakes (and
  // is taken by) the next accept only. A dangling waiter would be a use-after-free here.
  JoinHandle<absl::Status> server = weft::spawn(accept_and_echo(&*l));
  absl::StatusOr<TcpStream> s = co_await TcpStream::connect(*l->local_addr());
  if (!s.ok()) co_return s.status();
  WEFT_CO_OK(co_await write_all(&*s, "abc", 3));
  WEFT_CO_OK(s->shutdown_write());
  absl::StatusOr<std::string> back = co_await read_to_end(&*s);
  WEFT_CO_CHECK(back.ok() && *back == "abc");
  absl::StatusOr<absl::Status> sst = co_await server;
  WEFT_CO_CHECK(sst.ok() && sst->ok());
  co_return absl::OkStatus();
}

Task<void> blocked_read(TcpStream* s, std::shared_ptr<std::atomic<bool>> started) {
  char buf[16];
  started->store(true);
  absl::StatusOr<size_t> n = co_await s->read(std::span<char>(buf));
  (void)n;
}

Task<absl::Status> abort_read() {
  absl::StatusOr<TcpListener> l = TcpListener::bind(SocketAddr::loopback_v4(0));
  if (!l.ok()) co_return l.status();
  JoinHandle<absl::StatusOr<SocketAddr>> acc = weft::spawn(accept_one(&*l));
  absl::StatusOr<TcpStream> s = co_await TcpStream::connect(*l->local_addr());
  if (!s.ok()) co_return s.status();
  (void)co_await acc;  // the server end is dropped at once (closed after our write below)

  // Read from a stream whose peer stays silent, via a second connection kept open.
  JoinHandle<absl::Status> server = weft::spawn(accept_and_echo(&*l));
  absl::StatusOr<TcpStream> c = co_await TcpStream::connect(*l->local_addr());
  if (!c.ok()) co_return c.status();
  auto started = std::make_shared<std::atomic<bool>>(false);
  JoinHandle<void> h = weft::spawn(blocked_read(&*c, started));
  while (!started->load()) co_await weft::yield_now();
  h.abort();
  absl::Status st = co_await h;
  WEFT_CO_CHECK(absl::IsCancelled(st));
  // Same stream, next read: the echo of what we write now must arrive.
  WEFT_CO_OK(co_await write_all(&*c, "hello", 5));
  WEFT_CO_OK(c->shutdown_write());
  absl::StatusOr<std::string> back = co_await read_to_end(&*c);
  WEFT_CO_CHECK(back.ok() && *back == "hello");
  absl::StatusOr<absl::Status> sst = co_await server;
  WEFT_CO_CHECK(sst.ok() && sst->ok());
  co_return absl::OkStatus();
}

Task<void> blocked_connect(SocketAddr addr, std::shared_ptr<std::atomic<bool>> started) {
  started->store(true);
  absl::StatusOr<TcpStream> s = co_await TcpStream::connect(addr);
  (void)s;
}

Task<absl::Status> abort_connect() {
  // backlog 0: one queued connection fills the accept queue; Linux then drops further SYNs, so
  // the next connect stays in SYN_SENT (for seconds: SYN retries at 1 s, 3 s, ...).
  absl::StatusOr<TcpListener> full =
      TcpListener::bind(SocketAddr::loopback_v4(0), BindOptions{.reuse_port = false, .backlog = 0});
  if (!full.ok()) co_return full.status();
  SocketAddr addr = *full->local_addr();
  absl::StatusOr<TcpStream> first = co_await TcpStream::connect(addr);
  if (!first.ok()) co_return first.status();

  uint64_t before = live_registrations();
  auto started = std::make_shared<std::atomic<bool>>(false);
  JoinHandle<void> h = weft::spawn(blocked_connect(addr, started));
  while (!started->load()) co_await weft::yield_now();
  h.abort();
  absl::Status st = co_await h;
  WEFT_CO_CHECK(absl::IsCancelled(st));
  // The half-open socket was deregistered (and closed) by the cancellation.
  WEFT_CO_CHECK(live_registrations() == before);

  // The next connect (to a listener with room) works.
  absl::StatusOr<TcpListener> l = TcpListener::bind(SocketAddr::loopback_v4(0));
  if (!l.ok()) co_return l.status();
  JoinHandle<absl::Status> server = weft::spawn(accept_and_echo(&*l));
  absl::StatusOr<TcpStream> s = co_await TcpStream::connect(*l->local_addr());
  if (!s.ok()) co_return s.status();
  WEFT_CO_OK(s->shutdown_write());
  absl::StatusOr<std::string> back = co_await read_to_end(&*s);
  WEFT_CO_CHECK(back.ok() && back->empty());
  absl::StatusOr<absl::Status> sst = co_await server;
  WEFT_CO_CHECK(sst.ok() && sst->ok());
  co_return absl::OkStatus();
}
}  // namespace

BOOST_AUTO_TEST_CASE(abort_blocked_accept_then_accept_again) {
  Runtime rt = make_rt();
  absl::Status st = rt.block_on(abort_accept());
  BOOST_TEST(st.ok(), st);
}

BOOST_AUTO_TEST_CASE(abort_blocked_read_then_read_again) {
  Runtime rt = make_rt();
  absl::Status st = rt.block_on(abort_read());
  BOOST_TEST(st.ok(), st);
}

BOOST_AUTO_TEST_CASE(abort_pending_connect_releases_registration) {
  Runtime rt = make_rt();
  absl::Status st = rt.block_on(abort_connect());
  BOOST_TEST(st.ok(), st);
}

// ---- options, addresses, vectored I/O, peek ----

namespace {
Task<absl::Status> misc() {
  absl::StatusOr<TcpListener> taken = TcpListener::bind(SocketAddr::loopback_v4(0));
  if (!taken.ok()) co_return taken.status();
  SocketAddr addr = *taken->local_addr();
  // A port in use: a clear error, not a crash.
  absl::StatusOr<TcpListener> again = TcpListener::bind(addr);
  WEFT_CO_CHECK(!again.ok());
  WEFT_CO_CHECK(again.status().message().find("Address already in use") !=
                  absl::string_view::npos);
  // SO_REUSEPORT: one listener per thread on the same port.
  absl::StatusOr<TcpListener> p1 =
      TcpListener::bind(SocketAddr::loopback_v4(0), BindOptions{.reuse_port = true});
  if (!p1.ok()) co_return p1.status();
  absl::StatusOr<TcpListener> p2 =
      TcpListener::bind(*p1->local_addr(), BindOptions{.reuse_port = true});
  if (!p2.ok()) co_return p2.status();

  JoinHandle<absl::StatusOr<SocketAddr>> acc = weft::spawn(accept_one(&*taken));
  absl::StatusOr<TcpStream> s = co_await TcpStream::connect(addr);
  if (!s.ok()) co_return s.status();
  absl::StatusOr<absl::StatusOr<SocketAddr>> peer = co_await acc;
  WEFT_CO_CHECK(peer.ok() && peer->ok());
  WEFT_CO_CHECK(**peer == *s->local_addr());
  WEFT_CO_OK(s->set_nodelay(true));
  WEFT_CO_CHECK(s->nodelay().ok() && *s->nodelay());
  WEFT_CO_OK(s->set_keepalive(true));
  co_return absl::OkStatus();
}

Task<absl::Status> vectored_and_peek() {
  absl::StatusOr<TcpListener> l = TcpListener::bind(SocketAddr::loopback_v6(0));
  if (!l.ok()) l = TcpListener::bind(SocketAddr::loopback_v4(0));  // a host without IPv6
  if (!l.ok()) co_return l.status();
  JoinHandle<absl::Status> server = weft::spawn(accept_and_echo(&*l));
  absl::StatusOr<TcpStream> s = co_await TcpStream::connect(*l->local_addr());
  if (!s.ok()) co_return s.status();
  char a[] = "hello ", b[] = "vectored ", c[] = "world";
  iovec out[3] = {{a, 6}, {b, 9}, {c, 5}};
  absl::StatusOr<size_t> n = co_await s->writev(std::span<const iovec>(out));
  WEFT_CO_CHECK(n.ok() && *n == 20);
  WEFT_CO_OK(s->shutdown_write());
  char first[4];
  absl::StatusOr<size_t> pk = co_await s->peek(std::span<char>(first));
  WEFT_CO_CHECK(pk.ok() && *pk >= 1 && first[0] == 'h');
  std::string got;
  for (;;) {
    char x[7], y[100];
    iovec in[2] = {{x, sizeof x}, {y, sizeof y}};
    absl::StatusOr<size_t> r = co_await s->readv(std::span<const iovec>(in));
    if (!r.ok()) co_return r.status();
    if (*r == 0) break;
    got.append(x, std::min(*r, sizeof x));
    if (*r > sizeof x) got.append(y, *r - sizeof x);
  }
  WEFT_CO_CHECK(got == "hello vectored world");
  absl::StatusOr<absl::Status> sst = co_await server;
  WEFT_CO_CHECK(sst.ok() && sst->ok());
  co_return absl::OkStatus();
}

// Reads that keep finding data spend the coop budget and make the task yield.
Task<absl::Status> coop_reads(const Runtime* rt) {
  absl::StatusOr<TcpListener> l = TcpListener::bind(SocketAddr::loopback_v4(0));
  if (!l.ok()) co_return l.status();
  JoinHandle<absl::Status> server = weft::spawn(accept_and_echo(&*l));
  absl::StatusOr<TcpStream> s = co_await TcpStream::connect(*l->local_addr());
  if (!s.ok()) co_return s.status();
  const std::string data = pattern(2 << 20);
  auto [rd, wr] = std::move(*s).into_split();
  JoinHandle<absl::Status> writer = weft::spawn(write_then_close(std::move(wr), &data));
  uint64_t yields_before = 0;
  for (const auto& w : rt->metrics().per_worker) yields_before += w.forced_yields;
  absl::StatusOr<std::string> got = co_await read_to_end(&rd, 64);  // ~32k small reads
  if (!got.ok()) co_return got.status();
  WEFT_CO_CHECK(*got == data);
  uint64_t yields = 0;
  for (const auto& w : rt->metrics().per_worker) yields += w.forced_yields;
  WEFT_CO_CHECK(yields > yields_before);
  absl::StatusOr<absl::Status> wst = co_await writer;
  absl::StatusOr<absl::Status> sst = co_await server;
  WEFT_CO_CHECK(wst.ok() && wst->ok() && sst.ok() && sst->ok());
  co_return absl::OkStatus();
}
}  // namespace

BOOST_AUTO_TEST_CASE(bind_errors_reuse_port_and_options) {
  Runtime rt = make_rt();
  absl::Status st = rt.block_on(misc());
  BOOST_TEST(st.ok(), st);
}

BOOST_AUTO_TEST_CASE(writev_readv_peek) {
  Runtime rt = make_rt();
  absl::Status st = rt.block_on(vectored_and_peek());
  BOOST_TEST(st.ok(), st);
}

BOOST_AUTO_TEST_CASE(ready_reads_spend_coop_budget) {
  Runtime rt = make_rt();
  absl::Status st = rt.block_on(coop_reads(&rt));
  BOOST_TEST(st.ok(), st);
}

namespace {
Task<absl::Status> split_and_reunite() {
  absl::StatusOr<TcpListener> l = TcpListener::bind(SocketAddr::loopback_v4(0));
  if (!l.ok()) co_return l.status();
  JoinHandle<absl::Status> server = weft::spawn(accept_and_echo(&*l));
  absl::StatusOr<TcpStream> s1 = co_await TcpStream::connect(*l->local_addr());
  if (!s1.ok()) co_return s1.status();
  auto [r1, w1] = std::move(*s1).into_split();
  absl::StatusOr<TcpStream> back = std::move(r1).reunite(std::move(w1));
  if (!back.ok()) co_return back.status();
  WEFT_CO_OK(co_await write_all(&*back, "ok", 2));
  WEFT_CO_OK(back->shutdown_write());
  absl::StatusOr<std::string> echo_back = co_await read_to_end(&*back);
  WEFT_CO_CHECK(echo_back.ok() && *echo_back == "ok");
  absl::StatusOr<absl::Status> sst = co_await server;
  WEFT_CO_CHECK(sst.ok() && sst->ok());
  co_return absl::OkStatus();
}
}  // namespace

BOOST_AUTO_TEST_CASE(split_halves_reunite) {
  Runtime rt = make_rt();
  absl::Status st = rt.block_on(split_and_reunite());
  BOOST_TEST(st.ok(), st);
}
