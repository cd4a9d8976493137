// matched_route: tells the layers outside a Router which route pattern a request matched, so
// access logs and metrics can say "/users/{id}" instead of "/users/7" (axum's MatchedPath).
//
//   namespace mw = weft::middleware;
//   router.get("/users/{id}", mw::with_route("/users/{id}", get_user))   // a service or function
//       .layer(mw::TraceLayer())                    // logs route=/users/{id}
//       .layer(mw::MetricsLayer(registry));         // route="/users/{id}" label
//   // in a handler: req.extensions().get<mw::MatchedRoute>()->pattern
//
// Why this exists: http::Router does not publish the pattern it matched, and a layer wrapping
// the whole router only sees the request before routing and the response after. So the route
// itself stamps its pattern, into the request's extensions (for the handler) and into the
// response's extensions (for every layer outside the router: trace/ and metrics/ read it there).
// The pattern is given twice (to the router and here); `MatchedRouteLayer(p).layer(svc)` is the
// same as with_route(p, svc). A response that is an error Status carries no extensions: the
// layers outside then fall back to the path.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "absl/status/statusor.h"
#include "weft/http/body.h"
#include "weft/http/request.h"
#include "weft/http/response.h"
#include "weft/runtime/task/task.h"
#include "weft/tower/service.h"
#include "weft/tower/service_fn.h"

WEFT_TOWER_CORO_BEGIN

namespace weft::middleware {

// The route pattern a request matched, as registered ("/users/{id}").
struct MatchedRoute {
  std::string pattern;
};

template <class S>
class WithMatchedRoute {
 public:
  WithMatchedRoute(S inner, std::shared_ptr<const std::string> pattern)
      : inner_(std::move(inner)), pattern_(std::move(pattern)) {}

  auto ready() const requires tower::detail::ReadyGivesStatusOr<S> { return inner_.ready(); }

  // The inner response with MatchedRoute in its extensions (errors pass through unchanged).
  Task<absl::StatusOr<http::Response<http::Body>>> call(tower::permit_t<S> permit,
                                                        http::Request<http::Body> req)
      const requires tower::ServiceFor<S, http::Request<http::Body>, http::Response<http::Body>> {
    req.extensions().insert(MatchedRoute{*pattern_});
    auto fut = inner_.call(std::move(permit), std::move(req));
    absl::StatusOr<http::Response<http::Body>> r = co_await std::move(fut);
    if (r.ok()) r->extensions().insert(MatchedRoute{*pattern_});
    co_return std::move(r);
  }

  std::string_view pattern() const { return *pattern_; }
  const S& inner() const { return inner_; }

 private:
  S inner_;
  std::shared_ptr<const std::string> pattern_;
};

class MatchedRouteLayer {
 public:
  explicit MatchedRouteLayer(std::string pattern)
      : pattern_(std::make_shared<const std::string>(std::move(pattern))) {}

  template <class S>
  WithMatchedRoute<S> layer(S inner) const {
    return WithMatchedRoute<S>(std::move(inner), pattern_);
  }

 private:
  std::shared_ptr<const std::string> pattern_;
};

// `handler` (a Service<Request<Body>> giving Response<Body>, or a function Request<Body> ->
// Task<absl::StatusOr<Response<Body>>>) stamped with `pattern`.
template <class H>
auto with_route(std::string pattern, H handler) {
  MatchedRouteLayer l(std::move(pattern));
  if constexpr (tower::Service<H, http::Request<http::Body>>) {
    return l.layer(std::move(handler));
  } else {
    return l.layer(tower::service_fn(std::move(handler)));
  }
}

}  // namespace weft::middleware

WEFT_TOWER_CORO_END
