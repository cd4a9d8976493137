// cors: Cross-Origin Resource Sharing for browsers (tower-http's CorsLayer, after the Fetch
// standard's "HTTP responses" to CORS and CORS-preflight requests).
//
//   namespace mw = weft::middleware;
//   auto svc = weft::tower::ServiceBuilder()
//       .layer(mw::CorsLayer()
//                  .allow_origin(mw::AllowOrigin::list({"https://app.example.com"}))
//                  .allow_methods({http::Method::GET, http::Method::POST})
//                  .allow_headers({http::header::CONTENT_TYPE, http::header::AUTHORIZATION})
//                  .expose_headers({http::header::X_REQUEST_ID})
//                  .allow_credentials(true)
//                  .max_age(std::chrono::hours(1)))
//       .service(router);
//
// What it does, per request (Fetch §3.2.3 "HTTP responses"):
//  * A CORS-preflight request — OPTIONS with `origin` AND `access-control-request-method` — is
//    answered here, 204 No Content, without calling the inner service. When the origin is
//    allowed the answer carries access-control-allow-origin, -allow-credentials (if enabled),
//    -allow-methods, -allow-headers, -max-age (if set) and -allow-private-network (if enabled
//    and asked for). The browser compares those with what it wants to send; this layer does not
//    judge the requested method or headers (as tower-http).
//  * Any other request goes to the inner service. When it has an allowed `origin`, the response
//    gets access-control-allow-origin, -allow-credentials (if enabled) and -expose-headers
//    (if set), replacing values the inner service may have set. An error Status from the inner
//    service passes through (the server's 5xx answer then has no CORS headers).
//  * A request without `origin` (same-origin, curl, server to server) or with an origin that is
//    not allowed gets NO access-control-* header: nothing is refused here, the browser refuses
//    to hand the response to the page. A preflight from such an origin is still answered 204
//    (without the headers), so the inner service never sees preflights.
//  * Every response this layer touches gets `vary: origin, access-control-request-method,
//    access-control-request-headers` appended (change with vary()): the answer depends on those
//    request headers, and a shared cache must not hand one origin's answer to another.
//
// Differences from tower-http: it answers every OPTIONS request itself; here a plain OPTIONS
// (without access-control-request-method) reaches the inner service, since Fetch defines a
// preflight by that header. Its preflight answer is 200; here 204 (no body to send). It adds
// -allow-credentials and -expose-headers even for a disallowed origin; here a disallowed origin
// gets no CORS header at all.
//
// Configuration (each builder method returns a modified copy; nothing allowed by default):
//   allow_origin   AllowOrigin::any() ("*"), exact(o), list({...}), predicate(f) (f(origin) or
//                  f(origin, request), called as const from many tasks), mirror_request() (echo
//                  any origin; the way to allow every origin WITH credentials — use with care).
//                  Origins compare byte for byte with the request's `origin` ("https://a.com",
//                  "http://localhost:8080": scheme://host[:port], no path, no trailing slash).
//   allow_methods  a list, AllowMethods::any() ("*"), AllowMethods::mirror_request().
//   allow_headers  a list, AllowHeaders::any() ("*"; per Fetch it never covers
//                  `authorization`, list that one), AllowHeaders::mirror_request().
//   expose_headers a list or ExposeHeaders::any() ("*").
//   allow_credentials(bool), max_age(seconds), allow_private_network(bool), vary(names).
// Fetch ignores every "*" on a credentialed request, so allow_credentials(true) together with
// any() for origins, methods, headers or exposed headers is a configuration error: layer()
// throws std::invalid_argument saying which (as tower-http panics), at startup. So does an
// origin in a list that is not a serialized origin.
//
// Presets: CorsLayer::permissive() (any origin, method and header; exposes all; no
// credentials), CorsLayer::very_permissive() (mirrors origin, method and headers, with
// credentials: for development).
//
// Cost: the header values are built once, in layer(); per request a few header lookups and
// copies, no coroutine frame (the inner awaitable is wrapped in place).
#pragma once

#include <chrono>
#include <concepts>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "weft/http/header_map.h"
#include "weft/http/header_name.h"
#include "weft/http/header_value.h"
#include "weft/http/method.h"
#include "weft/middleware/detail/http_service.h"
#include "weft/tower/detail/awaitable.h"
#include "weft/tower/service.h"

namespace weft::middleware {

class CorsLayer;

class AllowOrigin {
 public:
  using Predicate = std::function<bool(std::string_view origin, const HttpRequest& req)>;

  // No origin (the default).
  AllowOrigin() = default;
  // `access-control-allow-origin: *`.
  static AllowOrigin any();
  static AllowOrigin exact(std::string origin);
  static AllowOrigin list(std::vector<std::string> origins);
  // f(origin, request) or f(origin) -> bool.
  template <class F>
  requires std::predicate<const F&, std::string_view, const HttpRequest&> ||
      std::predicate<const F&, std::string_view>
  static AllowOrigin predicate(F f) {
    AllowOrigin o;
    o.kind_ = Kind::kPredicate;
    if constexpr (std::predicate<const F&, std::string_view, const HttpRequest&>) {
      o.predicate_ = std::move(f);
    } else {
      o.predicate_ = [f = std::move(f)](std::string_view origin, const HttpRequest&) {
        return f(origin);
      };
    }
    return o;
  }
  // Every origin, echoed back (not "*"), so that it also works with credentials.
  static AllowOrigin mirror_request();

 private:
  friend class CorsLayer;
  friend struct CorsConfig;
  enum class Kind { kNone, kAny, kList, kPredicate, kMirror };
  Kind kind_ = Kind::kNone;
  std::vector<std::string> origins_;
  Predicate predicate_;
};

class AllowMethods {
 public:
  AllowMethods() = default;
  AllowMethods(std::initializer_list<http::Method> methods) : methods_(methods) {
    kind_ = Kind::kList;
  }
  explicit AllowMethods(std::vector<http::Method> methods)
      : kind_(Kind::kList), methods_(std::move(methods)) {}
  static AllowMethods any();
  static AllowMethods mirror_request();

 private:
  friend class CorsLayer;
  friend struct CorsConfig;
  enum class Kind { kNone, kAny, kList, kMirror };
  Kind kind_ = Kind::kNone;
  std::vector<http::Method> methods_;
};

class AllowHeaders {
 public:
  AllowHeaders() = default;
  AllowHeaders(std::initializer_list<http::HeaderName> names) : kind_(Kind::kList), names_(names) {}
  explicit AllowHeaders(std::vector<http::HeaderName> names)
      : kind_(Kind::kList), names_(std::move(names)) {}
  static AllowHeaders any();
  static AllowHeaders mirror_request();

 private:
  friend class CorsLayer;
  friend struct CorsConfig;
  enum class Kind { kNone, kAny, kList, kMirror };
  Kind kind_ = Kind::kNone;
  std::vector<http::HeaderName> names_;
};

class ExposeHeaders {
 public:
  ExposeHeaders() = default;
  ExposeHeaders(std::initializer_list<http::HeaderName> names)
      : kind_(Kind::kList), names_(names) {}
  explicit ExposeHeaders(std::vector<http::HeaderName> names)
      : kind_(Kind::kList), names_(std::move(names)) {}
  static ExposeHeaders any();

 private:
  friend class CorsLayer;
  friend struct CorsConfig;
  enum class Kind { kNone, kAny, kList };
  Kind kind_ = Kind::kNone;
  std::vector<http::HeaderName> names_;
};

// The checked configuration with its header values made once; shared by a service's calls.
struct CorsConfig {
  AllowOrigin origin;
  AllowMethods::Kind methods_kind = AllowMethods::Kind::kNone;
  AllowHeaders::Kind headers_kind = AllowHeaders::Kind::kNone;
  bool credentials = false;
  bool private_network = false;
  std::optional<http::HeaderValue> methods;  // the list, or "*"
  std::optional<http::HeaderValue> headers;  // the list, or "*"
  std::optional<http::HeaderValue> expose;   // the list, or "*"
  std::optional<http::HeaderValue> max_age;  // seconds
  std::optional<http::HeaderValue> vary;     // joined names

  // access-control-allow-origin for this request: nullopt when `origin` is not allowed.
  std::optional<http::HeaderValue> allow_origin(const http::HeaderValue& origin,
                                                const HttpRequest& req) const;
  // The whole answer to a CORS-preflight request.
  HttpResponse preflight(const HttpRequest& req) const;
  // Adds vary and, when allow_origin is set, the headers of an actual response.
  void decorate(http::HeaderMap& headers, std::optional<http::HeaderValue> allow_origin) const;
};

// OPTIONS with `origin` and `access-control-request-method` (Fetch §3.2.2).
bool is_cors_preflight(const HttpRequest& req);

template <class S>
class Cors {
 public:
  Cors(S inner, std::shared_ptr<const CorsConfig> cfg)
      : inner_(std::move(inner)), cfg_(std::move(cfg)) {}

  auto ready() const requires tower::detail::HasReady<S> { return inner_.ready(); }
  auto try_ready() const requires requires(const S& s) { s.try_ready(); }
  { return inner_.try_ready(); }

  // The preflight answer at once, or the inner call's awaitable with the headers added to its
  // response as it completes.
  auto call(tower::permit_t<S> permit, HttpRequest req) const requires HttpService<S> {
    using Fut = tower::detail::call_awaitable_t<S, HttpRequest>;
    using R = detail::ReadyOr<Fut, Decorate>;
    if (is_cors_preflight(req)) return R(absl::StatusOr<HttpResponse>(cfg_->preflight(req)));
    Decorate d{cfg_.get(), std::nullopt};
    if (const http::HeaderValue* origin = req.headers().get(http::header::ORIGIN)) {
      d.allow_origin = cfg_->allow_origin(*origin, req);
    }
    return R(
        std::in_place, [&] { return inner_.call(std::move(permit), std::move(req)); },
        std::move(d));
  }

  const CorsConfig& config() const { return *cfg_; }
  const S& inner() const { return inner_; }

 private:
  struct Decorate {
    const CorsConfig* cfg;
    std::optional<http::HeaderValue> allow_origin;
    absl::StatusOr<HttpResponse> operator()(absl::StatusOr<HttpResponse> r) {
      if (r.ok()) cfg->decorate(r->headers(), std::move(allow_origin));
      return r;
    }
  };

  S inner_;
  std::shared_ptr<const CorsConfig> cfg_;
};

class CorsLayer {
 public:
  // Nothing allowed: only `vary` is added, preflights get a bare 204.
  CorsLayer() = default;
  // Any origin, method and request header; every response header exposed; no credentials.
  static CorsLayer permissive();
  // Origin, method and headers mirrored from the request, with credentials (development).
  static CorsLayer very_permissive();

  CorsLayer allow_origin(AllowOrigin o) const;
  CorsLayer allow_methods(AllowMethods m) const;
  CorsLayer allow_headers(AllowHeaders h) const;
  CorsLayer expose_headers(ExposeHeaders h) const;
  CorsLayer allow_credentials(bool allow) const;
  CorsLayer max_age(std::chrono::seconds age) const;
  CorsLayer allow_private_network(bool allow) const;
  // The request headers the answer depends on (default: origin,
  // access-control-request-method, access-control-request-headers); empty: no vary.
  CorsLayer vary(std::vector<http::HeaderName> names) const;

  // The checked configuration; std::invalid_argument for the errors named at the top.
  std::shared_ptr<const CorsConfig> build() const;

  template <class S>
  Cors<S> layer(S inner) const {
    return Cors<S>(std::move(inner), build());
  }

 private:
  AllowOrigin origin_;
  AllowMethods methods_;
  AllowHeaders headers_;
  ExposeHeaders expose_;
  bool credentials_ = false;
  std::optional<std::chrono::seconds> max_age_;
  bool private_network_ = false;
  std::optional<std::vector<http::HeaderName>> vary_;  // nullopt: the default
};

}  // namespace weft::middleware
