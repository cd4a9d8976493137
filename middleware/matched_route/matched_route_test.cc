// MatchedRoute: a route stamps its pattern on the request (for the handler) and the response
// (for layers outside the router); errors pass through; works for services and functions.
#define BOOST_TEST_MODULE matched_route_test
#include "weft/middleware/matched_route/matched_route.h"

#include <boost/test/unit_test.hpp>
#include <string>

#include "absl/status/status.h"
#include "weft/http/router.h"
#include "weft/http/uri.h"
#include "weft/runtime/runtime.h"
#include "weft/runtime/testing/test_runtime.h"
#include "weft/tower/service_fn.h"

using weft::Task;
namespace http = weft::http;
namespace mw = weft::middleware;
namespace tower = weft::tower;
using Req = http::Request<http::Body>;
using Resp = http::Response<http::Body>;
using Result = absl::StatusOr<Resp>;

namespace {

Task<Result> echo_pattern(Req req) {
  const mw::MatchedRoute* m = req.extensions().get<mw::MatchedRoute>();
  co_return Resp(http::Body(m != nullptr ? m->pattern : std::string("none")));
}
Task<Result> fails(Req) { co_return absl::PermissionDeniedError("no"); }

Req get(std::string_view target) {
  Req req;
  req.uri() = *http::Uri::parse(target);
  return req;
}

std::string pattern_of(const Result& r) {
  if (!r.ok()) return "error";
  const mw::MatchedRoute* m = r->extensions().get<mw::MatchedRoute>();
  return m != nullptr ? m->pattern : "none";
}

Task<absl::Status> stamps_request_and_response() {
  http::Router router;
  router.get("/users/{id}", mw::with_route("/users/{id}", &echo_pattern))
      .get("/files/{*path}",
           mw::MatchedRouteLayer("/files/{*path}").layer(tower::service_fn(&echo_pattern)))
      .get("/plain", &echo_pattern)
      .get("/denied", mw::with_route("/denied", &fails));
  Req a_req = get("/users/7");
  Result a = co_await tower::oneshot(router, std::move(a_req));
  WEFT_CO_CHECK(a.ok() && a->body().full_bytes() == "/users/{id}");
  WEFT_CO_CHECK(pattern_of(a) == "/users/{id}");
  Req b_req = get("/files/a/b.txt");
  Result b = co_await tower::oneshot(router, std::move(b_req));
  WEFT_CO_CHECK(pattern_of(b) == "/files/{*path}" && b->body().full_bytes() == "/files/{*path}");
  Req c_req = get("/plain");
  Result c = co_await tower::oneshot(router, std::move(c_req));
  WEFT_CO_CHECK(pattern_of(c) == "none" && c->body().full_bytes() == "none");
  Req d_req = get("/denied");
  Result d = co_await tower::oneshot(router, std::move(d_req));
  WEFT_CO_CHECK(absl::IsPermissionDenied(d.status()));
  Req e_req = get("/missing");
  Result e = co_await tower::oneshot(router, std::move(e_req));
  WEFT_CO_CHECK(e.ok() && e->status() == http::StatusCode::NOT_FOUND && pattern_of(e) == "none");
  co_return absl::OkStatus();
}

}  // namespace

BOOST_AUTO_TEST_CASE(stamps) {
  auto rt = weft::testing::make_runtime();
  absl::Status s = rt.block_on(stamps_request_and_response());
  BOOST_TEST(s.ok(), s.ToString());
}

BOOST_AUTO_TEST_CASE(pattern_accessor) {
  auto svc = mw::with_route("/x", &echo_pattern);
  BOOST_TEST(svc.pattern() == "/x");
}
