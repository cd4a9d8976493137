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
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "examples/common/http_service_main.h"
#include "examples/hello/api.h"
#include "examples/hello/item_store.h"
#include "weft/http/router.h"
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

ABSL_FLAG(std::string, token, "hello-token", "bearer token that PUT and DELETE require");
ABSL_FLAG(bool, access_log, true, "one logfmt access-log line per request on stderr");

namespace {

namespace http = weft::http;
namespace mw = weft::middleware;
using weft::Task;

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

// The router with every route and /metrics (which reports on `rt` too), inside the stack.
auto make_service(const weft::Runtime& rt) {
  mw::Registry registry;
  registry.watch_runtime(rt);
  http::Router router;
  hello::add_routes(router, std::make_shared<hello::ItemStore>(), absl::GetFlag(FLAGS_token));
  router.get("/metrics", registry.handler());
  return build_service(std::move(router), registry, absl::GetFlag(FLAGS_access_log));
}

}  // namespace

int main(int argc, char** argv) {
  return examples::run_http_service(
      argc, argv,
      "JSON key-value service: hello --port=N [--workers=N] "
      "[--mode=work-stealing|thread-per-core] [--token=T] [--access_log=false]",
      &make_service);
}
