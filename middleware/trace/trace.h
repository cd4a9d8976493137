// trace: one structured access-log line per request (method, route, status, latency, bytes in
// and out, request id, W3C trace context), written when the response body has ended, so the
// sizes and the latency are real; and W3C `traceparent` accepted, generated and propagated.
//
//   namespace mw = weft::middleware;
//   auto svc = weft::tower::ServiceBuilder()
//                  .layer(mw::TraceLayer())        // logfmt lines to stderr
//                  .service(std::move(router));
//   mw::TraceOptions o;                            // or: capture records (tests, a log shipper)
//   o.sink = [](const mw::AccessRecord& r) { ship(r.to_json()); };
//   o.log_headers = true;                          // credentials are redacted
//   router.layer(mw::TraceLayer(std::move(o)));
//
// A line (logfmt; `to_json()` gives the same fields as a JSON object):
//   time=2024-05-01T12:00:00.123Z method=GET route=/users/{id} path=/users/7 status=200
//   latency_ms=1.204 head_ms=0.913 bytes_in=0 bytes_out=1432 request_id=3f2a
//   trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7
//   parent_id=6e0c63257de34c92 outcome=complete
//
// Fields:
//   * route: the pattern the Router matched (http::MatchedPath, e.g. "/users/{id}"); when no
//     route matched, the path, and `route_matched` is false. The query string is never logged (it
//     may hold secrets).
//   * status: what the server sends: the response's status, or http::from_status(error) when the
//     inner service failed (the server turns an error into exactly that), 500 for an exception;
//     0 when there was no response at all (the call was cancelled).
//   * latency: from call() to the end of the response body (the last frame handed to the
//     server); head_ms: from call() to the response head. bytes_out counts response body bytes
//     as the server takes them: a streamed body is wrapped in a counting BodySource and the
//     line is written when it ends, fails, or is dropped. A full (in-memory) or empty body is
//     NOT wrapped — it keeps the server's single-write path — and the line is written when the
//     response is returned, its size being known then (0 for HEAD, 1xx, 204 and 304: not sent).
//     bytes_in counts the request body bytes the inner service read (also through a counting
//     source); what it left unread (and the server drains) is not counted.
//   * outcome: complete; error (the inner service returned an error or threw); body_error (the
//     streamed body failed half way: `error` says why); body_dropped (the reader gave up before
//     the end, e.g. the client went away); cancelled (the call itself was destroyed, e.g. by a
//     timeout outside this layer). A streamed HEAD/204/304 body that is dropped is complete.
//   * request_id: the request's `x-request-id` header (TraceOptions::request_id_header), else
//     TraceOptions::request_id_from(request extensions), else the response's `x-request-id`
//     (a request-id layer inside this one sets it there).
//   * headers (TraceOptions::log_headers): request and response headers, values of the same
//     name joined with ", ". A value is written as "[redacted]" when it is marked sensitive
//     (HeaderValue::is_sensitive), when its name is `authorization`, `proxy-authorization`,
//     `cookie` or `set-cookie` (always), or in TraceOptions::sensitive_headers.
//
// Trace context (W3C Trace Context, version 00):
//   * accepted: exactly one valid `traceparent` (2-hex version not ff, and for 00 exactly 55
//     chars; lowercase hex; trace-id and parent-id not all zero; later versions are parsed by
//     their 00 prefix). trace_id and flags are kept, the caller's parent-id is logged as
//     parent_id, and `tracestate` is passed on untouched;
//   * generated: when absent or invalid (then `tracestate` is dropped as the spec requires), a
//     new random trace-id, flags 01 (sampled: every request is logged);
//   * each request gets a new random span-id: this server's span. The request passed to the
//     inner service carries `traceparent: 00-<trace_id>-<span_id>-<flags>` (so calls it makes
//     with that header are children of this span), and a TraceContext extension with the same;
//     the response gets the same `traceparent` header (TraceOptions::response_traceparent).
// Random ids come from a per-thread generator seeded from std::random_device: no lock.
//
// The sink is called once per request from whichever worker finishes the request (so it must
// be thread-safe), never with a lock held. The default writes each line, newline included, with
// one fwrite to the unbuffered stderr.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weft/http/body.h"
#include "weft/http/extensions.h"
#include "weft/http/header_name.h"
#include "weft/http/request.h"
#include "weft/http/response.h"
#include "weft/http/status_code.h"
#include "weft/middleware/body_observer/observed_body.h"
#include "weft/runtime/task/task.h"
#include "weft/tower/service.h"

WEFT_TOWER_CORO_BEGIN

namespace weft::middleware {

// A parsed `traceparent` header.
struct TraceParent {
  uint8_t version = 0;
  std::string trace_id;   // 32 lowercase hex digits, not all zero
  std::string parent_id;  // 16 lowercase hex digits, not all zero
  uint8_t flags = 0;
};
// nullopt unless `value` is a valid traceparent (see the top comment).
std::optional<TraceParent> parse_traceparent(std::string_view value);
// Random, never all zero: 32 and 16 lowercase hex digits.
std::string random_trace_id();
std::string random_span_id();

// The trace context of a request, put in its extensions by the trace layer.
struct TraceContext {
  std::string trace_id;        // 32 hex: the whole trace
  std::string span_id;         // 16 hex: this server's span (new for every request)
  std::string parent_span_id;  // 16 hex: the caller's span; empty when the trace started here
  uint8_t flags = 0x01;

  bool sampled() const { return (flags & 0x01) != 0; }
  // "00-<trace_id>-<span_id>-<flags>": what a child of this span is sent.
  std::string traceparent() const;
};

enum class Outcome { kComplete, kError, kBodyError, kBodyDropped, kCancelled };
std::string_view outcome_name(Outcome o);  // "complete", "error", ...

// One request, as logged.
struct AccessRecord {
  std::chrono::system_clock::time_point time;  // when call() was entered
  std::string method;
  std::string route;  // the Router's matched pattern (http::MatchedPath), or the path
  bool route_matched = false;
  std::string path;
  uint16_t status = 0;                       // 0: no response (cancelled)
  std::chrono::nanoseconds latency{0};       // call() to the end of the response body
  std::chrono::nanoseconds head_latency{0};  // call() to the response head
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  std::string request_id;
  std::string trace_id, span_id, parent_span_id;
  Outcome outcome = Outcome::kComplete;
  std::string error;  // the error's message (outcome error or body_error)
  // When TraceOptions::log_headers: (name, value) in order, one per name, sensitive redacted.
  std::vector<std::pair<std::string, std::string>> request_headers, response_headers;

  // `key=value` pairs separated by spaces (values quoted when needed), no newline.
  std::string to_logfmt() const;
  // One JSON object, no newline.
  std::string to_json() const;
};

using AccessSink = std::function<void(const AccessRecord&)>;
enum class LogFormat { kLogfmt, kJson };
// Writes each record as one line to stderr.
AccessSink stderr_sink(LogFormat format = LogFormat::kLogfmt);
// Hands each record, formatted as one line (no newline), to `write`.
AccessSink line_sink(std::function<void(std::string_view)> write,
                     LogFormat format = LogFormat::kLogfmt);

struct TraceOptions {
  AccessSink sink;  // default (when empty): stderr_sink(LogFormat::kLogfmt)
  bool log_headers = false;
  // Names (any case) logged as "[redacted]" on top of the always-sensitive ones.
  std::vector<std::string> sensitive_headers;
  // Where the request id is read.
  std::string request_id_header = "x-request-id";
  std::function<std::optional<std::string>(const http::Extensions&)> request_id_from;
  bool propagate_traceparent = true;  // rewrite the request's traceparent to this span
  bool response_traceparent = true;   // set traceparent on the response
};

namespace detail {

struct TraceConfig;

// The state of one traced request, shared by the call and the counting body sources.
class TraceCall {
 public:
  TraceCall(std::shared_ptr<const TraceConfig> cfg, std::chrono::steady_clock::time_point start);
  TraceCall(const TraceCall&) = delete;
  TraceCall& operator=(const TraceCall&) = delete;

  // Reads the request, rewrites its trace headers, adds TraceContext, wraps its body.
  static std::shared_ptr<TraceCall> begin(const std::shared_ptr<const TraceConfig>& cfg,
                                          http::Request<http::Body>& req);
  // The response head; finishes now unless its body streams (then when the body ends).
  void on_response(const std::shared_ptr<TraceCall>& self, http::Response<http::Body>& res);
  void on_error(const absl::Status& error, uint16_t status);
  void on_cancel();

  // The body observers.
  void add_in(std::size_t n) { bytes_in_.fetch_add(n, std::memory_order_relaxed); }
  void add_out(std::size_t n) { bytes_out_.fetch_add(n, std::memory_order_relaxed); }
  void on_body_end(BodyEnd end, const absl::Status& error);

 private:
  void finish(Outcome outcome, std::string error);

  std::shared_ptr<const TraceConfig> cfg_;
  std::chrono::steady_clock::time_point start_;
  AccessRecord rec_;
  std::atomic<uint64_t> bytes_in_{0};
  std::atomic<uint64_t> bytes_out_{0};
  std::atomic<bool> done_{false};
  uint8_t flags_ = 0x01;                // the trace flags, for the response's traceparent
  std::shared_ptr<std::string> route_;  // http::MatchedPath, filled by the Router
};

// Destroyed while armed: the call was cancelled (its task destroyed before it answered, maybe
// before it ever ran). Moving it hands the duty on.
struct TraceCancelGuard {
  std::shared_ptr<TraceCall> call;
  bool armed = true;
  explicit TraceCancelGuard(std::shared_ptr<TraceCall> c) : call(std::move(c)) {}
  TraceCancelGuard(TraceCancelGuard&& o) noexcept
      : call(std::move(o.call)), armed(std::exchange(o.armed, false)) {}
  TraceCancelGuard& operator=(TraceCancelGuard&&) = delete;
  ~TraceCancelGuard() {
    if (armed) call->on_cancel();
  }
};

void trace_exception(TraceCall& call);

}  // namespace detail

template <class S>
class Trace {
  using Req = http::Request<http::Body>;
  using Resp = http::Response<http::Body>;

 public:
  Trace(S inner, std::shared_ptr<const detail::TraceConfig> cfg)
      : inner_(std::move(inner)), cfg_(std::move(cfg)) {}

  auto ready() const requires tower::detail::ReadyGivesStatusOr<S> { return inner_.ready(); }

  // The inner response with `traceparent` set and its streamed body counted; errors unchanged.
  // The clock starts here, when call() is invoked (as in tower-http), not when the returned
  // task is first polled; a task destroyed before it answers is logged as cancelled.
  Task<absl::StatusOr<Resp>> call(tower::permit_t<S> permit,
                                  Req req) const requires tower::ServiceFor<S, Req, Resp> {
    std::shared_ptr<detail::TraceCall> trace = detail::TraceCall::begin(cfg_, req);
    // The inner call first, the guard after: a guard built before an inner call that throws
    // would log the call as cancelled instead of as the exception.
    using Fut = decltype(inner_.call(std::move(permit), std::move(req)));
    std::optional<Fut> fut;
    try {
      fut.emplace(inner_.call(std::move(permit), std::move(req)));
    } catch (...) {
      detail::trace_exception(*trace);
      throw;
    }
    return observe(detail::TraceCancelGuard(std::move(trace)), std::move(*fut));
  }

  const S& inner() const { return inner_; }

 private:
  template <class Fut>
  static Task<absl::StatusOr<Resp>> observe(detail::TraceCancelGuard guard, Fut fut) {
    absl::StatusOr<Resp> r = absl::UnknownError("no response");
    try {
      r = co_await std::move(fut);
    } catch (...) {
      guard.armed = false;
      detail::trace_exception(*guard.call);
      throw;
    }
    guard.armed = false;
    if (r.ok()) {
      guard.call->on_response(guard.call, *r);
    } else {
      guard.call->on_error(r.status(), http::from_status(r.status()).as_u16());
    }
    co_return std::move(r);
  }

  S inner_;
  std::shared_ptr<const detail::TraceConfig> cfg_;
};

class TraceLayer {
 public:
  TraceLayer() : TraceLayer(TraceOptions()) {}
  explicit TraceLayer(TraceOptions options);

  template <class S>
  Trace<S> layer(S inner) const {
    return Trace<S>(std::move(inner), cfg_);
  }

 private:
  std::shared_ptr<const detail::TraceConfig> cfg_;
};

}  // namespace weft::middleware

WEFT_TOWER_CORO_END
