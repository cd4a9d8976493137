// examples/hello: a small but real microservice on weft's full stack — a JSON key-value API
// (api.h), /healthz, /metrics, the middleware stack, graceful shutdown.
//
//   bazel run //examples/hello -- --port=8080        # prints "listening on 127.0.0.1:8080"
//   curl -s localhost:8080/healthz
//   curl -s -X PUT localhost:8080/v1/items/greeting -H 'authorization: Bearer hello-token'
//        -H 'content-type: application/json' -d '{"value": "hello"}'     (one command line)
//   curl -s localhost:8080/v1/items/greeting
//
// Flags: --port (0 = any free port), --workers (0 = one per CPU), --mode (work-stealing |
// thread-per-core), --token (what PUT/DELETE need as `authorization: Bearer <token>`),
// --access_log (logfmt lines on stderr). SIGTERM or ctrl-c: stop accepting, finish in-flight
// requests, exit 0.
#include <signal.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "examples/hello/api.h"
#include "examples/hello/item_store.h"
#include "weft/http/router.h"
#include "weft/http/server.h"
#include "weft/middleware/catch_exception/catch_exception.h"
#include "weft/middleware/compression/compression.h"
#include "weft/middleware/cors/cors.h"
#include "weft/middleware/decompression/decompression.h"
#include "weft/middleware/limit/request_body_limit.h"
#include "weft/middleware/metrics/metrics.h"
#include "weft/middleware/normalize_path/normalize_path.h"
#include "weft/middleware/request_id/request_id.h"
#include "weft/middleware/timeout/timeout.h"
#include "weft/middleware/trace/trace.h"
#include "weft/tower/service_builder.h"
#include "weft/runtime/runtime.h"
#include "weft/runtime/signal/signal.h"
#include "weft/runtime/task/select.h"

ABSL_FLAG(int, port, 8080, "TCP port on 127.0.0.1 (0 = any free port)");
ABSL_FLAG(int, workers, 0, "worker threads (0 = one per CPU)");
ABSL_FLAG(std::string, mode, "work-stealing", "work-stealing | thread-per-core");
ABSL_FLAG(std::string, token, "hello-token", "bearer token that PUT and DELETE require");
ABSL_FLAG(bool, access_log, true, "one logfmt access-log line per request on stderr");

namespace {

namespace http = weft::http;
namespace mw = weft::middleware;
using weft::Task;

Task<bool> received(weft::signal::Signal* sig) {
  co_await sig->recv();
  co_return true;
}

Task<void> stop_on_signal(weft::signal::Signal* term, weft::signal::Signal* intr,
                          http::ShutdownHandle server) {
  (void)co_await weft::select(received(term), received(intr));
  server.shutdown();
}

// The middleware stack, outermost first (see middleware/README.md for why this order).
auto build_service(http::Router router, mw::Registry registry, bool access_log) {
  mw::TraceOptions trace;
  if (!access_log) trace.sink = [](const mw::AccessRecord&) {};
  return weft::tower::ServiceBuilder()
      .layer(mw::SetRequestIdLayer())                      // every answer carries x-request-id
      .layer(mw::TraceLayer(std::move(trace)))             // one access-log line per request
      .layer(mw::MetricsLayer(std::move(registry)))        // /metrics counts everything below
      .layer(mw::CorsLayer::permissive())                  // browsers may call the API
      .layer(mw::CatchExceptionLayer())                    // a throwing handler is a 500
      .layer(mw::NormalizePathLayer::trim_trailing_slash())  // /v1/items/ is /v1/items
      .layer(mw::TimeoutLayer(std::chrono::seconds(10)))   // 503 past 10 s
      .layer(mw::CompressionLayer())                       // gzip when the client accepts it
      .layer(mw::RequestDecompressionLayer())              // gzip request bodies
      .layer(mw::RequestBodyLimitLayer(64 * 1024))         // 413 before anyone reads more
      .service(std::move(router));
}

Task<int> run(int port, std::vector<weft::Handle> per_core, const weft::Runtime* rt) {
  auto term = weft::signal::Signal::create(SIGTERM);
  auto intr = weft::signal::Signal::create(SIGINT);
  if (!term.ok() || !intr.ok()) {
    std::fprintf(stderr, "hello: cannot handle signals\n");
    co_return 1;
  }
  mw::Registry registry;
  registry.watch_runtime(*rt);
  http::Router router;
  hello::add_routes(router, std::make_shared<hello::ItemStore>(), absl::GetFlag(FLAGS_token));
  router.get("/metrics", registry.handler());
  auto service = build_service(std::move(router), registry, absl::GetFlag(FLAGS_access_log));

  http::ServerOptions opts;
  opts.listener_threads = std::move(per_core);
  absl::StatusOr<http::Server> server = http::Server::bind(
      weft::net::SocketAddr::loopback_v4(static_cast<uint16_t>(port)), std::move(service), opts);
  if (!server.ok()) {
    std::fprintf(stderr, "hello: cannot listen on port %d: %s\n", port,
                 std::string(server.status().message()).c_str());
    co_return 1;
  }
  std::printf("listening on 127.0.0.1:%u\n", server->local_addr().port());
  std::fflush(stdout);
  weft::JoinHandle<void> stopper = weft::spawn(stop_on_signal(&*term, &*intr, server->handle()));
  absl::Status st = co_await server->serve();
  stopper.abort();
  if (!st.ok()) {
    std::fprintf(stderr, "hello: %s\n", std::string(st.message()).c_str());
    co_return 1;
  }
  co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "JSON key-value service: hello --port=N [--workers=N] [--mode=work-stealing|thread-per-core]");
  absl::ParseCommandLine(argc, argv);
  int port = absl::GetFlag(FLAGS_port);
  if (port < 0 || port > 65535) {
    std::fprintf(stderr, "hello: --port must be 0..65535\n");
    return 2;
  }
  const std::string mode = absl::GetFlag(FLAGS_mode);
  if (mode != "work-stealing" && mode != "thread-per-core") {
    std::fprintf(stderr, "hello: --mode must be work-stealing or thread-per-core\n");
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
    std::fprintf(stderr, "hello: %s\n", std::string(rt.status().message()).c_str());
    return 1;
  }
  std::vector<weft::Handle> handles;
  if (per_core) {
    for (std::size_t i = 0; i < rt->num_workers(); ++i) handles.push_back(rt->handle_for(i));
  }
  return rt->block_on(run(port, std::move(handles), &*rt));
}
