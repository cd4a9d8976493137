// The shared machinery of and_then (util/and_then.h) and then (util/then.h): a service that
// runs a continuation `f` on the inner call's outcome. Internal to weft::tower: use those two.
//
// `f` returns absl::StatusOr<R2> (work done at once) or an awaitable giving one (a Task). When
// the inner call is complete at once (a peekable awaitable, see tower/detail/awaitable.h) and
// `f` answers at once, no coroutine frame is made; otherwise one frame per call waits for the
// inner response and then for f's awaitable. Over an inner call that is a Task, call() is a
// Task too (which oneshot then awaits without a frame of its own).
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

namespace weft::tower::detail {

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

// kOnSuccess: f sees the response and errors skip it (and_then); otherwise f sees the
// absl::StatusOr (then).
template <class S, class F, bool kOnSuccess>
class Continue {
  template <class Req>
  using In = absl::StatusOr<response_t<S, Req>>;
  template <class Req>
  using Arg = std::conditional_t<kOnSuccess, response_t<S, Req>, In<Req>>;
  template <class Req>
  using Out = outcome_t<std::invoke_result_t<const F&, Arg<Req>>>;

 public:
  Continue(S inner, F f) : inner_(std::move(inner)), f_(std::move(f)) {}

  auto ready() const requires HasReady<S> { return inner_.ready(); }

  template <class Req>
  requires Service<S, Req> && std::invocable<const F&, Arg<Req>> &&
      StatusOrNowOrLater<std::invoke_result_t<const F&, Arg<Req>>>
  auto call(permit_t<S> permit, Req req) const {
    using Fut = call_awaitable_t<S, Req>;
    Fut fut = inner_.call(std::move(permit), std::move(req));
    if constexpr (!Peekable<Fut>) {
      return run<Req>(std::move(fut));  // a Task, as oneshot would make (no frame added there)
    } else {
      if (fut.await_ready()) {
        In<Req> r = fut.await_resume();
        if constexpr (kOnSuccess) {
          if (!r.ok()) return eager_with<Out<Req>>([&] { return Out<Req>(std::move(r).status()); });
        }
        auto next = apply(std::move(r));
        if constexpr (IsStatusOr<decltype(next)>) {
          return eager_with<Out<Req>>([&] { return std::move(next); });
        } else {
          return Eager<Out<Req>>(finish<Out<Req>>(std::move(next)));
        }
      }
      return Eager<Out<Req>>(run<Req>(std::move(fut)));
    }
  }

  const S& inner() const { return inner_; }

 private:
  template <class R>
  decltype(auto) apply(R r) const {
    if constexpr (kOnSuccess) {
      return std::invoke(f_, *std::move(r));
    } else {
      return std::invoke(f_, std::move(r));
    }
  }

  template <class R, class Next>
  static Task<R> finish(Next next) {
    co_return co_await std::move(next);
  }

  template <class Req, class Fut>
  Task<Out<Req>> run(Fut fut) const {
    In<Req> r = co_await std::move(fut);
    if constexpr (kOnSuccess) {
      if (!r.ok()) co_return std::move(r).status();
    }
    auto next = apply(std::move(r));
    if constexpr (IsStatusOr<decltype(next)>) {
      co_return std::move(next);
    } else {
      co_return co_await std::move(next);
    }
  }

  S inner_;
  [[no_unique_address]] F f_;
};

}  // namespace weft::tower::detail

WEFT_TOWER_CORO_END
