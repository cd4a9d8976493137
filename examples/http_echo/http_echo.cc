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
#include <signal.h>

#include <charconv>
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "weft/http/body.h"
#include "weft/http/router.h"
#include "weft/http/server.h"
#include "weft/runtime/runtime.h"
#include "weft/runtime/signal/signal.h"
#include "weft/runtime/task/select.h"
#include "weft/runtime/time/sleep.h"

ABSL_FLAG(int, port, 8080, "TCP port on 127.0.0.1 (0 = any free port)");
ABSL_FLAG(int, workers, 0, "worker threads (0 = one per CPU)");
ABSL_FLAG(std::string, mode, "work-stealing", "work-stealing | thread-per-core");

namespace {

namespace http = weft::http;
using weft::Task;
using Req = http::Request<http::Body>;
using Resp = http::Response<http::Body>;

Resp text(http::Body body) {
  Resp r(std::move(body));
  r.headers().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain"));
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

Task<absl::StatusOr<Resp>> hello(Req) { co_return text(http::Body::from_static("Hello, world!")); }

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
    absl::Status st = co_await tx.send_data(weft::io::Bytes::from("chunk " + std::to_string(i) + "\n"));
    if (!st.ok()) co_return;  // the client went away
  }
}

Task<absl::StatusOr<Resp>> stream(Req req) {
  std::optional<uint64_t> n = query_u64(req, "n");
  if (!n.has_value()) co_return bad_request("stream: n must be a non-negative integer");
  auto [tx, body] = http::Body::channel(16);
  weft::spawn(produce_chunks(std::move(tx), *n));
  Resp r(std::move(body));
  r.headers().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain"));
  co_return r;
}

Task<absl::StatusOr<Resp>> delay(Req req) {
  std::optional<uint64_t> ms = query_u64(req, "ms");
  if (!ms.has_value() || *ms > 3'600'000) co_return bad_request("delay: ms must be 0..3600000");
  co_await weft::time::sleep(std::chrono::milliseconds(*ms));
  co_return text(http::Body::from_static("done"));
}

Task<bool> received(weft::signal::Signal* sig) {
  co_await sig->recv();
  co_return true;
}

Task<void> stop_on_signal(weft::signal::Signal* term, weft::signal::Signal* intr,
                          http::ShutdownHandle server) {
  (void)co_await weft::select(received(term), received(intr));
  server.shutdown();
}

Task<int> run(int port, std::vector<weft::Handle> per_core) {
  // Listen for the signals before announcing the port, so none is missed.
  auto term = weft::signal::Signal::create(SIGTERM);
  auto intr = weft::signal::Signal::create(SIGINT);
  if (!term.ok() || !intr.ok()) {
    std::fprintf(stderr, "http_echo: cannot handle signals\n");
    co_return 1;
  }
  http::Router router;
  router.get("/", &hello).post("/echo", &echo).get("/stream", &stream).get("/delay", &delay);

  http::ServerOptions opts;
  opts.listener_threads = std::move(per_core);
  absl::StatusOr<http::Server> server = http::Server::bind(
      weft::net::SocketAddr::loopback_v4(static_cast<uint16_t>(port)), std::move(router), opts);
  if (!server.ok()) {
    std::fprintf(stderr, "http_echo: cannot listen on port %d: %s\n", port,
                 std::string(server.status().message()).c_str());
    co_return 1;
  }
  std::printf("listening on 127.0.0.1:%u\n", server->local_addr().port());
  std::fflush(stdout);
  weft::JoinHandle<void> stopper = weft::spawn(stop_on_signal(&*term, &*intr, server->handle()));
  absl::Status st = co_await server->serve();
  stopper.abort();
  if (!st.ok()) {
    std::fprintf(stderr, "http_echo: %s\n", std::string(st.message()).c_str());
    co_return 1;
  }
  co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "HTTP/1.1 echo server: http_echo --port=N [--workers=N] [--mode=work-stealing|thread-per-core]");
  absl::ParseCommandLine(argc, argv);
  int port = absl::GetFlag(FLAGS_port);
  if (port < 0 || port > 65535) {
    std::fprintf(stderr, "http_echo: --port must be 0..65535\n");
    return 2;
  }
  const std::string mode = absl::GetFlag(FLAGS_mode);
  if (mode != "work-stealing" && mode != "thread-per-core") {
    std::fprintf(stderr, "http_echo: --mode must be work-stealing or thread-per-core\n");
    return 2;
  }
  const bool per_core = mode == "thread-per-core";
  auto builder = per_core ? weft::Runtime::Builder::new_thread_per_core()
                          : weft::Runtime::Builder::new_multi_thread();
  if (absl::GetFlag(FLAGS_workers) > 0) {
    builder.worker_threads(static_cast<size_t>(absl::GetFlag(FLAGS_workers)));
  }
  absl::StatusOr<weft::Runtime> rt = builder.build();
  if (!rt.ok()) {
    std::fprintf(stderr, "http_echo: %s\n", std::string(rt.status().message()).c_str());
    return 1;
  }
  std::vector<weft::Handle> handles;
  if (per_core) {
    for (std::size_t i = 0; i < rt->num_workers(); ++i) handles.push_back(rt->handle_for(i));
  }
  return rt->block_on(run(port, std::move(handles)));
}
