// SetRequestHeaderLayer / SetResponseHeaderLayer in each mode (override, append, if_not_present),
// with fixed values and with functions of the message (nullopt leaves it alone); errors pass
// through; PropagateHeaderLayer copies every value (or nothing) and replaces the inner one.
#define BOOST_TEST_MODULE set_header_test
#include "weft/middleware/set_header/set_header.h"

#include <boost/test/unit_test.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "weft/middleware/detail/testing.h"
#include "weft/tower/service_builder.h"
#include "weft/tower/service_fn.h"

using weft::Task;
namespace http = weft::http;
namespace tower = weft::tower;
namespace mw = weft::middleware;
namespace t = weft::middleware::testing;
using mw::HttpRequest;
using mw::HttpResponse;
using mw::InsertHeader;

namespace {

http::HeaderName name(std::string_view n) { return http::HeaderName::from_static(n); }
http::HeaderValue value(std::string_view v) { return http::HeaderValue::from_static(v); }

// Answers with the request's `x-a` values joined by ',' as the body, and `x-b: inner` (and
// `x-c: one, x-c: two`) on the response; path /fail fails.
auto handler() {
  return tower::service_fn([](HttpRequest req) -> absl::StatusOr<HttpResponse> {
    if (req.uri().path() == "/fail") return absl::NotFoundError("nope");
    std::string seen;
    for (const http::HeaderValue& v : req.headers().values("x-a")) {
      if (!seen.empty()) seen += ",";
      seen += v.as_str();
    }
    HttpResponse resp{http::Body(seen)};
    resp.headers().append(name("x-b"), value("inner"));
    resp.headers().append(name("x-c"), value("one"));
    resp.headers().append(name("x-c"), value("two"));
    return resp;
  });
}

std::string joined(const http::HeaderMap& h, std::string_view n) {
  std::string out;
  for (std::string_view v : h.get_all(n)) {
    if (!out.empty()) out += ",";
    out += v;
  }
  return out;
}

template <class S>
Task<absl::StatusOr<std::string>> seen_a(const S* svc, HttpRequest req) {
  absl::StatusOr<HttpResponse> r = co_await tower::oneshot(*svc, std::move(req));
  if (!r.ok()) co_return r.status();
  co_return co_await t::body_text(*std::move(r));
}

Task<absl::Status> request_modes() {
  auto over = mw::SetRequestHeaderLayer(name("x-a"), value("set")).layer(handler());
  auto app =
      mw::SetRequestHeaderLayer(name("x-a"), value("set"), InsertHeader::kAppend).layer(handler());
  auto inp = mw::SetRequestHeaderLayer(name("x-a"), value("set"), InsertHeader::kIfNotPresent)
                 .layer(handler());
  struct Case {
    int which;
    bool with;
    std::string want;
  };
  const std::vector<Case> cases = {
      {0, false, "set"},      {0, true, "set"},  {1, false, "set"},
      {1, true, "c1,c2,set"}, {2, false, "set"}, {2, true, "c1,c2"},
  };
  for (const Case& c : cases) {
    HttpRequest req = c.with ? t::request(http::Method::GET, "/", {{"x-a", "c1"}, {"X-A", "c2"}})
                             : t::request(http::Method::GET, "/");
    absl::StatusOr<std::string> got = absl::InternalError("unset");
    if (c.which == 0) {
      Task<absl::StatusOr<std::string>> call = seen_a(&over, std::move(req));
      got = co_await std::move(call);
    } else if (c.which == 1) {
      Task<absl::StatusOr<std::string>> call = seen_a(&app, std::move(req));
      got = co_await std::move(call);
    } else {
      Task<absl::StatusOr<std::string>> call = seen_a(&inp, std::move(req));
      got = co_await std::move(call);
    }
    WEFT_CO_CHECK(got.ok());
    if (*got != c.want) {
      co_return absl::InternalError("mode " + std::to_string(c.which) + ": got " + *got);
    }
  }
  co_return absl::OkStatus();
}

Task<absl::Status> request_value_from_function() {
  // The value depends on the request; nullopt leaves it alone.
  auto svc =
      mw::SetRequestHeaderLayer(name("x-a"),
                                [](const HttpRequest& r) -> std::optional<http::HeaderValue> {
                                  if (r.uri().path() == "/skip") return std::nullopt;
                                  return http::HeaderValue::parse(r.uri().path()).value();
                                })
          .layer(handler());
  Task<absl::StatusOr<std::string>> a = seen_a(&svc, t::request(http::Method::GET, "/path"));
  absl::StatusOr<std::string> ra = co_await std::move(a);
  WEFT_CO_CHECK(ra.ok() && *ra == "/path");
  Task<absl::StatusOr<std::string>> b = seen_a(&svc, t::request(http::Method::GET, "/skip"));
  absl::StatusOr<std::string> rb = co_await std::move(b);
  WEFT_CO_CHECK(rb.ok() && rb->empty());
  // if_not_present does not even call the function when a value is there.
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto lazy = mw::SetRequestHeaderLayer(
                  name("x-a"),
                  [calls](const HttpRequest&) {
                    calls->fetch_add(1);
                    return value("made");
                  },
                  InsertHeader::kIfNotPresent)
                  .layer(handler());
  Task<absl::StatusOr<std::string>> c =
      seen_a(&lazy, t::request(http::Method::GET, "/", {{"x-a", "mine"}}));
  absl::StatusOr<std::string> rc = co_await std::move(c);
  WEFT_CO_CHECK(rc.ok() && *rc == "mine" && calls->load() == 0);
  Task<absl::StatusOr<std::string>> d = seen_a(&lazy, t::request(http::Method::GET, "/"));
  absl::StatusOr<std::string> rd = co_await std::move(d);
  WEFT_CO_CHECK(rd.ok() && *rd == "made" && calls->load() == 1);
  co_return absl::OkStatus();
}

Task<absl::Status> response_modes() {
  auto svc =
      tower::ServiceBuilder()
          .layer(mw::SetResponseHeaderLayer(name("x-b"), value("outer")))  // override
          .layer(mw::SetResponseHeaderLayer(name("x-c"), value("three"), InsertHeader::kAppend))
          .layer(mw::SetResponseHeaderLayer(name("x-d"), value("new"), InsertHeader::kIfNotPresent))
          .layer(
              mw::SetResponseHeaderLayer(name("x-b"), value("never"), InsertHeader::kIfNotPresent))
          .layer(mw::SetResponseHeaderLayer(
              name("x-len"),
              [](const HttpResponse& r) -> std::optional<http::HeaderValue> {
                std::optional<uint64_t> n = r.body().size_hint();
                if (!n.has_value()) return std::nullopt;
                return http::HeaderValue::from_integer(*n);
              }))
          .service(handler());
  auto call = tower::oneshot(svc, t::request(http::Method::GET, "/", {{"x-a", "abc"}}));
  absl::StatusOr<HttpResponse> r = co_await std::move(call);
  WEFT_CO_CHECK(r.ok());
  WEFT_CO_CHECK(joined(r->headers(), "x-b") == "outer");
  WEFT_CO_CHECK(joined(r->headers(), "x-c") == "one,two,three");
  WEFT_CO_CHECK(joined(r->headers(), "x-d") == "new");
  WEFT_CO_CHECK(joined(r->headers(), "x-len") == "3");
  // Errors pass through untouched.
  auto fail = tower::oneshot(svc, t::request(http::Method::GET, "/fail"));
  absl::StatusOr<HttpResponse> e = co_await std::move(fail);
  WEFT_CO_CHECK(absl::IsNotFound(e.status()));
  co_return absl::OkStatus();
}

Task<absl::Status> propagate() {
  auto svc = tower::ServiceBuilder()
                 .layer(mw::PropagateHeaderLayer(name("x-c")))
                 .layer(mw::PropagateHeaderLayer(name("x-trace")))
                 .service(handler());
  // Two values: both copied, replacing the inner service's.
  auto call = tower::oneshot(
      svc, t::request(http::Method::GET, "/", {{"x-c", "r1"}, {"x-trace", "t"}, {"x-c", "r2"}}));
  absl::StatusOr<HttpResponse> r = co_await std::move(call);
  WEFT_CO_CHECK(r.ok());
  WEFT_CO_CHECK(joined(r->headers(), "x-c") == "r1,r2");
  WEFT_CO_CHECK(joined(r->headers(), "x-trace") == "t");
  // Absent on the request: the response is left alone.
  auto call2 = tower::oneshot(svc, t::request(http::Method::GET, "/"));
  absl::StatusOr<HttpResponse> r2 = co_await std::move(call2);
  WEFT_CO_CHECK(r2.ok());
  WEFT_CO_CHECK(joined(r2->headers(), "x-c") == "one,two");
  WEFT_CO_CHECK(!r2->headers().contains("x-trace"));
  auto fail = tower::oneshot(svc, t::request(http::Method::GET, "/fail", {{"x-c", "r1"}}));
  absl::StatusOr<HttpResponse> e = co_await std::move(fail);
  WEFT_CO_CHECK(absl::IsNotFound(e.status()));
  co_return absl::OkStatus();
}

}  // namespace

static_assert(mw::HttpService<decltype(mw::PropagateHeaderLayer(name("x")).layer(handler()))>);

BOOST_AUTO_TEST_CASE(request_header_modes) {
  absl::Status s = t::run_in_all_flavors(&request_modes);
  BOOST_TEST(s.ok(), s);
}

BOOST_AUTO_TEST_CASE(request_header_from_function) {
  absl::Status s = t::run_in_all_flavors(&request_value_from_function);
  BOOST_TEST(s.ok(), s);
}

BOOST_AUTO_TEST_CASE(response_header_modes) {
  absl::Status s = t::run_in_all_flavors(&response_modes);
  BOOST_TEST(s.ok(), s);
}

BOOST_AUTO_TEST_CASE(propagate_header) {
  absl::Status s = t::run_in_all_flavors(&propagate);
  BOOST_TEST(s.ok(), s);
}
