// http::Client against weft's own http::Server (and raw sockets playing misbehaving servers),
// on real loopback sockets in a 2-worker multi-thread runtime.
//
// Connections are counted server-side by a small TCP proxy in front of the server: it counts
// the connections it accepts and the ones that ended, and can cut them all (a server closing
// its idle keep-alive connections). Boost.Test assertions are not thread-safe, so test bodies
// are tasks that report failures as a Status (WEFT_CO_CHECK) and the test thread checks it.
#define BOOST_TEST_MODULE client_test
#include "weft/http/client.h"

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "weft/http/body.h"
#include "weft/http/router.h"
#include "weft/http/server.h"
#include "weft/runtime/io/bytes.h"
#include "weft/runtime/net/tcp_listener.h"
#include "weft/runtime/net/tcp_stream.h"
#include "weft/runtime/runtime.h"
#include "weft/runtime/testing/test_runtime.h"
#include "weft/runtime/time/sleep.h"
#include "weft/tower/service.h"

using namespace std::chrono_literals;
namespace http = weft::http;
namespace net = weft::net;
using weft::JoinHandle;
using weft::Task;
using Req = http::Request<http::Body>;
using Resp = http::Response<http::Body>;

// A failed StatusOr ends the test task with its status and the line.
#define CO_REQUIRE_OK(sor)                                                                     \
  do {                                                                                         \
    if (!(sor).ok()) {                                                                         \
      co_return absl::Status((sor).status().code(),                                            \
                             absl::StrCat("line ", __LINE__, ": ", (sor).status().message())); \
    }                                                                                          \
  } while (0)

// Awaits `task` (a Task<absl::StatusOr<T>>) into a new `absl::StatusOr<T> var`, ending the test
// task if it failed (as CO_REQUIRE_OK). The task is made before the co_await (g++ 12).
#define CO_AWAIT_OK(var, task)                \
  auto var##_task_ = (task);                  \
  auto var = co_await std::move(var##_task_); \
  CO_REQUIRE_OK(var)

// Waits (bounded) until `pred` holds, or ends the test task.
#define CO_EVENTUALLY(pred)                                                                      \
  do {                                                                                           \
    Task<bool> ev_ = eventually(pred);                                                           \
    const bool ok_ = co_await std::move(ev_);                                                    \
    if (!ok_) {                                                                                  \
      co_return absl::InternalError(absl::StrCat("never true: ", #pred, " at line ", __LINE__)); \
    }                                                                                            \
  } while (0)

namespace {

static_assert(weft::tower::Service<http::Client, Req>);

// ---- the server's handlers ----

Resp text(std::string body) {
  Resp r(http::Body(std::move(body)));
  r.headers().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain"));
  return r;
}

std::optional<uint64_t> query_u64(const Req& req, std::string_view key) {
  std::optional<std::string> v = req.uri().query_param(key);
  uint64_t n = 0;
  if (!v.has_value() || !absl::SimpleAtoi(*v, &n)) return std::nullopt;
  return n;
}

Task<absl::StatusOr<Resp>> hello(Req) { co_return text("Hello, world!"); }

// The request body streams back as it arrives.
Task<absl::StatusOr<Resp>> echo(Req req) { co_return Resp(std::move(req).into_body()); }

Task<void> produce_chunks(http::BodySender tx, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) {
    Task<absl::Status> send =
        tx.send_data(weft::io::Bytes::from("chunk " + std::to_string(i) + "\n"));
    absl::Status st = co_await std::move(send);
    if (!st.ok()) co_return;
  }
}

// Chunked: "chunk 0\n" ... "chunk n-1\n".
Task<absl::StatusOr<Resp>> stream(Req req) {
  const uint64_t n = query_u64(req, "n").value_or(3);
  std::pair<http::BodySender, http::Body> ch = http::Body::channel(16);
  weft::spawn(produce_chunks(std::move(ch.first), n));
  co_return Resp(std::move(ch.second));
}

Task<absl::StatusOr<Resp>> delay(Req req) {
  co_await weft::time::sleep(std::chrono::milliseconds(query_u64(req, "ms").value_or(0)));
  co_return text("done");
}

// A content-length body of n bytes.
Task<absl::StatusOr<Resp>> big(Req req) {
  co_return Resp(http::Body(std::string(query_u64(req, "n").value_or(0), 'b')));
}

Task<absl::StatusOr<Resp>> no_content(Req) {
  co_return Resp(http::StatusCode::NO_CONTENT, http::Body());
}

Task<absl::StatusOr<Resp>> host(Req req) {
  const http::HeaderValue* h = req.headers().get("host");
  co_return text(h == nullptr ? std::string("(none)") : std::string(h->as_str()));
}

// The request's framing as the server saw it.
Task<absl::StatusOr<Resp>> framing(Req req) {
  const http::HeaderValue* cl = req.headers().get("content-length");
  const http::HeaderValue* te = req.headers().get("transfer-encoding");
  Task<absl::StatusOr<weft::io::Bytes>> collect = req.body().collect(1 << 20);
  absl::StatusOr<weft::io::Bytes> body = co_await std::move(collect);
  if (!body.ok()) co_return body.status();
  const std::size_t got = body->size();
  co_return text(absl::StrCat("cl=", cl == nullptr ? "-" : std::string(cl->as_str()), " te=",
                              te == nullptr ? "-" : std::string(te->as_str()), " body=", got));
}

Task<void> send_then_trailers(http::BodySender tx) {
  Task<absl::Status> send = tx.send_data(weft::io::Bytes::from(std::string("abc")));
  absl::Status st = co_await std::move(send);
  if (!st.ok()) co_return;
  http::HeaderMap t;
  (void)t.insert("x-checksum", "123");
  Task<absl::Status> end = tx.send_trailers(std::move(t));
  (void)co_await std::move(end);
}

Task<absl::StatusOr<Resp>> trailers(Req) {
  std::pair<http::BodySender, http::Body> ch = http::Body::channel(4);
  weft::spawn(send_then_trailers(std::move(ch.first)));
  co_return Resp(std::move(ch.second));
}

// One chunk, then nothing for `ms` (the body stays open).
Task<void> send_then_stall(http::BodySender tx, uint64_t ms) {
  Task<absl::Status> send = tx.send_data(weft::io::Bytes::from(std::string("first")));
  absl::Status st = co_await std::move(send);
  if (!st.ok()) co_return;
  co_await weft::time::sleep(std::chrono::milliseconds(ms));
}

Task<absl::StatusOr<Resp>> stall(Req req) {
  std::pair<http::BodySender, http::Body> ch = http::Body::channel(4);
  weft::spawn(send_then_stall(std::move(ch.first), query_u64(req, "ms").value_or(2000)));
  co_return Resp(std::move(ch.second));
}

// ---- the server, and a counting proxy in front of it ----

std::string loopback_url(uint16_t port, std::string_view path) {
  return absl::StrCat("http://127.0.0.1:", port, std::string(path));
}

struct TestServer {
  std::optional<http::Server> server;
  JoinHandle<absl::Status> serving;
  uint16_t port = 0;
  std::string url(std::string_view path) const { return loopback_url(port, path); }
};

absl::StatusOr<TestServer> start_server() {
  http::Router router;
  router.get("/", &hello)
      .post("/echo", &echo)
      .get("/stream", &stream)
      .get("/delay", &delay)
      .post("/delay", &delay)
      .get("/big", &big)
      .get("/204", &no_content)
      .get("/host", &host)
      .post("/framing", &framing)
      .put("/framing", &framing)
      .get("/trailers", &trailers)
      .get("/stall", &stall);
  http::ServerOptions opts;
  opts.shutdown_timeout = 500ms;  // handlers a test abandoned (delay, stall) are cut short
  absl::StatusOr<http::Server> s =
      http::Server::bind(net::SocketAddr::loopback_v4(0), std::move(router), opts);
  if (!s.ok()) return s.status();
  TestServer ts;
  ts.port = s->local_addr().port();
  ts.server.emplace(*std::move(s));
  ts.serving = weft::spawn(ts.server->serve());
  return ts;
}

Task<absl::Status> stop_server(TestServer* ts) {
  ts->server->shutdown();
  absl::StatusOr<absl::Status> st = co_await ts->serving;
  if (!st.ok()) co_return st.status();
  co_return *st;
}

struct ProxyState {
  std::atomic<int> accepted{0};
  std::atomic<int> closed{0};
  // Bytes forwarded each way, over all connections: lets a test wait until a request reached
  // the server, or until its answer started coming back.
  std::atomic<std::size_t> to_server{0};
  std::atomic<std::size_t> to_client{0};
  std::mutex mu;
  std::vector<int> client_fds;  // live client-side sockets

  // Closes every live connection, as a server closing its idle connections.
  void cut_all() {
    std::lock_guard<std::mutex> lock(mu);
    for (int fd : client_fds) ::shutdown(fd, SHUT_RDWR);
  }
};

Task<void> pump(std::shared_ptr<net::TcpStream> from, std::shared_ptr<net::TcpStream> to,
                std::shared_ptr<ProxyState> st, std::atomic<std::size_t> ProxyState::*forwarded) {
  std::vector<char> buf(16 * 1024);
  bool open = true;
  while (open) {
    absl::StatusOr<std::size_t> n = co_await from->read(std::span<char>(buf));
    if (!n.ok() || *n == 0) break;
    std::size_t off = 0;
    while (off < *n) {
      absl::StatusOr<std::size_t> w =
          co_await to->write(std::span<const char>(buf.data() + off, *n - off));
      if (!w.ok()) {
        open = false;
        break;
      }
      off += *w;
      (st.get()->*forwarded).fetch_add(*w);
    }
  }
  // Either side ending ends the connection (HTTP/1 clients never half-close).
  ::shutdown(from->raw_fd(), SHUT_RDWR);
  ::shutdown(to->raw_fd(), SHUT_RDWR);
}

Task<void> proxy_conn(net::TcpStream client, net::SocketAddr upstream,
                      std::shared_ptr<ProxyState> st) {
  Task<absl::StatusOr<net::TcpStream>> connect = net::TcpStream::connect(upstream);
  absl::StatusOr<net::TcpStream> up = co_await std::move(connect);
  if (!up.ok()) {
    st->closed.fetch_add(1);
    co_return;
  }
  auto a = std::make_shared<net::TcpStream>(std::move(client));
  auto b = std::make_shared<net::TcpStream>(*std::move(up));
  const int fd = a->raw_fd();
  {
    std::lock_guard<std::mutex> lock(st->mu);
    st->client_fds.push_back(fd);
  }
  JoinHandle<void> ab = weft::spawn(pump(a, b, st, &ProxyState::to_server));
  JoinHandle<void> ba = weft::spawn(pump(b, a, st, &ProxyState::to_client));
  (void)co_await ab;
  (void)co_await ba;
  {
    std::lock_guard<std::mutex> lock(st->mu);
    st->client_fds.erase(std::find(st->client_fds.begin(), st->client_fds.end(), fd));
  }
  st->closed.fetch_add(1);
}

Task<void> proxy_accept(std::shared_ptr<net::TcpListener> l, net::SocketAddr upstream,
                        std::shared_ptr<ProxyState> st) {
  for (;;) {
    Task<absl::StatusOr<std::pair<net::TcpStream, net::SocketAddr>>> accept = l->accept();
    absl::StatusOr<std::pair<net::TcpStream, net::SocketAddr>> c = co_await std::move(accept);
    if (!c.ok()) co_return;
    st->accepted.fetch_add(1);
    weft::spawn(proxy_conn(std::move(c->first), upstream, st));
  }
}

struct Proxy {
  std::shared_ptr<ProxyState> state = std::make_shared<ProxyState>();
  JoinHandle<void> task;
  uint16_t port = 0;
  std::string url(std::string_view path) const { return loopback_url(port, path); }
  ~Proxy() { task.abort(); }
};

std::unique_ptr<Proxy> start_proxy(uint16_t upstream_port) {
  absl::StatusOr<net::TcpListener> l = net::TcpListener::bind(net::SocketAddr::loopback_v4(0));
  if (!l.ok()) throw std::runtime_error(std::string(l.status().message()));
  auto p = std::make_unique<Proxy>();
  p->port = l->local_addr()->port();
  p->task = weft::spawn(proxy_accept(std::make_shared<net::TcpListener>(*std::move(l)),
                                     net::SocketAddr::loopback_v4(upstream_port), p->state));
  return p;
}

// Polls `pred` every 5 ms for up to 3 s (for effects that happen on other tasks' schedules:
// a socket closed by the peer, a background drain).
template <class Pred>
Task<bool> eventually(Pred pred) {
  const auto until = std::chrono::steady_clock::now() + 3s;
  for (;;) {
    if (pred()) co_return true;
    if (std::chrono::steady_clock::now() > until) co_return false;
    co_await weft::time::sleep(5ms);
  }
}

// ---- client helpers ----

struct Fetched {
  int status = 0;
  http::HeaderMap headers;
  std::string body;
};

Req make_req(http::Method m, std::string url, http::Body body = http::Body()) {
  Req req(std::move(body));
  req.method() = std::move(m);
  req.uri() = *http::Uri::parse(url);
  return req;
}

// Sends `req` and reads the whole response.
Task<absl::StatusOr<Fetched>> fetch(http::Client client, Req req) {
  Task<absl::StatusOr<Resp>> send = client.request(std::move(req));
  absl::StatusOr<Resp> r = co_await std::move(send);
  if (!r.ok()) co_return r.status();
  Task<absl::StatusOr<weft::io::Bytes>> collect = r->body().collect(64 << 20);
  absl::StatusOr<weft::io::Bytes> b = co_await std::move(collect);
  if (!b.ok()) co_return b.status();
  co_return Fetched{r->status().as_u16(), std::move(r->headers()), b->to_string()};
}

Task<absl::StatusOr<Fetched>> fetch_get(http::Client client, std::string url) {
  Task<absl::StatusOr<Fetched>> f =
      fetch(std::move(client), make_req(http::Method::GET, std::move(url)));
  absl::StatusOr<Fetched> r = co_await std::move(f);
  co_return r;
}

// Byte i of the test pattern (not periodic at any small power of two).
char pattern_at(uint64_t i) { return static_cast<char>(((i * 2654435761u) >> 13) ^ (i >> 20)); }

std::string pattern(uint64_t from, uint64_t n) {
  std::string s(n, '\0');
  for (uint64_t i = 0; i < n; ++i) s[i] = pattern_at(from + i);
  return s;
}

Task<absl::Status> produce_pattern(http::BodySender tx, uint64_t total, uint64_t frame) {
  for (uint64_t at = 0; at < total; at += frame) {
    Task<absl::Status> send =
        tx.send_data(weft::io::Bytes::from(pattern(at, std::min(frame, total - at))));
    absl::Status st = co_await std::move(send);
    if (!st.ok()) co_return st;
  }
  co_return absl::OkStatus();
}

// Reads `body` to its end, checking it is the pattern; the number of bytes.
Task<absl::StatusOr<uint64_t>> verify_pattern(http::Body* body) {
  uint64_t at = 0;
  for (;;) {
    Task<absl::StatusOr<std::optional<http::Frame>>> next = body->frame();
    absl::StatusOr<std::optional<http::Frame>> f = co_await std::move(next);
    if (!f.ok()) co_return f.status();
    if (!f->has_value()) break;
    const weft::io::Bytes& d = (*f)->data;
    for (std::size_t i = 0; i < d.size(); ++i) {
      if (d[i] != pattern_at(at + i)) {
        co_return absl::DataLossError(absl::StrCat("byte ", at + i, " differs"));
      }
    }
    at += d.size();
  }
  co_return at;
}

// A raw server: reads one request head off `s` (requests here have no body).
Task<absl::StatusOr<std::string>> read_request_head(net::TcpStream* s) {
  std::string got;
  char buf[4096];
  while (got.find("\r\n\r\n") == std::string::npos) {
    absl::StatusOr<std::size_t> n = co_await s->read(std::span<char>(buf));
    if (!n.ok()) co_return n.status();
    if (*n == 0) co_return absl::UnavailableError("client closed");
    got.append(buf, *n);
  }
  co_return got;
}

Task<absl::Status> write_str(net::TcpStream* s, std::string data) {
  std::size_t off = 0;
  while (off < data.size()) {
    absl::StatusOr<std::size_t> w =
        co_await s->write(std::span<const char>(data.data() + off, data.size() - off));
    if (!w.ok()) co_return w.status();
    off += *w;
  }
  co_return absl::OkStatus();
}

// Accepts one connection on `l`.
Task<absl::StatusOr<net::TcpStream>> accept_one(std::shared_ptr<net::TcpListener> l) {
  Task<absl::StatusOr<std::pair<net::TcpStream, net::SocketAddr>>> accept = l->accept();
  absl::StatusOr<std::pair<net::TcpStream, net::SocketAddr>> c = co_await std::move(accept);
  if (!c.ok()) co_return c.status();
  co_return std::move(c->first);
}

// Reads a request head off `s`, then writes `reply`; fails only if no request came (a failed
// write shows at the next read).
Task<absl::Status> answer(net::TcpStream* s, std::string reply) {
  Task<absl::StatusOr<std::string>> head = read_request_head(s);
  absl::StatusOr<std::string> h = co_await std::move(head);
  if (!h.ok()) co_return h.status();
  Task<absl::Status> w = write_str(s, std::move(reply));
  (void)co_await std::move(w);
  co_return absl::OkStatus();
}

// Accepts one connection, reads a request, writes `reply`, then closes (or, if `hold`, keeps
// the connection open until the client closes it).
Task<void> raw_reply(std::shared_ptr<net::TcpListener> l, std::string reply, bool hold) {
  Task<absl::StatusOr<net::TcpStream>> accept = accept_one(l);
  absl::StatusOr<net::TcpStream> s = co_await std::move(accept);
  if (!s.ok()) co_return;
  Task<absl::Status> answered = answer(&*s, std::move(reply));
  absl::Status st = co_await std::move(answered);
  if (!st.ok()) co_return;
  if (hold) {
    char buf[256];
    for (;;) {
      absl::StatusOr<std::size_t> n = co_await s->read(std::span<char>(buf));
      if (!n.ok() || *n == 0) break;
    }
  }
}

struct RawServer {
  std::shared_ptr<net::TcpListener> listener;
  uint16_t port = 0;
  std::string url(std::string_view path) const { return loopback_url(port, path); }
};

RawServer raw_server() {
  absl::StatusOr<net::TcpListener> l = net::TcpListener::bind(net::SocketAddr::loopback_v4(0));
  if (!l.ok()) throw std::runtime_error(std::string(l.status().message()));
  RawServer r;
  r.port = l->local_addr()->port();
  r.listener = std::make_shared<net::TcpListener>(*std::move(l));
  return r;
}

// A test body against a fresh server: reached directly (ServerTest) or through a counting proxy
// in front of it (ProxyTest).
using ServerTest = Task<absl::Status> (*)(TestServer*);
using ProxyTest = Task<absl::Status> (*)(Proxy*);

// Starts the server (and, for a ProxyTest, the proxy), runs the body, then always stops the
// server; the body's failure comes first.
Task<absl::Status> with_server(ServerTest direct, ProxyTest proxied) {
  absl::StatusOr<TestServer> ts = start_server();
  CO_REQUIRE_OK(ts);
  absl::Status st;
  {
    std::unique_ptr<Proxy> proxy;
    if (proxied != nullptr) proxy = start_proxy(ts->port);
    Task<absl::Status> body = proxied != nullptr ? proxied(proxy.get()) : direct(&*ts);
    st = co_await std::move(body);
  }  // the body's client and the proxy are gone before the server stops
  Task<absl::Status> stop = stop_server(&*ts);
  absl::Status stopped = co_await std::move(stop);
  if (!st.ok()) co_return st;
  co_return stopped;
}

Task<absl::Status> test_task(Task<absl::Status> (*test)()) { return test(); }
Task<absl::Status> test_task(ServerTest test) { return with_server(test, nullptr); }
Task<absl::Status> test_task(ProxyTest test) { return with_server(nullptr, test); }

// Runs a test task on a fresh runtime and checks its status on the test thread.
template <class Test>
void run(Test test, weft::testing::Flavor flavor = weft::testing::Flavor::kMultiThread) {
  weft::Runtime rt = weft::testing::make_runtime(flavor);
  absl::Status st = rt.block_on(test_task(test));
  BOOST_CHECK_MESSAGE(st.ok(), st.ToString());
}

// ---- tests ----

Task<absl::Status> get_hello(TestServer* ts) {
  http::Client client;
  CO_AWAIT_OK(r, client.get(ts->url("/")));
  WEFT_CO_CHECK(r->status() == http::StatusCode::OK);
  WEFT_CO_CHECK(r->version() == http::Version::kHttp11);
  const http::HeaderValue* ct = r->headers().get("content-type");
  WEFT_CO_CHECK(ct != nullptr && ct->as_str() == "text/plain");
  WEFT_CO_CHECK(r->body().size_hint() == std::optional<uint64_t>(13));
  CO_AWAIT_OK(b, r->body().collect(1024));
  WEFT_CO_CHECK(*b == "Hello, world!");
  WEFT_CO_CHECK(client.idle_connections() == 1);
  co_return absl::OkStatus();
}

Task<absl::Status> post_full_body(TestServer* ts) {
  http::Client client;
  CO_AWAIT_OK(r, client.post(ts->url("/echo"), http::Body("ping pong")));
  CO_AWAIT_OK(b, r->body().collect(1024));
  WEFT_CO_CHECK(*b == "ping pong");
  // The framing the server saw: content-length for full and empty POST/PUT bodies.
  const std::string furl = ts->url("/framing");
  CO_AWAIT_OK(r1, fetch(client, make_req(http::Method::POST, furl, "abc")));
  WEFT_CO_CHECK(r1->body == "cl=3 te=- body=3");
  CO_AWAIT_OK(r2, fetch(client, make_req(http::Method::PUT, furl)));
  WEFT_CO_CHECK(r2->body == "cl=0 te=- body=0");
  // A streamed body of unknown size goes out chunked.
  std::pair<http::BodySender, http::Body> ch = http::Body::channel(4);
  JoinHandle<absl::Status> producer =
      weft::spawn(produce_pattern(std::move(ch.first), 100'000, 30'000));
  CO_AWAIT_OK(r3, fetch(client, make_req(http::Method::POST, furl, std::move(ch.second))));
  WEFT_CO_CHECK(r3->body == "cl=- te=chunked body=100000");
  absl::StatusOr<absl::Status> produced = co_await producer;
  CO_REQUIRE_OK(produced);
  WEFT_CO_OK(*produced);
  co_return absl::OkStatus();
}

Task<absl::Status> streamed_echo_8mib(TestServer* ts) {
  http::Client client(http::ClientOptions{.request_timeout = 60s});
  constexpr uint64_t kTotal = 8 << 20;
  std::pair<http::BodySender, http::Body> ch = http::Body::channel(8);
  JoinHandle<absl::Status> producer =
      weft::spawn(produce_pattern(std::move(ch.first), kTotal, 64 * 1024));
  CO_AWAIT_OK(r,
              client.request(make_req(http::Method::POST, ts->url("/echo"), std::move(ch.second))));
  // Sent chunked (size unknown), so echoed chunked.
  const http::HeaderValue* te = r->headers().get("transfer-encoding");
  WEFT_CO_CHECK(te != nullptr && te->as_str() == "chunked");
  CO_AWAIT_OK(n, verify_pattern(&r->body()));
  WEFT_CO_CHECK(*n == kTotal);
  absl::StatusOr<absl::Status> produced = co_await producer;
  CO_REQUIRE_OK(produced);
  WEFT_CO_OK(*produced);
  // Both directions ended cleanly: the connection is reusable.
  CO_EVENTUALLY([&] { return client.idle_connections() == 1; });
  co_return absl::OkStatus();
}

Task<absl::Status> full_echo_8mib(TestServer* ts) {
  http::Client client(http::ClientOptions{.request_timeout = 60s});
  constexpr uint64_t kTotal = 8 << 20;
  CO_AWAIT_OK(r, client.request(make_req(http::Method::POST, ts->url("/echo"),
                                         http::Body(pattern(0, kTotal)))));
  WEFT_CO_CHECK(r->body().size_hint() == std::optional<uint64_t>(kTotal));  // content-length
  CO_AWAIT_OK(n, verify_pattern(&r->body()));
  WEFT_CO_CHECK(*n == kTotal);
  CO_EVENTUALLY([&] { return client.idle_connections() == 1; });
  co_return absl::OkStatus();
}

Task<absl::Status> chunked_response_and_trailers(TestServer* ts) {
  http::Client client;
  CO_AWAIT_OK(r, fetch_get(client, ts->url("/stream?n=5")));
  WEFT_CO_CHECK(r->body == "chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n");
  WEFT_CO_CHECK(r->headers.get("content-length") == nullptr);

  CO_AWAIT_OK(t, client.get(ts->url("/trailers")));
  std::string data;
  std::optional<http::HeaderMap> trailers;
  for (;;) {
    CO_AWAIT_OK(fr, t->body().frame());
    if (!fr->has_value()) break;
    if ((*fr)->is_data()) {
      data += (*fr)->data.to_string();
    } else {
      trailers = std::move((*fr)->trailers);
    }
  }
  WEFT_CO_CHECK(data == "abc");
  WEFT_CO_CHECK(trailers.has_value());
  const http::HeaderValue* sum = trailers->get("x-checksum");
  WEFT_CO_CHECK(sum != nullptr && sum->as_str() == "123");
  WEFT_CO_CHECK(client.idle_connections() == 1);  // one connection for both, kept
  co_return absl::OkStatus();
}

// n GETs of `url` one after another, each answered "Hello, world!".
Task<absl::Status> get_hello_times(http::Client client, std::string url, int n) {
  for (int i = 0; i < n; ++i) {
    Task<absl::StatusOr<Fetched>> f = fetch_get(client, url);
    absl::StatusOr<Fetched> r = co_await std::move(f);
    if (!r.ok()) co_return r.status();
    if (r->body != "Hello, world!") co_return absl::InternalError("wrong body");
  }
  co_return absl::OkStatus();
}

Task<absl::Status> keep_alive_reuse(Proxy* proxy) {
  http::Client client;
  Task<absl::Status> gets = get_hello_times(client, proxy->url("/"), 5);
  absl::Status got = co_await std::move(gets);
  WEFT_CO_OK(got);
  // HEAD (no body despite its content-length) and 204 keep the connection too.
  CO_AWAIT_OK(head, fetch(client, make_req(http::Method::HEAD, proxy->url("/"))));
  WEFT_CO_CHECK(head->status == 200 && head->body.empty());
  const http::HeaderValue* cl = head->headers.get("content-length");
  WEFT_CO_CHECK(cl != nullptr && cl->as_str() == "13");
  CO_AWAIT_OK(nc, fetch_get(client, proxy->url("/204")));
  WEFT_CO_CHECK(nc->status == 204 && nc->body.empty());
  // The Host header comes from the URI.
  CO_AWAIT_OK(hv, fetch_get(client, proxy->url("/host")));
  WEFT_CO_CHECK(hv->body == absl::StrCat("127.0.0.1:", proxy->port));
  WEFT_CO_CHECK(proxy->state->accepted.load() == 1);
  WEFT_CO_CHECK(client.idle_connections() == 1);
  // A copy of the client shares the pool.
  http::Client copy = client;
  CO_AWAIT_OK(cr, fetch_get(copy, proxy->url("/")));
  WEFT_CO_CHECK(proxy->state->accepted.load() == 1);
  co_return absl::OkStatus();
}

// n concurrent GETs of `url` (each holding its connection for the handler's delay).
Task<absl::Status> concurrent_gets(http::Client client, std::string url, int n) {
  std::vector<JoinHandle<absl::StatusOr<Fetched>>> hs;
  for (int i = 0; i < n; ++i) hs.push_back(weft::spawn(fetch_get(client, url)));
  for (JoinHandle<absl::StatusOr<Fetched>>& h : hs) {
    absl::StatusOr<absl::StatusOr<Fetched>> r = co_await h;
    CO_REQUIRE_OK(r);
    CO_REQUIRE_OK(*r);
    WEFT_CO_CHECK((*r)->body == "done");
  }
  co_return absl::OkStatus();
}

Task<absl::Status> max_idle_per_host(Proxy* proxy) {
  http::Client client(http::ClientOptions{.max_idle_per_host = 2});
  {
    Task<absl::Status> gets = concurrent_gets(client, proxy->url("/delay?ms=200"), 4);
    absl::Status st = co_await std::move(gets);
    WEFT_CO_OK(st);
  }
  WEFT_CO_CHECK(proxy->state->accepted.load() == 4);
  WEFT_CO_CHECK(client.idle_connections() == 2);
  // The two returned beyond the limit were closed.
  CO_EVENTUALLY([&] { return proxy->state->closed.load() == 2; });
  {
    Task<absl::Status> gets = concurrent_gets(client, proxy->url("/delay?ms=200"), 4);
    absl::Status st = co_await std::move(gets);
    WEFT_CO_OK(st);
  }
  WEFT_CO_CHECK(proxy->state->accepted.load() == 6);  // two reused, two new
  WEFT_CO_CHECK(client.idle_connections() == 2);

  // No pooling at all.
  http::Client unpooled(http::ClientOptions{.max_idle_per_host = 0});
  for (int i = 0; i < 2; ++i) {
    CO_AWAIT_OK(r, fetch_get(unpooled, proxy->url("/")));
  }
  WEFT_CO_CHECK(proxy->state->accepted.load() == 8);
  WEFT_CO_CHECK(unpooled.idle_connections() == 0);
  co_return absl::OkStatus();
}

Task<absl::Status> idle_expiry(Proxy* proxy) {
  http::Client client(http::ClientOptions{.idle_timeout = 200ms});
  const auto start = std::chrono::steady_clock::now();
  CO_AWAIT_OK(r, fetch_get(client, proxy->url("/")));
  WEFT_CO_CHECK(client.idle_connections() == 1);
  // The reaper closes it once expired (not before), without any further request.
  CO_EVENTUALLY([&] { return proxy->state->closed.load() == 1; });
  WEFT_CO_CHECK(std::chrono::steady_clock::now() - start >= 200ms);
  WEFT_CO_CHECK(client.idle_connections() == 0);
  CO_AWAIT_OK(r2, fetch_get(client, proxy->url("/")));
  WEFT_CO_CHECK(proxy->state->accepted.load() == 2);
  co_return absl::OkStatus();
}

Task<absl::Status> server_closes_pooled_connection(Proxy* proxy) {
  http::Client client;
  for (int round = 0; round < 3; ++round) {
    CO_AWAIT_OK(r, fetch_get(client, proxy->url("/")));
    WEFT_CO_CHECK(r->body == "Hello, world!");
    WEFT_CO_CHECK(client.idle_connections() == 1);
    // The server side closes the idle connection; the next request still succeeds, on a
    // new connection (the closed one is detected on checkout, or retried).
    proxy->state->cut_all();
  }
  WEFT_CO_CHECK(proxy->state->accepted.load() == 3);
  co_return absl::OkStatus();
}

// A server that answers one request on a keep-alive connection, then reads the second request
// and closes without answering (it closed the idle connection just as the request came); the
// next connection gets "retry".
Task<void> closes_after_first(std::shared_ptr<net::TcpListener> l,
                              std::shared_ptr<std::atomic<int>> accepted) {
  Task<absl::StatusOr<net::TcpStream>> a1 = accept_one(l);
  absl::StatusOr<net::TcpStream> c1 = co_await std::move(a1);
  if (!c1.ok()) co_return;
  accepted->fetch_add(1);
  {
    net::TcpStream s = *std::move(c1);
    Task<absl::Status> w = answer(&s, "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    absl::Status answered = co_await std::move(w);
    if (!answered.ok()) co_return;
    Task<absl::StatusOr<std::string>> h2 = read_request_head(&s);
    (void)co_await std::move(h2);
  }  // closed, the second request unanswered
  for (;;) {
    Task<absl::StatusOr<net::TcpStream>> a2 = accept_one(l);
    absl::StatusOr<net::TcpStream> c2 = co_await std::move(a2);
    if (!c2.ok()) co_return;
    accepted->fetch_add(1);
    Task<absl::Status> w =
        answer(&*c2, "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 5\r\n\r\nretry");
    (void)co_await std::move(w);
  }
}

Task<absl::Status> retry_on_closed_pooled_connection() {
  RawServer raw = raw_server();
  auto accepted = std::make_shared<std::atomic<int>>(0);
  JoinHandle<void> server = weft::spawn(closes_after_first(raw.listener, accepted));
  http::Client client;
  CO_AWAIT_OK(r1, fetch_get(client, raw.url("/")));
  WEFT_CO_CHECK(r1->body == "ok");
  WEFT_CO_CHECK(client.idle_connections() == 1);
  CO_AWAIT_OK(r2, fetch_get(client, raw.url("/")));
  WEFT_CO_CHECK(r2->body == "retry");
  WEFT_CO_CHECK(accepted->load() == 2);
  server.abort();
  co_return absl::OkStatus();
}

// A POST that may have reached the server is not sent twice.
Task<absl::Status> no_retry_for_post() {
  RawServer raw = raw_server();
  auto accepted = std::make_shared<std::atomic<int>>(0);
  JoinHandle<void> server = weft::spawn(closes_after_first(raw.listener, accepted));
  http::Client client;
  CO_AWAIT_OK(r1, fetch_get(client, raw.url("/")));
  Task<absl::StatusOr<Fetched>> f2 = fetch(client, make_req(http::Method::POST, raw.url("/"), "x"));
  absl::StatusOr<Fetched> r2 = co_await std::move(f2);
  WEFT_CO_CHECK(absl::IsUnavailable(r2.status()));
  WEFT_CO_CHECK(absl::StrContains(r2.status().message(), "closed before the response head"));
  WEFT_CO_CHECK(accepted->load() == 1);
  server.abort();
  co_return absl::OkStatus();
}

Task<absl::Status> connect_refused() {
  uint16_t port = 0;
  {
    absl::StatusOr<net::TcpListener> l = net::TcpListener::bind(net::SocketAddr::loopback_v4(0));
    CO_REQUIRE_OK(l);
    port = l->local_addr()->port();
  }  // closed: nothing listens there now
  http::Client client;
  Task<absl::StatusOr<Resp>> send = client.get(loopback_url(port, "/"));
  absl::StatusOr<Resp> r = co_await std::move(send);
  WEFT_CO_CHECK(absl::IsUnavailable(r.status()));
  WEFT_CO_CHECK(absl::StrContains(r.status().message(), "refused"));
  co_return absl::OkStatus();
}

Task<absl::Status> request_timeout(Proxy* proxy) {
  http::Client client(http::ClientOptions{.request_timeout = 200ms});
  const auto start = std::chrono::steady_clock::now();
  Task<absl::StatusOr<Resp>> send = client.get(proxy->url("/delay?ms=3000"));
  absl::StatusOr<Resp> r = co_await std::move(send);
  const auto took = std::chrono::steady_clock::now() - start;
  WEFT_CO_CHECK(absl::IsDeadlineExceeded(r.status()));
  WEFT_CO_CHECK(absl::StrContains(r.status().message(), "timed out after 200 ms"));
  WEFT_CO_CHECK(took >= 200ms && took < 2s);
  WEFT_CO_CHECK(client.idle_connections() == 0);
  CO_EVENTUALLY([&] { return proxy->state->closed.load() == 1; });

  // The timeout covers the body too: the head arrives, the body stalls.
  CO_AWAIT_OK(r2, client.get(proxy->url("/stall?ms=3000")));
  CO_AWAIT_OK(f1, r2->body().frame());
  WEFT_CO_CHECK(f1->has_value() && (*f1)->data == "first");
  Task<absl::StatusOr<std::optional<http::Frame>>> second = r2->body().frame();
  absl::StatusOr<std::optional<http::Frame>> f2 = co_await std::move(second);
  WEFT_CO_CHECK(absl::IsDeadlineExceeded(f2.status()));
  WEFT_CO_CHECK(std::chrono::steady_clock::now() - start < 3s);
  WEFT_CO_CHECK(client.idle_connections() == 0);
  co_return absl::OkStatus();
}

Task<absl::Status> malformed_response() {
  RawServer raw = raw_server();
  JoinHandle<void> server = weft::spawn(raw_reply(raw.listener, "this is not http\r\n\r\n", false));
  http::Client client;
  Task<absl::StatusOr<Resp>> send = client.get(raw.url("/"));
  absl::StatusOr<Resp> r = co_await std::move(send);
  WEFT_CO_CHECK(absl::IsInternal(r.status()));
  WEFT_CO_CHECK(absl::StrContains(r.status().message(), "malformed HTTP/1 response"));
  WEFT_CO_CHECK(client.idle_connections() == 0);
  (void)co_await server;

  // A head over the limit.
  JoinHandle<void> server2 = weft::spawn(raw_reply(
      raw.listener, absl::StrCat("HTTP/1.1 200 OK\r\nx-big: ", std::string(2000, 'a'), "\r\n\r\n"),
      false));
  http::Client small(http::ClientOptions{.max_response_head_bytes = 1024});
  Task<absl::StatusOr<Resp>> send2 = small.get(raw.url("/"));
  absl::StatusOr<Resp> r2 = co_await std::move(send2);
  WEFT_CO_CHECK(absl::IsResourceExhausted(r2.status()));
  (void)co_await server2;
  co_return absl::OkStatus();
}

Task<absl::Status> response_cut_short() {
  RawServer raw = raw_server();
  http::Client client;
  // Content-Length framed.
  JoinHandle<void> s1 = weft::spawn(
      raw_reply(raw.listener, "HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789", false));
  CO_AWAIT_OK(r, client.get(raw.url("/")));  // the head is fine
  Task<absl::StatusOr<weft::io::Bytes>> collect = r->body().collect(1 << 20);
  absl::StatusOr<weft::io::Bytes> b = co_await std::move(collect);
  WEFT_CO_CHECK(absl::IsUnavailable(b.status()));
  WEFT_CO_CHECK(absl::StrContains(b.status().message(), "before the response body ended"));
  (void)co_await s1;
  // Chunked, cut inside a chunk.
  JoinHandle<void> s2 = weft::spawn(raw_reply(
      raw.listener, "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nab", false));
  Task<absl::StatusOr<Fetched>> f = fetch_get(client, raw.url("/"));
  absl::StatusOr<Fetched> r2 = co_await std::move(f);
  WEFT_CO_CHECK(absl::IsUnavailable(r2.status()));
  (void)co_await s2;
  // Delimited by the close (no length, HTTP/1.0 style): complete, not an error, not pooled.
  JoinHandle<void> s3 =
      weft::spawn(raw_reply(raw.listener, "HTTP/1.1 200 OK\r\n\r\nuntil the end", false));
  CO_AWAIT_OK(r3, fetch_get(client, raw.url("/")));
  WEFT_CO_CHECK(r3->body == "until the end");
  WEFT_CO_CHECK(client.idle_connections() == 0);
  (void)co_await s3;
  co_return absl::OkStatus();
}

Task<absl::Status> interim_responses_skipped() {
  RawServer raw = raw_server();
  JoinHandle<void> server = weft::spawn(
      raw_reply(raw.listener,
                "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\n"
                "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
                true));
  http::Client client;
  CO_AWAIT_OK(r, fetch_get(client, raw.url("/")));
  WEFT_CO_CHECK(r->status == 200 && r->body == "ok");
  WEFT_CO_CHECK(r->headers.get("link") == nullptr);
  WEFT_CO_CHECK(client.idle_connections() == 1);
  server.abort();
  co_return absl::OkStatus();
}

Task<absl::Status> dropped_bodies(Proxy* proxy) {
  http::Client client;
  // Small and already buffered: the connection is kept at once.
  { CO_AWAIT_OK(r, client.get(proxy->url("/"))); }
  WEFT_CO_CHECK(client.idle_connections() == 1);
  // A small known rest (40 KB) is drained in the background.
  { CO_AWAIT_OK(r, client.get(proxy->url("/big?n=40000"))); }
  CO_EVENTUALLY([&] { return client.idle_connections() == 1; });
  WEFT_CO_CHECK(proxy->state->accepted.load() == 1);
  // A large rest closes the connection.
  {
    CO_AWAIT_OK(r, client.get(proxy->url("/big?n=4000000")));
    CO_AWAIT_OK(f, r->body().frame());
  }
  WEFT_CO_CHECK(client.idle_connections() == 0);
  CO_EVENTUALLY([&] { return proxy->state->closed.load() == 1; });
  // So does an unread chunked body.
  { CO_AWAIT_OK(r, client.get(proxy->url("/stream?n=100000"))); }
  WEFT_CO_CHECK(client.idle_connections() == 0);
  CO_EVENTUALLY([&] { return proxy->state->closed.load() == 2; });
  CO_AWAIT_OK(r, fetch_get(client, proxy->url("/")));
  WEFT_CO_CHECK(proxy->state->accepted.load() == 3);
  co_return absl::OkStatus();
}

Task<absl::Status> cancelled_request_closes_connection(Proxy* proxy) {
  http::Client client;
  // Cancelled while waiting for the head.
  JoinHandle<absl::StatusOr<Fetched>> h =
      weft::spawn(fetch_get(client, proxy->url("/delay?ms=2000")));
  CO_EVENTUALLY([&] { return proxy->state->to_server.load() > 0; });  // the server has it
  h.abort();
  absl::StatusOr<absl::StatusOr<Fetched>> r = co_await h;
  WEFT_CO_CHECK(absl::IsCancelled(r.status()));
  WEFT_CO_CHECK(client.idle_connections() == 0);
  CO_EVENTUALLY([&] { return proxy->state->closed.load() == 1; });
  // Cancelled while streaming a request body (the writer task goes too).
  std::pair<http::BodySender, http::Body> ch = http::Body::channel(2);
  const std::size_t answered_before = proxy->state->to_client.load();
  JoinHandle<absl::StatusOr<Fetched>> h2 = weft::spawn(
      fetch(client, make_req(http::Method::POST, proxy->url("/echo"), std::move(ch.second))));
  Task<absl::Status> send_first = ch.first.send_data(weft::io::Bytes::from(std::string(1000, 'x')));
  absl::Status sent = co_await std::move(send_first);
  WEFT_CO_OK(sent);
  // The echo is under way: its answer has started coming back.
  CO_EVENTUALLY([&] { return proxy->state->to_client.load() > answered_before; });
  h2.abort();
  (void)co_await h2;
  CO_EVENTUALLY([&] { return proxy->state->closed.load() == 2; });
  // The sender learns that nobody reads any more.
  absl::Status after = absl::OkStatus();
  for (int i = 0; i < 10 && after.ok(); ++i) {
    Task<absl::Status> more = ch.first.send_data(weft::io::Bytes::from(std::string(10, 'x')));
    after = co_await std::move(more);
  }
  WEFT_CO_CHECK(!after.ok());
  WEFT_CO_CHECK(client.idle_connections() == 0);
  CO_AWAIT_OK(ok, fetch_get(client, proxy->url("/")));
  WEFT_CO_CHECK(proxy->state->accepted.load() == 3);
  co_return absl::OkStatus();
}

Task<absl::Status> request_body_error(TestServer* ts) {
  http::Client client;
  std::pair<http::BodySender, http::Body> ch = http::Body::channel(2);
  ch.first.abort(absl::DataLossError("producer broke"));
  Task<absl::StatusOr<Fetched>> f =
      fetch(client, make_req(http::Method::POST, ts->url("/echo"), std::move(ch.second)));
  absl::StatusOr<Fetched> r = co_await std::move(f);
  WEFT_CO_CHECK(!r.ok());
  WEFT_CO_CHECK(absl::StrContains(r.status().message(), "producer broke"));
  WEFT_CO_CHECK(client.idle_connections() == 0);
  co_return absl::OkStatus();
}

Task<absl::Status> many_tasks_share_a_client(Proxy* proxy) {
  http::Client client;
  constexpr int kTasks = 8;
  std::vector<JoinHandle<absl::Status>> hs;
  for (int t = 0; t < kTasks; ++t) {
    hs.push_back(weft::spawn(get_hello_times(client, proxy->url("/"), 20)));
  }
  for (JoinHandle<absl::Status>& h : hs) {
    absl::StatusOr<absl::Status> r = co_await h;
    CO_REQUIRE_OK(r);
    WEFT_CO_OK(*r);
  }
  WEFT_CO_CHECK(proxy->state->accepted.load() <= kTasks);
  WEFT_CO_CHECK(client.idle_connections() ==
                static_cast<std::size_t>(proxy->state->accepted.load()));
  co_return absl::OkStatus();
}

Task<absl::Status> as_tower_service(TestServer* ts) {
  http::Client client;
  CO_AWAIT_OK(r, weft::tower::oneshot(client, make_req(http::Method::GET, ts->url("/"))));
  WEFT_CO_CHECK(r->status() == http::StatusCode::OK);
  co_return absl::OkStatus();
}

Task<absl::Status> dns_and_bad_uris(TestServer* ts) {
  http::Client client;
  CO_AWAIT_OK(r, fetch_get(client, absl::StrCat("http://localhost:", ts->port, "/host")));
  WEFT_CO_CHECK(r->body == absl::StrCat("localhost:", ts->port));

  Task<absl::StatusOr<Resp>> s1 = client.get("https://127.0.0.1/");
  absl::StatusOr<Resp> https = co_await std::move(s1);
  WEFT_CO_CHECK(absl::IsUnimplemented(https.status()));
  WEFT_CO_CHECK(absl::StrContains(https.status().message(), "https"));
  Task<absl::StatusOr<Resp>> s2 = client.get("/relative");
  absl::StatusOr<Resp> relative = co_await std::move(s2);
  WEFT_CO_CHECK(absl::IsInvalidArgument(relative.status()));
  Task<absl::StatusOr<Resp>> s3 = client.get("http://bad host/");
  absl::StatusOr<Resp> bad = co_await std::move(s3);
  WEFT_CO_CHECK(absl::IsInvalidArgument(bad.status()));
  Task<absl::StatusOr<Resp>> s4 = client.get("ftp://127.0.0.1/");
  absl::StatusOr<Resp> ftp = co_await std::move(s4);
  WEFT_CO_CHECK(absl::IsInvalidArgument(ftp.status()));
  co_return absl::OkStatus();
}

}  // namespace

BOOST_AUTO_TEST_CASE(get_returns_status_headers_and_body) { run(&get_hello); }
BOOST_AUTO_TEST_CASE(get_on_current_thread_runtime) {
  run(&get_hello, weft::testing::Flavor::kCurrentThread);
}
BOOST_AUTO_TEST_CASE(post_full_body_is_echoed) { run(&post_full_body); }
BOOST_AUTO_TEST_CASE(streamed_8mib_echo_both_ways_does_not_deadlock) { run(&streamed_echo_8mib); }
BOOST_AUTO_TEST_CASE(full_8mib_body_is_written_while_the_response_is_read) { run(&full_echo_8mib); }
BOOST_AUTO_TEST_CASE(chunked_response_with_trailers) { run(&chunked_response_and_trailers); }
BOOST_AUTO_TEST_CASE(keep_alive_reuses_one_connection) { run(&keep_alive_reuse); }
BOOST_AUTO_TEST_CASE(max_idle_per_host_is_enforced) { run(&max_idle_per_host); }
BOOST_AUTO_TEST_CASE(idle_connections_expire) { run(&idle_expiry); }
BOOST_AUTO_TEST_CASE(server_closing_a_pooled_connection_is_survived) {
  run(&server_closes_pooled_connection);
}
BOOST_AUTO_TEST_CASE(request_on_a_just_closed_pooled_connection_is_retried) {
  run(&retry_on_closed_pooled_connection);
}
BOOST_AUTO_TEST_CASE(post_is_not_retried_once_written) { run(&no_retry_for_post); }
BOOST_AUTO_TEST_CASE(connect_refused_is_unavailable) { run(&connect_refused); }
BOOST_AUTO_TEST_CASE(request_timeout_is_deadline_exceeded) { run(&request_timeout); }
BOOST_AUTO_TEST_CASE(malformed_response_is_an_error) { run(&malformed_response); }
BOOST_AUTO_TEST_CASE(response_cut_short_fails_the_body) { run(&response_cut_short); }
BOOST_AUTO_TEST_CASE(interim_1xx_responses_are_skipped) { run(&interim_responses_skipped); }
BOOST_AUTO_TEST_CASE(dropped_bodies_keep_or_close_the_connection) { run(&dropped_bodies); }
BOOST_AUTO_TEST_CASE(cancelled_request_never_returns_its_connection) {
  run(&cancelled_request_closes_connection);
}
BOOST_AUTO_TEST_CASE(request_body_error_fails_the_request) { run(&request_body_error); }
BOOST_AUTO_TEST_CASE(many_tasks_share_one_client) { run(&many_tasks_share_a_client); }
BOOST_AUTO_TEST_CASE(client_is_a_tower_service) { run(&as_tower_service); }
BOOST_AUTO_TEST_CASE(dns_lookup_and_bad_uris) { run(&dns_and_bad_uris); }
