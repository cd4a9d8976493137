// request_id: every request carries an id in `x-request-id` (kept when the client sent a valid
// one, made up otherwise), also in the request's extensions as RequestId, and the response
// carries it back (tower-http's SetRequestId + PropagateRequestId in one layer).
//
//   auto svc = weft::tower::ServiceBuilder()
//                  .layer(weft::middleware::SetRequestIdLayer())   // outside trace, so it logs it
//                  .layer(trace_layer)
//                  .service(router);
//   // in a handler:
//   const weft::middleware::RequestId* id = req.extensions().get<weft::middleware::RequestId>();
//   id->as_str();   // "5f0c6e8a91d2b7430000000000000007"; the response says the same
//
// The request: its first `x-request-id` value is kept when it is a valid id (see
// is_valid_request_id: 1..128 bytes of [A-Za-z0-9] and "-_.:/+=@~", so it can be logged as is
// without quoting or escaping); otherwise (absent, invalid, or accept_incoming(false)) a new id is
// made. Either way the request then has exactly one `x-request-id`, that id, and a RequestId
// extension holding it. The response gets `x-request-id: <id>` unless the inner service set one
// itself (then that is left alone, as tower-http does). An error Status from the inner service
// passes through unchanged (there is no response to put the id on).
//
// Ids (the default, SequentialRequestId): a per-process random 64-bit prefix and a 64-bit
// atomic counter, as 32 lowercase hex digits (the shape of a W3C trace id). Unique within a
// process for 2^64 requests; across processes the random prefixes make a clash negligible
// (birthday bound: ~N^2/2^65 for N processes). One relaxed fetch_add and a fixed-size hex
// format per request: no system call, no lock. A forked child draws a new prefix
// (pthread_atfork), so parent and child never hand out the same ids. The counter is visible in
// the ids: where request counts must not be guessable, use RandomRequestId (128 random bits per
// id from a per-thread generator; unique, not a secret) or any `std::string() const` function.
//
// Order: put it OUTSIDE the layers that log or forward the id (trace, a proxy): the first layer
// written in a ServiceBuilder sees the request first.
#pragma once

#include <concepts>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "absl/status/statusor.h"
#include "weft/http/header_name.h"
#include "weft/http/header_value.h"
#include "weft/middleware/detail/http_service.h"
#include "weft/tower/detail/awaitable.h"
#include "weft/tower/service.h"

namespace weft::middleware {

// The id of the request being served, in its extensions: what handlers and trace log.
struct RequestId {
  http::HeaderValue value;
  std::string_view as_str() const { return value.as_str(); }
};

// Longest id accepted from a client (a UUID is 36, a W3C trace id 32).
inline constexpr std::size_t kMaxRequestIdLength = 128;

// 1..kMaxRequestIdLength bytes, each [A-Za-z0-9] or one of "-_.:/+=@~".
bool is_valid_request_id(std::string_view id);

// The default ids: per-process random prefix + counter, 32 hex digits (see the top comment).
struct SequentialRequestId {
  std::string operator()() const;
};

// 128 random bits per id (32 hex digits) from a per-thread generator seeded from
// std::random_device: unpredictable enough that ids do not reveal traffic; not for secrets.
struct RandomRequestId {
  std::string operator()() const;
};

template <class S, class M>
class SetRequestId {
 public:
  SetRequestId(S inner, M make, http::HeaderName header, bool accept_incoming)
      : inner_(std::move(inner)),
        make_(std::move(make)),
        header_(std::move(header)),
        accept_incoming_(accept_incoming) {}

  auto ready() const requires tower::detail::HasReady<S> { return inner_.ready(); }
  auto try_ready() const requires requires(const S& s) { s.try_ready(); }
  { return inner_.try_ready(); }

  // The inner call's awaitable, its response given the id on the way out (no frame).
  auto call(tower::permit_t<S> permit, HttpRequest req) const requires HttpService<S> {
    http::HeaderValue id = choose(req);
    req.headers().insert(header_, id);
    req.extensions().insert(RequestId{id});
    using Fut = tower::detail::call_awaitable_t<S, HttpRequest>;
    return tower::detail::Mapped<Fut, Propagate>(
        std::in_place, [&] { return inner_.call(std::move(permit), std::move(req)); },
        Propagate{&header_, std::move(id)});
  }

  const S& inner() const { return inner_; }

 private:
  struct Propagate {
    const http::HeaderName* header;
    http::HeaderValue id;
    absl::StatusOr<HttpResponse> operator()(absl::StatusOr<HttpResponse> r) {
      if (r.ok() && !r->headers().contains(*header)) r->headers().insert(*header, std::move(id));
      return r;
    }
  };

  http::HeaderValue choose(const HttpRequest& req) const {
    if (accept_incoming_) {
      const http::HeaderValue* v = req.headers().get(header_);
      if (v != nullptr && is_valid_request_id(v->as_str())) return *v;
    }
    absl::StatusOr<http::HeaderValue> made = http::HeaderValue::parse(make_());
    if (made.ok() && !made->empty()) return *std::move(made);
    // A generator that made an unusable value: never send the request on without an id.
    return http::HeaderValue::parse(SequentialRequestId()()).value();
  }

  S inner_;
  [[no_unique_address]] M make_;
  http::HeaderName header_;
  bool accept_incoming_;
};

// `M`: how ids are made, a `std::string() const` function object (thread-safe: it is called
// from many tasks at once). Builder methods return a modified copy.
template <class M = SequentialRequestId>
class SetRequestIdLayer {
 public:
  SetRequestIdLayer() requires std::default_initializable<M>
  = default;
  explicit SetRequestIdLayer(M make) : make_(std::move(make)) {}

  // The header that carries the id (default x-request-id).
  SetRequestIdLayer header(http::HeaderName name) const {
    SetRequestIdLayer l = *this;
    l.header_ = std::move(name);
    return l;
  }
  // false: ignore ids sent by clients and always make a new one (an edge that trusts nobody).
  SetRequestIdLayer accept_incoming(bool accept) const {
    SetRequestIdLayer l = *this;
    l.accept_incoming_ = accept;
    return l;
  }

  template <class S>
  SetRequestId<S, M> layer(S inner) const {
    return SetRequestId<S, M>(std::move(inner), make_, header_, accept_incoming_);
  }

 private:
  [[no_unique_address]] M make_{};
  http::HeaderName header_ = http::header::X_REQUEST_ID;
  bool accept_incoming_ = true;
};

template <class M>
SetRequestIdLayer(M) -> SetRequestIdLayer<M>;

}  // namespace weft::middleware
