// metrics: Prometheus metrics for an HTTP service — request counts, a latency histogram and
// the requests in flight, plus the runtime's own counters — and the handler that serves them in
// the text exposition format 0.0.4.
//
//   namespace mw = weft::middleware;
//   mw::Registry registry;                        // cheap to copy: a handle to shared state
//   registry.watch_runtime(rt);                   // weft_runtime_* too (rt outlives scrapes)
//   router.get("/metrics", registry.handler())
//       .get("/users/{id}", get_user)         // labelled route="/users/{id}"
//       .layer(mw::MetricsLayer(registry));
//   // curl :8080/metrics  ->  http_requests_total{method="GET",route="/users/{id}",status="200"} 7
//
// Series (labels method, route, status):
//   http_requests_total                 counter
//   http_request_duration_seconds       histogram (_bucket{le=...}, _sum, _count), from call() to
//                                       the end of the response body: a streamed body is
//                                       wrapped and observed when it ends (or fails, or is
//                                       dropped); a full or empty body when it is returned
//   http_requests_in_flight             gauge (no labels): called and not yet finished as above
//   weft_runtime_*                      when a runtime is watched (see render_runtime_metrics)
// Labels:
//   * method: the standard methods by name, every extension method as OTHER (a client could
//     otherwise invent one label per request);
//   * route: the pattern the Router matched (http::MatchedPath, e.g. "/users/{id}"); when no
//     route matched, MetricsOptions::unmatched_route if set, else the path. Paths are unbounded, so the number of series is capped (max_series): past the cap
//     a new (method, route, status) is counted under route="__other__";
//   * status: the response status; for an error Status, http::from_status(error) (what the
//     server sends), 500 for an exception. A call cancelled before it had a response is not
//     counted (it only leaves the in-flight gauge).
// http_requests_total and the histogram's _count are one counter: they always agree, and
// _count always equals the +Inf bucket.
//
// Cost per request (the hot path): one hash of (method, route, status), a shared (reader) lock
// on one of 16 shards to find the series' cell (an exclusive lock only the first time a series
// is seen), then relaxed atomic adds to one bucket, the sum (in nanoseconds, exact) and the
// in-flight gauge. No global lock, no allocation unless the route label is the path (one copy
// of it when it is longer than the small-string buffer) or the body streams (its wrapper).
// A scrape takes each shard's reader lock in turn and sorts the series, so output is stable.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "weft/http/body.h"
#include "weft/http/request.h"
#include "weft/http/response.h"
#include "weft/http/status_code.h"
#include "weft/middleware/body_observer/observed_body.h"
#include "weft/runtime/metrics.h"
#include "weft/runtime/runtime.h"
#include "weft/runtime/task/task.h"
#include "weft/tower/service.h"

WEFT_TOWER_CORO_BEGIN

namespace weft::middleware {

struct MetricsOptions {
  // Histogram upper bounds in seconds, increasing (+Inf is implied): Prometheus' defaults.
  std::vector<double> buckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  // Distinct (method, route, status) series before new ones go to route="__other__".
  std::size_t max_series = 1000;
  // The route label of requests no route matched; unset: their path.
  std::optional<std::string> unmatched_route;
};

// The content-type of the exposition.
inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

// weft_runtime_* for `m`, in the exposition format: workers, tasks_alive, inject_queue_depth,
// blocking_threads, blocking_idle_threads (gauges); polls_total, steals_total, parks_total,
// forced_yields_total, queue_overflows_total (counters, summed over workers); and per worker
// worker_polls_total{worker="i"}, worker_steals_total{worker="i"},
// worker_local_queue_depth{worker="i"}.
void render_runtime_metrics(const RuntimeMetrics& m, std::string& out);

namespace detail {
struct RegistryState;
class MetricsCall;
}  // namespace detail

class MetricsHandler;

class Registry {
 public:
  explicit Registry(MetricsOptions options = MetricsOptions());

  // Adds weft_runtime_* to every scrape, read from `rt` (which must outlive the scrapes).
  void watch_runtime(const Runtime& rt);
  // Same, from any source of RuntimeMetrics (e.g. a runtime owned elsewhere).
  void set_runtime_metrics(std::function<RuntimeMetrics()> source);
  // Appends text of the caller's own metrics (already in the exposition format) to scrapes.
  void add_collector(std::function<void(std::string& out)> collect);

  // The whole exposition.
  std::string render() const;
  // A Service answering every request with render() (content-type kPrometheusContentType).
  MetricsHandler handler() const;

  // What the layer records (usable directly). `method` and `route` are label values as they are.
  void observe(std::string_view method, std::string_view route, uint16_t status,
               std::chrono::nanoseconds duration) const;
  int64_t in_flight() const;
  // Requests counted for a series (0 if unseen), for tests and health checks.
  uint64_t requests(std::string_view method, std::string_view route, uint16_t status) const;

  const std::shared_ptr<detail::RegistryState>& state() const { return state_; }

 private:
  std::shared_ptr<detail::RegistryState> state_;
};

class MetricsHandler {
 public:
  explicit MetricsHandler(Registry registry) : registry_(std::move(registry)) {}
  tower::AlwaysReady ready() const { return tower::always_ready(); }
  Task<absl::StatusOr<http::Response<http::Body>>> call(tower::NoPermit,
                                                        http::Request<http::Body> req) const;

 private:
  Registry registry_;
};

namespace detail {

// One request being measured: counted in flight from construction until finish() (recorded)
// or destruction (cancelled: not recorded).
class MetricsCall {
 public:
  MetricsCall(std::shared_ptr<RegistryState> state, http::Request<http::Body>& req);
  MetricsCall(MetricsCall&& o) noexcept;
  MetricsCall& operator=(MetricsCall&&) = delete;
  ~MetricsCall();

  // The response head: records now, or moves itself into an observer of the streamed body.
  void on_response(http::Response<http::Body>& res);
  void on_error(const absl::Status& error);

  // As a body observer.
  void on_data(std::size_t) {}
  void on_end(BodyEnd, const absl::Status&) { finish(); }

 private:
  void finish();

  std::shared_ptr<RegistryState> state_;
  std::chrono::steady_clock::time_point start_;
  std::string_view method_;
  std::string route_;
  std::shared_ptr<std::string> matched_path_;  // http::MatchedPath, filled by the Router
  uint16_t status_ = 0;
  bool matched_ = false;
  bool active_ = true;
};

}  // namespace detail

template <class S>
class Metrics {
  using Req = http::Request<http::Body>;
  using Resp = http::Response<http::Body>;

 public:
  Metrics(S inner, Registry registry) : inner_(std::move(inner)), registry_(std::move(registry)) {}

  auto ready() const requires tower::detail::ReadyGivesStatusOr<S> { return inner_.ready(); }

  // The inner response (its streamed body observed); errors unchanged.
  Task<absl::StatusOr<Resp>> call(tower::permit_t<S> permit,
                                  Req req) const requires tower::ServiceFor<S, Req, Resp> {
    detail::MetricsCall mc(registry_.state(), req);
    auto fut = inner_.call(std::move(permit), std::move(req));
    absl::StatusOr<Resp> r = absl::UnknownError("no response");
    try {
      r = co_await std::move(fut);
    } catch (...) {
      mc.on_error(absl::InternalError("exception"));  // the server answers 500
      throw;
    }
    if (r.ok()) {
      mc.on_response(*r);
    } else {
      mc.on_error(r.status());
    }
    co_return std::move(r);
  }

  const Registry& registry() const { return registry_; }
  const S& inner() const { return inner_; }

 private:
  S inner_;
  Registry registry_;
};

class MetricsLayer {
 public:
  explicit MetricsLayer(Registry registry) : registry_(std::move(registry)) {}

  template <class S>
  Metrics<S> layer(S inner) const {
    return Metrics<S>(std::move(inner), registry_);
  }

 private:
  Registry registry_;
};

}  // namespace weft::middleware

WEFT_TOWER_CORO_END
