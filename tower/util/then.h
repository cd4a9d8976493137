// then: after every call, success or error, runs `f(absl::StatusOr<Response>)`, which returns
// Task<absl::StatusOr<R2>> (any awaitable of one) or absl::StatusOr<R2>: recover from errors,
// turn responses into errors, log, ... Errors from ready() are not seen by f (they happen
// before there is a call).
//
//   auto svc = weft::tower::ServiceBuilder()
//                  .then([](absl::StatusOr<int> r) -> absl::StatusOr<int> { return r.value_or(0);
//                  }) .service(inner);
//
// Costs one coroutine frame per call (from the runtime's per-thread frame cache).
#pragma once

#include <concepts>
#include <functional>
#include <type_traits>
#include <utility>

#include "absl/status/statusor.h"
#include "weft/runtime/task/task.h"
#include "weft/tower/layer.h"
#include "weft/tower/service.h"
#include "weft/tower/util/and_then.h"

WEFT_TOWER_CORO_BEGIN

namespace weft::tower {

namespace detail {
template <class F, class Fut, class In>
Task<outcome_t<std::invoke_result_t<const F&, absl::StatusOr<In>>>> then_task(const F* f, Fut fut) {
  absl::StatusOr<In> r = co_await std::move(fut);
  auto next = std::invoke(*f, std::move(r));
  if constexpr (IsStatusOr<decltype(next)>) {
    co_return std::move(next);
  } else {
    co_return co_await std::move(next);
  }
}
}  // namespace detail

template <class S, class F>
class Then {
 public:
  Then(S inner, F f) : inner_(std::move(inner)), f_(std::move(f)) {}

  auto ready() const requires detail::HasReady<S> { return inner_.ready(); }

  template <class Req>
  requires Service<S, Req> && std::invocable<const F&, absl::StatusOr<response_t<S, Req>>> &&
      detail::StatusOrNowOrLater<std::invoke_result_t<const F&, absl::StatusOr<response_t<S, Req>>>>
  auto call(permit_t<S> permit, Req req) const {
    return detail::then_task<F, detail::call_awaitable_t<S, Req>, response_t<S, Req>>(
        &f_, inner_.call(std::move(permit), std::move(req)));
  }

  const S& inner() const { return inner_; }

 private:
  S inner_;
  [[no_unique_address]] F f_;
};

template <class F>
using ThenLayer = WrapLayer<Then, F>;

template <class F>
ThenLayer<F> then(F f) {
  return ThenLayer<F>(std::move(f));
}
template <class S, class F>
Then<S, F> then(S inner, F f) {
  return Then<S, F>(std::move(inner), std::move(f));
}

}  // namespace weft::tower

WEFT_TOWER_CORO_END
