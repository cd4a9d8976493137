// map_err: transforms errors, from ready() and from call(), `absl::Status -> absl::Status`.
//
//   auto svc = weft::tower::ServiceBuilder()
//                  .map_err([](absl::Status s) { return absl::UnavailableError(s.message()); })
//                  .service(inner);
//
// The function sees only errors and must return an error (absl turns an OK status stored in a
// StatusOr into INTERNAL). Zero-cost: both awaitables are wrapped in place, no frame.
#pragma once

#include <concepts>
#include <functional>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weft/tower/detail/awaitable.h"
#include "weft/tower/layer.h"
#include "weft/tower/service.h"

namespace weft::tower {

namespace detail {
template <class F, class T>
struct MapErrFn {
  const F* f;
  absl::StatusOr<T> operator()(absl::StatusOr<T> r) const {
    if (r.ok()) return r;
    return absl::StatusOr<T>(absl::Status(std::invoke(*f, std::move(r).status())));
  }
};
}  // namespace detail

template <class S, class F>
requires std::is_invocable_r_v<absl::Status, const F&, absl::Status>
class MapErr {
  static_assert(std::is_invocable_r_v<absl::Status, const F&, absl::Status>,
                "weft::tower::map_err: the function must be callable as const with an "
                "absl::Status and return an absl::Status");

 public:
  MapErr(S inner, F f) : inner_(std::move(inner)), f_(std::move(f)) {}

  auto ready() const requires detail::ReadyGivesStatusOr<S> {
    using Fut = detail::ready_awaitable_t<S>;
    using G = detail::MapErrFn<F, permit_t<S>>;
    return detail::Mapped<Fut, G>(
        std::in_place, [&] { return inner_.ready(); }, G{&f_});
  }

  template <class Req>
  requires Service<S, Req>
  auto call(permit_t<S> permit, Req req) const {
    using Fut = detail::call_awaitable_t<S, Req>;
    using G = detail::MapErrFn<F, response_t<S, Req>>;
    return detail::Mapped<Fut, G>(
        std::in_place, [&] { return inner_.call(std::move(permit), std::move(req)); }, G{&f_});
  }

  const S& inner() const { return inner_; }

 private:
  S inner_;
  [[no_unique_address]] F f_;
};

template <class F>
using MapErrLayer = WrapLayer<MapErr, F>;

template <class F>
MapErrLayer<F> map_err(F f) {
  return MapErrLayer<F>(std::move(f));
}
template <class S, class F>
MapErr<S, F> map_err(S inner, F f) {
  return MapErrLayer<F>(std::move(f)).layer(std::move(inner));
}

}  // namespace weft::tower
