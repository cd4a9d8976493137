// Metrics: the exposition parsed back line by line (counters, histogram buckets/_sum/_count,
// in-flight gauge, runtime metrics), route labels (MatchedRoute, path, unmatched label, cap),
// status of errors, the in-flight gauge during a slow call and a streamed body, and exact
// counts under concurrent use.
#define BOOST_TEST_MODULE metrics_test
#include "weft/middleware/metrics/metrics.h"

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "weft/http/header_value.h"
#include "weft/http/router.h"
#include "weft/http/uri.h"
#include "weft/runtime/runtime.h"
#include "weft/runtime/sync/notify.h"
#include "weft/runtime/task/yield_now.h"
#include "weft/runtime/testing/test_runtime.h"
#include "weft/tower/service_builder.h"
#include "weft/tower/service_fn.h"

using weft::Task;
namespace http = weft::http;
namespace mw = weft::middleware;
namespace tower = weft::tower;
using Req = http::Request<http::Body>;
using Resp = http::Response<http::Body>;
using Result = absl::StatusOr<Resp>;
using namespace std::chrono_literals;

namespace {

Req request(http::Method m, std::string_view target) {
  Req req;
  req.method() = m;
  req.uri() = *http::Uri::parse(target);
  return req;
}

Task<Result> ok(Req) { co_return Resp(http::Body("ok")); }
Task<Result> created(Req) { co_return Resp(http::StatusCode::CREATED, http::Body("made")); }
Task<Result> missing(Req) { co_return absl::NotFoundError("gone"); }

// Waits for the gate before answering.
struct Gate {
  std::shared_ptr<weft::sync::Notify> open = std::make_shared<weft::sync::Notify>();
  tower::AlwaysReady ready() const { return tower::always_ready(); }
  Task<Result> call(tower::NoPermit, Req) const {
    co_await open->notified();
    co_return Resp(http::Body("late"));
  }
};

// The exposition, parsed: sample "name{labels}" -> value, and the TYPE of each family.
struct Exposition {
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;
  std::vector<std::string> order;  // sample keys in output order
  std::string error;

  double get(const std::string& key) const {
    auto it = samples.find(key);
    return it == samples.end() ? -1 : it->second;
  }
};

Exposition parse(const std::string& text) {
  Exposition e;
  std::istringstream in(text);
  std::string line;
  std::string family;  // the family of the last TYPE line
  while (std::getline(in, line)) {
    if (line.empty()) {
      e.error = "empty line";
      continue;
    }
    if (line.starts_with("# HELP ")) continue;
    if (line.starts_with("# TYPE ")) {
      std::istringstream t(line.substr(7));
      std::string name, type;
      t >> name >> type;
      if (type != "counter" && type != "gauge" && type != "histogram") e.error = "type " + type;
      e.types[name] = type;
      family = name;
      continue;
    }
    std::size_t space = line.rfind(' ');
    if (space == std::string::npos) {
      e.error = "no value: " + line;
      continue;
    }
    std::string key = line.substr(0, space);
    std::string name = key.substr(0, key.find('{'));
    if (!name.starts_with(family)) e.error = "sample outside its family: " + line;
    e.samples[key] = std::stod(line.substr(space + 1));
    e.order.push_back(key);
  }
  if (!text.ends_with("\n")) e.error = "no final newline";
  return e;
}

std::string labels(std::string_view method, std::string_view route, int status) {
  return "{method=\"" + std::string(method) + "\",route=\"" + std::string(route) + "\",status=\"" +
         std::to_string(status) + "\"";
}

Task<absl::Status> exposition_round_trip() {
  mw::Registry registry;
  http::Router router;
  router.get("/users/{id}", &ok)
      .post("/users", &created)
      .get("/gone", &missing)
      .get("/metrics", registry.handler())
      .layer(mw::MetricsLayer(registry));
  for (std::string_view target : {"/users/1", "/users/2", "/users/3"}) {
    Result r = co_await tower::oneshot(router, request(http::Method::GET, target));
    WEFT_CO_CHECK(r.ok() && r->status() == http::StatusCode::OK);
  }
  Result c = co_await tower::oneshot(router, request(http::Method::POST, "/users"));
  WEFT_CO_CHECK(c.ok() && c->status() == http::StatusCode::CREATED);
  Result g = co_await tower::oneshot(router, request(http::Method::GET, "/gone"));
  WEFT_CO_CHECK(absl::IsNotFound(g.status()));
  Result nf = co_await tower::oneshot(router, request(http::Method::GET, "/nope"));
  WEFT_CO_CHECK(nf.ok() && nf->status() == http::StatusCode::NOT_FOUND);
  WEFT_CO_CHECK(registry.requests("GET", "/users/{id}", 200) == 3);

  Result m = co_await tower::oneshot(router, request(http::Method::GET, "/metrics"));
  WEFT_CO_CHECK(m.ok() && m->status() == http::StatusCode::OK);
  const http::HeaderValue* ct = m->headers().get(http::header::CONTENT_TYPE);
  WEFT_CO_CHECK(ct != nullptr && ct->as_str().starts_with("text/plain; version=0.0.4"));
  const std::string text(m->body().full_bytes().as_string_view());
  Exposition e = parse(text);
  WEFT_CO_CHECK(e.error.empty());
  WEFT_CO_CHECK(e.types["http_requests_total"] == "counter");
  WEFT_CO_CHECK(e.types["http_request_duration_seconds"] == "histogram");
  WEFT_CO_CHECK(e.types["http_requests_in_flight"] == "gauge");

  const std::string users = labels("GET", "/users/{id}", 200);
  WEFT_CO_CHECK(e.get("http_requests_total" + users + "}") == 3);
  WEFT_CO_CHECK(e.get("http_requests_total" + labels("POST", "/users", 201) + "}") == 1);
  WEFT_CO_CHECK(e.get("http_requests_total" + labels("GET", "/gone", 404) + "}") == 1);  // error
  WEFT_CO_CHECK(e.get("http_requests_total" + labels("GET", "/nope", 404) + "}") == 1);
  // The scrape itself is in flight while it renders, and not counted yet.
  WEFT_CO_CHECK(e.get("http_requests_in_flight") == 1);
  WEFT_CO_CHECK(e.get("http_requests_total" + labels("GET", "/metrics", 200) + "}") == -1);

  // Histogram: cumulative, +Inf == _count == requests_total; _sum is a small positive number.
  double prev = 0;
  for (std::string_view le :
       {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"}) {
    double v =
        e.get("http_request_duration_seconds_bucket" + users + ",le=\"" + std::string(le) + "\"}");
    WEFT_CO_CHECK(v >= prev);
    prev = v;
  }
  WEFT_CO_CHECK(prev == 3);
  WEFT_CO_CHECK(e.get("http_request_duration_seconds_count" + users + "}") == 3);
  double sum = e.get("http_request_duration_seconds_sum" + users + "}");
  WEFT_CO_CHECK(sum > 0 && sum < 3);
  // Each series: its buckets in increasing le order, then _sum, then _count.
  std::size_t first = 0;
  while (first < e.order.size() &&
         !e.order[first].starts_with("http_request_duration_seconds_bucket" + users))
    ++first;
  WEFT_CO_CHECK(first + 13 < e.order.size());
  WEFT_CO_CHECK(e.order[first + 11].ends_with("le=\"+Inf\"}"));
  WEFT_CO_CHECK(e.order[first + 12].starts_with("http_request_duration_seconds_sum"));
  WEFT_CO_CHECK(e.order[first + 13].starts_with("http_request_duration_seconds_count"));

  // The next scrape counts the first one.
  std::string again = registry.render();
  WEFT_CO_CHECK(parse(again).get("http_requests_total" + labels("GET", "/metrics", 200) + "}") ==
                1);
  WEFT_CO_CHECK(parse(again).get("http_requests_in_flight") == 0);
  co_return absl::OkStatus();
}

Task<absl::Status> in_flight_during_a_slow_call() {
  mw::Registry registry;
  Gate gate;
  auto svc = tower::ServiceBuilder().layer(mw::MetricsLayer(registry)).service(gate);
  WEFT_CO_CHECK(registry.in_flight() == 0);
  weft::JoinHandle<Result> h =
      weft::spawn(tower::oneshot(svc, request(http::Method::GET, "/slow")));
  for (int i = 0; i < 10000 && registry.in_flight() == 0; ++i) co_await weft::yield_now();
  WEFT_CO_CHECK(registry.in_flight() == 1);
  WEFT_CO_CHECK(parse(registry.render()).get("http_requests_in_flight") == 1);
  WEFT_CO_CHECK(registry.requests("GET", "/slow", 200) == 0);
  gate.open->notify_one();
  absl::StatusOr<Result> r = co_await h;
  WEFT_CO_CHECK(r.ok() && r->ok());
  WEFT_CO_CHECK(registry.in_flight() == 0);
  WEFT_CO_CHECK(registry.requests("GET", "/slow", 200) == 1);
  co_return absl::OkStatus();
}

Task<void> produce(http::BodySender tx, std::shared_ptr<weft::sync::Notify> go) {
  Task<absl::Status> a = tx.send_data(weft::io::Bytes::from_static("first"));
  absl::Status s = co_await std::move(a);
  if (!s.ok()) co_return;
  co_await go->notified();
  Task<absl::Status> b = tx.send_data(weft::io::Bytes::from_static("second"));
  s = co_await std::move(b);
}

struct Streaming {
  std::shared_ptr<weft::sync::Notify> go = std::make_shared<weft::sync::Notify>();
  tower::AlwaysReady ready() const { return tower::always_ready(); }
  Task<Result> call(tower::NoPermit, Req) const {
    auto [tx, body] = http::Body::channel(1);
    weft::spawn(produce(std::move(tx), go));
    co_return Resp(std::move(body));
  }
};

Task<absl::Status> streamed_body_in_flight_until_it_ends() {
  mw::Registry registry;
  Streaming inner;
  auto svc = tower::ServiceBuilder().layer(mw::MetricsLayer(registry)).service(inner);
  Result r = co_await tower::oneshot(svc, request(http::Method::GET, "/stream"));
  WEFT_CO_CHECK(r.ok());
  WEFT_CO_CHECK(registry.in_flight() == 1 && registry.requests("GET", "/stream", 200) == 0);
  Task<absl::StatusOr<std::optional<http::Frame>>> f1 = r->body().frame();
  absl::StatusOr<std::optional<http::Frame>> a = co_await std::move(f1);
  WEFT_CO_CHECK(a.ok() && a->has_value());
  WEFT_CO_CHECK(registry.in_flight() == 1);
  inner.go->notify_one();
  Task<absl::StatusOr<weft::io::Bytes>> rest = r->body().collect(100);
  absl::StatusOr<weft::io::Bytes> b = co_await std::move(rest);
  WEFT_CO_CHECK(b.ok() && *b == "second");
  WEFT_CO_CHECK(registry.in_flight() == 0 && registry.requests("GET", "/stream", 200) == 1);
  co_return absl::OkStatus();
}

Task<absl::Status> route_labels_and_cap() {
  mw::MetricsOptions o;
  o.max_series = 3;
  mw::Registry capped(o);
  auto svc = tower::ServiceBuilder().layer(mw::MetricsLayer(capped)).service_fn(&ok);
  for (int i = 0; i < 6; ++i) {
    Result r = co_await tower::oneshot(svc, request(http::Method::GET, "/p/" + std::to_string(i)));
    WEFT_CO_CHECK(r.ok());
  }
  Exposition e = parse(capped.render());
  WEFT_CO_CHECK(e.get("http_requests_total" + labels("GET", "/p/0", 200) + "}") == 1);
  WEFT_CO_CHECK(e.get("http_requests_total" + labels("GET", "/p/2", 200) + "}") == 1);
  WEFT_CO_CHECK(e.get("http_requests_total" + labels("GET", "/p/3", 200) + "}") == -1);
  WEFT_CO_CHECK(e.get("http_requests_total" + labels("GET", "__other__", 200) + "}") == 3);

  mw::MetricsOptions u;
  u.unmatched_route = "unmatched";
  mw::Registry labelled(u);
  auto svc2 = tower::ServiceBuilder().layer(mw::MetricsLayer(labelled)).service_fn(&ok);
  Result a = co_await tower::oneshot(svc2, request(http::Method::GET, "/x/1"));
  Result b = co_await tower::oneshot(svc2, request(*http::Method::parse("PURGE"), "/x/2"));
  WEFT_CO_CHECK(a.ok() && b.ok());
  WEFT_CO_CHECK(labelled.requests("GET", "unmatched", 200) == 1);
  WEFT_CO_CHECK(labelled.requests("OTHER", "unmatched", 200) == 1);  // extension methods
  co_return absl::OkStatus();
}

Task<absl::Status> one_client(const mw::Metrics<tower::ServiceFn<Task<Result> (*)(Req)>>* svc,
                              int n) {
  for (int i = 0; i < n; ++i) {
    Result r = co_await tower::oneshot(*svc, request(http::Method::GET, i % 2 ? "/a" : "/b"));
    WEFT_CO_CHECK(r.ok());
  }
  co_return absl::OkStatus();
}

Task<absl::Status> concurrent_counts_are_exact() {
  mw::Registry registry;
  auto svc = mw::MetricsLayer(registry).layer(tower::service_fn(&ok));
  std::vector<weft::JoinHandle<absl::Status>> clients;
  for (int i = 0; i < 8; ++i) clients.push_back(weft::spawn(one_client(&svc, 500)));
  for (auto& c : clients) {
    absl::StatusOr<absl::Status> s = co_await c;
    WEFT_CO_CHECK(s.ok() && s->ok());
  }
  WEFT_CO_CHECK(registry.requests("GET", "/a", 200) == 2000);
  WEFT_CO_CHECK(registry.requests("GET", "/b", 200) == 2000);
  WEFT_CO_CHECK(registry.in_flight() == 0);
  Exposition e = parse(registry.render());
  WEFT_CO_CHECK(e.get("http_request_duration_seconds_count" + labels("GET", "/a", 200) + "}") ==
                2000);
  co_return absl::OkStatus();
}

void run(Task<absl::Status> (*test)()) {
  auto rt = weft::testing::make_runtime();
  absl::Status s = rt.block_on(test());
  BOOST_TEST(s.ok(), s.ToString());
}

}  // namespace

BOOST_AUTO_TEST_CASE(exposition) { run(&exposition_round_trip); }
BOOST_AUTO_TEST_CASE(in_flight_slow_call) { run(&in_flight_during_a_slow_call); }
BOOST_AUTO_TEST_CASE(in_flight_streamed_body) { run(&streamed_body_in_flight_until_it_ends); }
BOOST_AUTO_TEST_CASE(labels_and_cap) { run(&route_labels_and_cap); }
BOOST_AUTO_TEST_CASE(concurrent) { run(&concurrent_counts_are_exact); }

BOOST_AUTO_TEST_CASE(histogram_buckets) {
  mw::MetricsOptions o;
  o.buckets = {0.1, 0.001, 1};  // sorted by the registry
  mw::Registry r(o);
  r.observe("GET", "/", 200, 500us);  // le 0.001
  r.observe("GET", "/", 200, 1ms);    // le 0.001 (bounds are inclusive)
  r.observe("GET", "/", 200, 50ms);   // le 0.1
  r.observe("GET", "/", 200, 3s);     // +Inf
  Exposition e = parse(r.render());
  BOOST_TEST(e.error.empty(), e.error);
  const std::string l = labels("GET", "/", 200);
  BOOST_TEST(e.get("http_request_duration_seconds_bucket" + l + ",le=\"0.001\"}") == 2);
  BOOST_TEST(e.get("http_request_duration_seconds_bucket" + l + ",le=\"0.1\"}") == 3);
  BOOST_TEST(e.get("http_request_duration_seconds_bucket" + l + ",le=\"1\"}") == 3);
  BOOST_TEST(e.get("http_request_duration_seconds_bucket" + l + ",le=\"+Inf\"}") == 4);
  BOOST_TEST(e.get("http_request_duration_seconds_sum" + l + "}") == 3.0515);
  BOOST_TEST(e.get("http_request_duration_seconds_count" + l + "}") == 4);
  // Label values are escaped.
  r.observe("GET", "/q\"\\\n", 200, 1ms);
  BOOST_TEST(r.render().find("route=\"/q\\\"\\\\\\n\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(runtime_metrics_and_collectors) {
  auto rt = weft::testing::make_runtime();
  mw::Registry registry;
  registry.watch_runtime(rt);
  registry.add_collector(
      [](std::string& out) { out.append("# TYPE app_jobs_total counter\napp_jobs_total 7\n"); });
  std::string text =
      rt.block_on([](mw::Registry reg) -> Task<std::string> { co_return reg.render(); }(registry));
  Exposition e = parse(text);
  BOOST_TEST(e.error.empty(), e.error);
  BOOST_TEST(e.types["weft_runtime_tasks_alive"] == "gauge");
  BOOST_TEST(e.types["weft_runtime_polls_total"] == "counter");
  BOOST_TEST(e.get("weft_runtime_workers") == 2);
  BOOST_TEST(e.get("weft_runtime_tasks_alive") >= 1);  // the task rendering it
  BOOST_TEST(e.get("weft_runtime_polls_total") >= 1);
  BOOST_TEST(e.get("weft_runtime_steals_total") >= 0);
  BOOST_TEST(e.get("weft_runtime_worker_polls_total{worker=\"0\"}") >= 0);
  BOOST_TEST(e.get("weft_runtime_worker_local_queue_depth{worker=\"1\"}") >= 0);
  BOOST_TEST(e.get("app_jobs_total") == 7);
}
