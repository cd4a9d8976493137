// Router: dispatches requests to services by method and path (axum's Router). A Router is itself
// a tower Service<Request<Body>> giving Response<Body>, so it is what a server serves.
//
//   http::Router api;
//   api.get("/users/{id}", get_user).post("/users", create_user);   // any Service or function
//   http::Router router;
//   router.with_state(std::make_shared<Db>())                       // handlers (Request, Db&)
//       .route(http::Method::GET, "/", home)
//       .get("/static/{*path}", static_files)
//       .nest("/api", std::move(api))                               // GET /api/users/7
//       .layer(trace_layer);                                        // wraps the whole router
//   // in a handler: req.extensions().get<http::PathParams>()->get("id")  (path_params.h)
//
// Patterns. A pattern is '/' followed by segments separated by '/'. A segment is
//   * static text, matched byte for byte against the raw (percent-encoded) request path;
//   * `{name}`, a parameter: one non-empty segment, percent-decoded into PathParams;
//   * `{*name}`, a wildcard, only as the last segment: the rest of the path (possibly empty,
//     '/'s included), percent-decoded. "/static/{*path}" matches "/static/" and "/static/a/b",
//     not "/static".
// Names are [A-Za-z0-9_]+ and unique within a pattern; at most kMaxParams per pattern.
// Precedence does not depend on registration order: a static segment beats a parameter, which
// beats a wildcard (or a nested router) at the same position; a path that fails deeper down
// backtracks to the next alternative. The path is matched first and the method second, so a
// path that matches with no route for the method answers 405 (see below), never a less specific
// path's route.
// Trailing slash: "/users/" does not match "/users" nor the other way round (register both, or
// use path normalization middleware).
//
// Methods. route(method, ...) or get/head/post/put/delete_/patch/options; any() takes every
// method that has no route of its own. HEAD without a HEAD route uses the GET route (the request
// still says HEAD; the server drops the body). A path whose routes do not take the method gets
// 405 "Method Not Allowed" (content-type: text/plain) with `allow` listing its methods (GET
// implies HEAD), e.g. "GET, HEAD, POST".
//
// Unmatched paths go to the fallback: 404 "Not Found" (text/plain), or the service given to
// fallback(). A parameter with malformed percent-encoding ("%zz") gets 400 "Bad Request" once
// its route and method matched; in the prefix of a nested router too (the nested router says
// 404 or 405 first, as for its own routes), but a service mounted with nest_service() gets
// 400 at once, since what it would answer is unknown.
//
// Handlers (route, fallback) are any of:
//   * a tower Service<Request<Body>> whose response converts to Response<Body>;
//   * a function `Request<Body> -> Task<absl::StatusOr<Response<Body>>>` (or a synchronous
//     `absl::StatusOr<Response<Body>>`), taken as by tower::service_fn: the router stores the
//     function object, so a capturing lambda's captures live as long as the router;
//   * a function `(Request<Body>, S&) -> ...` (or `const S&`), with S given to with_state(): the
//     state is shared by every handler that asks for it (axum's State). Register the state
//     before those routes. S is used from many threads at once: make it thread-safe.
// A handler's error Status is the router's error (the server turns it into a 5xx); 404/405/400
// are responses, not errors.
//
// Nesting. nest("/api", inner): requests for "/api" and "/api/..." go to `inner`, which matches
// the path after the prefix ("/api" itself is "/" for it); the URI is not rewritten, and the
// matched prefix is in the NestedPath extension. A prefix may contain parameters (not a
// wildcard, nor a trailing '/', nor be "/"). Inside the prefix the nested router counts as a
// wildcard: the outer router's static and parameter routes win. An unmatched path under the
// prefix gets the inner router's fallback (404 by default). nest_service() mounts any service
// the same way (it sees the whole URI and NestedPath).
//
// Layers. layer(l) wraps the whole router — every route, nested routers, the fallback, 404 and
// 405, including routes added later — as one service; the last layer() is outermost.
// route_layer(l) wraps, one by one, the routes (and nested routers) registered SO FAR, and runs
// only when one of them matched (never for 404/405/fallback). To layer a single route, either
// register it, then route_layer, then the others, or give route() `l.layer(service)` directly.
//
// Errors at registration (bad pattern, the same method registered twice for a pattern, two
// parameter names at one position, a wildcard or nest overlapping another, a state type missing
// or given twice) throw std::invalid_argument with a message naming the route: they are
// programming errors, found at startup, and throwing keeps the builder chainable.
//
// Serving. Register everything first: once serving, the router is immutable, shared by all
// connections on all threads (ready() and call() are const). Matching walks a segment trie
// without allocating; a matched route with parameters costs one PathParams extension. A Router is
// move-only; a moved-from Router may only be destroyed or assigned to.
#pragma once

#include <concepts>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "weft/http/body.h"
#include "weft/http/method.h"
#include "weft/http/path_params.h"
#include "weft/http/request.h"
#include "weft/http/response.h"
#include "weft/runtime/task/task.h"
#include "weft/tower/boxed.h"
#include "weft/tower/layer.h"
#include "weft/tower/service.h"
#include "weft/tower/service_fn.h"

WEFT_TOWER_CORO_BEGIN

namespace weft::http {

namespace detail {

struct RouterCore;

// What a handler with state looks like: a non-generic callable (Request, S&) or (Request,
// const S&). The request may be taken by value or by reference.
template <class M>
struct StateSig {
  static constexpr bool value = false;
};
template <class C, class R, class A0, class A1>
struct StateSig<R (C::*)(A0, A1) const> {
  static constexpr bool value = true;
  using request_arg = A0;
  using state_arg = A1;
};
template <class C, class R, class A0, class A1>
struct StateSig<R (C::*)(A0, A1) const noexcept> : StateSig<R (C::*)(A0, A1) const> {};
template <class R, class A0, class A1>
struct StateSig<R (*)(A0, A1)> {
  static constexpr bool value = true;
  using request_arg = A0;
  using state_arg = A1;
};
template <class R, class A0, class A1>
struct StateSig<R (*)(A0, A1) noexcept> : StateSig<R (*)(A0, A1)> {};

template <class F, class = void>
struct StateHandlerTraits {
  static constexpr bool value = false;
};
template <class F>
struct StateHandlerTraits<F, std::enable_if_t<std::is_pointer_v<F>>> : StateSig<F> {};
template <class F>
struct StateHandlerTraits<F, std::void_t<decltype(&F::operator())>>
    : StateSig<decltype(&F::operator())> {};

template <class F>
concept StateHandler = StateHandlerTraits<F>::value &&
    std::same_as<std::remove_cvref_t<typename StateHandlerTraits<F>::request_arg>, Request<Body>> &&
    std::is_lvalue_reference_v<typename StateHandlerTraits<F>::state_arg>;

template <StateHandler F>
using handler_state_t = std::remove_cvref_t<typename StateHandlerTraits<F>::state_arg>;

// Identifies a type without RTTI: the address of a per-type variable.
template <class T>
struct TypeKey {
  static constexpr char id = 0;
};

// The service of a handler with state: calls f(request, *state).
template <class F, class S>
class StateFn {
  using Result = std::invoke_result_t<const F&, Request<Body>, S&>;

 public:
  StateFn(F f, std::shared_ptr<S> state) : f_(std::move(f)), state_(std::move(state)) {}

  tower::AlwaysReady ready() const { return tower::always_ready(); }

  auto call(tower::NoPermit, Request<Body> req) const {
    if constexpr (tower::detail::IsStatusOr<Result>) {
      return tower::detail::ReadyValue<std::remove_cvref_t<Result>>(
          std::invoke(f_, std::move(req), *state_));
    } else if constexpr (!std::is_reference_v<typename StateHandlerTraits<F>::request_arg>) {
      // The request is moved into the handler's own frame: nothing here to outlive.
      return std::invoke(f_, std::move(req), *state_);
    } else {
      return own_request(this, std::move(req));
    }
  }

 private:
  // A handler taking the request by reference is called from a frame that owns it.
  static Task<tower::detail::await_result_t<Result>> own_request(const StateFn* self,
                                                                 Request<Body> req) {
    auto response = std::invoke(self->f_, std::move(req), *self->state_);
    co_return co_await std::move(response);
  }

  F f_;
  std::shared_ptr<S> state_;
};

template <class>
inline constexpr bool kAlwaysFalse = false;

}  // namespace detail

class Router {
 public:
  using RouteService = tower::BoxService<Request<Body>, Response<Body>>;

  // The most parameters (wildcard included) one pattern may have.
  static constexpr std::size_t kMaxParams = 16;

  Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;
  ~Router();

  // Routes `method` requests for paths matching `pattern` to `handler` (see the top comment).
  template <class H>
  Router& route(const Method& method, std::string_view pattern, H handler) {
    add_route(&method, pattern, make_service(std::move(handler), method.as_str(), pattern));
    return *this;
  }
  // Every method without a route of its own for `pattern`.
  template <class H>
  Router& any(std::string_view pattern, H handler) {
    add_route(nullptr, pattern, make_service(std::move(handler), "ANY", pattern));
    return *this;
  }
  template <class H>
  Router& get(std::string_view pattern, H handler) {
    return route(Method::GET, pattern, std::move(handler));
  }
  template <class H>
  Router& head(std::string_view pattern, H handler) {
    return route(Method::HEAD, pattern, std::move(handler));
  }
  template <class H>
  Router& post(std::string_view pattern, H handler) {
    return route(Method::POST, pattern, std::move(handler));
  }
  template <class H>
  Router& put(std::string_view pattern, H handler) {
    return route(Method::PUT, pattern, std::move(handler));
  }
  template <class H>
  Router& delete_(std::string_view pattern, H handler) {
    return route(Method::DELETE, pattern, std::move(handler));
  }
  template <class H>
  Router& patch(std::string_view pattern, H handler) {
    return route(Method::PATCH, pattern, std::move(handler));
  }
  template <class H>
  Router& options(std::string_view pattern, H handler) {
    return route(Method::OPTIONS, pattern, std::move(handler));
  }

  // Mounts `inner` at `prefix`: it matches the rest of the path (see the top comment).
  Router& nest(std::string_view prefix, Router inner);
  // Mounts any service at `prefix` (every method, the whole URI, NestedPath set).
  template <class S>
  Router& nest_service(std::string_view prefix, S service) {
    add_nest(prefix, make_service(std::move(service), "NEST", prefix));
    return *this;
  }

  // The handler of unmatched paths (default: 404 "Not Found", text/plain).
  template <class H>
  Router& fallback(H handler) {
    set_fallback(make_service(std::move(handler), "FALLBACK", ""));
    return *this;
  }

  // The state handed to handlers taking `(Request<Body>, S&)` registered after this call. One
  // state per type.
  template <class S>
  Router& with_state(std::shared_ptr<S> state) {
    if (state == nullptr) {
      throw std::invalid_argument("weft::http::Router::with_state: null state");
    }
    add_state(&detail::TypeKey<std::remove_cv_t<S>>::id, std::move(state));
    return *this;
  }

  // Wraps each route registered so far (and each nested router) in `l`; runs only for matched
  // routes.
  template <class L>
  Router& route_layer(const L& l) {
    if constexpr (tower::assert_layer<L, RouteService>()) {
      for_each_route_service(
          [&l](RouteService& svc) { svc = RouteService(l.layer(std::move(svc))); });
    }
    return *this;
  }
  // Wraps the whole router (routes, nested routers, fallback, 404, 405, later routes too) in
  // `l`; each call adds an outer layer.
  template <class L>
  Router& layer(const L& l) {
    if constexpr (tower::assert_layer<L, RouteService>()) {
      RouteService inner = layered_ != nullptr ? std::move(*layered_) : core_service();
      layered_ = std::make_unique<RouteService>(l.layer(std::move(inner)));
    }
    return *this;
  }

  // The Service.
  tower::AlwaysReady ready() const { return tower::always_ready(); }
  // The response now when the route answers without waiting (no coroutine frame), else its Task.
  tower::detail::Eager<absl::StatusOr<Response<Body>>> call(tower::NoPermit,
                                                            Request<Body> req) const;
  // What tower::oneshot uses: the router is always ready.
  auto oneshot(Request<Body> req) const { return call(tower::NoPermit{}, std::move(req)); }

 private:
  template <class H>
  RouteService make_service(H h, std::string_view method, std::string_view pattern) const {
    if constexpr (tower::Service<H, Request<Body>>) {
      return RouteService(std::move(h));
    } else if constexpr (std::invocable<const H&, Request<Body>>) {
      return RouteService(tower::service_fn(std::move(h)));
    } else if constexpr (detail::StateHandler<H>) {
      using S = detail::handler_state_t<H>;
      static_assert(std::invocable<const H&, Request<Body>, S&>);
      std::shared_ptr<void> state = find_state(&detail::TypeKey<S>::id, method, pattern);
      return RouteService(
          detail::StateFn<H, S>(std::move(h), std::static_pointer_cast<S>(std::move(state))));
    } else {
      static_assert(detail::kAlwaysFalse<H>,
                    "weft::http::Router: a handler must be a tower Service<Request<Body>> "
                    "giving Response<Body>, a function Request<Body> -> "
                    "Task<absl::StatusOr<Response<Body>>>, or a non-generic function "
                    "(Request<Body>, S&) with S given to with_state()");
      return RouteService(tower::service_fn(
          [](Request<Body>) { return absl::StatusOr<Response<Body>>(Response<Body>()); }));
    }
  }

  void add_route(const Method* method, std::string_view pattern, RouteService svc);
  void add_nest(std::string_view prefix, RouteService svc, bool router = false);
  void set_fallback(RouteService svc);
  void add_state(const void* key, std::shared_ptr<void> state);
  std::shared_ptr<void> find_state(const void* key, std::string_view method,
                                   std::string_view pattern) const;
  void for_each_route_service(absl::FunctionRef<void(RouteService&)> f);
  RouteService core_service() const;

  // On the heap so that moving the Router keeps it in place: layered_ points at it.
  std::unique_ptr<detail::RouterCore> core_;
  // The core wrapped in the layers given to layer(); null without layers.
  std::unique_ptr<RouteService> layered_;
  std::vector<std::pair<const void*, std::shared_ptr<void>>> states_;
};

}  // namespace weft::http

WEFT_TOWER_CORO_END
