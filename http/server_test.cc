// http::Server against hostile and real clients. An in-process server on 127.0.0.1:0 runs on
// its own thread (a test runtime of each flavour that makes sense); the test thread drives it
// with raw blocking sockets (exact bytes out, the exact answer back) and with curl.
//
// Handlers report to the test thread through a Probe of atomics; Boost.Test assertions stay on
// the test thread. Waits are bounded (http::testing::kLimit); the only timed waits are where
// time is the behaviour under test (timeouts, /delay).
#define BOOST_TEST_MODULE server_test
#include "weft/http/server.h"

#include <poll.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weft/http/body.h"
#include "weft/http/header_map.h"
#include "weft/http/header_name.h"
#include "weft/http/header_value.h"
#include "weft/http/router.h"
#include "weft/http/status_code.h"
#include "weft/http/testing/raw_client.h"
#include "weft/http/upgrade.h"
#include "weft/runtime/io/bytes.h"
#include "weft/runtime/io/read_write.h"
#include "weft/runtime/net/socket_addr.h"
#include "weft/runtime/runtime.h"
#include "weft/runtime/sync/notify.h"
#include "weft/runtime/task/header.h"
#include "weft/runtime/testing/test_runtime.h"
#include "weft/runtime/testing/thread_helpers.h"
#include "weft/runtime/time/sleep.h"
#include "weft/runtime/time/timeout.h"

namespace http = weft::http;
using weft::Task;
using Req = http::Request<http::Body>;
using Resp = http::Response<http::Body>;
using Result = absl::StatusOr<Resp>;
using http::testing::CurlResult;
using http::testing::get_request;
using http::testing::kLimit;
using http::testing::post_request;
using http::testing::RawConn;
using http::testing::RawResponse;
using http::testing::roundtrip;
using http::testing::run_curl;
using http::testing::url;
using http::testing::without_date;
using weft::testing::Flavor;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

// ---------------------------------------------------------------------------------------------
// Handlers

// What the handlers tell the test thread.
struct Probe {
  std::atomic<int> started{0};      // /gate and /forever calls that have begun
  std::atomic<int> finished{0};     // /gate calls that have answered
  weft::sync::Notify gate;          // notify_one() releases /gate (kept as a permit if early)
  std::atomic<int> cancelled{0};    // /forever frames destroyed
  std::atomic<int> delaying{0};     // /delay calls that have begun
  std::atomic<uint64_t> frames{0};  // request-body data frames seen by /echo and /count
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> max_frame{0};

  void record(uint64_t n) {
    frames.fetch_add(1);
    bytes.fetch_add(n);
    uint64_t m = max_frame.load();
    while (n > m && !max_frame.compare_exchange_weak(m, n)) {
    }
  }
};

Resp text(std::string body) {
  Resp r(http::Body(std::move(body)));
  r.headers().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain"));
  return r;
}

uint64_t query_u64(const Req& req, std::string_view key, uint64_t dflt) {
  std::optional<std::string> v = req.uri().query_param(key);
  return v.has_value() ? std::strtoull(v->c_str(), nullptr, 10) : dflt;
}

// Passes a body through frame by frame, recording each data frame's size.
class CountingSource final : public http::BodySource {
 public:
  CountingSource(http::Body inner, Probe* probe) : inner_(std::move(inner)), probe_(probe) {}
  Task<absl::StatusOr<std::optional<http::Frame>>> next_frame() override {
    absl::StatusOr<std::optional<http::Frame>> f = co_await inner_.frame();
    if (f.ok() && f->has_value() && (*f)->is_data()) probe_->record((*f)->data.size());
    co_return f;
  }
  std::optional<uint64_t> size_hint() const override { return inner_.size_hint(); }
  bool is_end_stream() const override { return inner_.is_end_stream(); }

 private:
  http::Body inner_;
  Probe* probe_;
};

Task<Result> hello(Req) { co_return text("Hello, world!"); }

// The request target back.
Task<Result> path(Req req) { co_return text(req.uri().path_and_query()); }

// Synchronous: how many coroutine frames this thread has allocated so far.
Result frames_so_far(Req) {
  return text(std::to_string(weft::detail::frame_cache_stats().allocations));
}

// The body streams back as it arrives; the content-type is echoed.
Task<Result> echo(Req req, Probe& probe) {
  Resp r(http::Body::from_source(
      std::make_shared<CountingSource>(std::move(req).into_body(), &probe)));
  if (const http::HeaderValue* ct = req.headers().get("content-type")) {
    r.headers().insert(http::header::CONTENT_TYPE, *ct);
  }
  co_return r;
}

// Reads the whole body first, then answers with it (content-length framed).
Task<Result> collect(Req req) {
  absl::StatusOr<weft::io::Bytes> all = co_await req.body().collect(16 << 20);
  if (!all.ok()) co_return all.status();
  co_return Resp(http::Body::full(*std::move(all)));
}

// Reads the body frame by frame: "bytes=N trailers=name:value,...".
Task<Result> count(Req req, Probe& probe) {
  uint64_t bytes = 0;
  std::string trailers;
  for (;;) {
    absl::StatusOr<std::optional<http::Frame>> f = co_await req.body().frame();
    if (!f.ok()) co_return f.status();
    if (!f->has_value()) break;
    if ((*f)->is_data()) {
      bytes += (*f)->data.size();
      probe.record((*f)->data.size());
      continue;
    }
    for (const auto& e : *(*f)->trailers) {
      trailers += (trailers.empty() ? "" : ",") + std::string(e.name.as_str()) + ":" +
                  std::string(e.value.as_str());
    }
  }
  co_return text("bytes=" + std::to_string(bytes) + " trailers=" + trailers);
}

// Answers without looking at the body.
Task<Result> reject(Req) {
  Resp r = text("rejected\n");
  r.status() = http::StatusCode::FORBIDDEN;
  co_return r;
}

Task<void> produce(http::BodySender tx, uint64_t n, bool trailer) {
  for (uint64_t i = 0; i < n; ++i) {
    absl::Status st =
        co_await tx.send_data(weft::io::Bytes::from("chunk " + std::to_string(i) + "\n"));
    if (!st.ok()) co_return;
  }
  if (trailer) {
    http::HeaderMap t;
    t.append(http::HeaderName::from_static("x-chunks"), http::HeaderValue::from_integer(n));
    (void)co_await tx.send_trailers(std::move(t));
  }
}

// n chunks "chunk i\n" through Body::channel, then trailer x-chunks: n if trailer=1.
Task<Result> stream(Req req) {
  auto [tx, body] = http::Body::channel(4);
  weft::spawn(produce(std::move(tx), query_u64(req, "n", 3), query_u64(req, "trailer", 0) == 1));
  Resp r(std::move(body));
  r.headers().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain"));
  co_return r;
}

Task<Result> delay(Req req, Probe& probe) {
  probe.delaying.fetch_add(1);
  co_await weft::time::sleep(std::chrono::milliseconds(query_u64(req, "ms", 0)));
  co_return text("done");
}

// In flight until the test opens the gate (bounded by kLimit).
Task<void> wait_for_gate(Probe* probe) { co_await probe->gate.notified(); }
Task<Result> gate(Req, Probe& probe) {
  probe.started.fetch_add(1);
  Task<absl::Status> opened = weft::time::timeout(kLimit, wait_for_gate(&probe));
  (void)co_await std::move(opened);
  probe.finished.fetch_add(1);
  co_return text("released");
}

// Never answers; counts its own destruction (cancellation).
Task<Result> forever(Req, Probe& probe) {
  struct Cancelled {
    Probe* p;
    ~Cancelled() { p->cancelled.fetch_add(1); }
  } guard{&probe};
  probe.started.fetch_add(1);
  co_await weft::time::sleep(std::chrono::hours(1));
  co_return text("unreachable");
}

// Fails with the absl status code `code`, with a message that must not reach the client.
Task<Result> error(Req req) {
  co_return absl::Status(static_cast<absl::StatusCode>(query_u64(req, "code", 13)),
                         "secret detail");
}

Task<Result> throws(Req) {
  throw std::runtime_error("secret detail");
  co_return text("unreachable");
}

// Throws inside the service's call() itself, before any task exists.
Result throws_at_once(Req) { throw std::runtime_error("secret detail"); }

// Asks the server to close the connection after this answer.
Task<Result> close_after(Req) {
  Resp r = text("bye\n");
  r.headers().insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
  co_return r;
}

// Echoes over the upgraded connection: first the bytes read ahead, then whatever comes.
Task<void> upgraded_echo(http::OnUpgrade on) {
  absl::StatusOr<http::Upgraded> u = co_await on.wait();
  if (!u.ok()) co_return;
  std::string ahead = u->read_ahead.to_string();
  if (!ahead.empty()) {
    Task<absl::Status> w = weft::io::write_all(u->stream, std::span<const char>(ahead));
    if (!(co_await std::move(w)).ok()) co_return;
  }
  char buf[256];
  for (;;) {
    absl::StatusOr<std::size_t> n = co_await u->stream.read(std::span<char>(buf));
    if (!n.ok() || *n == 0) co_return;
    Task<absl::Status> w = weft::io::write_all(u->stream, std::span<const char>(buf, *n));
    if (!(co_await std::move(w)).ok()) co_return;
  }
}

// 101 + echo when the request asks to upgrade to "echo"; 400 otherwise (closing after it).
Task<Result> upgrade(Req req) {
  std::optional<http::OnUpgrade> on = http::on_upgrade(req);
  const http::HeaderValue* proto = req.headers().get("upgrade");
  if (!on.has_value() || proto == nullptr || proto->as_str() != "echo") {
    Resp r = text("no upgrade\n");
    r.status() = http::StatusCode::BAD_REQUEST;
    co_return r;
  }
  weft::spawn(upgraded_echo(std::move(*on)));
  Resp r(http::StatusCode::SWITCHING_PROTOCOLS, http::Body());
  r.headers().insert(http::header::UPGRADE, http::HeaderValue::from_static("echo"));
  co_return r;
}

http::Router make_router(std::shared_ptr<Probe> probe) {
  http::Router r;
  r.with_state(std::move(probe))
      .get("/", &hello)
      .get("/path", &path)
      .get("/frames", &frames_so_far)
      .post("/echo", &echo)
      .post("/collect", &collect)
      .post("/count", &count)
      .post("/reject", &reject)
      .get("/stream", &stream)
      .get("/delay", &delay)
      .get("/gate", &gate)
      .get("/forever", &forever)
      .get("/error", &error)
      .get("/throw", &throws)
      .get("/throw-now", &throws_at_once)
      .get("/upgrade", &upgrade)
      .get("/close", &close_after);
  return r;
}

// ---------------------------------------------------------------------------------------------
// The server under test, on its own thread

class TestServer {
 public:
  explicit TestServer(Flavor flavor = Flavor::kMultiThread, http::ServerOptions opts = {})
      : s_(std::make_shared<Shared>()) {
    s_->probe = std::make_shared<Probe>();
    std::future<int> port = s_->port.get_future();
    served_ = s_->served.get_future();
    thread_ = std::thread(&TestServer::run, s_, flavor, std::move(opts));
    if (port.wait_for(kLimit) == std::future_status::ready) port_ = port.get();
    if (port_ <= 0) {
      absl::Status st = join();
      if (thread_.joinable()) thread_.detach();  // hung before serving: leak it
      BOOST_FAIL("the server did not start: " << st);
    }
  }
  TestServer(const TestServer&) = delete;
  ~TestServer() {
    shutdown();
    (void)join();
    if (thread_.joinable()) thread_.detach();  // hung: leak it (Shared keeps its state alive)
  }

  int port() const { return port_; }
  Probe& probe() { return *s_->probe; }
  // Starts the graceful shutdown (thread-safe, idempotent).
  void shutdown() {
    std::lock_guard<std::mutex> lock(s_->mu);
    if (s_->handle.has_value()) s_->handle->shutdown();
  }
  // What serve() returned; DEADLINE_EXCEEDED if it did not return within `limit`.
  absl::Status join(std::chrono::milliseconds limit = kLimit) {
    if (!thread_.joinable()) return result_;
    if (served_.wait_for(limit) != std::future_status::ready) {
      return absl::DeadlineExceededError("serve() did not return");
    }
    result_ = served_.get();
    thread_.join();
    return result_;
  }

 private:
  struct Shared {
    std::shared_ptr<Probe> probe;
    std::mutex mu;
    std::optional<http::ShutdownHandle> handle;
    std::promise<int> port;
    std::promise<absl::Status> served;
  };

  static Task<absl::Status> serve(Shared* s, http::ServerOptions opts) {
    absl::StatusOr<http::Server> server =
        http::Server::bind(weft::net::SocketAddr::loopback_v4(0), make_router(s->probe), opts);
    if (!server.ok()) {
      s->port.set_value(-1);
      co_return server.status();
    }
    {
      std::lock_guard<std::mutex> lock(s->mu);
      s->handle = server->handle();
    }
    s->port.set_value(server->local_addr().port());
    absl::Status st = co_await server->serve();
    {
      std::lock_guard<std::mutex> lock(s->mu);
      s->handle.reset();
    }
    co_return st;
  }

  static void run(std::shared_ptr<Shared> s, Flavor flavor, http::ServerOptions opts) {
    absl::Status st;
    bool serving = false;  // from then on serve() reports the port
    try {
      weft::Runtime rt = weft::testing::make_runtime(flavor, 2);
      if (flavor == Flavor::kThreadPerCore) {
        for (std::size_t i = 0; i < rt.num_workers(); ++i) {
          opts.listener_threads.push_back(rt.handle_for(i));
        }
      }
      serving = true;
      st = rt.block_on(serve(s.get(), std::move(opts)));
    } catch (const std::exception& e) {
      st = absl::InternalError(e.what());
      if (!serving) s->port.set_value(-1);
    }
    s->served.set_value(st);
  }

  std::shared_ptr<Shared> s_;
  std::future<absl::Status> served_;
  absl::Status result_;
  std::thread thread_;
  int port_ = -1;
};

// Options for the timeout tests: short enough to test, long enough for a loaded machine.
http::ServerOptions timeouts(std::chrono::milliseconds head, std::chrono::milliseconds idle) {
  http::ServerOptions o;
  o.header_read_timeout = head;
  o.keep_alive_timeout = idle;
  return o;
}

const char* flavor_name(Flavor f) {
  return f == Flavor::kMultiThread     ? "multi-thread"
         : f == Flavor::kCurrentThread ? "current-thread"
                                       : "thread-per-core";
}

// ---------------------------------------------------------------------------------------------
// Client-side helpers (test thread)

void check_hello(const RawResponse& r) {
  BOOST_TEST(r.error == "");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.header_names() == "content-type,date,content-length");
  BOOST_TEST(r.body == "Hello, world!");
}

// A fresh connection is served normally.
void check_healthy(int port) {
  BOOST_TEST_CONTEXT("a fresh connection afterwards") {
    check_hello(roundtrip(port, get_request("/")));
  }
}

// `request` on a fresh connection gets exactly `status` (text/plain "<reason>: ...") with
// `connection: close`, the connection closes, and the server still serves others.
void expect_rejected(int port, std::string_view request, int status, std::string_view reason) {
  RawConn c(port);
  BOOST_REQUIRE(c.connected());
  c.send(request);
  RawResponse r = c.read_response();
  BOOST_TEST(r.error == "");
  BOOST_TEST(r.status == status);
  BOOST_TEST(r.reason == std::string(reason));
  BOOST_TEST(r.header_names() == "content-type,date,content-length,connection");
  BOOST_TEST(r.header("content-type") == "text/plain; charset=utf-8");
  BOOST_TEST(r.header("connection") == "close");
  BOOST_TEST(r.body.rfind(std::string(reason) + ": ", 0) == 0u, "body: " << r.body);
  BOOST_TEST(r.body.back() == '\n');
  BOOST_TEST(c.wait_closed());
  check_healthy(port);
}

std::string random_bytes(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  std::mt19937 rng(seed);
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

std::string tmp_path(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/server_test_" + name;
}

void write_file(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// Sends `request` from a second thread while reading the response on this one (a streamed
// echo answers while the request is still being sent).
RawResponse send_while_reading(RawConn& c, const std::string& request) {
  std::thread writer([&] { c.send(request); });
  RawResponse r = c.read_response();
  writer.join();
  return r;
}

int elapsed_ms(Clock::time_point since) {
  return static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count());
}

const std::string kHelloRaw =
    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ndate: *\r\ncontent-length: 13\r\n\r\n"
    "Hello, world!";

}  // namespace

// =============================================================================================
// Basics, keep-alive, pipelining

BOOST_AUTO_TEST_CASE(get_answers_exact_bytes_in_every_flavour) {
  for (Flavor f : weft::testing::kAllFlavors) {
    BOOST_TEST_CONTEXT(flavor_name(f)) {
      TestServer srv(f);
      RawResponse r = roundtrip(srv.port(), get_request("/"));
      BOOST_TEST(r.error == "");
      BOOST_TEST(without_date(r.raw) == kHelloRaw);
      // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
      std::string date = r.header("date");
      BOOST_TEST(date.size() == 29u);
      BOOST_TEST(date.substr(25) == " GMT");
      srv.shutdown();
      BOOST_TEST(srv.join().ok());
    }
  }
}

BOOST_AUTO_TEST_CASE(keep_alive_serves_several_requests_on_one_socket) {
  for (Flavor f : {Flavor::kMultiThread, Flavor::kCurrentThread}) {
    BOOST_TEST_CONTEXT(flavor_name(f)) {
      TestServer srv(f);
      RawConn c(srv.port());
      BOOST_REQUIRE(c.connected());
      for (int i = 0; i < 5; ++i) {
        std::string target = "/path?i=" + std::to_string(i);
        c.send(get_request(target));
        RawResponse r = c.read_response();
        BOOST_TEST(r.error == "");
        BOOST_TEST(r.status == 200);
        BOOST_TEST(r.header("connection") == "<none>");
        BOOST_TEST(r.body == target);
      }
    }
  }
}

// Parsing, routing, a synchronous handler and writing a small answer allocate no coroutine
// frame: the connection's own frame does it all (Conn::answer_at_once); a handler that waits
// gets one (Conn::answer), see the next test.
BOOST_AUTO_TEST_CASE(a_keep_alive_request_to_a_synchronous_handler_costs_no_frame) {
  TestServer srv(Flavor::kCurrentThread);  // one thread: its frame count is the server's
  RawConn c(srv.port());
  BOOST_REQUIRE(c.connected());
  std::vector<uint64_t> counts;
  for (int i = 0; i < 20; ++i) {
    c.send(get_request("/frames"));
    RawResponse r = c.read_response();
    BOOST_REQUIRE(r.status == 200);
    counts.push_back(std::stoull(r.body));
  }
  std::vector<uint64_t> per_request;
  for (std::size_t i = 1; i < counts.size(); ++i) per_request.push_back(counts[i] - counts[i - 1]);
  std::sort(per_request.begin(), per_request.end());
  BOOST_TEST(per_request.front() == 0u);
  BOOST_TEST(per_request[per_request.size() / 2] == 0u);
}

BOOST_AUTO_TEST_CASE(curl_reuses_the_connection) {
  TestServer srv;
  CurlResult cr = run_curl({"-v", url(srv.port(), "/"), url(srv.port(), "/path?x=1")});
  BOOST_TEST(cr.exit_code == 0, cr.err);
  BOOST_TEST(cr.out == "Hello, world!/path?x=1");
  BOOST_TEST(cr.err.find("Re-using existing connection") != std::string::npos, cr.err);
}

BOOST_AUTO_TEST_CASE(pipelined_requests_are_answered_in_order) {
  TestServer srv;
  RawConn c(srv.port());
  BOOST_REQUIRE(c.connected());
  // Three in one write: the first is slow, the second has a body.
  c.send(get_request("/delay?ms=50") + post_request("/collect", "hello") +
         get_request("/path?i=3"));
  RawResponse a = c.read_response(), b = c.read_response(), d = c.read_response();
  BOOST_TEST(a.error == "");
  BOOST_TEST(without_date(a.raw) ==
             "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ndate: *\r\ncontent-length: 4\r\n\r\n"
             "done");
  BOOST_TEST(b.error == "");
  BOOST_TEST(without_date(b.raw) == "HTTP/1.1 200 OK\r\ndate: *\r\ncontent-length: 5\r\n\r\nhello");
  BOOST_TEST(d.error == "");
  BOOST_TEST(d.body == "/path?i=3");
  BOOST_TEST(d.header("connection") == "<none>");
  // Still open for a fourth.
  c.send(get_request("/"));
  check_hello(c.read_response());
}

// =============================================================================================
// Bodies: chunked in and out, 100-continue, HEAD, unread bodies

BOOST_AUTO_TEST_CASE(chunked_request_body_with_extensions_and_trailers) {
  TestServer srv;
  const std::string head =
      "POST /collect HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n";
  const std::string chunks =
      "5;ext=1\r\nhello\r\n6;a;b=\"q;v\"\r\n world\r\n0\r\nx-t: v\r\nx-u: w\r\n\r\n";
  {
    RawResponse r = roundtrip(srv.port(), head + chunks);
    BOOST_TEST(r.error == "");
    BOOST_TEST(without_date(r.raw) ==
               "HTTP/1.1 200 OK\r\ndate: *\r\ncontent-length: 11\r\n\r\nhello world");
  }
  {
    // The handler sees the trailers as the body's last frame.
    RawResponse r =
        roundtrip(srv.port(),
                  "POST /count HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n" + chunks);
    BOOST_TEST(r.error == "");
    BOOST_TEST(r.body == "bytes=11 trailers=x-t:v,x-u:w");
  }
  {
    // Echoed: the response is chunked too, trailers included; sent in three writes.
    RawConn c(srv.port());
    BOOST_REQUIRE(c.connected());
    c.send("POST /echo HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n5;ext=1\r\nhel");
    c.send("lo\r\n6\r\n world\r\n");
    c.send("0\r\nx-t: v\r\n\r\n");
    RawResponse r = c.read_response();
    BOOST_TEST(r.error == "");
    BOOST_TEST(r.header_names() == "date,transfer-encoding");
    BOOST_TEST(r.header("transfer-encoding") == "chunked");
    BOOST_TEST(r.body == "hello world");
    BOOST_TEST(r.trailers.size() == 1u);
    if (r.trailers.size() == 1) {
      BOOST_TEST(r.trailers[0].first == "x-t");
      BOOST_TEST(r.trailers[0].second == "v");
    }
    c.send(get_request("/"));
    check_hello(c.read_response());
  }
}

// Found by //http:server_fuzz: an echo of a chunked body that is malformed before its first
// byte (a chunk size that overflows) cut the connection with no answer; with bytes still unread
// (pipelined), the client saw a reset. Nothing of the 200 had gone out: it is a 400 now, and
// once one chunk has gone out, the answer is cut (it cannot be taken back).
BOOST_AUTO_TEST_CASE(a_malformed_body_read_by_a_streaming_answer) {
  TestServer srv;
  {
    RawConn c(srv.port());
    BOOST_REQUIRE(c.connected());
    c.send(
        "POST /echo HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n"
        "ffffffffffffffff5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\nhost: t\r\n\r\n");
    RawResponse r = c.read_response();
    BOOST_TEST(r.error == "");
    BOOST_TEST(r.status == 400);
    BOOST_TEST(r.body.find("Bad Request") == 0u, r.body);
    BOOST_TEST(c.wait_closed());
  }
  {
    RawConn c(srv.port());
    BOOST_REQUIRE(c.connected());
    c.send("POST /echo HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n");
    std::string got = c.read_exact(50);
    BOOST_TEST(got.find("HTTP/1.1 200 OK") == 0u, got);
    c.send("zz\r\n");
    std::string rest;
    BOOST_TEST(c.wait_closed(kLimit, &rest));
    BOOST_TEST(rest.find("0\r\n\r\n") == std::string::npos, rest);  // cut, not ended
  }
}

BOOST_AUTO_TEST_CASE(chunked_response_from_a_channel) {
  TestServer srv;
  RawConn c(srv.port());
  BOOST_REQUIRE(c.connected());
  c.send(get_request("/stream?n=3&trailer=1"));
  RawResponse r = c.read_response();
  BOOST_TEST(r.error == "");
  BOOST_TEST(
      without_date(r.raw) ==
      "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ndate: *\r\ntransfer-encoding: chunked\r\n\r\n"
      "8\r\nchunk 0\n\r\n8\r\nchunk 1\n\r\n8\r\nchunk 2\n\r\n0\r\nx-chunks: 3\r\n\r\n");
  c.send(get_request("/stream?n=0"));
  r = c.read_response();
  BOOST_TEST(r.error == "");
  BOOST_TEST(
      without_date(r.raw) ==
      "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ndate: *\r\ntransfer-encoding: chunked\r\n\r\n"
      "0\r\n\r\n");
  // A larger stream, through curl.
  CurlResult cr = run_curl({"-D", "-", url(srv.port(), "/stream?n=1000")});
  BOOST_TEST(cr.exit_code == 0, cr.err);
  std::string want;
  for (int i = 0; i < 1000; ++i) want += "chunk " + std::to_string(i) + "\n";
  std::size_t body_at = cr.out.find("\r\n\r\n");
  BOOST_REQUIRE(body_at != std::string::npos);
  BOOST_TEST(cr.out.substr(0, body_at).find("transfer-encoding: chunked") != std::string::npos);
  BOOST_TEST((cr.out.substr(body_at + 4) == want));
}

BOOST_AUTO_TEST_CASE(expect_100_continue_is_sent_when_the_handler_reads) {
  TestServer srv;
  const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
  RawConn c(srv.port());
  BOOST_REQUIRE(c.connected());
  // /collect reads the body before it answers.
  c.send("POST /collect HTTP/1.1\r\nhost: t\r\ncontent-length: 5\r\nexpect: 100-continue\r\n\r\n");
  BOOST_TEST(c.read_exact(kContinue.size()) == kContinue);
  c.send("hello");
  RawResponse r = c.read_response();
  BOOST_TEST(r.error == "");
  BOOST_TEST(without_date(r.raw) == "HTTP/1.1 200 OK\r\ndate: *\r\ncontent-length: 5\r\n\r\nhello");
  // /echo answers first with the body still unread: 100 Continue comes before its head.
  c.send("POST /echo HTTP/1.1\r\nhost: t\r\ncontent-length: 3\r\nexpect: 100-continue\r\n\r\n");
  BOOST_TEST(c.read_exact(kContinue.size()) == kContinue);
  c.send("abc");
  r = c.read_response();
  BOOST_TEST(r.error == "");
  BOOST_TEST(without_date(r.raw) == "HTTP/1.1 200 OK\r\ndate: *\r\ncontent-length: 3\r\n\r\nabc");
  // The connection is still good.
  c.send(get_request("/"));
  check_hello(c.read_response());
}

BOOST_AUTO_TEST_CASE(expect_100_continue_rejected_without_reading_gets_answer_and_close) {
  TestServer srv;
  RawConn c(srv.port());
  BOOST_REQUIRE(c.connected());
  c.send("POST /reject HTTP/1.1\r\nhost: t\r\ncontent-length: 5\r\nexpect: 100-continue\r\n\r\n");
  RawResponse r = c.read_response();  // no 100 Continue first
  BOOST_TEST(r.error == "");
  BOOST_TEST(
      without_date(r.raw) ==
      "HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ndate: *\r\ncontent-length: 9\r\n"
      "connection: close\r\n\r\nrejected\n");
  std::string extra;
  BOOST_TEST(c.wait_closed(kLimit, &extra));
  BOOST_TEST(extra == "");
  check_healthy(srv.port());
}

BOOST_AUTO_TEST_CASE(head_has_content_length_but_no_body) {
  TestServer srv;
  RawConn c(srv.port());
  BOOST_REQUIRE(c.connected());
  c.send("HEAD / HTTP/1.1\r\nhost: t\r\n\r\n");
  RawResponse r = c.read_response(/*head_request=*/true);
  BOOST_TEST(r.error == "");
  BOOST_TEST(
      without_date(r.raw) ==
      "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ndate: *\r\ncontent-length: 13\r\n\r\n");
  // A streamed body: no framing headers, no body.
  c.send("HEAD /stream?n=3 HTTP/1.1\r\nhost: t\r\n\r\n");
  r = c.read_response(true);
  BOOST_TEST(r.error == "");
  BOOST_TEST(r.header_names() == "content-type,date");
  // The next response starts right after: no body bytes were sent.
  c.send(get_request("/"));
  RawResponse next = c.read_response();
  BOOST_TEST(without_date(next.raw) == kHelloRaw);
  // curl -I agrees.
  CurlResult cr = run_curl({"-I", url(srv.port(), "/")});
  BOOST_TEST(cr.exit_code == 0, cr.err);
  BOOST_TEST(cr.out.find("content-length: 13\r\n") != std::string::npos, cr.out);
}

BOOST_AUTO_TEST_CASE(unread_request_body_is_discarded_and_the_connection_kept) {
  TestServer srv;
  RawConn c(srv.port());
  BOOST_REQUIRE(c.connected());
  c.send(post_request("/reject", "hello"));
  RawResponse r = c.read_response();
  BOOST_TEST(r.error == "");
  BOOST_TEST(r.status == 403);
  BOOST_TEST(r.header("connection") == "<none>");
  c.send(
      "POST /reject HTTP/1.1\r\nhost: t\r\ntransfer-encoding: "
      "chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
  r = c.read_response();
  BOOST_TEST(r.error == "");
  BOOST_TEST(r.status == 403);
  c.send(get_request("/"));
  check_hello(c.read_response());
}

// =============================================================================================
// HTTP/1.0, Connection: close

BOOST_AUTO_TEST_CASE(http10_closes_by_default) {
  TestServer srv;
  RawConn c(srv.port());
  BOOST_REQUIRE(c.connected());
  c.send("GET / HTTP/1.0\r\n\r\n");
  RawResponse r = c.read_response();
  BOOST_TEST(r.error == "");
  BOOST_TEST(without_date(r.raw) ==
             "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ndate: *\r\ncontent-length: 13\r\n"
             "connection: close\r\n\r\nHello, world!");
  BOOST_TEST(c.wait_closed());
  CurlResult cr = run_curl({"--http1.0", url(srv.port(), "/")});
  BOOST_TEST(cr.exit_code == 0, cr.err);
  BOOST_TEST(cr.out == "Hello, world!");
}

BOOST_AUTO_TEST_CASE(http10_keeps_alive_when_asked) {
  TestServer srv;
  RawConn c(srv.port());
  BOOST_REQUIRE(c.connected());
  for (int i = 0; i < 2; ++i) {
    c.send("GET / HTTP/1.0\r\nconnection: keep-alive\r\n\r\n");
    RawResponse r = c.read_response();
    BOOST_TEST(r.error == "");
    BOOST_TEST(without_date(r.raw) ==
               "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ndate: *\r\ncontent-length: 13\r\n"
               "connection: keep-alive\r\n\r\nHello, world!");
  }
  c.send("GET / HTTP/1.0\r\n\r\n");
  RawResponse r = c.read_response();
  BOOST_TEST(r.header("connection") == "close");
  BOOST_TEST(c.wait_closed());
}

BOOST_AUTO_TEST_CASE(http10_streamed_body_is_close_delimited) {
  TestServer srv;
  for (std::string_view extra : {"", "connection: keep-alive\r\n"}) {
    BOOST_TEST_CONTEXT("request headers: " << extra) {
      RawConn c(srv.port());
      BOOST_REQUIRE(c.connected());
      c.send("GET /stream?n=3 HTTP/1.0\r\n" + std::string(extra) + "\r\n");
      RawResponse r = c.read_response();  // read until the server closes
      BOOST_TEST(r.error == "");
      BOOST_TEST(
          without_date(r.raw) ==
          "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ndate: *\r\nconnection: close\r\n\r\n"
          "chunk 0\nchunk 1\nchunk 2\n");
    }
  }
}

BOOST_AUTO_TEST_CASE(connection_close_is_honoured) {
  TestServer srv;
  {
    RawConn c(srv.port());
    BOOST_REQUIRE(c.connected());
    c.send(get_request("/", "connection: close\r\n"));
    RawResponse r = c.read_response();
    BOOST_TEST(without_date(r.raw) ==
               "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ndate: *\r\ncontent-length: 13\r\n"
               "connection: close\r\n\r\nHello, world!");
    BOOST_TEST(c.wait_closed());
  }
  {
    // With a body the handler never reads.
    RawConn c(srv.port());
    BOOST_REQUIRE(c.connected());
    c.send(post_request("/reject", "hello", "connection: close\r\n"));
    RawResponse r = c.read_response();
    BOOST_TEST(r.error == "");
    BOOST_TEST(r.status == 403);
    BOOST_TEST(r.header("connection") == "close");
    BOOST_TEST(r.body == "rejected\n");
    BOOST_TEST(c.wait_closed());
  }
}

BOOST_AUTO_TEST_CASE(nothing_is_answered_after_connection_close) {
  TestServer srv;
  RawConn c(srv.port());
  BOOST_REQUIRE(c.connected());
  c.send(get_request("/", "connection: close\r\n") + get_request("/path?second=1"));
  RawResponse r = c.read_response();
  BOOST_TEST(r.body == "Hello, world!");
  std::string extra;
  BOOST_TEST(c.wait_closed(kLimit, &extra));
  BOOST_TEST(extra == "");
}

BOOST_AUTO_TEST_CASE(a_client_that_half_closes_after_its_request_gets_the_answer) {
  TestServer srv;
  for (const std::string& req : {get_request("/"), post_request("/collect", "Hello, world!")}) {
    RawConn c(srv.port());
    BOOST_REQUIRE(c.connected());
    c.send(req);
    c.shutdown_write();
    RawResponse r = c.read_response();
    BOOST_TEST(r.error == "");
    BOOST_TEST(r.status == 200);
    BOOST_TEST(r.body == "Hello, world!");
    BOOST_TEST(c.wait_closed());
  }
}

// Heads and bodies split at every byte: a head kept across reads keeps its offsets.
BOOST_AUTO_TEST_CASE(requests_sent_one_byte_at_a_time) {
  TestServer srv;
  RawConn c(srv.port());
  BOOST_REQUIRE(c.connected());
  const std::string req =
      "POST /echo HTTP/1.1\r\nhost: t\r\ncontent-type: a/b\r\ntransfer-encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n0\r\nx-t: v\r\n\r\n" +
      post_request("/collect", "hello", "x-long: " + std::string(100, 'z') + "\r\n") +
      get_request("/path?last=1");
  for (char ch : req) {
    BOOST_REQUIRE(c.send(std::string_view(&ch, 1)));
    std::this_thread::sleep_for(1ms);  // pacing, not synchronisation: a segment per byte
  }
  RawResponse a = c.read_response(), b = c.read_response(), d = c.read_response();
  BOOST_TEST(a.error == "");
  BOOST_TEST(a.header("content-type") == "a/b");
  BOOST_TEST(a.body == "abc");
  BOOST_TEST(a.trailers.size() == 1u);
  BOOST_TEST(b.error == "");
  BOOST_TEST(b.body == "hello");
  BOOST_TEST(d.error == "");
  BOOST_TEST(d.body == "/path?last=1");
}

// =============================================================================================
// Large bodies stream: 8 MiB through the server never sits in its memory at once

BOOST_AUTO_TEST_CASE(echo_8_mib_raw_streams_in_small_frames) {
  TestServer srv;
  const std::string data = random_bytes(8 << 20, 1);
  RawConn c(srv.port());
  BOOST_REQUIRE(c.connected());
  RawResponse r = send_while_reading(
      c, post_request("/echo", data, "content-type: application/octet-stream\r\n"));
  BOOST_TEST(r.error == "");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.header("content-length") == std::to_string(8 << 20));
  BOOST_TEST(r.header("content-type") == "application/octet-stream");
  BOOST_TEST((r.body == data));
  BOOST_TEST(srv.probe().bytes.load() == uint64_t{8 << 20});
  BOOST_TEST(srv.probe().max_frame.load() <= uint64_t{64 << 10});
  BOOST_TEST(srv.probe().frames.load() >= uint64_t{128});
}

BOOST_AUTO_TEST_CASE(echo_8_mib_with_curl_content_length_and_chunked) {
  TestServer srv;
  const std::string data = random_bytes(8 << 20, 2);
  const std::string in = tmp_path("curl_in"), out = tmp_path("curl_out"),
                    hdr = tmp_path("curl_hdr");
  write_file(in, data);
  {
    // curl sends "Expect: 100-continue" for a body this large.
    CurlResult cr = run_curl({"--data-binary", "@" + in, "-H", "content-type: application/x-test",
                              "-o", out, "-D", hdr, url(srv.port(), "/echo")});
    BOOST_TEST(cr.exit_code == 0, cr.err);
    std::string headers = read_file(hdr);
    BOOST_TEST(headers.rfind("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n", 0) == 0u, headers);
    BOOST_TEST(headers.find("content-length: 8388608\r\n") != std::string::npos, headers);
    BOOST_TEST(headers.find("content-type: application/x-test\r\n") != std::string::npos, headers);
    BOOST_TEST((read_file(out) == data));
    BOOST_TEST(srv.probe().max_frame.load() <= uint64_t{64 << 10});
  }
  {
    CurlResult cr = run_curl({"--data-binary", "@" + in, "-H", "transfer-encoding: chunked", "-o",
                              out, "-D", hdr, url(srv.port(), "/echo")});
    BOOST_TEST(cr.exit_code == 0, cr.err);
    std::string headers = read_file(hdr);
    BOOST_TEST(headers.find("transfer-encoding: chunked\r\n") != std::string::npos, headers);
    BOOST_TEST((read_file(out) == data));
  }
  {
    // A handler that only counts: no frame over 64 KiB, all bytes seen.
    srv.probe().max_frame.store(0);
    CurlResult cr = run_curl({"--data-binary", "@" + in, url(srv.port(), "/count")});
    BOOST_TEST(cr.exit_code == 0, cr.err);
    BOOST_TEST(cr.out == "bytes=8388608 trailers=");
    BOOST_TEST(srv.probe().max_frame.load() <= uint64_t{64 << 10});
    BOOST_TEST(srv.probe().max_frame.load() > 0u);
  }
}

// =============================================================================================
// 1,000 connections at once

namespace {

// Opens `n` connections, then sends one request on each, then reads every response with
// poll(2) from this thread: each must be 200 with its own path.
void thousand_connections(int port, int n) {
  rlimit lim{};
  BOOST_REQUIRE(::getrlimit(RLIMIT_NOFILE, &lim) == 0);
  BOOST_REQUIRE_MESSAGE(lim.rlim_max >= 2300, "needs 2,300 file descriptors (server + clients)");
  lim.rlim_cur = std::max<rlim_t>(lim.rlim_cur, 2300);
  BOOST_REQUIRE(::setrlimit(RLIMIT_NOFILE, &lim) == 0);

  std::vector<RawConn> conns;
  conns.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    conns.emplace_back(port);
    BOOST_REQUIRE(conns.back().connected());
  }
  for (int i = 0; i < n; ++i)
    BOOST_REQUIRE(conns[i].send(get_request("/path?i=" + std::to_string(i))));
  // A response is complete once its head and its content-length bytes are in.
  std::vector<std::string> got(static_cast<std::size_t>(n));
  std::vector<bool> done(static_cast<std::size_t>(n), false);
  int finished = 0;
  const auto deadline = Clock::now() + 2 * kLimit;
  while (finished < n && Clock::now() < deadline) {
    std::vector<pollfd> pfds;
    std::vector<int> which;
    for (int i = 0; i < n; ++i) {
      if (done[i]) continue;
      pfds.push_back({conns[i].fd(), POLLIN, 0});
      which.push_back(i);
    }
    if (::poll(pfds.data(), pfds.size(), 1000) < 0) break;
    for (std::size_t k = 0; k < pfds.size(); ++k) {
      if (pfds[k].revents == 0) continue;
      int i = which[k];
      char buf[4096];
      ssize_t m = ::recv(conns[i].fd(), buf, sizeof buf, 0);
      if (m <= 0) {
        done[i] = true;  // closed early: counted as wrong below
        ++finished;
        continue;
      }
      got[i].append(buf, static_cast<std::size_t>(m));
      std::size_t end = got[i].find("\r\n\r\n");
      std::string want_body = "/path?i=" + std::to_string(i);
      if (end != std::string::npos && got[i].size() >= end + 4 + want_body.size()) {
        done[i] = true;
        ++finished;
      }
    }
  }
  int right = 0;
  for (int i = 0; i < n; ++i) {
    const std::string body = "/path?i=" + std::to_string(i);
    const std::string& g = got[i];
    right +=
        g.rfind("HTTP/1.1 200 OK\r\n", 0) == 0 &&
        g.find("content-length: " + std::to_string(body.size()) + "\r\n") != std::string::npos &&
        g.size() >= body.size() && g.compare(g.size() - body.size(), body.size(), body) == 0;
  }
  BOOST_TEST(right == n);
  // All still open and usable (keep-alive): a second request on a sample of them.
  for (int i = 0; i < n; i += 100) {
    conns[i].send(get_request("/"));
    check_hello(conns[i].read_response());
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_thousand_concurrent_connections) {
  for (Flavor f : {Flavor::kMultiThread, Flavor::kThreadPerCore}) {
    BOOST_TEST_CONTEXT(flavor_name(f)) {
      TestServer srv(f);
      thousand_connections(srv.port(), 1000);
      srv.shutdown();
      BOOST_TEST(srv.join().ok());
    }
  }
}

// =============================================================================================
// Strictness: each bad request gets its status and a close; the server stays healthy

BOOST_AUTO_TEST_CASE(content_length_with_transfer_encoding_is_400) {
  TestServer srv;
  expect_rejected(srv.port(),
                  "POST /echo HTTP/1.1\r\nhost: t\r\ncontent-length: 5\r\ntransfer-encoding: "
                  "chunked\r\n\r\n0\r\n\r\n",
                  400, "Bad Request");
  expect_rejected(srv.port(),
                  "POST /echo HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\ncontent-length: "
                  "5\r\n\r\n0\r\n\r\n",
                  400, "Bad Request");
  BOOST_TEST(srv.probe().frames.load() == 0u);  // never reached the handler
}

BOOST_AUTO_TEST_CASE(differing_content_lengths_are_400) {
  TestServer srv;
  expect_rejected(srv.port(),
                  "POST /echo HTTP/1.1\r\nhost: t\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\n"
                  "hello!",
                  400, "Bad Request");
  expect_rejected(srv.port(),
                  "POST /echo HTTP/1.1\r\nhost: t\r\ncontent-length: 5, 6\r\n\r\nhello!", 400,
                  "Bad Request");
  expect_rejected(srv.port(), "POST /echo HTTP/1.1\r\nhost: t\r\ncontent-length: -1\r\n\r\n", 400,
                  "Bad Request");
  expect_rejected(srv.port(),
                  "POST /echo HTTP/1.1\r\nhost: t\r\ncontent-length: 99999999999999999999\r\n\r\n",
                  400, "Bad Request");
}

BOOST_AUTO_TEST_CASE(invalid_bytes_in_the_head_are_400) {
  TestServer srv;
  using namespace std::string_literals;
  const std::string cases[] = {
      "GET / HTTP/1.1\r\nho\0st: t\r\n\r\n"s,                // NUL in a name
      "GET / HTTP/1.1\r\nhost: t\0u\r\n\r\n"s,               // NUL in a value
      "GET / HTTP/1.1\r\nhost: t\ru\r\n\r\n"s,               // bare CR in a value
      "GET / HTTP/1.1\r\nx-a: b\x01\r\nhost: t\r\n\r\n"s,    // control character in a value
      "GET / HTTP/1.1\r\nx(a): b\r\nhost: t\r\n\r\n"s,       // separator in a name
      "GET / HTTP/1.1\r\nhost : t\r\n\r\n"s,                 // space before the colon
      "GET / HTTP/1.1\nhost: t\n\n"s,                        // bare LF line ends
      "GET / HTTP/1.1\r\nhost: t\r\nx-a: b\r\n c\r\n\r\n"s,  // obsolete line folding
      "GET /a b HTTP/1.1\r\nhost: t\r\n\r\n"s,               // space in the target
      "GET / HTTP/1.1 \r\nhost: t\r\n\r\n"s,                 // junk after the version
  };
  for (const std::string& req : cases) {
    BOOST_TEST_CONTEXT("request: " << req) { expect_rejected(srv.port(), req, 400, "Bad Request"); }
  }
}

BOOST_AUTO_TEST_CASE(header_section_over_max_head_bytes_is_431) {
  http::ServerOptions opts;
  opts.max_head_bytes = 1024;
  TestServer srv(Flavor::kMultiThread, opts);
  // "GET / HTTP/1.1\r\n" + "host: t\r\n" + "x: <v>\r\n" + "\r\n": exactly max_head_bytes passes.
  const std::size_t fixed = 16 + 9 + 5 + 2;
  RawResponse ok =
      roundtrip(srv.port(), get_request("/", "x: " + std::string(1024 - fixed, 'a') + "\r\n"));
  BOOST_TEST(ok.status == 200);
  expect_rejected(srv.port(), get_request("/", "x: " + std::string(1024 - fixed + 1, 'a') + "\r\n"),
                  431, "Request Header Fields Too Large");
  // Far over, in one write, and dribbled in many writes.
  expect_rejected(srv.port(), get_request("/", "x: " + std::string(100'000, 'a') + "\r\n"), 431,
                  "Request Header Fields Too Large");
  {
    RawConn c(srv.port());
    BOOST_REQUIRE(c.connected());
    c.send("GET / HTTP/1.1\r\n");
    bool sent = true;
    for (int i = 0; i < 100 && sent; ++i)
      sent = c.send("x-" + std::to_string(i) + ": " + std::string(20, 'v') + "\r\n");
    RawResponse r = c.read_response();
    BOOST_TEST(r.status == 431);
    BOOST_TEST(c.wait_closed());
  }
  check_healthy(srv.port());
}

BOOST_AUTO_TEST_CASE(uri_over_max_uri_bytes_is_414) {
  http::ServerOptions opts;
  opts.max_uri_bytes = 100;
  TestServer srv(Flavor::kMultiThread, opts);
  RawResponse at_limit = roundtrip(srv.port(), get_request("/path?" + std::string(100 - 6, 'a')));
  BOOST_TEST(at_limit.status == 200);
  BOOST_TEST(at_limit.body.size() == 100u);
  expect_rejected(srv.port(), get_request("/path?" + std::string(100 - 6 + 1, 'a')), 414,
                  "URI Too Long");
  // The default limit (8 KiB).
  TestServer dflt;
  expect_rejected(dflt.port(), get_request("/" + std::string(9000, 'a')), 414, "URI Too Long");
}

BOOST_AUTO_TEST_CASE(more_than_max_headers_is_431) {
  http::ServerOptions opts;
  opts.max_headers = 10;
  TestServer srv(Flavor::kMultiThread, opts);
  auto headers = [](int n) {
    std::string h;
    for (int i = 0; i < n; ++i) h += "x-" + std::to_string(i) + ": v\r\n";
    return h;
  };
  // host + 9 = 10 fields: fine; host + 10 = 11: too many.
  BOOST_TEST(roundtrip(srv.port(), get_request("/", headers(9))).status == 200);
  expect_rejected(srv.port(), get_request("/", headers(10)), 431,
                  "Request Header Fields Too Large");
  TestServer dflt;
  BOOST_TEST(roundtrip(dflt.port(), get_request("/", headers(99))).status == 200);
  expect_rejected(dflt.port(), get_request("/", headers(100)), 431,
                  "Request Header Fields Too Large");
}

BOOST_AUTO_TEST_CASE(expect_other_than_100_continue_is_417) {
  TestServer srv;
  expect_rejected(srv.port(), post_request("/collect", "abc", "expect: something-else\r\n"), 417,
                  "Expectation Failed");
}

BOOST_AUTO_TEST_CASE(bad_chunked_framing_is_400_and_closes) {
  TestServer srv;
  const std::string head = "POST /count HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n";
  const std::string bodies[] = {
      "zz\r\nhello\r\n0\r\n\r\n",                   // not hex
      "-5\r\nhello\r\n0\r\n\r\n",                   // negative
      "fffffffffffffffffff\r\nhello\r\n0\r\n\r\n",  // overflows
      "5 \r\nhello\r\n0\r\n\r\n",                   // space after the size
  };
  for (const std::string& b : bodies) {
    BOOST_TEST_CONTEXT("body: " << b) {
      // The handler reads the body, gets the error and returns it: 400, then the close.
      RawConn c(srv.port());
      BOOST_REQUIRE(c.connected());
      c.send(head + b);
      RawResponse r = c.read_response();
      BOOST_TEST(r.error == "");
      BOOST_TEST(
          without_date(r.raw) ==
          "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\ndate: *\r\n"
          "content-length: 12\r\nconnection: close\r\n\r\nBad Request\n");
      BOOST_TEST(c.wait_closed());
      // Streamed back by /echo, the response cannot be completed: the connection just closes.
      RawConn e(srv.port());
      BOOST_REQUIRE(e.connected());
      e.send("POST /echo HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n" + b);
      BOOST_TEST(e.wait_closed());
      check_healthy(srv.port());
    }
  }
}

// llhttp 8 outside its strict mode (third_party/llhttp.BUILD sets it) takes any two bytes after a
// chunk's data as its CRLF, so "5\r\nhelloXX0\r\n\r\n" would be a valid body "hello": a
// request-smuggling desync with any strict peer.
BOOST_AUTO_TEST_CASE(chunk_data_not_followed_by_crlf_is_400) {
  TestServer srv;
  RawConn c(srv.port());
  BOOST_REQUIRE(c.connected());
  c.send(
      "POST /count HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n");
  RawResponse r = c.read_response();
  BOOST_TEST(r.status == 400, r.raw);
  BOOST_TEST(c.wait_closed());
}

// =============================================================================================
// Timeouts

BOOST_AUTO_TEST_CASE(stalled_head_gets_408_while_others_are_served) {
  TestServer srv(Flavor::kMultiThread, timeouts(300ms, 60s));
  RawConn slow(srv.port());
  BOOST_REQUIRE(slow.connected());
  const auto t0 = Clock::now();
  slow.send("GET / HTTP/1.1\r\nhost: t\r\n");  // half a head, then nothing
  // Meanwhile another client is served, on one connection and on fresh ones.
  RawConn other(srv.port());
  BOOST_REQUIRE(other.connected());
  for (int i = 0; i < 3; ++i) {
    other.send(get_request("/"));
    check_hello(other.read_response());
    check_healthy(srv.port());
  }
  RawResponse r = slow.read_response();
  const int waited = elapsed_ms(t0);
  BOOST_TEST(r.error == "");
  BOOST_TEST(
      without_date(r.raw) ==
      "HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\ndate: *\r\n"
      "content-length: 51\r\nconnection: close\r\n\r\n"
      "Request Timeout: request head not received in time\n");
  BOOST_TEST(slow.wait_closed());
  BOOST_TEST(waited >= 250, "408 after " << waited << " ms");
  BOOST_TEST(waited < 5000, "408 after " << waited << " ms");
  check_healthy(srv.port());
}

// A head that keeps trickling in still has header_read_timeout to be complete (slowloris).
BOOST_AUTO_TEST_CASE(dribbled_head_still_times_out) {
  TestServer srv(Flavor::kMultiThread, timeouts(300ms, 60s));
  RawConn slow(srv.port());
  BOOST_REQUIRE(slow.connected());
  const auto t0 = Clock::now();
  slow.send("GET / HTTP/1.1\r\n");
  const std::string trickle = "x-slow: " + std::string(200, 'a');
  bool answered = false;
  for (std::size_t i = 0; i < trickle.size() && elapsed_ms(t0) < 5000; ++i) {
    if (!slow.send(trickle.substr(i, 1))) break;  // the server closed: the answer is waiting
    if (!slow.stays_quiet(25ms)) break;           // one byte per 25 ms (time is the behaviour)
  }
  RawResponse r = slow.read_response(false, 2000ms);
  answered = r.ok();
  const int waited = elapsed_ms(t0);
  BOOST_TEST(answered, r.error);
  BOOST_TEST(r.status == 408);
  BOOST_TEST(waited < 3000, "408 after " << waited << " ms");
}

// A connection that never sends a byte is closed after header_read_timeout too.
BOOST_AUTO_TEST_CASE(silent_connection_is_closed_after_header_read_timeout) {
  TestServer srv(Flavor::kMultiThread, timeouts(300ms, 60s));
  RawConn c(srv.port());
  BOOST_REQUIRE(c.connected());
  const auto t0 = Clock::now();
  BOOST_TEST(c.wait_closed(5000ms));
  const int waited = elapsed_ms(t0);
  BOOST_TEST(waited >= 250, "closed after " << waited << " ms");
  check_healthy(srv.port());
}

BOOST_AUTO_TEST_CASE(idle_keep_alive_connection_is_closed_quietly) {
  TestServer srv(Flavor::kMultiThread, timeouts(10s, 300ms));
  RawConn c(srv.port());
  BOOST_REQUIRE(c.connected());
  c.send(get_request("/"));
  check_hello(c.read_response());
  const auto t0 = Clock::now();
  std::string extra;
  BOOST_TEST(c.wait_closed(5000ms, &extra));
  const int waited = elapsed_ms(t0);
  BOOST_TEST(extra == "");  // no 408 for a connection between requests
  BOOST_TEST(waited >= 250, "closed after " << waited << " ms");
  BOOST_TEST(waited < 5000, "closed after " << waited << " ms");
  check_healthy(srv.port());
}

// =============================================================================================
// Handler errors

BOOST_AUTO_TEST_CASE(handler_error_status_becomes_its_http_status_without_the_message) {
  TestServer srv;
  struct Case {
    absl::StatusCode code;
    int status;
    std::string reason;
  };
  const Case cases[] = {
      {absl::StatusCode::kNotFound, 404, "Not Found"},
      {absl::StatusCode::kInvalidArgument, 400, "Bad Request"},
      {absl::StatusCode::kPermissionDenied, 403, "Forbidden"},
      {absl::StatusCode::kUnauthenticated, 401, "Unauthorized"},
      {absl::StatusCode::kUnavailable, 503, "Service Unavailable"},
      {absl::StatusCode::kDeadlineExceeded, 504, "Gateway Timeout"},
      {absl::StatusCode::kInternal, 500, "Internal Server Error"},
  };
  RawConn c(srv.port());  // one connection: an error answer keeps it
  BOOST_REQUIRE(c.connected());
  for (const Case& k : cases) {
    BOOST_TEST_CONTEXT("code " << static_cast<int>(k.code)) {
      c.send(get_request("/error?code=" + std::to_string(static_cast<int>(k.code))));
      RawResponse r = c.read_response();
      BOOST_TEST(r.error == "");
      BOOST_TEST(without_date(r.raw) ==
                 "HTTP/1.1 " + std::to_string(k.status) + " " + k.reason +
                     "\r\ncontent-type: text/plain; charset=utf-8\r\ndate: *\r\ncontent-length: " +
                     std::to_string(k.reason.size() + 1) + "\r\n\r\n" + k.reason + "\n");
    }
  }
}

BOOST_AUTO_TEST_CASE(handler_exception_is_500_without_its_text) {
  TestServer srv;
  RawConn c(srv.port());
  BOOST_REQUIRE(c.connected());
  for (const char* target : {"/throw", "/throw-now"}) {
    BOOST_TEST_CONTEXT(target) {
      c.send(get_request(target));
      RawResponse r = c.read_response();
      BOOST_TEST(r.error == "");
      BOOST_TEST(without_date(r.raw) ==
                 "HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain; "
                 "charset=utf-8\r\ndate: *\r\ncontent-length: 22\r\n\r\nInternal Server Error\n");
      BOOST_TEST(r.raw.find("secret") == std::string::npos);
      c.send(get_request("/"));
      check_hello(c.read_response());
    }
  }
  // An unknown path is the router's 404 (a response, not an error).
  RawResponse nf = roundtrip(srv.port(), get_request("/nope"));
  BOOST_TEST(nf.status == 404);
}

// =============================================================================================
// Graceful shutdown

BOOST_AUTO_TEST_CASE(graceful_shutdown_finishes_in_flight_closes_idle_refuses_new) {
  for (Flavor f : {Flavor::kMultiThread, Flavor::kThreadPerCore}) {
    BOOST_TEST_CONTEXT(flavor_name(f)) {
      TestServer srv(f);
      Probe& probe = srv.probe();
      // An idle keep-alive connection, one stalled inside a head, and a request in flight.
      RawConn idle(srv.port());
      BOOST_REQUIRE(idle.connected());
      idle.send(get_request("/"));
      check_hello(idle.read_response());
      RawConn half(srv.port());
      BOOST_REQUIRE(half.connected());
      half.send("GET / HTTP/1.1\r\nhost");
      RawConn busy(srv.port());
      BOOST_REQUIRE(busy.connected());
      busy.send(get_request("/gate"));
      BOOST_REQUIRE(weft::testing::eventually([&] { return probe.started.load() == 1; }));

      srv.shutdown();
      // Idle and half-head connections close at once, while the request is still in flight.
      std::string extra;
      BOOST_TEST(idle.wait_closed(kLimit, &extra));
      BOOST_TEST(extra == "");
      BOOST_TEST(half.wait_closed());
      // New connections are refused.
      BOOST_TEST(weft::testing::eventually([&] { return !RawConn(srv.port()).connected(); }));
      BOOST_TEST(probe.finished.load() == 0);

      probe.gate.notify_one();
      RawResponse r = busy.read_response();
      BOOST_TEST(r.error == "");
      BOOST_TEST(without_date(r.raw) ==
                 "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ndate: *\r\ncontent-length: 8\r\n"
                 "connection: close\r\n\r\nreleased");
      BOOST_TEST(busy.wait_closed());
      BOOST_TEST(srv.join().ok());
    }
  }
}

BOOST_AUTO_TEST_CASE(graceful_shutdown_with_a_delay_in_flight) {
  TestServer srv;
  RawConn c(srv.port());
  BOOST_REQUIRE(c.connected());
  const auto t0 = Clock::now();
  c.send(get_request("/delay?ms=300"));
  BOOST_REQUIRE(weft::testing::eventually([&] { return srv.probe().delaying.load() == 1; }));
  srv.shutdown();
  RawResponse r = c.read_response();
  BOOST_TEST(r.error == "");
  BOOST_TEST(without_date(r.raw) ==
             "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ndate: *\r\ncontent-length: 4\r\n"
             "connection: close\r\n\r\ndone");
  BOOST_TEST(elapsed_ms(t0) >= 300);
  BOOST_TEST(c.wait_closed());
  BOOST_TEST(srv.join().ok());
}

BOOST_AUTO_TEST_CASE(shutdown_timeout_cancels_a_handler_that_never_finishes) {
  http::ServerOptions opts;
  opts.shutdown_timeout = 300ms;
  TestServer srv(Flavor::kMultiThread, opts);
  RawConn c(srv.port());
  BOOST_REQUIRE(c.connected());
  c.send(get_request("/forever"));
  BOOST_REQUIRE(weft::testing::eventually([&] { return srv.probe().started.load() == 1; }));
  const auto t0 = Clock::now();
  srv.shutdown();
  absl::Status st = srv.join();
  const int waited = elapsed_ms(t0);
  BOOST_TEST(st.ok(), st);
  BOOST_TEST(waited >= 250, "serve() returned after " << waited << " ms");
  BOOST_TEST(waited < 10000, "serve() returned after " << waited << " ms");
  BOOST_TEST(srv.probe().cancelled.load() == 1);  // the handler's frame was destroyed
  std::string extra;
  BOOST_TEST(c.wait_closed(kLimit, &extra));
  BOOST_TEST(extra == "");  // no response at all
}

// ---------------------------------------------------------------------------------------------
// Upgrades

BOOST_AUTO_TEST_CASE(upgrade_hands_the_connection_to_the_handler) {
  TestServer srv;
  RawConn c(srv.port());
  BOOST_REQUIRE(c.connected());
  // The client starts the new protocol at once: those bytes must reach the new owner.
  c.send("GET /upgrade HTTP/1.1\r\nhost: t\r\nconnection: Upgrade\r\nupgrade: echo\r\n\r\nearly-");
  RawResponse r = c.read_response(/*head_request=*/true);
  BOOST_TEST(r.status == 101, r.raw);
  BOOST_TEST(r.raw.find("connection: upgrade\r\n") != std::string::npos, r.raw);
  BOOST_TEST(r.raw.find("upgrade: echo\r\n") != std::string::npos, r.raw);
  BOOST_TEST(c.read_exact(6) == "early-");
  c.send("ping");
  BOOST_TEST(c.read_exact(4) == "ping");
}

BOOST_AUTO_TEST_CASE(declined_upgrade_is_answered_and_closed) {
  TestServer srv;
  RawConn c(srv.port());
  BOOST_REQUIRE(c.connected());
  c.send("GET /upgrade HTTP/1.1\r\nhost: t\r\nconnection: upgrade\r\nupgrade: other\r\n\r\n");
  RawResponse r = c.read_response();
  BOOST_TEST(r.status == 400, r.raw);
  BOOST_TEST(c.wait_closed());
  check_healthy(srv.port());
}

BOOST_AUTO_TEST_CASE(handler_connection_close_closes_the_connection) {
  TestServer srv;
  RawConn c(srv.port());
  BOOST_REQUIRE(c.connected());
  c.send("GET /close HTTP/1.1\r\nhost: t\r\n\r\n");
  RawResponse r = c.read_response();
  BOOST_TEST(r.status == 200, r.raw);
  BOOST_TEST(r.raw.find("connection: close\r\n") != std::string::npos, r.raw);
  BOOST_TEST(c.wait_closed());
}
