// map_request: transforms each request before the inner service sees it (sync, infallible).
//
//   auto svc = weft::tower::ServiceBuilder()
//                  .map_request([](std::string s) { return static_cast<int>(s.size()); })
//                  .service(int_service);            // now a Service<std::string>
//
// Zero-cost: readiness is the inner service's, and call() applies the function and returns the
// inner call's awaitable unchanged (no frame). The function is called as const, maybe from
// several tasks at once.
#pragma once

#include <concepts>
#include <functional>
#include <type_traits>
#include <utility>

#include "weft/tower/layer.h"
#include "weft/tower/service.h"

namespace weft::tower {

template <class S, class F>
class MapRequest {
 public:
  MapRequest(S inner, F f) : inner_(std::move(inner)), f_(std::move(f)) {}

  auto ready() const requires detail::HasReady<S> { return inner_.ready(); }

  template <class Req>
  requires std::invocable<const F&, Req> && Service<S, std::invoke_result_t<const F&, Req>>
  auto call(permit_t<S> permit, Req req) const {
    return inner_.call(std::move(permit), std::invoke(f_, std::move(req)));
  }

  const S& inner() const { return inner_; }

 private:
  S inner_;
  [[no_unique_address]] F f_;
};

template <class F>
using MapRequestLayer = WrapLayer<MapRequest, F>;

template <class F>
MapRequestLayer<F> map_request(F f) {
  return MapRequestLayer<F>(std::move(f));
}
template <class S, class F>
MapRequest<S, F> map_request(S inner, F f) {
  return MapRequest<S, F>(std::move(inner), std::move(f));
}

}  // namespace weft::tower
