// UnixListener / UnixStream / UnixDatagram on path sockets in a fresh temporary directory, on a
// 2-worker multi-thread runtime. Tasks report failures as a Status; the test body checks them.
#define BOOST_TEST_MODULE unix_test
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "weft/runtime/net/unix_datagram.h"
#include "weft/runtime/net/unix_listener.h"
#include "weft/runtime/net/unix_stream.h"
#include "weft/runtime/runtime.h"
#include "weft/runtime/testing/test_runtime.h"
#include "weft/runtime/task/yield_now.h"

using weft::JoinHandle;
using weft::Runtime;
using weft::Task;
using weft::net::UnixDatagram;
using weft::net::UnixListener;
using weft::net::UnixStream;


namespace {

Runtime make_rt() { return weft::testing::make_runtime(); }

// A private directory for socket files, removed with its contents afterwards.
struct TempDir {
  std::string path;
  TempDir() {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/weft_unix_XXXXXX";
    // sun_path holds 107 bytes: fall back to /tmp when the test tmpdir is too deep.
    if (tmpl.size() > 80) tmpl = "/tmp/weft_unix_XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    BOOST_REQUIRE(::mkdtemp(buf.data()) != nullptr);
    path = buf.data();
  }
  ~TempDir() {
    for (const char* f : {"/srv.sock", "/dgram.sock", "/cli.sock"}) ::unlink((path + f).c_str());
    ::rmdir(path.c_str());
  }
};

template <class W>
Task<absl::Status> write_all(W* w, std::string data) {
  size_t off = 0;
  while (off < data.size()) {
    absl::StatusOr<size_t> n =
        co_await w->write(std::span<const char>(data.data() + off, data.size() - off));
    if (!n.ok()) co_return n.status();
    off += *n;
  }
  co_return absl::OkStatus();
}

template <class R>
Task<absl::StatusOr<std::string>> read_to_end(R* r) {
  std::string out;
  char buf[4096];
  for (;;) {
    absl::StatusOr<size_t> n = co_await r->read(std::span<char>(buf));
    if (!n.ok()) co_return n.status();
    if (*n == 0) co_return out;
    out.append(buf, *n);
  }
}

Task<absl::Status> echo(UnixStream s) {
  absl::StatusOr<std::string> all = co_await read_to_end(&s);
  if (!all.ok()) co_return all.status();
  WEFT_CO_OK(co_await write_all(&s, *all));
  co_return s.shutdown_write();
}

Task<absl::Status> serve_n(UnixListener* l, int n) {
  for (int i = 0; i < n; ++i) {
    auto c = co_await l->accept();
    if (!c.ok()) co_return c.status();
    weft::spawn(echo(std::move(c->first)));
  }
  co_return absl::OkStatus();
}

Task<absl::Status> client(std::string path, int i) {
  absl::StatusOr<UnixStream> s = co_await UnixStream::connect(path);
  if (!s.ok()) co_return s.status();
  std::string msg = absl::StrCat("unix client ", i, std::string(static_cast<size_t>(i) * 37, 'y'));
  WEFT_CO_OK(co_await write_all(&*s, msg));
  WEFT_CO_OK(s->shutdown_write());
  absl::StatusOr<std::string> back = co_await read_to_end(&*s);
  if (!back.ok()) co_return back.status();
  WEFT_CO_CHECK(*back == msg);
  co_return absl::OkStatus();
}

Task<absl::Status> listener_and_streams(std::string dir) {
  std::string path = dir + "/srv.sock";
  absl::StatusOr<UnixListener> l = UnixListener::bind(path);
  if (!l.ok()) co_return l.status();
  WEFT_CO_CHECK(l->local_path().ok() && *l->local_path() == path);
  // The path exists now: binding again is a clear error.
  absl::StatusOr<UnixListener> again = UnixListener::bind(path);
  WEFT_CO_CHECK(absl::IsAlreadyExists(again.status()));

  constexpr int kClients = 50;
  JoinHandle<absl::Status> server = weft::spawn(serve_n(&*l, kClients));
  std::vector<JoinHandle<absl::Status>> hs;
  for (int i = 0; i < kClients; ++i) hs.push_back(weft::spawn(client(path, i)));
  for (auto& h : hs) {
    absl::StatusOr<absl::Status> r = co_await h;
    if (!r.ok()) co_return r.status();
    if (!r->ok()) co_return *r;
  }
  absl::StatusOr<absl::Status> s = co_await server;
  WEFT_CO_CHECK(s.ok() && s->ok());

  // Nobody listening / no such file.
  absl::StatusOr<UnixStream> missing = co_await UnixStream::connect(dir + "/nope.sock");
  WEFT_CO_CHECK(absl::IsNotFound(missing.status()));
  absl::StatusOr<UnixStream> too_long = co_await UnixStream::connect(std::string(200, 'a'));
  WEFT_CO_CHECK(absl::IsInvalidArgument(too_long.status()));
  co_return absl::OkStatus();
}

Task<absl::Status> pair_split_half_close() {
  auto p = UnixStream::pair();
  if (!p.ok()) co_return p.status();
  UnixStream a = std::move(p->first);
  UnixStream b = std::move(p->second);
  auto [rd, wr] = std::move(a).into_split();
  WEFT_CO_OK(co_await write_all(&wr, "from a"));
  { auto dropped = std::move(wr); }  // dropping the write half half-closes
  absl::StatusOr<std::string> got = co_await read_to_end(&b);
  WEFT_CO_CHECK(got.ok() && *got == "from a");
  WEFT_CO_OK(co_await write_all(&b, "from b"));
  WEFT_CO_OK(b.shutdown_write());
  absl::StatusOr<std::string> back = co_await read_to_end(&rd);
  WEFT_CO_CHECK(back.ok() && *back == "from b");
  co_return absl::OkStatus();
}

Task<void> blocked_read(UnixStream* s, std::shared_ptr<std::atomic<bool>> started) {
  char buf[8];
  started->store(true);
  auto r = co_await s->read(std::span<char>(buf));
  (void)r;
}

Task<absl::Status> abort_read() {
  auto p = UnixStream::pair();
  if (!p.ok()) co_return p.status();
  auto started = std::make_shared<std::atomic<bool>>(false);
  JoinHandle<void> h = weft::spawn(blocked_read(&p->first, started));
  while (!started->load()) co_await weft::yield_now();
  h.abort();
  absl::Status st = co_await h;
  WEFT_CO_CHECK(absl::IsCancelled(st));
  WEFT_CO_OK(co_await write_all(&p->second, "still works"));
  WEFT_CO_OK(p->second.shutdown_write());
  absl::StatusOr<std::string> got = co_await read_to_end(&p->first);
  WEFT_CO_CHECK(got.ok() && *got == "still works");
  co_return absl::OkStatus();
}

Task<absl::Status> datagrams(std::string dir) {
  std::string srv_path = dir + "/dgram.sock";
  std::string cli_path = dir + "/cli.sock";
  absl::StatusOr<UnixDatagram> srv = UnixDatagram::bind(srv_path);
  if (!srv.ok()) co_return srv.status();
  absl::StatusOr<UnixDatagram> cli = UnixDatagram::bind(cli_path);
  if (!cli.ok()) co_return cli.status();
  absl::StatusOr<size_t> n = co_await cli->send_to(std::span<const char>("hello", 5), srv_path);
  WEFT_CO_CHECK(n.ok() && *n == 5);
  char buf[64];
  auto got = co_await srv->recv_from(std::span<char>(buf));
  if (!got.ok()) co_return got.status();
  WEFT_CO_CHECK(std::string(buf, got->first) == "hello");
  WEFT_CO_CHECK(got->second == cli_path);
  n = co_await srv->send_to(std::span<const char>("world", 5), got->second);
  WEFT_CO_CHECK(n.ok());
  auto back = co_await cli->recv_from(std::span<char>(buf));
  WEFT_CO_CHECK(back.ok() && std::string(buf, back->first) == "world");
  WEFT_CO_CHECK(back->second == srv_path);

  // An unbound sender has no path.
  absl::StatusOr<UnixDatagram> anon = UnixDatagram::unbound();
  if (!anon.ok()) co_return anon.status();
  WEFT_CO_OK(anon->connect(srv_path));
  n = co_await anon->send(std::span<const char>("anon", 4));
  WEFT_CO_CHECK(n.ok());
  got = co_await srv->recv_from(std::span<char>(buf));
  WEFT_CO_CHECK(got.ok() && std::string(buf, got->first) == "anon" && got->second.empty());

  auto pair = UnixDatagram::pair();
  if (!pair.ok()) co_return pair.status();
  n = co_await pair->first.send(std::span<const char>("p", 1));
  WEFT_CO_CHECK(n.ok());
  absl::StatusOr<size_t> r = co_await pair->second.recv(std::span<char>(buf));
  WEFT_CO_CHECK(r.ok() && *r == 1 && buf[0] == 'p');
  co_return absl::OkStatus();
}

}  // namespace

BOOST_AUTO_TEST_CASE(listener_accepts_many_streams) {
  TempDir dir;
  Runtime rt = make_rt();
  absl::Status st = rt.block_on(listener_and_streams(dir.path));
  BOOST_TEST(st.ok(), st);
}

BOOST_AUTO_TEST_CASE(pair_split_and_half_close) {
  Runtime rt = make_rt();
  absl::Status st = rt.block_on(pair_split_half_close());
  BOOST_TEST(st.ok(), st);
}

BOOST_AUTO_TEST_CASE(abort_blocked_read_then_read_again) {
  Runtime rt = make_rt();
  absl::Status st = rt.block_on(abort_read());
  BOOST_TEST(st.ok(), st);
}

BOOST_AUTO_TEST_CASE(datagram_send_to_recv_from_and_pairs) {
  TempDir dir;
  Runtime rt = make_rt();
  absl::Status st = rt.block_on(datagrams(dir.path));
  BOOST_TEST(st.ok(), st);
}
