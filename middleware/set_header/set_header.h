// set_header: put a header on every request or response (tower-http's SetRequestHeader,
// SetResponseHeader and PropagateHeader).
//
//   namespace mw = weft::middleware;
//   auto svc = weft::tower::ServiceBuilder()
//       .layer(mw::SetResponseHeaderLayer(http::header::SERVER,
//       http::HeaderValue::from_static("weft")))
//       .layer(mw::SetResponseHeaderLayer(http::header::CACHE_CONTROL,
//                                         http::HeaderValue::from_static("no-store"),
//                                         mw::InsertHeader::kIfNotPresent))
//       .layer(mw::SetRequestHeaderLayer(http::header::X_FORWARDED_PROTO,
//                                        [](const mw::HttpRequest&) ->
//                                        std::optional<http::HeaderValue> {
//                                          return http::HeaderValue::from_static("https");
//                                        }))
//       .layer(mw::PropagateHeaderLayer(http::HeaderName::from_static("x-trace")))
//       .service(router);
//
// The value is either a fixed http::HeaderValue or a function of the message, called as const
// (perhaps from many tasks at once): `(const HttpRequest&)` for requests, `(const HttpResponse&)`
// for responses, returning an http::HeaderValue or a std::optional<http::HeaderValue> (nullopt:
// leave the message alone). Modes (InsertHeader):
//   kOverride     (default) every value of the name is replaced by the one value;
//   kAppend       the value is added after the existing ones;
//   kIfNotPresent the value is set only when the message has none (the function is not called
//                 otherwise).
// Requests are changed before the inner service sees them; responses after it answered (an
// error Status passes through: there is no response). PropagateHeaderLayer(name) copies every
// value of `name` on the request to the response, replacing what the inner service put there;
// nothing happens when the request has none.
//
// Cost: no coroutine frame. The request side returns the inner call's own awaitable; the
// response side wraps it in an adapter that edits the result (tower::detail::Mapped).
#pragma once

#include <concepts>
#include <optional>
#include <type_traits>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "weft/http/header_map.h"
#include "weft/http/header_name.h"
#include "weft/http/header_value.h"
#include "weft/middleware/detail/http_service.h"
#include "weft/tower/detail/awaitable.h"
#include "weft/tower/service.h"

namespace weft::middleware {

enum class InsertHeader { kOverride, kAppend, kIfNotPresent };

namespace detail {

// The value for `msg`: a fixed HeaderValue, or what a function of the message returns.
template <class M, class Msg>
concept HeaderValueMaker = std::same_as<M, http::HeaderValue> ||
    (std::invocable<const M&, const Msg&> &&
     (std::convertible_to<std::invoke_result_t<const M&, const Msg&>, http::HeaderValue> ||
      std::convertible_to<std::invoke_result_t<const M&, const Msg&>,
                          std::optional<http::HeaderValue>>));

template <class M, class Msg>
std::optional<http::HeaderValue> make_header_value(const M& make, const Msg& msg) {
  if constexpr (std::same_as<M, http::HeaderValue>) {
    return make;
  } else {
    return std::optional<http::HeaderValue>(std::invoke(make, msg));
  }
}

template <class M, class Msg>
void insert_header(http::HeaderMap& headers, const http::HeaderName& name, const M& make,
                   InsertHeader mode, const Msg& msg) {
  if (mode == InsertHeader::kIfNotPresent && headers.contains(name)) return;
  std::optional<http::HeaderValue> v = make_header_value(make, msg);
  if (!v.has_value()) return;
  if (mode == InsertHeader::kAppend) {
    headers.append(name, *std::move(v));
  } else {
    headers.insert(name, *std::move(v));
  }
}

}  // namespace detail

// ---- request headers ----

template <class S, class M>
class SetRequestHeader {
 public:
  SetRequestHeader(S inner, http::HeaderName name, M make, InsertHeader mode)
      : inner_(std::move(inner)), name_(std::move(name)), make_(std::move(make)), mode_(mode) {}

  auto ready() const requires tower::detail::HasReady<S> { return inner_.ready(); }
  auto try_ready() const requires requires(const S& s) { s.try_ready(); }
  { return inner_.try_ready(); }

  // The inner call itself, on the edited request.
  auto call(tower::permit_t<S> permit, HttpRequest req) const requires HttpService<S> {
    detail::insert_header(req.headers(), name_, make_, mode_, req);
    return inner_.call(std::move(permit), std::move(req));
  }

  const S& inner() const { return inner_; }

 private:
  S inner_;
  http::HeaderName name_;
  [[no_unique_address]] M make_;
  InsertHeader mode_;
};

template <class M>
requires detail::HeaderValueMaker<M, HttpRequest>
class SetRequestHeaderLayer {
 public:
  SetRequestHeaderLayer(http::HeaderName name, M make, InsertHeader mode = InsertHeader::kOverride)
      : name_(std::move(name)), make_(std::move(make)), mode_(mode) {}

  template <class S>
  SetRequestHeader<S, M> layer(S inner) const {
    return SetRequestHeader<S, M>(std::move(inner), name_, make_, mode_);
  }

 private:
  http::HeaderName name_;
  [[no_unique_address]] M make_;
  InsertHeader mode_;
};

// ---- response headers ----

template <class S, class M>
class SetResponseHeader {
 public:
  SetResponseHeader(S inner, http::HeaderName name, M make, InsertHeader mode)
      : inner_(std::move(inner)), name_(std::move(name)), make_(std::move(make)), mode_(mode) {}

  auto ready() const requires tower::detail::HasReady<S> { return inner_.ready(); }
  auto try_ready() const requires requires(const S& s) { s.try_ready(); }
  { return inner_.try_ready(); }

  // The inner call's awaitable; the header is set on its response as it completes.
  auto call(tower::permit_t<S> permit, HttpRequest req) const requires HttpService<S> {
    using Fut = tower::detail::call_awaitable_t<S, HttpRequest>;
    return tower::detail::Mapped<Fut, Edit>(
        std::in_place, [&] { return inner_.call(std::move(permit), std::move(req)); }, Edit{this});
  }

  const S& inner() const { return inner_; }

 private:
  struct Edit {
    const SetResponseHeader* self;
    absl::StatusOr<HttpResponse> operator()(absl::StatusOr<HttpResponse> r) const {
      if (r.ok()) detail::insert_header(r->headers(), self->name_, self->make_, self->mode_, *r);
      return r;
    }
  };

  S inner_;
  http::HeaderName name_;
  [[no_unique_address]] M make_;
  InsertHeader mode_;
};

template <class M>
requires detail::HeaderValueMaker<M, HttpResponse>
class SetResponseHeaderLayer {
 public:
  SetResponseHeaderLayer(http::HeaderName name, M make, InsertHeader mode = InsertHeader::kOverride)
      : name_(std::move(name)), make_(std::move(make)), mode_(mode) {}

  template <class S>
  SetResponseHeader<S, M> layer(S inner) const {
    return SetResponseHeader<S, M>(std::move(inner), name_, make_, mode_);
  }

 private:
  http::HeaderName name_;
  [[no_unique_address]] M make_;
  InsertHeader mode_;
};

// ---- propagate a request header to the response ----

template <class S>
class PropagateHeader {
 public:
  PropagateHeader(S inner, http::HeaderName name)
      : inner_(std::move(inner)), name_(std::move(name)) {}

  auto ready() const requires tower::detail::HasReady<S> { return inner_.ready(); }
  auto try_ready() const requires requires(const S& s) { s.try_ready(); }
  { return inner_.try_ready(); }

  // The inner call's awaitable; the request's values go onto its response.
  auto call(tower::permit_t<S> permit, HttpRequest req) const requires HttpService<S> {
    Copy copy{&name_, {}};
    for (const http::HeaderValue& v : req.headers().values(name_)) copy.values.push_back(v);
    using Fut = tower::detail::call_awaitable_t<S, HttpRequest>;
    return tower::detail::Mapped<Fut, Copy>(
        std::in_place, [&] { return inner_.call(std::move(permit), std::move(req)); },
        std::move(copy));
  }

  const S& inner() const { return inner_; }

 private:
  struct Copy {
    const http::HeaderName* name;
    // Inline room for one value: the usual case allocates nothing here.
    absl::InlinedVector<http::HeaderValue, 1> values;
    absl::StatusOr<HttpResponse> operator()(absl::StatusOr<HttpResponse> r) {
      if (!r.ok() || values.empty()) return r;
      r->headers().remove(*name);
      for (http::HeaderValue& v : values) r->headers().append(*name, std::move(v));
      return r;
    }
  };

  S inner_;
  http::HeaderName name_;
};

class PropagateHeaderLayer {
 public:
  explicit PropagateHeaderLayer(http::HeaderName name) : name_(std::move(name)) {}
  template <class S>
  PropagateHeader<S> layer(S inner) const {
    return PropagateHeader<S>(std::move(inner), name_);
  }

 private:
  http::HeaderName name_;
};

}  // namespace weft::middleware
