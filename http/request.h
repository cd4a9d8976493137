// Request<B>: an HTTP request, its head (method, URI, version, headers, extensions) and a body B.
//
//   http::Request<std::string> req("hello");
//   req.method() = http::Method::POST;
//   req.uri() = *http::Uri::parse("/echo");
//   req.headers().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain"));
//   auto sized = std::move(req).map_body([](std::string s) { return s.size(); });
//   sized.body();   // 5: a Request<size_t> with the same head
//
// Defaults: GET "/" HTTP/1.1, no headers, no extensions, a value-initialised body.
// RequestParts is the head alone: into_parts / from_parts split a request and put it back
// together around another body (what a server does between parsing the head and the body).
//
// The head is boxed (see parts_ below), and the boxes are recycled through a small per-thread
// pool that keeps their header vectors' capacity: a server that swaps parsed headers into a
// fresh request (http/proto/h1/server_conn.cc) then allocates nothing for the head in steady
// state.
#pragma once

#include <functional>
#include <type_traits>
#include <utility>

#include "weft/http/detail/parts_box.h"
#include "weft/http/extensions.h"
#include "weft/http/header_map.h"
#include "weft/http/method.h"
#include "weft/http/uri.h"
#include "weft/http/version.h"

namespace weft::http {

struct RequestParts {
  Method method;
  Uri uri;
  Version version = Version::kHttp11;
  HeaderMap headers;
  Extensions extensions;
};

template <class B>
class Request {
 public:
  using Body = B;

  Request() : parts_(detail::acquire_parts<RequestParts>()) {}
  explicit Request(B body)
      : parts_(detail::acquire_parts<RequestParts>()), body_(std::move(body)) {}
  Request(RequestParts parts, B body)
      : parts_(detail::acquire_parts<RequestParts>()), body_(std::move(body)) {
    *parts_ = std::move(parts);
  }
  Request(Request&&) noexcept = default;
  Request& operator=(Request&&) noexcept = default;

  static Request from_parts(RequestParts parts, B body) {
    return Request(std::move(parts), std::move(body));
  }
  std::pair<RequestParts, B> into_parts() && { return {std::move(*parts_), std::move(body_)}; }

  Method& method() { return parts_->method; }
  const Method& method() const { return parts_->method; }
  Uri& uri() { return parts_->uri; }
  const Uri& uri() const { return parts_->uri; }
  Version& version() { return parts_->version; }
  Version version() const { return parts_->version; }
  HeaderMap& headers() { return parts_->headers; }
  const HeaderMap& headers() const { return parts_->headers; }
  Extensions& extensions() { return parts_->extensions; }
  const Extensions& extensions() const { return parts_->extensions; }
  B& body() { return body_; }
  const B& body() const { return body_; }

  B into_body() && { return std::move(body_); }

  // The same head around f(body): Request<C> where C is what f returns (by value).
  template <class F>
  auto map_body(F f) && -> Request<std::remove_cvref_t<std::invoke_result_t<F&, B&&>>> {
    using C = std::remove_cvref_t<std::invoke_result_t<F&, B&&>>;
    return Request<C>(std::move(parts_), std::invoke(f, std::move(body_)));
  }

 private:
  template <class>
  friend class Request;
  Request(detail::PartsBox<RequestParts> parts, B body)
      : parts_(std::move(parts)), body_(std::move(body)) {}

  // The head is boxed: a request moves through every layer of a service stack (and into each
  // coroutine frame on the way), and moving one pointer is much cheaper than moving the URI,
  // method and header vector (measured: ~1,000 instructions per request through the router).
  // A moved-from Request may only be assigned to or destroyed.
  detail::PartsBox<RequestParts> parts_;
  B body_{};
};

}  // namespace weft::http
