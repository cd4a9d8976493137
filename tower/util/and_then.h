// and_then: after a successful response, runs `f(Response)`, which may be async and may fail:
// it returns Task<absl::StatusOr<R2>> (any awaitable of one) or absl::StatusOr<R2>. An error
// from the inner service skips f and passes through.
//
//   auto svc = weft::tower::ServiceBuilder()
//                  .and_then([](User u) -> Task<absl::StatusOr<Profile>> { co_return co_await
//                  load(u); }) .service(lookup_user);
//
// Costs one coroutine frame per call (from the runtime's per-thread frame cache). `f` is called
// as const; it must not capture by reference anything that dies before the response.
#pragma once

#include <concepts>
#include <functional>
#include <type_traits>
#include <utility>

#include "absl/status/statusor.h"
#include "weft/runtime/task/task.h"
#include "weft/tower/detail/awaitable.h"
#include "weft/tower/layer.h"
#include "weft/tower/service.h"

WEFT_TOWER_CORO_BEGIN

namespace weft::tower {

namespace detail {

// What a continuation returned: absl::StatusOr<T> now, or an awaitable giving one later.
template <class X>
concept StatusOrNowOrLater = IsStatusOr<X> ||(Awaitable<X>&& IsStatusOr<await_result_t<X>>);

template <class X>
struct OutcomeOf {
  using type = std::remove_cvref_t<X>;
};
template <class X>
requires(!IsStatusOr<X>) struct OutcomeOf<X> {
  using type = std::remove_cvref_t<await_result_t<X>>;
};
template <class X>
using outcome_t = typename OutcomeOf<X>::type;

template <class F, class Fut, class In>
Task<outcome_t<std::invoke_result_t<const F&, In>>> and_then_task(const F* f, Fut fut) {
  absl::StatusOr<In> r = co_await std::move(fut);
  if (!r.ok()) co_return std::move(r).status();
  auto next = std::invoke(*f, *std::move(r));
  if constexpr (IsStatusOr<decltype(next)>) {
    co_return std::move(next);
  } else {
    co_return co_await std::move(next);
  }
}

}  // namespace detail

template <class S, class F>
class AndThen {
 public:
  AndThen(S inner, F f) : inner_(std::move(inner)), f_(std::move(f)) {}

  auto ready() const requires detail::HasReady<S> { return inner_.ready(); }

  template <class Req>
  requires Service<S, Req> && std::invocable<const F&, response_t<S, Req>> &&
      detail::StatusOrNowOrLater<std::invoke_result_t<const F&, response_t<S, Req>>>
  auto call(permit_t<S> permit, Req req) const {
    return detail::and_then_task<F, detail::call_awaitable_t<S, Req>, response_t<S, Req>>(
        &f_, inner_.call(std::move(permit), std::move(req)));
  }

  const S& inner() const { return inner_; }

 private:
  S inner_;
  [[no_unique_address]] F f_;
};

template <class F>
using AndThenLayer = WrapLayer<AndThen, F>;

template <class F>
AndThenLayer<F> and_then(F f) {
  return AndThenLayer<F>(std::move(f));
}
template <class S, class F>
AndThen<S, F> and_then(S inner, F f) {
  return AndThen<S, F>(std::move(inner), std::move(f));
}

}  // namespace weft::tower

WEFT_TOWER_CORO_END
