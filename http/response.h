// Response<B>: an HTTP response, its head (status, version, headers, extensions) and a body B.
//
//   http::Response<std::string> res(http::StatusCode::NOT_FOUND, "no such page");
//   res.headers().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain"));
//   if (res.status().is_client_error()) { ... }
//   auto len = std::move(res).map_body([](std::string s) { return s.size(); });
//   len.body();     // 12: a Response<size_t> with the same head
//
// Defaults: 200 OK, HTTP/1.1, no headers, no extensions, a value-initialised body.
// ResponseParts is the head alone (into_parts / from_parts, as for Request).
//
// As in Request, the head is boxed and the boxes are recycled through a small per-thread pool
// that keeps their header vectors' capacity: a handler that sets a content-type then allocates
// nothing for the head in steady state, and a response (or a StatusOr of one) moves through a
// stack of services as a pointer and its body.
#pragma once

#include <functional>
#include <type_traits>
#include <utility>

#include "weft/http/detail/parts_box.h"
#include "weft/http/extensions.h"
#include "weft/http/header_map.h"
#include "weft/http/status_code.h"
#include "weft/http/version.h"

namespace weft::http {

struct ResponseParts {
  StatusCode status;
  Version version = Version::kHttp11;
  HeaderMap headers;
  Extensions extensions;
};

template <class B>
class Response {
 public:
  using Body = B;

  Response() : parts_(detail::acquire_parts<ResponseParts>()) {}
  explicit Response(B body)
      : parts_(detail::acquire_parts<ResponseParts>()), body_(std::move(body)) {}
  Response(StatusCode status, B body)
      : parts_(detail::acquire_parts<ResponseParts>()), body_(std::move(body)) {
    parts_->status = status;
  }
  Response(ResponseParts parts, B body)
      : parts_(detail::acquire_parts<ResponseParts>()), body_(std::move(body)) {
    *parts_ = std::move(parts);
  }
  Response(Response&&) noexcept = default;
  Response& operator=(Response&&) noexcept = default;

  static Response from_parts(ResponseParts parts, B body) {
    return Response(std::move(parts), std::move(body));
  }
  std::pair<ResponseParts, B> into_parts() && { return {std::move(*parts_), std::move(body_)}; }

  StatusCode& status() { return parts_->status; }
  StatusCode status() const { return parts_->status; }
  Version& version() { return parts_->version; }
  Version version() const { return parts_->version; }
  HeaderMap& headers() { return parts_->headers; }
  const HeaderMap& headers() const { return parts_->headers; }
  Extensions& extensions() { return parts_->extensions; }
  const Extensions& extensions() const { return parts_->extensions; }
  B& body() { return body_; }
  const B& body() const { return body_; }

  B into_body() && { return std::move(body_); }

  // The same head around f(body): Response<C> where C is what f returns (by value).
  template <class F>
  auto map_body(F f) && -> Response<std::remove_cvref_t<std::invoke_result_t<F&, B&&>>> {
    using C = std::remove_cvref_t<std::invoke_result_t<F&, B&&>>;
    return Response<C>(std::move(parts_), std::invoke(f, std::move(body_)));
  }

 private:
  template <class>
  friend class Response;
  Response(detail::PartsBox<ResponseParts> parts, B body)
      : parts_(std::move(parts)), body_(std::move(body)) {}

  // A moved-from Response may only be assigned to or destroyed.
  detail::PartsBox<ResponseParts> parts_;
  B body_{};
};

}  // namespace weft::http
