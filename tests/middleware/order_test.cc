// How the layers of middleware/ interact when stacked (ServiceBuilder: first written =
// outermost, sees the request first and the response last):
//  * limit outside auth: an oversized body is refused 413 before the validator or the handler
//    runs, and not one body byte is read; with auth outside, an anonymous request gets 401 first;
//  * set_header and request_id: which layer's x-request-id wins, on the request (handler,
//    RequestId extension) and on the response, in each order;
//  * a whole stack on a Router (layer() and route_layer() box each layer): every layer composes.
#define BOOST_TEST_MODULE order_test
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include "weft/http/router.h"
#include "weft/http/status_code.h"
#include "weft/middleware/auth/bearer_auth.h"
#include "weft/middleware/catch_exception/catch_exception.h"
#include "weft/middleware/cors/cors.h"
#include "weft/middleware/detail/testing.h"
#include "weft/middleware/limit/request_body_limit.h"
#include "weft/middleware/normalize_path/normalize_path.h"
#include "weft/middleware/request_id/request_id.h"
#include "weft/middleware/set_header/set_header.h"
#include "weft/middleware/timeout/timeout.h"
#include "weft/runtime/task/yield_now.h"
#include "weft/runtime/time/sleep.h"
#include "weft/tower/service_builder.h"
#include "weft/tower/service_fn.h"

using weft::Task;
using namespace std::chrono_literals;
namespace http = weft::http;
namespace io = weft::io;
namespace tower = weft::tower;
namespace mw = weft::middleware;
namespace t = weft::middleware::testing;
using mw::HttpRequest;
using mw::HttpResponse;

namespace {

// ---- limit and auth ----

struct User {
  std::string name;
};

std::atomic<int> g_validations{0};

Task<absl::StatusOr<User>> validate(std::string_view token) {
  g_validations.fetch_add(1);
  co_await weft::yield_now();
  if (token == "good") co_return User{"alice"};
  co_return absl::UnauthenticatedError("bad token");
}

// A streamed body of `frames` x 64 bytes that counts its reads; optional size hint.
class CountingSource final : public http::BodySource {
 public:
  CountingSource(int frames, std::optional<uint64_t> hint) : frames_(frames), hint_(hint) {}
  Task<absl::StatusOr<std::optional<http::Frame>>> next_frame() override {
    reads.fetch_add(1);
    co_await weft::yield_now();
    if (sent_ == frames_) co_return std::optional<http::Frame>();
    ++sent_;
    co_return std::optional<http::Frame>(
        http::Frame::of_data(io::Bytes::from(std::string(64, 'b'))));
  }
  std::optional<uint64_t> size_hint() const override { return hint_; }
  std::atomic<int> reads{0};

 private:
  int frames_;
  std::optional<uint64_t> hint_;
  int sent_ = 0;
};

// Reads the whole body (its own limit: 1 MiB) and answers with its size.
struct Upload {
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
  tower::AlwaysReady ready() const { return tower::always_ready(); }
  Task<absl::StatusOr<HttpResponse>> call(tower::NoPermit, HttpRequest req) const {
    return run(calls, std::move(req));
  }
  static Task<absl::StatusOr<HttpResponse>> run(std::shared_ptr<std::atomic<int>> calls,
                                                HttpRequest req) {
    calls->fetch_add(1);
    absl::StatusOr<io::Bytes> all = co_await req.body().collect(1 << 20);
    if (!all.ok()) co_return all.status();
    co_return HttpResponse(http::Body(std::to_string(all->size())));
  }
};

HttpRequest upload(std::shared_ptr<CountingSource> src, std::string_view token) {
  HttpRequest req = t::request(http::Method::POST, "/upload");
  if (!token.empty()) (void)req.headers().insert("authorization", "Bearer " + std::string(token));
  req.body() = http::Body::from_source(std::move(src));
  return req;
}

Task<absl::Status> limit_rejects_before_auth() {
  Upload handler;
  auto svc = tower::ServiceBuilder()
                 .layer(mw::RequestBodyLimitLayer(1000))
                 .layer(mw::BearerAuthLayer(&validate))
                 .service(handler);
  const int before = g_validations.load();

  // Declared too large (content-length 6400), even with a good token: 413, nobody ran, unread.
  auto big = std::make_shared<CountingSource>(100, 6400);
  auto c1 = tower::oneshot(svc, upload(big, "good"));
  absl::StatusOr<HttpResponse> r1 = co_await std::move(c1);
  WEFT_CO_CHECK(r1.ok() && r1->status() == http::StatusCode::PAYLOAD_TOO_LARGE);
  WEFT_CO_CHECK(g_validations.load() == before);
  WEFT_CO_CHECK(handler.calls->load() == 0);
  WEFT_CO_CHECK(big->reads.load() == 0);

  // Without a token, too: the size is judged first.
  auto big2 = std::make_shared<CountingSource>(100, 6400);
  auto c2 = tower::oneshot(svc, upload(big2, ""));
  absl::StatusOr<HttpResponse> r2 = co_await std::move(c2);
  WEFT_CO_CHECK(r2.ok() && r2->status() == http::StatusCode::PAYLOAD_TOO_LARGE);
  WEFT_CO_CHECK(g_validations.load() == before && big2->reads.load() == 0);

  // Streamed without a size: auth runs, the handler reads until the limit, then 413; the stream
  // is read no further than needed (16 x 64 = 1024 > 1000).
  auto streamed = std::make_shared<CountingSource>(100, std::nullopt);
  auto c3 = tower::oneshot(svc, upload(streamed, "good"));
  absl::StatusOr<HttpResponse> r3 = co_await std::move(c3);
  WEFT_CO_CHECK(r3.ok() && r3->status() == http::StatusCode::PAYLOAD_TOO_LARGE);
  WEFT_CO_CHECK(g_validations.load() == before + 1 && handler.calls->load() == 1);
  WEFT_CO_CHECK(streamed->reads.load() == 16);

  // Small enough and authenticated: served.
  auto small = std::make_shared<CountingSource>(3, 192);
  auto c4 = tower::oneshot(svc, upload(small, "good"));
  absl::StatusOr<HttpResponse> r4 = co_await std::move(c4);
  WEFT_CO_CHECK(r4.ok() && r4->status() == http::StatusCode::OK);
  std::string body = co_await t::body_text(*std::move(r4));
  WEFT_CO_CHECK(body == "192");

  // The other order: auth outside limit answers an anonymous oversized request 401 first
  // (still without reading it: auth never reads bodies).
  auto reversed = tower::ServiceBuilder()
                      .layer(mw::BearerAuthLayer(&validate))
                      .layer(mw::RequestBodyLimitLayer(1000))
                      .service(handler);
  auto big3 = std::make_shared<CountingSource>(100, 6400);
  auto c5 = tower::oneshot(reversed, upload(big3, ""));
  absl::StatusOr<HttpResponse> r5 = co_await std::move(c5);
  WEFT_CO_CHECK(r5.ok() && r5->status() == http::StatusCode::UNAUTHORIZED);
  WEFT_CO_CHECK(big3->reads.load() == 0);
  co_return absl::OkStatus();
}

// ---- set_header and request_id ----

struct Seen {
  std::mutex mu;
  std::string header;     // x-request-id as the handler saw it
  std::string extension;  // RequestId as the handler saw it
};

auto recorder(std::shared_ptr<Seen> seen) {
  return tower::service_fn([seen](HttpRequest req) -> absl::StatusOr<HttpResponse> {
    std::lock_guard<std::mutex> lock(seen->mu);
    seen->header = t::header(req.headers(), "x-request-id");
    const mw::RequestId* id = req.extensions().get<mw::RequestId>();
    seen->extension = id != nullptr ? std::string(id->as_str()) : "<none>";
    return HttpResponse(http::Body("ok"));
  });
}

http::HeaderValue fixed(std::string_view v) { return http::HeaderValue::from_static(v); }

Task<absl::Status> set_header_and_request_id_order() {
  const http::HeaderName kId = http::header::X_REQUEST_ID;

  // 1. set_header (if_not_present) OUTSIDE request_id: it runs first, request_id keeps its value.
  {
    auto seen = std::make_shared<Seen>();
    auto svc =
        tower::ServiceBuilder()
            .layer(mw::SetRequestHeaderLayer(kId, fixed("edge-1"), mw::InsertHeader::kIfNotPresent))
            .layer(mw::SetRequestIdLayer())
            .service(recorder(seen));
    auto c = tower::oneshot(svc, t::request(http::Method::GET, "/"));
    absl::StatusOr<HttpResponse> r = co_await std::move(c);
    WEFT_CO_CHECK(r.ok());
    WEFT_CO_CHECK(seen->header == "edge-1" && seen->extension == "edge-1");
    WEFT_CO_CHECK(t::header(r->headers(), "x-request-id") == "edge-1");
    // A client's own id wins over if_not_present.
    auto c2 = tower::oneshot(svc, t::request(http::Method::GET, "/", {{"x-request-id", "cli-7"}}));
    absl::StatusOr<HttpResponse> r2 = co_await std::move(c2);
    WEFT_CO_CHECK(r2.ok() && seen->extension == "cli-7");
    WEFT_CO_CHECK(t::header(r2->headers(), "x-request-id") == "cli-7");
  }

  // 2. request_id OUTSIDE set_header (override): request_id has already made an id and put it
  //    in the extension; set_header then overwrites the header only. The handler sees two
  //    different ids and the response carries request_id's: put header rewrites outside.
  {
    auto seen = std::make_shared<Seen>();
    auto svc = tower::ServiceBuilder()
                   .layer(mw::SetRequestIdLayer())
                   .layer(mw::SetRequestHeaderLayer(kId, fixed("inner-override")))
                   .service(recorder(seen));
    auto c = tower::oneshot(svc, t::request(http::Method::GET, "/"));
    absl::StatusOr<HttpResponse> r = co_await std::move(c);
    WEFT_CO_CHECK(r.ok());
    WEFT_CO_CHECK(seen->header == "inner-override");
    WEFT_CO_CHECK(seen->extension != "inner-override" && seen->extension.size() == 32);
    WEFT_CO_CHECK(t::header(r->headers(), "x-request-id") == seen->extension);
  }

  // 3. Response side: SetResponseHeaderLayer OUTSIDE request_id overrides the propagated id;
  //    INSIDE it, its value reaches request_id first, which leaves a response's own id alone.
  {
    auto seen = std::make_shared<Seen>();
    auto outside = tower::ServiceBuilder()
                       .layer(mw::SetResponseHeaderLayer(kId, fixed("resp-outer")))
                       .layer(mw::SetRequestIdLayer())
                       .service(recorder(seen));
    auto c = tower::oneshot(outside, t::request(http::Method::GET, "/", {{"x-request-id", "a1"}}));
    absl::StatusOr<HttpResponse> r = co_await std::move(c);
    WEFT_CO_CHECK(r.ok() && r->headers().get_all("x-request-id").size() == 1);
    WEFT_CO_CHECK(t::header(r->headers(), "x-request-id") == "resp-outer");
    WEFT_CO_CHECK(seen->extension == "a1");

    auto inside = tower::ServiceBuilder()
                      .layer(mw::SetRequestIdLayer())
                      .layer(mw::SetResponseHeaderLayer(kId, fixed("resp-inner")))
                      .service(recorder(seen));
    auto c2 = tower::oneshot(inside, t::request(http::Method::GET, "/", {{"x-request-id", "a2"}}));
    absl::StatusOr<HttpResponse> r2 = co_await std::move(c2);
    WEFT_CO_CHECK(r2.ok() && r2->headers().get_all("x-request-id").size() == 1);
    WEFT_CO_CHECK(t::header(r2->headers(), "x-request-id") == "resp-inner");
  }

  // 4. PropagateHeaderLayer OUTSIDE request_id copies what the CLIENT sent (it looks at the
  //    request before request_id did): nothing when the client sent none, so request_id's own
  //    propagation stands; the client's value when it sent a valid one.
  {
    auto seen = std::make_shared<Seen>();
    auto svc = tower::ServiceBuilder()
                   .layer(mw::PropagateHeaderLayer(kId))
                   .layer(mw::SetRequestIdLayer())
                   .service(recorder(seen));
    auto c = tower::oneshot(svc, t::request(http::Method::GET, "/"));
    absl::StatusOr<HttpResponse> r = co_await std::move(c);
    WEFT_CO_CHECK(r.ok() && t::header(r->headers(), "x-request-id") == seen->extension);
    // An invalid client id: request_id replaced it for the handler, but propagate copies the
    // client's value back over it. (Put PropagateHeaderLayer inside request_id for the id.)
    auto c2 = tower::oneshot(svc, t::request(http::Method::GET, "/", {{"x-request-id", "a b"}}));
    absl::StatusOr<HttpResponse> r2 = co_await std::move(c2);
    WEFT_CO_CHECK(r2.ok() && seen->extension.size() == 32);
    WEFT_CO_CHECK(t::header(r2->headers(), "x-request-id") == "a b");

    auto fixed_order = tower::ServiceBuilder()
                           .layer(mw::SetRequestIdLayer())
                           .layer(mw::PropagateHeaderLayer(kId))
                           .service(recorder(seen));
    auto c3 =
        tower::oneshot(fixed_order, t::request(http::Method::GET, "/", {{"x-request-id", "a b"}}));
    absl::StatusOr<HttpResponse> r3 = co_await std::move(c3);
    WEFT_CO_CHECK(r3.ok() && t::header(r3->headers(), "x-request-id") == seen->extension);
  }
  co_return absl::OkStatus();
}

// ---- everything on a Router ----

Task<absl::StatusOr<HttpResponse>> slow_handler(HttpRequest) {
  co_await weft::time::sleep(std::chrono::seconds(60));
  co_return HttpResponse(http::Body("late"));
}

http::Router full_stack() {
  http::Router api;
  api.get("/me", [](HttpRequest req) -> absl::StatusOr<HttpResponse> {
    const User* u = req.extensions().get<User>();
    const mw::RequestId* id = req.extensions().get<mw::RequestId>();
    return HttpResponse(http::Body(std::string(u != nullptr ? u->name : "?") + " " +
                                   std::string(id != nullptr ? "has-id" : "no-id")));
  });
  api.post("/upload", Upload{});
  api.route_layer(mw::BearerAuthLayer(&validate));  // only matched routes need a token
  http::Router router;
  router.get("/boom", [](HttpRequest) -> absl::StatusOr<HttpResponse> {
    throw std::runtime_error("kaboom");
  });
  router.get("/slow", &slow_handler);
  router.nest("/api", std::move(api));
  // The order middleware/README.md recommends (Router::layer: the last one is outermost).
  router.layer(mw::RequestBodyLimitLayer(1000))
      .layer(mw::TimeoutLayer(50ms))
      .layer(mw::NormalizePathLayer::trim_trailing_slash())  // wraps the router: before routing
      .layer(mw::CatchExceptionLayer())
      .layer(mw::CorsLayer().allow_origin(mw::AllowOrigin::list({"https://app.example"})))
      .layer(mw::SetResponseHeaderLayer(http::header::SERVER, fixed("weft")))
      .layer(mw::SetRequestIdLayer());
  return router;
}

template <class S>
Task<std::string> fetch(const S* svc, HttpRequest req) {
  absl::StatusOr<HttpResponse> r = co_await tower::oneshot(*svc, std::move(req));
  if (!r.ok()) co_return "<" + r.status().ToString() + ">";
  std::string head = std::to_string(r->status().as_u16());
  head += t::header(r->headers(), "server") == "weft" ? " server" : " -";
  head += t::header(r->headers(), "x-request-id").size() == 32 ? " id" : " -";
  head += r->headers().contains("access-control-allow-origin") ? " cors" : " -";
  std::string body = co_await t::body_text(*std::move(r));
  co_return head + " " + body;
}

Task<absl::Status> router_stack() {
  http::Router router = full_stack();
  struct Case {
    HttpRequest req;
    std::string want;
  };
  std::vector<Case> cases;
  cases.push_back(
      {t::request(http::Method::GET, "/api/me//",
                  {{"authorization", "Bearer good"}, {"origin", "https://app.example"}}),
       "200 server id cors alice has-id"});
  cases.push_back({t::request(http::Method::GET, "/api/me"), "401 server id - Unauthorized\n"});
  cases.push_back({t::request(http::Method::GET, "/boom", {{"origin", "https://app.example"}}),
                   "500 server id cors Internal Server Error\n"});
  // A preflight needs no token: CORS answers it outside the routes' auth.
  cases.push_back(
      {t::request(http::Method::OPTIONS, "/api/me",
                  {{"origin", "https://app.example"}, {"access-control-request-method", "GET"}}),
       "204 server id cors "});
  cases.push_back(
      {t::request(http::Method::GET, "/slow"), "503 server id - Service Unavailable\n"});
  cases.push_back({t::request(http::Method::GET, "/nowhere/"), "404 server id - Not Found"});
  HttpRequest big =
      t::request(http::Method::POST, "/api/upload", {{"authorization", "Bearer good"}});
  big.body() = http::Body(std::string(5000, 'x'));
  cases.push_back({std::move(big), "413 server id - Payload Too Large\n"});
  for (Case& c : cases) {
    Task<std::string> f = fetch(&router, std::move(c.req));
    std::string got = co_await std::move(f);
    if (got != c.want) co_return absl::InternalError("want [" + c.want + "] got [" + got + "]");
  }
  co_return absl::OkStatus();
}

}  // namespace

BOOST_AUTO_TEST_CASE(limit_rejects_before_auth_reads_the_body) {
  absl::Status s = t::run_in_all_flavors(&limit_rejects_before_auth);
  BOOST_TEST(s.ok(), s);
}

BOOST_AUTO_TEST_CASE(set_header_and_request_id_ordering) {
  absl::Status s = t::run_in_all_flavors(&set_header_and_request_id_order);
  BOOST_TEST(s.ok(), s);
}

BOOST_AUTO_TEST_CASE(every_layer_on_a_router) {
  absl::Status s = t::run_in_all_flavors(&router_stack);
  BOOST_TEST(s.ok(), s);
}
