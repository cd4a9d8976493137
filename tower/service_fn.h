// service_fn: a Service from a function `Req -> Task<absl::StatusOr<Resp>>` (or `Req ->
// absl::StatusOr<Resp>` for synchronous work). Always ready (its permit is NoPermit).
//
//   std::string greeting = "hello ";
//   auto svc = weft::tower::service_fn([greeting](std::string name) ->
//   Task<absl::StatusOr<std::string>> {
//     co_await weft::yield_now();
//     co_return greeting + name;           // the capture is still alive here
//   });
//   absl::StatusOr<std::string> r = co_await weft::tower::oneshot(svc, std::string("bob"));
//
// Lifetimes, the coroutine pitfall handled: the function object is stored in the service, and
// a capturing lambda coroutine's frame refers to it, so captures stay valid for as long as the
// service lives (which the Service contract requires anyway). A function that takes its request
// by reference (`const Req&`, `Req&&`) or a generic lambda is called from a small coroutine
// that owns the request, so the reference cannot dangle; a non-generic function taking the
// request by value is called directly (no extra frame). The function is called as const and
// possibly from many tasks at once: no `mutable` lambdas; shared state must be thread-safe.
#pragma once

#include <concepts>
#include <functional>
#include <type_traits>
#include <utility>

#include "absl/status/statusor.h"
#include "weft/runtime/task/task.h"
#include "weft/tower/detail/awaitable.h"
#include "weft/tower/service.h"

WEFT_TOWER_CORO_BEGIN

namespace weft::tower {

namespace detail {

// Does the (only, non-template) call operator take its argument by value?
template <class M>
struct ByValueArg : std::false_type {};
template <class C, class R, class A>
struct ByValueArg<R (C::*)(A) const> : std::bool_constant<!std::is_reference_v<A>> {};
template <class C, class R, class A>
struct ByValueArg<R (C::*)(A) const noexcept> : std::bool_constant<!std::is_reference_v<A>> {};
template <class R, class A>
struct ByValueArg<R (*)(A)> : std::bool_constant<!std::is_reference_v<A>> {};
template <class R, class A>
struct ByValueArg<R (*)(A) noexcept> : std::bool_constant<!std::is_reference_v<A>> {};

template <class F>
constexpr bool takes_by_value() {
  if constexpr (std::is_pointer_v<F>) {
    return ByValueArg<F>::value;
  } else if constexpr (requires { &F::operator(); }) {
    return ByValueArg<decltype(&F::operator())>::value;
  } else {
    return false;
  }
}

template <class X>
concept AsyncStatusOr = Awaitable<X> && IsStatusOr<await_result_t<X>>;

}  // namespace detail

template <class F>
class ServiceFn {
 public:
  explicit ServiceFn(F f) : f_(std::move(f)) {}

  AlwaysReady ready() const { return always_ready(); }

  template <class Req>
  requires std::invocable<const F&, Req> &&
      (detail::IsStatusOr<std::invoke_result_t<const F&, Req>> ||
       detail::AsyncStatusOr<std::invoke_result_t<const F&, Req>>)auto call(NoPermit,
                                                                            Req req) const {
    using Result = std::invoke_result_t<const F&, Req>;
    if constexpr (detail::IsStatusOr<Result>) {
      return detail::ReadyValue<std::remove_cvref_t<Result>>(
          std::in_place, [&] { return std::invoke(f_, std::move(req)); });
    } else if constexpr (detail::takes_by_value<F>()) {
      return std::invoke(f_, std::move(req));
    } else {
      return own_request<Req>(&f_, std::move(req));
    }
  }

  const F& get() const { return f_; }

 private:
  template <class Req>
  static Task<detail::await_result_t<std::invoke_result_t<const F&, Req>>> own_request(const F* f,
                                                                                       Req req) {
    auto response = std::invoke(*f, std::move(req));  // `req` lives in this frame
    co_return co_await std::move(response);
  }

  [[no_unique_address]] F f_;
};

template <class F>
ServiceFn<F> service_fn(F f) {
  return ServiceFn<F>(std::move(f));
}

}  // namespace weft::tower

WEFT_TOWER_CORO_END
