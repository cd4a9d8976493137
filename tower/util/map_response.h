// map_response: transforms each successful response (sync, infallible); errors pass through.
//
//   auto svc = weft::tower::ServiceBuilder()
//                  .map_response([](int n) { return std::to_string(n); })
//                  .service(int_service);            // responses are std::string now
//
// Zero-cost: the inner call's awaitable is wrapped in an adapter that applies the function to
// its result (no frame, no extra suspension). For async or fallible work use and_then / then.
#pragma once

#include <concepts>
#include <functional>
#include <type_traits>
#include <utility>

#include "absl/status/statusor.h"
#include "weft/tower/detail/awaitable.h"
#include "weft/tower/layer.h"
#include "weft/tower/service.h"

namespace weft::tower {

namespace detail {
// StatusOr<In> -> StatusOr<f(In)>.
template <class F, class In>
struct MapOk {
  const F* f;
  using Out = std::remove_cvref_t<std::invoke_result_t<const F&, In>>;
  absl::StatusOr<Out> operator()(absl::StatusOr<In> r) const {
    if (!r.ok()) return std::move(r).status();
    return std::invoke(*f, *std::move(r));
  }
};
}  // namespace detail

template <class S, class F>
class MapResponse {
 public:
  MapResponse(S inner, F f) : inner_(std::move(inner)), f_(std::move(f)) {}

  auto ready() const requires detail::HasReady<S> { return inner_.ready(); }

  template <class Req>
  requires Service<S, Req> && std::invocable<const F&, response_t<S, Req>>
  auto call(permit_t<S> permit, Req req) const {
    using Fut = detail::call_awaitable_t<S, Req>;
    using G = detail::MapOk<F, response_t<S, Req>>;
    return detail::Mapped<Fut, G>(
        std::in_place, [&] { return inner_.call(std::move(permit), std::move(req)); }, G{&f_});
  }

  const S& inner() const { return inner_; }

 private:
  S inner_;
  [[no_unique_address]] F f_;
};

template <class F>
using MapResponseLayer = WrapLayer<MapResponse, F>;

template <class F>
MapResponseLayer<F> map_response(F f) {
  return MapResponseLayer<F>(std::move(f));
}
template <class S, class F>
MapResponse<S, F> map_response(S inner, F f) {
  return MapResponse<S, F>(std::move(inner), std::move(f));
}

}  // namespace weft::tower
