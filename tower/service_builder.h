// ServiceBuilder: composes layers in the order they are written; the FIRST is the OUTERMOST
// (it sees each request first and each response last), as tower's ServiceBuilder.
//
//   auto svc = weft::tower::ServiceBuilder()
//                  .map_err([](absl::Status s) { return s; })   // outermost
//                  .layer(MyLimitLayer(64))
//                  .map_request([](std::string s) { return s.size(); })
//                  .service(inner);                              // innermost
//   // == map_err(f).layer(MyLimitLayer(64).layer(map_request(g).layer(inner)))
//
// The builder is a value holding the composed layer (Stack<...>); building a service copies
// nothing per request: the result is one plain object whose type names the whole stack.
#pragma once

#include <optional>
#include <utility>

#include "weft/tower/layer.h"
#include "weft/tower/service_fn.h"
#include "weft/tower/util/and_then.h"
#include "weft/tower/util/map_err.h"
#include "weft/tower/util/map_request.h"
#include "weft/tower/util/map_response.h"
#include "weft/tower/util/option_layer.h"
#include "weft/tower/util/then.h"

namespace weft::tower {

template <class L = Identity>
class ServiceBuilder {
 public:
  ServiceBuilder() = default;
  explicit ServiceBuilder(L l) : layer_(std::move(l)) {}

  // Adds `t` inside the layers added so far.
  template <class T>
  ServiceBuilder<Stack<T, L>> layer(T t) const& {
    return ServiceBuilder<Stack<T, L>>(Stack<T, L>(std::move(t), layer_));
  }
  template <class T>
  ServiceBuilder<Stack<T, L>> layer(T t) && {
    return ServiceBuilder<Stack<T, L>>(Stack<T, L>(std::move(t), std::move(layer_)));
  }

  template <class T>
  auto option_layer(std::optional<T> t) const& {
    return layer(OptionLayer<T>(std::move(t)));
  }
  template <class T>
  auto option_layer(std::optional<T> t) && {
    return std::move(*this).layer(OptionLayer<T>(std::move(t)));
  }

  template <class F>
  auto layer_fn(F f) const& {
    return layer(LayerFn<F>(std::move(f)));
  }
  template <class F>
  auto layer_fn(F f) && {
    return std::move(*this).layer(LayerFn<F>(std::move(f)));
  }

  template <class F>
  auto map_request(F f) const& {
    return layer(MapRequestLayer<F>(std::move(f)));
  }
  template <class F>
  auto map_request(F f) && {
    return std::move(*this).layer(MapRequestLayer<F>(std::move(f)));
  }

  template <class F>
  auto map_response(F f) const& {
    return layer(MapResponseLayer<F>(std::move(f)));
  }
  template <class F>
  auto map_response(F f) && {
    return std::move(*this).layer(MapResponseLayer<F>(std::move(f)));
  }

  template <class F>
  auto map_err(F f) const& {
    return layer(MapErrLayer<F>(std::move(f)));
  }
  template <class F>
  auto map_err(F f) && {
    return std::move(*this).layer(MapErrLayer<F>(std::move(f)));
  }

  template <class F>
  auto and_then(F f) const& {
    return layer(AndThenLayer<F>(std::move(f)));
  }
  template <class F>
  auto and_then(F f) && {
    return std::move(*this).layer(AndThenLayer<F>(std::move(f)));
  }

  template <class F>
  auto then(F f) const& {
    return layer(ThenLayer<F>(std::move(f)));
  }
  template <class F>
  auto then(F f) && {
    return std::move(*this).layer(ThenLayer<F>(std::move(f)));
  }

  // Wraps `s` in every layer.
  template <class S>
  auto service(S s) const {
    if constexpr (assert_layer<L, S>()) return layer_.layer(std::move(s));
  }
  template <class F>
  auto service_fn(F f) const {
    return service(ServiceFn<F>(std::move(f)));
  }

  // The composed layer itself.
  const L& into_inner() const& { return layer_; }
  L into_inner() && { return std::move(layer_); }

 private:
  [[no_unique_address]] L layer_;
};

}  // namespace weft::tower
