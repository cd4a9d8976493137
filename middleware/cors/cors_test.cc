// CorsLayer: preflights answered 204 with the Access-Control-* headers (allowed origin) or
// without them (disallowed origin), never reaching the inner service; actual requests decorated
// or left alone; plain OPTIONS passes; any / list / predicate / mirror origins; permissive and
// very_permissive presets; vary appended; private network; invalid configurations throw.
#define BOOST_TEST_MODULE cors_test
#include "weft/middleware/cors/cors.h"

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <memory>
#include <stdexcept>
#include <string>

#include "weft/http/status_code.h"
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

namespace {

// 200 "inner" with `vary: accept-encoding`; /fail fails; counts calls.
auto handler(std::shared_ptr<std::atomic<int>> calls) {
  return tower::service_fn([calls](HttpRequest req) -> absl::StatusOr<HttpResponse> {
    calls->fetch_add(1);
    if (req.uri().path() == "/fail") return absl::UnavailableError("down");
    HttpResponse resp{http::Body("inner")};
    resp.headers().append(http::header::VARY, http::HeaderValue::from_static("accept-encoding"));
    if (req.uri().path() == "/own") {
      resp.headers().append(http::header::ACCESS_CONTROL_ALLOW_ORIGIN,
                            http::HeaderValue::from_static("https://own.example"));
    }
    return resp;
  });
}

std::string get(const HttpResponse& r, std::string_view name) {
  return t::header(r.headers(), name);
}

bool has_cors_headers(const HttpResponse& r) {
  for (const http::HeaderMap::Entry& e : r.headers()) {
    if (e.name.as_str().starts_with("access-control-")) return true;
  }
  return false;
}

mw::CorsLayer app_cors() {
  return mw::CorsLayer()
      .allow_origin(mw::AllowOrigin::list({"https://app.example.com", "http://localhost:8080"}))
      .allow_methods({http::Method::GET, http::Method::POST})
      .allow_headers({http::header::CONTENT_TYPE, http::header::AUTHORIZATION})
      .expose_headers({http::header::X_REQUEST_ID, http::header::ETAG})
      .allow_credentials(true)
      .max_age(std::chrono::hours(1));
}

HttpRequest preflight(std::string_view origin, std::string_view method = "POST") {
  return t::request(http::Method::OPTIONS, "/api",
                    {{"origin", origin},
                     {"access-control-request-method", method},
                     {"access-control-request-headers", "content-type,x-custom"}});
}

Task<absl::Status> preflight_allowed_and_not() {
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto svc = app_cors().layer(handler(calls));
  auto c1 = tower::oneshot(svc, preflight("https://app.example.com"));
  absl::StatusOr<HttpResponse> r = co_await std::move(c1);
  WEFT_CO_CHECK(r.ok());
  WEFT_CO_CHECK(r->status() == http::StatusCode::NO_CONTENT);
  WEFT_CO_CHECK(get(*r, "access-control-allow-origin") == "https://app.example.com");
  WEFT_CO_CHECK(get(*r, "access-control-allow-credentials") == "true");
  WEFT_CO_CHECK(get(*r, "access-control-allow-methods") == "GET,POST");
  WEFT_CO_CHECK(get(*r, "access-control-allow-headers") == "content-type,authorization");
  WEFT_CO_CHECK(get(*r, "access-control-max-age") == "3600");
  WEFT_CO_CHECK(!r->headers().contains("access-control-expose-headers"));  // actual only
  WEFT_CO_CHECK(get(*r, "vary").find("origin") != std::string::npos);
  WEFT_CO_CHECK(r->body().size_hint() == 0u);
  WEFT_CO_CHECK(calls->load() == 0);

  // Disallowed origins (a near miss, a trailing slash, another scheme): 204 with no CORS header.
  for (std::string_view o : {"https://evil.example.com", "https://app.example.com/",
                             "http://app.example.com", "https://APP.example.com"}) {
    auto c = tower::oneshot(svc, preflight(o));
    absl::StatusOr<HttpResponse> d = co_await std::move(c);
    WEFT_CO_CHECK(d.ok());
    WEFT_CO_CHECK(d->status() == http::StatusCode::NO_CONTENT);
    WEFT_CO_CHECK(!has_cors_headers(*d));
    WEFT_CO_CHECK(get(*d, "vary").find("origin") != std::string::npos);
  }
  WEFT_CO_CHECK(calls->load() == 0);
  co_return absl::OkStatus();
}

Task<absl::Status> actual_requests() {
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto svc = app_cors().layer(handler(calls));
  auto c1 = tower::oneshot(
      svc, t::request(http::Method::POST, "/api", {{"origin", "http://localhost:8080"}}));
  absl::StatusOr<HttpResponse> r = co_await std::move(c1);
  WEFT_CO_CHECK(r.ok() && r->status() == http::StatusCode::OK);
  WEFT_CO_CHECK(get(*r, "access-control-allow-origin") == "http://localhost:8080");
  WEFT_CO_CHECK(get(*r, "access-control-allow-credentials") == "true");
  WEFT_CO_CHECK(get(*r, "access-control-expose-headers") == "x-request-id,etag");
  WEFT_CO_CHECK(!r->headers().contains("access-control-allow-methods"));  // preflight only
  WEFT_CO_CHECK(!r->headers().contains("access-control-max-age"));
  // The inner vary is kept, ours added after it.
  std::vector<std::string_view> vary = r->headers().get_all("vary");
  WEFT_CO_CHECK(vary.size() == 2 && vary[0] == "accept-encoding");
  WEFT_CO_CHECK(vary[1].find("origin") != std::string_view::npos);
  std::string body = co_await t::body_text(*std::move(r));
  WEFT_CO_CHECK(body == "inner");

  // Disallowed origin and no origin: served, no CORS headers, vary still there.
  auto c2 =
      tower::oneshot(svc, t::request(http::Method::GET, "/api", {{"origin", "https://x.org"}}));
  absl::StatusOr<HttpResponse> d = co_await std::move(c2);
  WEFT_CO_CHECK(d.ok() && d->status() == http::StatusCode::OK && !has_cors_headers(*d));
  WEFT_CO_CHECK(d->headers().get_all("vary").size() == 2);
  auto c3 = tower::oneshot(svc, t::request(http::Method::GET, "/api"));
  absl::StatusOr<HttpResponse> n = co_await std::move(c3);
  WEFT_CO_CHECK(n.ok() && !has_cors_headers(*n));

  // A plain OPTIONS (no access-control-request-method) is not a preflight: the inner answers.
  auto c4 = tower::oneshot(
      svc, t::request(http::Method::OPTIONS, "/api", {{"origin", "https://app.example.com"}}));
  absl::StatusOr<HttpResponse> o = co_await std::move(c4);
  WEFT_CO_CHECK(o.ok() && o->status() == http::StatusCode::OK);
  WEFT_CO_CHECK(get(*o, "access-control-allow-origin") == "https://app.example.com");

  // The layer's allow-origin replaces the inner service's; errors pass through.
  auto c5 = tower::oneshot(
      svc, t::request(http::Method::GET, "/own", {{"origin", "https://app.example.com"}}));
  absl::StatusOr<HttpResponse> own = co_await std::move(c5);
  WEFT_CO_CHECK(own.ok() && own->headers().get_all("access-control-allow-origin").size() == 1);
  WEFT_CO_CHECK(get(*own, "access-control-allow-origin") == "https://app.example.com");
  auto c6 = tower::oneshot(
      svc, t::request(http::Method::GET, "/fail", {{"origin", "https://app.example.com"}}));
  absl::StatusOr<HttpResponse> e = co_await std::move(c6);
  WEFT_CO_CHECK(absl::IsUnavailable(e.status()));
  WEFT_CO_CHECK(calls->load() == 6);
  co_return absl::OkStatus();
}

Task<absl::Status> presets_and_origin_kinds() {
  auto calls = std::make_shared<std::atomic<int>>(0);
  // permissive: "*" everywhere, no credentials.
  auto p = mw::CorsLayer::permissive().layer(handler(calls));
  auto c1 = tower::oneshot(p, preflight("https://anyone.example"));
  absl::StatusOr<HttpResponse> pr = co_await std::move(c1);
  WEFT_CO_CHECK(pr.ok() && get(*pr, "access-control-allow-origin") == "*");
  WEFT_CO_CHECK(get(*pr, "access-control-allow-methods") == "*");
  WEFT_CO_CHECK(get(*pr, "access-control-allow-headers") == "*");
  WEFT_CO_CHECK(!pr->headers().contains("access-control-allow-credentials"));
  auto c2 =
      tower::oneshot(p, t::request(http::Method::GET, "/", {{"origin", "https://anyone.example"}}));
  absl::StatusOr<HttpResponse> pa = co_await std::move(c2);
  WEFT_CO_CHECK(pa.ok() && get(*pa, "access-control-allow-origin") == "*");
  WEFT_CO_CHECK(get(*pa, "access-control-expose-headers") == "*");

  // very_permissive: mirrors.
  auto v = mw::CorsLayer::very_permissive().layer(handler(calls));
  auto c3 = tower::oneshot(v, preflight("https://dev.local:3000", "DELETE"));
  absl::StatusOr<HttpResponse> vr = co_await std::move(c3);
  WEFT_CO_CHECK(vr.ok() && get(*vr, "access-control-allow-origin") == "https://dev.local:3000");
  WEFT_CO_CHECK(get(*vr, "access-control-allow-methods") == "DELETE");
  WEFT_CO_CHECK(get(*vr, "access-control-allow-headers") == "content-type,x-custom");
  WEFT_CO_CHECK(get(*vr, "access-control-allow-credentials") == "true");

  // Predicates: of the origin only, and of origin and request.
  auto pred = mw::CorsLayer()
                  .allow_origin(mw::AllowOrigin::predicate(
                      [](std::string_view o) { return o.ends_with(".trusted.example"); }))
                  .layer(handler(calls));
  auto c4 = tower::oneshot(
      pred, t::request(http::Method::GET, "/", {{"origin", "https://a.trusted.example"}}));
  absl::StatusOr<HttpResponse> yes = co_await std::move(c4);
  WEFT_CO_CHECK(yes.ok() &&
                get(*yes, "access-control-allow-origin") == "https://a.trusted.example");
  auto c5 = tower::oneshot(
      pred, t::request(http::Method::GET, "/", {{"origin", "https://trusted.example.evil"}}));
  absl::StatusOr<HttpResponse> no = co_await std::move(c5);
  WEFT_CO_CHECK(no.ok() && !has_cors_headers(*no));
  auto by_path =
      mw::CorsLayer()
          .allow_origin(mw::AllowOrigin::predicate([](std::string_view, const HttpRequest& r) {
            return r.uri().path().starts_with("/public");
          }))
          .layer(handler(calls));
  auto c6 = tower::oneshot(
      by_path, t::request(http::Method::GET, "/public/x", {{"origin", "https://z.example"}}));
  absl::StatusOr<HttpResponse> pub = co_await std::move(c6);
  WEFT_CO_CHECK(pub.ok() && get(*pub, "access-control-allow-origin") == "https://z.example");
  auto c7 = tower::oneshot(
      by_path, t::request(http::Method::GET, "/private", {{"origin", "https://z.example"}}));
  absl::StatusOr<HttpResponse> priv = co_await std::move(c7);
  WEFT_CO_CHECK(priv.ok() && !has_cors_headers(*priv));

  // The default layer allows nothing; exact(); vary({}) turns vary off.
  auto none = mw::CorsLayer().layer(handler(calls));
  auto c8 = tower::oneshot(none, preflight("https://a.example"));
  absl::StatusOr<HttpResponse> nr = co_await std::move(c8);
  WEFT_CO_CHECK(nr.ok() && nr->status() == http::StatusCode::NO_CONTENT && !has_cors_headers(*nr));
  auto exact = mw::CorsLayer()
                   .allow_origin(mw::AllowOrigin::exact("https://a.example"))
                   .vary({})
                   .layer(handler(calls));
  auto c9 =
      tower::oneshot(exact, t::request(http::Method::GET, "/", {{"origin", "https://a.example"}}));
  absl::StatusOr<HttpResponse> er = co_await std::move(c9);
  WEFT_CO_CHECK(er.ok() && get(*er, "access-control-allow-origin") == "https://a.example");
  WEFT_CO_CHECK(er->headers().get_all("vary").size() == 1);  // the inner one only
  co_return absl::OkStatus();
}

Task<absl::Status> private_network() {
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto svc = mw::CorsLayer()
                 .allow_origin(mw::AllowOrigin::any())
                 .allow_private_network(true)
                 .layer(handler(calls));
  auto c1 = tower::oneshot(svc, t::request(http::Method::OPTIONS, "/",
                                           {{"origin", "https://public.example"},
                                            {"access-control-request-method", "GET"},
                                            {"access-control-request-private-network", "true"}}));
  absl::StatusOr<HttpResponse> r = co_await std::move(c1);
  WEFT_CO_CHECK(r.ok() && get(*r, "access-control-allow-private-network") == "true");
  auto c2 = tower::oneshot(svc, preflight("https://public.example"));
  absl::StatusOr<HttpResponse> r2 = co_await std::move(c2);
  WEFT_CO_CHECK(r2.ok() && !r2->headers().contains("access-control-allow-private-network"));
  co_return absl::OkStatus();
}

}  // namespace

BOOST_AUTO_TEST_CASE(preflight_is_answered_here) {
  absl::Status s = t::run_in_all_flavors(&preflight_allowed_and_not);
  BOOST_TEST(s.ok(), s);
}

BOOST_AUTO_TEST_CASE(actual_requests_are_decorated) {
  absl::Status s = t::run_in_all_flavors(&actual_requests);
  BOOST_TEST(s.ok(), s);
}

BOOST_AUTO_TEST_CASE(presets_and_origin_kinds_work) {
  absl::Status s = t::run_in_all_flavors(&presets_and_origin_kinds);
  BOOST_TEST(s.ok(), s);
}

BOOST_AUTO_TEST_CASE(private_network_access) {
  absl::Status s = t::run_in_all_flavors(&private_network);
  BOOST_TEST(s.ok(), s);
}

BOOST_AUTO_TEST_CASE(invalid_configurations_throw) {
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto with_creds = mw::CorsLayer().allow_credentials(true);
  BOOST_CHECK_THROW(with_creds.allow_origin(mw::AllowOrigin::any()).layer(handler(calls)),
                    std::invalid_argument);
  BOOST_CHECK_THROW(with_creds.allow_methods(mw::AllowMethods::any()).layer(handler(calls)),
                    std::invalid_argument);
  BOOST_CHECK_THROW(with_creds.allow_headers(mw::AllowHeaders::any()).layer(handler(calls)),
                    std::invalid_argument);
  BOOST_CHECK_THROW(with_creds.expose_headers(mw::ExposeHeaders::any()).layer(handler(calls)),
                    std::invalid_argument);
  BOOST_CHECK_THROW(mw::CorsLayer::permissive().allow_credentials(true).build(),
                    std::invalid_argument);
  BOOST_CHECK_THROW(mw::CorsLayer().allow_origin(mw::AllowOrigin::exact("https://a.com/")).build(),
                    std::invalid_argument);
  BOOST_CHECK_THROW(mw::CorsLayer().allow_origin(mw::AllowOrigin::exact("a.com")).build(),
                    std::invalid_argument);
  try {
    mw::CorsLayer::permissive().allow_credentials(true).build();
  } catch (const std::invalid_argument& e) {
    BOOST_TEST(std::string(e.what()).find("AllowOrigin::any()") != std::string::npos);
  }
  // Valid: credentials with mirrored origin and listed headers; "null" as a listed origin.
  BOOST_CHECK_NO_THROW(mw::CorsLayer::very_permissive().build());
  BOOST_CHECK_NO_THROW(
      mw::CorsLayer().allow_origin(mw::AllowOrigin::list({"null", "http://[::1]:8080"})).build());
}
