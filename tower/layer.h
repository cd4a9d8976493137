// Layer: wraps a service in another (middleware). `layer.layer(inner)` returns the new service.
//
//   auto svc = weft::tower::map_request([](int x) { return x + 1; }).layer(inner);
//   auto both = weft::tower::Stack(inner_layer, outer_layer);   // outer(inner(s))
//   auto l = weft::tower::layer_fn([](auto s) { return MyService(std::move(s)); });
//
// A layer is a value (copied into builders, applied once per service it builds); layer() is
// const. Layers are composed with ServiceBuilder (service_builder.h), first written = outermost.
#pragma once

#include <concepts>
#include <functional>
#include <type_traits>
#include <utility>

namespace weft::tower {

// L wraps services of type S.
template <class L, class S>
concept Layer = requires(const L& l, S s) {
  l.layer(std::move(s));
};

template <class L, class S>
requires Layer<L, S>
using layered_t = decltype(std::declval<const L&>().layer(std::declval<S>()));

// Like Layer<L, S>, but a failure stops compilation with a sentence (see assert_service).
template <class L, class S>
constexpr bool assert_layer() {
  if constexpr (!Layer<L, S>) {
    static_assert(Layer<L, S>,
                  "weft::tower::Layer<L, S>: L needs `layer(S) const` returning the wrapped "
                  "service; check that this layer accepts the service built by the layers "
                  "inside it");
    return false;
  } else {
    return true;
  }
}

// The layer that changes nothing.
struct Identity {
  template <class S>
  S layer(S s) const {
    return s;
  }
};

// Two layers as one: `Inner` is applied first, so `Outer` sees the requests first.
template <class Inner, class Outer>
class Stack {
 public:
  Stack(Inner inner, Outer outer) : inner_(std::move(inner)), outer_(std::move(outer)) {}

  template <class S>
  requires Layer<Inner, S> && Layer<Outer, layered_t<Inner, S>>
  auto layer(S s) const { return outer_.layer(inner_.layer(std::move(s))); }

  const Inner& inner() const { return inner_; }
  const Outer& outer() const { return outer_; }

 private:
  [[no_unique_address]] Inner inner_;
  [[no_unique_address]] Outer outer_;
};

// A layer from a function `S -> Service`.
template <class F>
class LayerFn {
 public:
  explicit LayerFn(F f) : f_(std::move(f)) {}
  template <class S>
  requires std::invocable<const F&, S>
  auto layer(S s) const { return std::invoke(f_, std::move(s)); }

 private:
  [[no_unique_address]] F f_;
};

template <class F>
LayerFn<F> layer_fn(F f) {
  return LayerFn<F>(std::move(f));
}

// The layer of a service that wraps its inner service together with a function, Svc<S, F>:
// the shape of map_request, map_response, map_err, and_then and then.
template <template <class, class> class Svc, class F>
class WrapLayer {
 public:
  explicit WrapLayer(F f) : f_(std::move(f)) {}
  template <class S>
  Svc<S, F> layer(S inner) const {
    return Svc<S, F>(std::move(inner), f_);
  }

 private:
  [[no_unique_address]] F f_;
};

}  // namespace weft::tower
