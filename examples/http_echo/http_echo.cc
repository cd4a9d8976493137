// examples/http_echo: an HTTP/1.1 server on weft (http::Server + http::Router).
//
//   bazel run //examples/http_echo -- --port=8080     # prints "listening on 127.0.0.1:8080"
//   curl localhost:8080/                    -> 200 "Hello, world!" (text/plain)
//   curl --data-binary @f localhost:8080/echo   -> the body back, byte for byte, same content-type
//   curl localhost:8080/stream?n=3          -> chunked: "chunk 0\n" "chunk 1\n" "chunk 2\n"
//   curl localhost:8080/delay?ms=500        -> "done" after 500 ms
//   anything else -> 404.  SIGTERM/ctrl-c: graceful shutdown (in-flight requests finish), exit 0.
// Flags: --port (0 = any free port), --workers (threads; 0 = one per CPU), --mode
// (work-stealing | thread-per-core).
#include <charconv>
#include <string>

#include "examples/common/http_service_main.h"
#include "weft/http/body.h"
#include "weft/http/router.h"
#include "weft/runtime/time/sleep.h"

namespace {

namespace http = weft::http;
using weft::Task;
using Req = http::Request<http::Body>;
using Resp = http::Response<http::Body>;

// Built (and validated) once; each response takes a copy, which for a value this short is a
// 24-byte copy.
const http::HeaderValue& text_plain() {
  static const http::HeaderValue v = http::HeaderValue::from_static("text/plain");
  return v;
}

Resp text(http::Body body) {
  Resp r(std::move(body));
  r.headers().insert(http::header::CONTENT_TYPE, text_plain());
  return r;
}

// The query parameter `key` as a non-negative integer, or nullopt.
std::optional<uint64_t> query_u64(const Req& req, std::string_view key) {
  std::optional<std::string> v = req.uri().query_param(key);
  if (!v.has_value()) return std::nullopt;
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || p != v->data() + v->size()) return std::nullopt;
  return n;
}

Resp bad_request(std::string why) {
  Resp r = text(http::Body(std::move(why) + "\n"));
  r.status() = http::StatusCode::BAD_REQUEST;
  return r;
}

// A handler that never waits can be a plain function: the router then answers without a
// coroutine frame.
absl::StatusOr<Resp> hello(Req) { return text(http::Body::from_static("Hello, world!")); }

// The request body streams back as it arrives (never held whole in memory).
Task<absl::StatusOr<Resp>> echo(Req req) {
  Resp r(std::move(req).into_body());
  if (const http::HeaderValue* ct = req.headers().get("content-type")) {
    r.headers().insert(http::header::CONTENT_TYPE, *ct);
  }
  co_return r;
}

Task<void> produce_chunks(http::BodySender tx, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) {
    absl::Status st =
        co_await tx.send_data(weft::io::Bytes::from("chunk " + std::to_string(i) + "\n"));
    if (!st.ok()) co_return;  // the client went away
  }
}

Task<absl::StatusOr<Resp>> stream(Req req) {
  std::optional<uint64_t> n = query_u64(req, "n");
  if (!n.has_value()) co_return bad_request("stream: n must be a non-negative integer");
  auto [tx, body] = http::Body::channel(16);
  weft::spawn(produce_chunks(std::move(tx), *n));
  Resp r(std::move(body));
  r.headers().insert(http::header::CONTENT_TYPE, text_plain());
  co_return r;
}

Task<absl::StatusOr<Resp>> delay(Req req) {
  std::optional<uint64_t> ms = query_u64(req, "ms");
  if (!ms.has_value() || *ms > 3'600'000) co_return bad_request("delay: ms must be 0..3600000");
  co_await weft::time::sleep(std::chrono::milliseconds(*ms));
  co_return text(http::Body::from_static("done"));
}

http::Router make_router() {
  http::Router router;
  router.get("/", &hello).post("/echo", &echo).get("/stream", &stream).get("/delay", &delay);
  return router;
}

}  // namespace

int main(int argc, char** argv) {
  return examples::run_http_service(argc, argv,
                                    "HTTP/1.1 echo server: http_echo --port=N [--workers=N] "
                                    "[--mode=work-stealing|thread-per-core]",
                                    [](const weft::Runtime&) { return make_router(); });
}
