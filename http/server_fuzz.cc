// Fuzz target of the HTTP/1.1 server, end to end over a real loopback connection: whatever a
// client sends, the server answers with well-formed responses, closes the connection when the
// client has finished sending, and goes on serving everyone else.
//
// Input: one mode byte (bits 0-2: the bytes are sent whole, or in writes of 1, 2, 3, 5, 8, 13
// or 64 bytes; bit 3: to the server on a 2-worker multi-thread runtime, else the one on a
// current-thread runtime), then the bytes the client sends. The corpus is h1_parser_fuzz's: its
// request files start with the same mode byte.
//
// The servers (started once, each on its own thread) have small limits (1 KiB
// head, 256-byte target, 16 fields) and a router: GET / -> "Hello, world!"; POST /echo -> the
// body streamed back; POST /collect -> the body gathered up to 1 KiB (413 beyond); GET
// /stream?n=K -> K chunks (K <= 20).
//
// Properties, for any input:
//   - no crash and no sanitizer report in the server;
//   - after the client half-closes, the server sends what it owes and closes (no hang);
//   - everything it sends decodes as a sequence of responses (strictly: raw_client.h), in
//     order one per request head h1::Parser finds in the input (HEAD answers carry no body),
//     plus at most one error answer; every status is one the server or this router gives; only
//     the answer to a request whose body is cut or malformed may end early (a streamed echo
//     cannot take back its 200);
//   - no byte is lost or changed: a 200 to POST /echo carries exactly the request's body (as
//     the parser reads it: Content-Length or chunked), a 200 to GET / "Hello, world!";
//   - a fresh connection is then served normally (GET / -> 200 "Hello, world!").
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "weft/http/body.h"
#include "weft/http/proto/h1/feed.h"
#include "weft/http/proto/h1/parser.h"
#include "weft/http/router.h"
#include "weft/http/server.h"
#include "weft/http/testing/raw_client.h"
#include "weft/runtime/runtime.h"
#include "weft/tools/fuzz/check.h"

namespace {

namespace http = weft::http;
namespace h1 = weft::http::proto::h1;
using weft::Task;
using Req = http::Request<http::Body>;
using Resp = http::Response<http::Body>;

absl::StatusOr<Resp> hello(Req) { return Resp(http::Body::from_static("Hello, world!")); }

Task<absl::StatusOr<Resp>> echo(Req req) { co_return Resp(std::move(req).into_body()); }

Task<absl::StatusOr<Resp>> collect(Req req) {
  absl::StatusOr<weft::io::Bytes> all = co_await req.body().collect(1024);
  if (!all.ok()) {
    Resp r(http::Body::from_static("too large or cut\n"));
    r.status() = http::StatusCode::PAYLOAD_TOO_LARGE;
    co_return r;
  }
  co_return Resp(http::Body::full(*std::move(all)));
}

Task<void> produce(http::BodySender tx, int n) {
  for (int i = 0; i < n; ++i) {
    if (!(co_await tx.send_data(weft::io::Bytes::from("chunk " + std::to_string(i) + "\n"))).ok()) {
      co_return;
    }
  }
}

Task<absl::StatusOr<Resp>> stream(Req req) {
  std::optional<std::string> n = req.uri().query_param("n");
  int k = n.has_value() && n->size() == 1 && (*n)[0] >= '0' && (*n)[0] <= '9' ? (*n)[0] - '0' : 3;
  auto [tx, body] = http::Body::channel(4);
  weft::spawn(produce(std::move(tx), k));
  co_return Resp(std::move(body));
}

// The server, on its own thread for the life of the process; stopped gracefully at exit.
class Fixture {
 public:
  explicit Fixture(bool multi_thread) {
    std::promise<int> port;
    std::future<int> got = port.get_future();
    thread_ = std::thread([this, &port, multi_thread] { run(port, multi_thread); });
    port_ = got.get();
    WEFT_FUZZ_CHECK(port_ > 0, "the server did not start");
  }
  ~Fixture() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (handle_.has_value()) handle_->shutdown();
    }
    thread_.join();
  }
  int port() const { return port_; }

 private:
  void run(std::promise<int>& port, bool multi_thread) {
    weft::Runtime rt = *(multi_thread ? weft::Runtime::Builder::new_multi_thread().worker_threads(2)
                                      : weft::Runtime::Builder::new_current_thread())
                            .build();
    rt.block_on([&]() -> Task<void> {
      http::ServerOptions opts;
      opts.max_head_bytes = 1024;
      opts.max_uri_bytes = 256;
      opts.max_headers = 16;
      opts.shutdown_timeout = std::chrono::milliseconds(1000);
      http::Router router;
      router.get("/", &hello)
          .post("/echo", &echo)
          .post("/collect", &collect)
          .get("/stream", &stream);
      absl::StatusOr<http::Server> server =
          http::Server::bind(weft::net::SocketAddr::loopback_v4(0), std::move(router), opts);
      if (!server.ok()) {
        port.set_value(-1);
        co_return;
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        handle_ = server->handle();
      }
      port.set_value(server->local_addr().port());
      (void)co_await server->serve();
    }());
  }

  std::thread thread_;
  int port_ = -1;
  std::mutex mu_;
  std::optional<http::ShutdownHandle> handle_;
};

// What h1::Parser finds in `wire` (with the server's limits), request by request, in order.
struct Expected {
  struct Request {
    bool head = false;      // a HEAD request: its answer has no body
    bool complete = false;  // its body ended in the input (else the input is cut or bad there)
    // The body a 200 answer must carry, when the router's answer is known: POST /echo (once
    // its body is complete) and GET /.
    std::optional<std::string> body;
  };
  std::vector<Request> requests;
};

Expected expected_requests(std::string_view wire) {
  h1::Parser p(h1::Parser::Kind::kRequest, h1::Limits{1024, 256, 16});
  Expected e;
  bool echo = false;
  std::string body;
  (void)h1::feed(p, wire, 0, /*finish=*/false,
                 [&](const h1::Parser::Step& s, const std::string& buf) {
                   if (s.event == h1::Parser::Event::kHead) {
                     h1::RequestHead h = p.take_request_head(buf.data());
                     if (p.head_error()) return false;
                     Expected::Request r;
                     r.head = h.method == http::Method::HEAD;
                     if (h.method == http::Method::GET && h.uri.path() == "/") {
                       r.body = "Hello, world!";
                     }
                     echo = h.method == http::Method::POST && h.uri.path() == "/echo";
                     body.clear();
                     e.requests.push_back(std::move(r));
                   } else if (s.event == h1::Parser::Event::kData) {
                     body.append(buf, s.data_begin, s.data_end - s.data_begin);
                   } else if (s.event == h1::Parser::Event::kMessageComplete) {
                     e.requests.back().complete = true;
                     if (echo) e.requests.back().body = body;
                   }
                   return true;
                 });
  return e;
}

bool allowed_status(int s) {
  switch (s) {
    case 100:
    case 200:
    case 400:
    case 404:
    case 405:
    case 408:
    case 413:
    case 414:
    case 417:
    case 431:
    case 500:
    case 501:
    case 505:
      return true;
    default:
      return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture current_thread(false);
  static Fixture multi_thread(true);
  if (size == 0) return 0;
  static constexpr std::size_t kSteps[] = {0, 1, 2, 3, 5, 8, 13, 64};
  std::size_t step = kSteps[data[0] & 7];
  const Fixture& server = (data[0] & 8) != 0 ? multi_thread : current_thread;
  std::string_view wire(reinterpret_cast<const char*>(data) + 1, size - 1);

  using http::testing::RawConn;
  using http::testing::RawResponse;
  {
    RawConn c(server.port());
    WEFT_FUZZ_CHECK(c.connected(), "cannot connect to the server");
    for (std::size_t at = 0; at < wire.size();) {
      std::size_t n = step == 0 ? wire.size() : std::min(step, wire.size() - at);
      if (!c.send(wire.substr(at, n))) break;  // the server answered an error and closed
      at += n;
    }
    c.shutdown_write();

    Expected e = expected_requests(wire);
    std::size_t finals = 0;
    for (;;) {
      const Expected::Request* req = finals < e.requests.size() ? &e.requests[finals] : nullptr;
      RawResponse r = c.read_response(req != nullptr && req->head);
      if (!r.ok()) {
        if (!r.raw.empty() || r.error.find("closed") == std::string::npos) {
          std::fprintf(stderr, "read: %s after %zu bytes: %s\n", r.error.c_str(), r.raw.size(),
                       r.raw.substr(0, 200).c_str());
        }
        // The end: the server closed after its last answer; or an answer it had begun to
        // stream (/echo) was cut because the request's own body was cut or malformed.
        WEFT_FUZZ_CHECK(r.raw.empty() ? r.error.find("closed") != std::string::npos
                                      : req != nullptr && !req->complete,
                        "a response that does not decode (or the server did not close)");
        break;
      }
      WEFT_FUZZ_CHECK(r.version == "HTTP/1.1", "a response that is not HTTP/1.1");
      WEFT_FUZZ_CHECK(allowed_status(r.status), "a status neither the server nor router gives");
      if (r.status < 200) continue;
      if (r.status == 200 && req != nullptr && !req->head && req->body.has_value()) {
        WEFT_FUZZ_CHECK(r.body == *req->body, "a 200 answer with another body than the request's");
      }
      ++finals;
    }
    WEFT_FUZZ_CHECK(finals <= e.requests.size() + 1, "more answers than requests");
  }
  RawResponse ok = http::testing::roundtrip(server.port(), http::testing::get_request("/"));
  WEFT_FUZZ_CHECK(ok.ok() && ok.status == 200 && ok.body == "Hello, world!",
                  "the server no longer serves a plain request");
  return 0;
}
