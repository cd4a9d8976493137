// normalize_path: one spelling per path — runs of '/' collapsed and the trailing '/' removed
// (`/a/b/` -> `/a/b`, `//a//b` -> `/a/b`, `///` -> `/`), so a Router (which tells `/users/` from
// `/users`) matches either (tower-http's NormalizePath).
//
//   namespace mw = weft::middleware;
//   auto svc = weft::tower::ServiceBuilder()
//                  .layer(mw::NormalizePathLayer::trim_trailing_slash())      // rewrite in place
//                  .service(router);
//   // or: mw::NormalizePathLayer::redirect_trailing_slash()                 // 308 to /a/b
//
// Two modes:
//  * trim_trailing_slash() (rewrite, the default, as tower-http): the request's URI is changed
//    before the inner service sees it; the client never knows. Cheap and invisible.
//  * redirect_trailing_slash(): a request whose path is not normal gets 308 Permanent Redirect
//    with `location: <normal path>[?query]` and the inner service is not called. One URL per
//    resource for caches, crawlers and logs, at the cost of a round trip. 308, not 301: 308 keeps
//    the method and the body (a browser turns a POST answered 301 into a GET).
// The query ("?..." after the path) is kept byte for byte. Only the path changes: nothing is
// percent-decoded ("%2F" is not a '/'), dot segments ("/a/../b") are not resolved, and
// authority-form ("host:443") and asterisk-form ("*") targets pass untouched. An absolute-form
// target ("http://h/a/") keeps its scheme and authority (the redirect's location is the path and
// query only). A path that is already normal costs one scan and no allocation.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "weft/http/uri.h"
#include "weft/middleware/detail/http_service.h"
#include "weft/tower/detail/awaitable.h"
#include "weft/tower/service.h"

namespace weft::middleware {

// The normal form of `path` (see the top comment), or nullopt when it already is normal.
std::optional<std::string> normalize_path(std::string_view path);

// `uri` with its path replaced by normalize_path's result; nullopt when there is nothing to do
// (already normal, or not an origin- or absolute-form target).
std::optional<http::Uri> normalized_uri(const http::Uri& uri);

// 308 with `location` set to `uri`'s path and query.
HttpResponse permanent_redirect_to(const http::Uri& uri);

enum class NormalizeMode { kRewrite, kRedirect };

template <class S>
class NormalizePath {
 public:
  NormalizePath(S inner, NormalizeMode mode) : inner_(std::move(inner)), mode_(mode) {}

  auto ready() const requires tower::detail::HasReady<S> { return inner_.ready(); }
  auto try_ready() const requires requires(const S& s) { s.try_ready(); }
  { return inner_.try_ready(); }

  // The inner call's own awaitable (wrapped, no frame), or the 308 at once.
  auto call(tower::permit_t<S> permit, HttpRequest req) const requires HttpService<S> {
    using Fut = tower::detail::call_awaitable_t<S, HttpRequest>;
    using R = detail::ReadyOr<Fut>;
    std::optional<http::Uri> normal = normalized_uri(req.uri());
    if (normal.has_value()) {
      if (mode_ == NormalizeMode::kRedirect) {
        return R(absl::StatusOr<HttpResponse>(permanent_redirect_to(*normal)));
      }
      req.uri() = *std::move(normal);
    }
    return R(
        std::in_place, [&] { return inner_.call(std::move(permit), std::move(req)); },
        detail::PassThrough{});
  }

  NormalizeMode mode() const { return mode_; }
  const S& inner() const { return inner_; }

 private:
  S inner_;
  NormalizeMode mode_;
};

class NormalizePathLayer {
 public:
  // Rewrites the URI in place.
  static NormalizePathLayer trim_trailing_slash() {
    return NormalizePathLayer(NormalizeMode::kRewrite);
  }
  // Answers 308 to the normal path instead.
  static NormalizePathLayer redirect_trailing_slash() {
    return NormalizePathLayer(NormalizeMode::kRedirect);
  }
  explicit NormalizePathLayer(NormalizeMode mode = NormalizeMode::kRewrite) : mode_(mode) {}

  template <class S>
  NormalizePath<S> layer(S inner) const {
    return NormalizePath<S>(std::move(inner), mode_);
  }

 private:
  NormalizeMode mode_;
};

}  // namespace weft::middleware
