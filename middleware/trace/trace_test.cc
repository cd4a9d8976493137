// TraceLayer: one record per request with the right fields (route pattern or path, status,
// sizes counted as bodies stream, request id), written when the response body ends; errors,
// exceptions, cancellation; header redaction; W3C traceparent accepted, generated, propagated.
#define BOOST_TEST_MODULE trace_test
#include "weft/middleware/trace/trace.h"

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "weft/http/header_value.h"
#include "weft/http/router.h"
#include "weft/http/uri.h"
#include "weft/runtime/runtime.h"
#include "weft/runtime/testing/test_runtime.h"
#include "weft/runtime/time/sleep.h"
#include "weft/tower/service_builder.h"
#include "weft/tower/service_fn.h"
#include "weft/tower/timeout/timeout.h"

using weft::Task;
namespace http = weft::http;
namespace mw = weft::middleware;
namespace tower = weft::tower;
using Req = http::Request<http::Body>;
using Resp = http::Response<http::Body>;
using Result = absl::StatusOr<Resp>;
using namespace std::chrono_literals;

namespace {

struct Captured {
  std::mutex mu;
  std::vector<mw::AccessRecord> records;
  std::vector<std::string> lines;

  std::size_t size() {
    std::lock_guard<std::mutex> lock(mu);
    return records.size();
  }
  mw::AccessRecord last() {
    std::lock_guard<std::mutex> lock(mu);
    return records.back();
  }
};

mw::TraceOptions capture(const std::shared_ptr<Captured>& cap) {
  mw::TraceOptions o;
  o.sink = [cap](const mw::AccessRecord& r) {
    std::lock_guard<std::mutex> lock(cap->mu);
    cap->records.push_back(r);
    cap->lines.push_back(r.to_logfmt());
  };
  return o;
}

Req request(http::Method m, std::string_view target, http::Body body = http::Body()) {
  Req req(std::move(body));
  req.method() = m;
  req.uri() = *http::Uri::parse(target);
  return req;
}

Task<absl::StatusOr<std::string>> read_all(http::Body body) {
  Task<absl::StatusOr<weft::io::Bytes>> t = body.collect(1 << 20);
  absl::StatusOr<weft::io::Bytes> b = co_await std::move(t);
  if (!b.ok()) co_return b.status();
  co_return b->to_string();
}

bool is_hex(std::string_view s, std::size_t n) {
  if (s.size() != n) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return s.find_first_not_of('0') != std::string_view::npos;
}

// Echoes what the handler saw of the trace context in response headers.
Task<Result> hello(Req req) {
  Resp res(http::Body("hello, world"));
  if (const http::HeaderValue* tp = req.headers().get("traceparent")) {
    res.headers().insert(http::HeaderName::from_static("x-seen-traceparent"), *tp);
  }
  if (const http::HeaderValue* ts = req.headers().get("tracestate")) {
    res.headers().insert(http::HeaderName::from_static("x-seen-tracestate"), *ts);
  }
  if (const mw::TraceContext* ctx = req.extensions().get<mw::TraceContext>()) {
    res.headers().insert(http::HeaderName::from_static("x-seen-context"),
                         http::HeaderValue::from_static(ctx->traceparent()));
  }
  co_return res;
}

// Reads the request body, then answers with its size.
Task<Result> consume(Req req) {
  Task<absl::StatusOr<std::string>> t = read_all(std::move(req.body()));
  absl::StatusOr<std::string> body = co_await std::move(t);
  if (!body.ok()) co_return body.status();
  co_return Resp(http::Body(std::to_string(body->size())));
}

Task<void> produce(http::BodySender tx, int frames, std::size_t size) {
  for (int i = 0; i < frames; ++i) {
    Task<absl::Status> send = tx.send_data(weft::io::Bytes::from(std::string(size, 'a' + i)));
    absl::Status st = co_await std::move(send);
    if (!st.ok()) co_return;
  }
}

// A streamed response: ?frames=N of 100 bytes each.
Task<Result> stream(Req req) {
  std::optional<std::string> n = req.uri().query_param("frames");
  auto [tx, body] = http::Body::channel(1);
  weft::spawn(produce(std::move(tx), n ? std::stoi(*n) : 3, 100));
  co_return Resp(std::move(body));
}

Task<Result> fail(Req) { co_return absl::NotFoundError("no such user"); }
Task<Result> boom(Req) {
  throw std::runtime_error("boom");
  co_return Resp();
}
Task<Result> forever(Req) {
  co_await weft::time::sleep(10s);
  co_return Resp();
}
Task<Result> with_cookie(Req) {
  Resp res(http::Body("x"));
  res.headers().insert(http::header::SET_COOKIE, http::HeaderValue::from_static("sid=s3cr3t"));
  res.headers().insert(http::header::X_REQUEST_ID, http::HeaderValue::from_static("from-inner"));
  co_return res;
}

Task<absl::Status> route_and_fields() {
  auto cap = std::make_shared<Captured>();
  http::Router router;
  router.get("/users/{id}", &hello).get("/plain", &hello);
  router.layer(mw::TraceLayer(capture(cap)));

  Req req = request(http::Method::GET, "/users/7?token=secret");
  req.headers().insert(http::header::X_REQUEST_ID, http::HeaderValue::from_static("req-42"));
  Result r = co_await tower::oneshot(router, std::move(req));
  WEFT_CO_CHECK(r.ok() && r->status() == http::StatusCode::OK);
  WEFT_CO_CHECK(cap->size() == 1);  // a full body: written when the response is returned
  mw::AccessRecord rec = cap->last();
  WEFT_CO_CHECK(rec.method == "GET");
  WEFT_CO_CHECK(rec.route == "/users/{id}" && rec.route_matched);
  WEFT_CO_CHECK(rec.path == "/users/7");
  WEFT_CO_CHECK(rec.status == 200);
  WEFT_CO_CHECK(rec.bytes_in == 0 && rec.bytes_out == 12);
  WEFT_CO_CHECK(rec.request_id == "req-42");
  WEFT_CO_CHECK(is_hex(rec.trace_id, 32) && is_hex(rec.span_id, 16));
  WEFT_CO_CHECK(rec.parent_span_id.empty());
  WEFT_CO_CHECK(rec.outcome == mw::Outcome::kComplete && rec.error.empty());
  WEFT_CO_CHECK(rec.latency >= rec.head_latency && rec.latency.count() > 0);
  const std::string line = rec.to_logfmt();
  WEFT_CO_CHECK(line.find("method=GET route=/users/{id} path=/users/7 status=200 ") !=
                std::string::npos);
  WEFT_CO_CHECK(line.find("bytes_in=0 bytes_out=12 request_id=req-42 trace_id=" + rec.trace_id) !=
                std::string::npos);
  WEFT_CO_CHECK(line.find("outcome=complete") != std::string::npos);
  WEFT_CO_CHECK(line.find("secret") == std::string::npos);  // no query string
  WEFT_CO_CHECK(line.find('\n') == std::string::npos);

  // A static route is its own pattern; no route matched: the path (a 404 from the router).
  Result p = co_await tower::oneshot(router, request(http::Method::GET, "/plain"));
  WEFT_CO_CHECK(p.ok() && cap->size() == 2);
  rec = cap->last();
  WEFT_CO_CHECK(rec.route == "/plain" && rec.route_matched && rec.request_id.empty());
  Result nf = co_await tower::oneshot(router, request(http::Method::GET, "/nope"));
  WEFT_CO_CHECK(nf.ok() && cap->size() == 3);
  rec = cap->last();
  WEFT_CO_CHECK(rec.status == 404 && rec.route == "/nope" && !rec.route_matched &&
                rec.bytes_out == 9);  // "Not Found"
  // HEAD: the body is not sent.
  Result head = co_await tower::oneshot(router, request(http::Method::HEAD, "/plain"));
  WEFT_CO_CHECK(head.ok() && cap->size() == 4);
  WEFT_CO_CHECK(cap->last().bytes_out == 0 && cap->last().method == "HEAD");
  co_return absl::OkStatus();
}

Task<absl::Status> streamed_response_is_counted_and_logged_at_its_end() {
  auto cap = std::make_shared<Captured>();
  auto svc = tower::ServiceBuilder().layer(mw::TraceLayer(capture(cap))).service_fn(&stream);
  Result r = co_await tower::oneshot(svc, request(http::Method::GET, "/s?frames=3"));
  WEFT_CO_CHECK(r.ok());
  WEFT_CO_CHECK(r->body().is_stream() && !r->body().size_hint().has_value());
  WEFT_CO_CHECK(cap->size() == 0);  // not before the body has ended
  std::size_t got = 0;
  for (int i = 0; i < 3; ++i) {
    Task<absl::StatusOr<std::optional<http::Frame>>> next = r->body().frame();
    absl::StatusOr<std::optional<http::Frame>> f = co_await std::move(next);
    WEFT_CO_CHECK(f.ok() && f->has_value());
    got += (*f)->data.size();
  }
  WEFT_CO_CHECK(got == 300);
  Task<absl::StatusOr<std::optional<http::Frame>>> next = r->body().frame();
  absl::StatusOr<std::optional<http::Frame>> end = co_await std::move(next);
  WEFT_CO_CHECK(end.ok() && !end->has_value());
  WEFT_CO_CHECK(cap->size() == 1);
  mw::AccessRecord rec = cap->last();
  WEFT_CO_CHECK(rec.bytes_out == 300 && rec.outcome == mw::Outcome::kComplete);
  WEFT_CO_CHECK(rec.latency >= rec.head_latency);

  // Dropped half way (the client went away): body_dropped, with what was sent.
  Result half = co_await tower::oneshot(svc, request(http::Method::GET, "/s?frames=5"));
  WEFT_CO_CHECK(half.ok());
  Task<absl::StatusOr<std::optional<http::Frame>>> first = half->body().frame();
  absl::StatusOr<std::optional<http::Frame>> f1 = co_await std::move(first);
  WEFT_CO_CHECK(f1.ok() && f1->has_value());
  WEFT_CO_CHECK(cap->size() == 1);
  half = absl::CancelledError("dropped");  // destroys the response and its body
  WEFT_CO_CHECK(cap->size() == 2);
  rec = cap->last();
  WEFT_CO_CHECK(rec.outcome == mw::Outcome::kBodyDropped && rec.bytes_out == 100);

  // A streamed HEAD response is never read: that is its normal end.
  Result head = co_await tower::oneshot(svc, request(http::Method::HEAD, "/s"));
  WEFT_CO_CHECK(head.ok());
  head = absl::CancelledError("dropped");
  WEFT_CO_CHECK(cap->size() == 3);
  WEFT_CO_CHECK(cap->last().outcome == mw::Outcome::kComplete && cap->last().bytes_out == 0);
  co_return absl::OkStatus();
}

Task<absl::Status> request_bytes_are_counted_as_read() {
  auto cap = std::make_shared<Captured>();
  auto svc = tower::ServiceBuilder().layer(mw::TraceLayer(capture(cap))).service_fn(&consume);
  auto [tx, body] = http::Body::channel(4);
  weft::spawn(produce(std::move(tx), 4, 250));
  Result r = co_await tower::oneshot(svc, request(http::Method::POST, "/upload", std::move(body)));
  WEFT_CO_CHECK(r.ok() && r->body().full_bytes() == "1000");
  WEFT_CO_CHECK(cap->size() == 1 && cap->last().bytes_in == 1000 && cap->last().bytes_out == 4);
  // A full request body read by the handler.
  Result f = co_await tower::oneshot(svc, request(http::Method::PUT, "/u", http::Body("12345")));
  WEFT_CO_CHECK(f.ok() && cap->last().bytes_in == 5 && cap->last().method == "PUT");
  // Not read: not counted.
  auto ignore = tower::ServiceBuilder().layer(mw::TraceLayer(capture(cap))).service_fn(&hello);
  Result n = co_await tower::oneshot(ignore, request(http::Method::POST, "/", http::Body("abc")));
  WEFT_CO_CHECK(n.ok() && cap->last().bytes_in == 0);
  co_return absl::OkStatus();
}

Task<absl::Status> errors_exceptions_and_cancellation() {
  auto cap = std::make_shared<Captured>();
  auto failing = tower::ServiceBuilder().layer(mw::TraceLayer(capture(cap))).service_fn(&fail);
  Result r = co_await tower::oneshot(failing, request(http::Method::GET, "/users/9"));
  WEFT_CO_CHECK(absl::IsNotFound(r.status()));  // unchanged
  WEFT_CO_CHECK(cap->size() == 1);
  mw::AccessRecord rec = cap->last();
  WEFT_CO_CHECK(rec.status == 404 && rec.outcome == mw::Outcome::kError);
  WEFT_CO_CHECK(rec.error == "no such user");
  WEFT_CO_CHECK(rec.to_logfmt().find("outcome=error error=\"no such user\"") != std::string::npos);

  auto throwing = tower::ServiceBuilder().layer(mw::TraceLayer(capture(cap))).service_fn(&boom);
  bool threw = false;
  try {
    Result t = co_await tower::oneshot(throwing, request(http::Method::GET, "/"));
  } catch (const std::runtime_error&) {
    threw = true;  // passed on
  }
  WEFT_CO_CHECK(threw && cap->size() == 2);
  rec = cap->last();
  WEFT_CO_CHECK(rec.status == 500 && rec.outcome == mw::Outcome::kError);
  WEFT_CO_CHECK(rec.error == "exception: boom");

  // A timeout outside the trace layer destroys the call: logged as cancelled, status 0.
  auto slow = tower::ServiceBuilder()
                  .layer(tower::TimeoutLayer(20ms))
                  .layer(mw::TraceLayer(capture(cap)))
                  .service_fn(&forever);
  Result c = co_await tower::oneshot(slow, request(http::Method::GET, "/slow"));
  WEFT_CO_CHECK(absl::IsDeadlineExceeded(c.status()));
  WEFT_CO_CHECK(cap->size() == 3);
  rec = cap->last();
  WEFT_CO_CHECK(rec.outcome == mw::Outcome::kCancelled && rec.status == 0);
  // The clock starts in call(), before the timeout takes its deadline (however late the
  // trace's task first runs on a loaded machine), so it covers the whole 20 ms.
  WEFT_CO_CHECK(rec.latency >= 20ms);

  // A call whose task is destroyed before it ever runs is logged as cancelled too.
  auto dropped = tower::ServiceBuilder().layer(mw::TraceLayer(capture(cap))).service_fn(&forever);
  {
    Task<Result> never_polled =
        dropped.call(tower::NoPermit{}, request(http::Method::GET, "/dropped"));
  }
  WEFT_CO_CHECK(cap->size() == 4);
  rec = cap->last();
  WEFT_CO_CHECK(rec.outcome == mw::Outcome::kCancelled && rec.path == "/dropped");
  co_return absl::OkStatus();
}

Task<absl::Status> sensitive_headers_are_redacted() {
  auto cap = std::make_shared<Captured>();
  mw::TraceOptions o = capture(cap);
  o.log_headers = true;
  o.sensitive_headers = {"X-Internal-Token"};
  auto svc = tower::ServiceBuilder().layer(mw::TraceLayer(std::move(o))).service_fn(&with_cookie);
  Req req = request(http::Method::GET, "/");
  http::HeaderMap& h = req.headers();
  h.insert(http::header::AUTHORIZATION, http::HeaderValue::from_static("Bearer tok-1"));
  h.insert(http::header::PROXY_AUTHORIZATION, http::HeaderValue::from_static("Basic tok-2"));
  h.append(http::header::COOKIE, http::HeaderValue::from_static("a=tok-3"));
  h.append(http::header::COOKIE, http::HeaderValue::from_static("b=tok-4"));
  http::HeaderValue marked = http::HeaderValue::from_static("tok-5");
  marked.set_sensitive(true);
  h.insert(http::HeaderName::from_static("x-api-key"), marked);
  h.insert(http::HeaderName::from_static("x-internal-token"),
           http::HeaderValue::from_static("tok-6"));
  h.insert(http::header::USER_AGENT, http::HeaderValue::from_static("curl/8.0"));
  h.append(http::header::ACCEPT, http::HeaderValue::from_static("text/html"));
  h.append(http::header::ACCEPT, http::HeaderValue::from_static("*/*"));
  Result r = co_await tower::oneshot(svc, std::move(req));
  WEFT_CO_CHECK(r.ok() && cap->size() == 1);
  mw::AccessRecord rec = cap->last();
  auto find = [](const auto& hs, std::string_view name) -> std::string {
    for (const auto& [n, v] : hs) {
      if (n == name) return v;
    }
    return "<absent>";
  };
  WEFT_CO_CHECK(find(rec.request_headers, "authorization") == "[redacted]");
  WEFT_CO_CHECK(find(rec.request_headers, "proxy-authorization") == "[redacted]");
  WEFT_CO_CHECK(find(rec.request_headers, "cookie") == "[redacted]");
  WEFT_CO_CHECK(find(rec.request_headers, "x-api-key") == "[redacted]");
  WEFT_CO_CHECK(find(rec.request_headers, "x-internal-token") == "[redacted]");
  WEFT_CO_CHECK(find(rec.request_headers, "user-agent") == "curl/8.0");
  WEFT_CO_CHECK(find(rec.request_headers, "accept") == "text/html, */*");
  WEFT_CO_CHECK(find(rec.response_headers, "set-cookie") == "[redacted]");
  WEFT_CO_CHECK(find(rec.response_headers, "traceparent").size() == 55);
  // The request id came back on the response (a request-id layer inside would put it there).
  WEFT_CO_CHECK(rec.request_id == "from-inner");
  const std::string line = rec.to_logfmt();
  const std::string json = rec.to_json();
  for (std::string_view secret : {"tok-", "s3cr3t"}) {
    WEFT_CO_CHECK(line.find(secret) == std::string::npos);
    WEFT_CO_CHECK(json.find(secret) == std::string::npos);
  }
  WEFT_CO_CHECK(line.find("req.user-agent=curl/8.0") != std::string::npos);
  WEFT_CO_CHECK(line.find("req.accept=\"text/html, */*\"") != std::string::npos);
  WEFT_CO_CHECK(line.find("res.set-cookie=[redacted]") != std::string::npos);
  WEFT_CO_CHECK(json.find("\"request_headers\":{") != std::string::npos);
  WEFT_CO_CHECK(json.find("\"user-agent\":\"curl/8.0\"") != std::string::npos);
  // The request itself is untouched: redaction is for the log only.
  co_return absl::OkStatus();
}

Task<absl::Status> traceparent_accepted_and_propagated() {
  auto cap = std::make_shared<Captured>();
  auto svc = tower::ServiceBuilder().layer(mw::TraceLayer(capture(cap))).service_fn(&hello);
  constexpr std::string_view kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
  constexpr std::string_view kParent = "00f067aa0ba902b7";
  Req req = request(http::Method::GET, "/");
  req.headers().insert(http::HeaderName::from_static("traceparent"),
                       http::HeaderValue::from_static("00-4bf92f3577b34da6a3ce929d0e0e4736-"
                                                      "00f067aa0ba902b7-00"));
  req.headers().insert(http::HeaderName::from_static("tracestate"),
                       http::HeaderValue::from_static("congo=t61rcWkgMzE"));
  Result r = co_await tower::oneshot(svc, std::move(req));
  WEFT_CO_CHECK(r.ok() && cap->size() == 1);
  mw::AccessRecord rec = cap->last();
  WEFT_CO_CHECK(rec.trace_id == kTrace && rec.parent_span_id == kParent);
  WEFT_CO_CHECK(is_hex(rec.span_id, 16) && rec.span_id != kParent);
  const std::string child = "00-" + std::string(kTrace) + "-" + rec.span_id + "-00";  // not sampled
  const http::HeaderMap& h = r->headers();
  WEFT_CO_CHECK(h.get("x-seen-traceparent") != nullptr && *h.get("x-seen-traceparent") == child);
  WEFT_CO_CHECK(h.get("x-seen-context") != nullptr && *h.get("x-seen-context") == child);
  WEFT_CO_CHECK(h.get("x-seen-tracestate") != nullptr &&
                *h.get("x-seen-tracestate") == "congo=t61rcWkgMzE");
  WEFT_CO_CHECK(h.get("traceparent") != nullptr && *h.get("traceparent") == child);
  WEFT_CO_CHECK(rec.to_logfmt().find("parent_id=" + std::string(kParent)) != std::string::npos);

  // A later version is read by its 00 prefix; what is passed on is version 00.
  Req v2 = request(http::Method::GET, "/");
  v2.headers().insert(http::HeaderName::from_static("traceparent"),
                      http::HeaderValue::from_static("cc-4bf92f3577b34da6a3ce929d0e0e4736-"
                                                     "00f067aa0ba902b7-01-what-the-future-holds"));
  Result r2 = co_await tower::oneshot(svc, std::move(v2));
  WEFT_CO_CHECK(r2.ok() && cap->last().trace_id == kTrace && cap->last().parent_span_id == kParent);
  WEFT_CO_CHECK(r2->headers().get("traceparent")->as_str().starts_with("00-4bf92f"));
  WEFT_CO_CHECK(r2->headers().get("traceparent")->as_str().ends_with("-01"));
  co_return absl::OkStatus();
}

Task<absl::Status> traceparent_generated_when_absent_or_invalid() {
  auto cap = std::make_shared<Captured>();
  auto svc = tower::ServiceBuilder().layer(mw::TraceLayer(capture(cap))).service_fn(&hello);
  std::vector<std::string> traces;
  const std::vector<std::vector<std::string>> cases = {
      {},                                                             // absent
      {"00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01"},    // uppercase
      {"00-00000000000000000000000000000000-00f067aa0ba902b7-01"},    // zero trace-id
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"},    // zero parent-id
      {"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},    // version ff
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x"},  // 00 with more
      {"00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01"},     // short trace-id
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
       "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},  // twice
  };
  for (const std::vector<std::string>& values : cases) {
    Req req = request(http::Method::GET, "/");
    for (const std::string& v : values) {
      req.headers().append(http::HeaderName::from_static("traceparent"),
                           http::HeaderValue::from_static(v));
    }
    req.headers().insert(http::HeaderName::from_static("tracestate"),
                         http::HeaderValue::from_static("congo=t61rcWkgMzE"));
    Result r = co_await tower::oneshot(svc, std::move(req));
    WEFT_CO_CHECK(r.ok());
    mw::AccessRecord rec = cap->last();
    WEFT_CO_CHECK(is_hex(rec.trace_id, 32) && rec.trace_id != "4bf92f3577b34da6a3ce929d0e0e4736");
    WEFT_CO_CHECK(is_hex(rec.span_id, 16) && rec.parent_span_id.empty());
    const std::string expected = "00-" + rec.trace_id + "-" + rec.span_id + "-01";
    WEFT_CO_CHECK(*r->headers().get("traceparent") == expected);
    WEFT_CO_CHECK(*r->headers().get("x-seen-traceparent") == expected);
    WEFT_CO_CHECK(r->headers().get("x-seen-tracestate") == nullptr);  // dropped with it
    traces.push_back(rec.trace_id);
  }
  for (std::size_t i = 0; i < traces.size(); ++i) {
    for (std::size_t j = i + 1; j < traces.size(); ++j) WEFT_CO_CHECK(traces[i] != traces[j]);
  }
  co_return absl::OkStatus();
}

Task<absl::Status> options_turn_propagation_off_and_json_lines() {
  auto lines = std::make_shared<Captured>();
  mw::TraceOptions o;
  o.sink = mw::line_sink(
      [lines](std::string_view line) {
        std::lock_guard<std::mutex> lock(lines->mu);
        lines->lines.emplace_back(line);
      },
      mw::LogFormat::kJson);
  o.propagate_traceparent = false;
  o.response_traceparent = false;
  o.request_id_from = [](const http::Extensions& ext) -> std::optional<std::string> {
    if (const std::string* id = ext.get<std::string>()) return *id;
    return std::nullopt;
  };
  auto svc = tower::ServiceBuilder().layer(mw::TraceLayer(std::move(o))).service_fn(&hello);
  Req req = request(http::Method::GET, "/a\"b");
  req.extensions().insert(std::string("ext-id-7"));
  Result r = co_await tower::oneshot(svc, std::move(req));
  WEFT_CO_CHECK(r.ok());
  WEFT_CO_CHECK(r->headers().get("traceparent") == nullptr);
  WEFT_CO_CHECK(r->headers().get("x-seen-traceparent") == nullptr);
  WEFT_CO_CHECK(r->headers().get("x-seen-context") != nullptr);  // the extension is still there
  std::string line;
  {
    std::lock_guard<std::mutex> lock(lines->mu);
    WEFT_CO_CHECK(lines->lines.size() == 1);
    line = lines->lines[0];
  }
  WEFT_CO_CHECK(line.front() == '{' && line.back() == '}');
  WEFT_CO_CHECK(line.find("\"method\":\"GET\"") != std::string::npos);
  WEFT_CO_CHECK(line.find("\"status\":200") != std::string::npos);
  WEFT_CO_CHECK(line.find("\"bytes_out\":12") != std::string::npos);
  WEFT_CO_CHECK(line.find("\"request_id\":\"ext-id-7\"") != std::string::npos);
  WEFT_CO_CHECK(line.find("\"route_matched\":false") != std::string::npos);
  WEFT_CO_CHECK(line.find("\"outcome\":\"complete\"") != std::string::npos);
  co_return absl::OkStatus();
}

void run(Task<absl::Status> (*test)()) {
  auto rt = weft::testing::make_runtime();
  absl::Status s = rt.block_on(test());
  BOOST_TEST(s.ok(), s.ToString());
}

}  // namespace

BOOST_AUTO_TEST_CASE(parse_traceparent_cases) {
  std::optional<mw::TraceParent> p =
      mw::parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  BOOST_REQUIRE(p.has_value());
  BOOST_TEST(p->version == 0);
  BOOST_TEST(p->trace_id == "4bf92f3577b34da6a3ce929d0e0e4736");
  BOOST_TEST(p->parent_id == "00f067aa0ba902b7");
  BOOST_TEST(p->flags == 1);
  BOOST_TEST(mw::parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03-xx")
                 ->version == 1);
  for (std::string_view bad : {
           "",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
           "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
           "0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
           "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
           " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
       }) {
    BOOST_TEST(!mw::parse_traceparent(bad).has_value(), bad);
  }
  BOOST_TEST(mw::random_trace_id() != mw::random_trace_id());
  BOOST_TEST(mw::random_span_id().size() == 16u);
  BOOST_TEST(
      mw::parse_traceparent("00-" + mw::random_trace_id() + "-" + mw::random_span_id() + "-01")
          .has_value());
}

BOOST_AUTO_TEST_CASE(route_and_fields_case) { run(&route_and_fields); }
BOOST_AUTO_TEST_CASE(streamed_response) {
  run(&streamed_response_is_counted_and_logged_at_its_end);
}
BOOST_AUTO_TEST_CASE(request_bytes) { run(&request_bytes_are_counted_as_read); }
BOOST_AUTO_TEST_CASE(errors_and_cancellation) { run(&errors_exceptions_and_cancellation); }
BOOST_AUTO_TEST_CASE(redaction) { run(&sensitive_headers_are_redacted); }
BOOST_AUTO_TEST_CASE(traceparent_accepted) { run(&traceparent_accepted_and_propagated); }
BOOST_AUTO_TEST_CASE(traceparent_generated) { run(&traceparent_generated_when_absent_or_invalid); }
BOOST_AUTO_TEST_CASE(options_and_json) { run(&options_turn_propagation_off_and_json_lines); }

BOOST_AUTO_TEST_CASE(logfmt_quoting_and_stderr_sink) {
  mw::AccessRecord r;
  r.method = "GET";
  r.route = "/a b";
  r.path = "/x=\"y\"\n";
  r.trace_id = "t";
  r.span_id = "s";
  const std::string line = r.to_logfmt();
  BOOST_TEST(line.find("route=\"/a b\"") != std::string::npos, line);
  BOOST_TEST(line.find("path=\"/x=\\\"y\\\"\\n\"") != std::string::npos, line);
  BOOST_TEST(line.starts_with("time="));
  const std::string json = r.to_json();
  BOOST_TEST(json.find("\"path\":\"/x=\\\"y\\\"\\n\"") != std::string::npos, json);
  // The default sink writes to stderr without failing.
  mw::stderr_sink()(r);
}
