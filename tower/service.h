// Service: an asynchronous function from a request to a response or an error, with
// backpressure. The one abstraction everything in tower/, http/ and grpc/ is built from.
//
//   absl::StatusOr<weft::tower::permit_t<S>> p = co_await svc.ready();   // backpressure
//   if (!p.ok()) co_return p.status();
//   absl::StatusOr<Resp> r = co_await svc.call(std::move(*p), std::move(req));
//   // or, in one step:
//   absl::StatusOr<Resp> r = co_await weft::tower::oneshot(svc, std::move(req));
//
// The contract (tower/README.md explains why it differs from Rust's tower):
//   * Readiness is a PERMIT that call() consumes. `co_await s.ready()` gives
//     absl::StatusOr<Permit>; `s.call(Permit, Req)` takes it by value. A call without a permit
//     does not compile; permits are move-only, so one cannot be spent twice; capacity a permit
//     reserves (a concurrency-limit slot, a buffer slot) goes back when the permit is destroyed,
//     so a caller that gives up between ready() and call() leaks nothing. Always-ready services
//     use the empty `NoPermit`.
//   * ready() and call() are const and may be called by many tasks at once, on any thread: a
//     service is shared, not cloned per caller. Per-call state lives in the permit and in the
//     awaitable call() returns; shared mutable state must be thread-safe.
//   * call() returns a movable awaitable (usually a Task) giving absl::StatusOr<Response>. The
//     permit and the awaitable may refer to the service: keep the service alive, and in place
//     (not moved), until they are gone.
//   * Response and permit types are deduced from ready() and call() (response_t, permit_t), so
//     one service may accept several request types.
#pragma once

#include <concepts>
#include <type_traits>
#include <utility>

#include "absl/status/statusor.h"
#include "weft/runtime/task/task.h"
#include "weft/tower/detail/awaitable.h"

WEFT_TOWER_CORO_BEGIN

namespace weft::tower {

// The permit of a service that reserves nothing (always ready, or readiness checked in call).
struct NoPermit {
  NoPermit() = default;
  NoPermit(NoPermit&&) = default;
  NoPermit& operator=(NoPermit&&) = default;
  NoPermit(const NoPermit&) = delete;
  NoPermit& operator=(const NoPermit&) = delete;
};

// What an always-ready service returns from ready(): complete at once, no frame.
using AlwaysReady = detail::ReadyValue<absl::StatusOr<NoPermit>>;
inline AlwaysReady always_ready() { return AlwaysReady(absl::StatusOr<NoPermit>(NoPermit{})); }

namespace detail {

template <class S>
using ready_awaitable_t = decltype(std::declval<const S&>().ready());

template <class S>
concept HasReady = requires(const S& s) {
  s.ready();
}
&&Awaitable<ready_awaitable_t<S>>;

template <class S>
concept ReadyGivesStatusOr = HasReady<S> && IsStatusOr<await_result_t<ready_awaitable_t<S>>>;

template <class S>
struct PermitOf {
  using type = typename StatusOrTraits<
      std::remove_cvref_t<await_result_t<ready_awaitable_t<S>>>>::value_type;
};

}  // namespace detail

// The permit type of S: what `co_await s.ready()` gives inside its absl::StatusOr.
template <class S>
requires detail::ReadyGivesStatusOr<S>
using permit_t = typename detail::PermitOf<S>::type;

namespace detail {

template <class S>
concept PermitMoveOnly =
    std::move_constructible<permit_t<S>> && !std::copy_constructible<permit_t<S>>;

template <class S, class Req>
using call_awaitable_t =
    decltype(std::declval<const S&>().call(std::declval<permit_t<S>>(), std::declval<Req>()));

template <class S, class Req>
concept HasCall = ReadyGivesStatusOr<S> && requires(const S& s, permit_t<S>&& p, Req&& r) {
  s.call(std::move(p), std::forward<Req>(r));
} && Awaitable<call_awaitable_t<S, Req>>;

template <class S, class Req>
concept CallGivesStatusOr = HasCall<S, Req> && IsStatusOr<await_result_t<call_awaitable_t<S, Req>>>;

}  // namespace detail

// S serves requests of type Req (see the contract above). For a readable compiler error
// instead of "constraints not satisfied", use assert_service<S, Req>() (oneshot, BoxService and
// Steer do).
template <class S, class Req>
concept Service =
    std::move_constructible<S> && detail::ReadyGivesStatusOr<S> && detail::PermitMoveOnly<S> &&
    detail::CallGivesStatusOr<S, Req> && std::move_constructible<detail::call_awaitable_t<S, Req>>;

// The response type of S for Req: what `co_await s.call(p, req)` gives inside its StatusOr.
template <class S, class Req>
requires Service<S, Req>
using response_t = typename detail::StatusOrTraits<
    std::remove_cvref_t<detail::await_result_t<detail::call_awaitable_t<S, Req>>>>::value_type;

// S is a Service<Req> whose response is Resp.
template <class S, class Req, class Resp>
concept ServiceFor = Service<S, Req> && std::same_as<response_t<S, Req>, Resp>;

// Checks Service<S, Req> one requirement at a time; the first one that fails stops compilation
// with a sentence saying what is wrong. Returns true when S is a Service (use it in `if
// constexpr` so that nothing else is instantiated after a failure).
template <class S, class Req>
constexpr bool assert_service() {
  if constexpr (!std::move_constructible<S>) {
    static_assert(std::move_constructible<S>,
                  "weft::tower::Service<S, Req>: S must be move-constructible");
    return false;
  } else if constexpr (!detail::HasReady<S>) {
    static_assert(detail::HasReady<S>,
                  "weft::tower::Service<S, Req>: S needs `ready() const` returning an awaitable "
                  "(e.g. Task<absl::StatusOr<Permit>>, or weft::tower::always_ready())");
    return false;
  } else if constexpr (!detail::ReadyGivesStatusOr<S>) {
    static_assert(detail::ReadyGivesStatusOr<S>,
                  "weft::tower::Service<S, Req>: `co_await s.ready()` must give "
                  "absl::StatusOr<Permit> (the permit that call() consumes)");
    return false;
  } else if constexpr (!detail::PermitMoveOnly<S>) {
    static_assert(detail::PermitMoveOnly<S>,
                  "weft::tower::Service<S, Req>: the permit type must be movable and NOT "
                  "copyable (a permit is spent once); use weft::tower::NoPermit if S reserves "
                  "nothing");
    return false;
  } else if constexpr (!detail::HasCall<S, Req>) {
    static_assert(detail::HasCall<S, Req>,
                  "weft::tower::Service<S, Req>: S needs `call(Permit, Req) const` returning an "
                  "awaitable; check the request type (and that a function object it calls is "
                  "callable as const: no `mutable` lambdas)");
    return false;
  } else if constexpr (!detail::CallGivesStatusOr<S, Req>) {
    static_assert(detail::CallGivesStatusOr<S, Req>,
                  "weft::tower::Service<S, Req>: `co_await s.call(permit, req)` must give "
                  "absl::StatusOr<Response>");
    return false;
  } else if constexpr (!std::move_constructible<detail::call_awaitable_t<S, Req>>) {
    static_assert(std::move_constructible<detail::call_awaitable_t<S, Req>>,
                  "weft::tower::Service<S, Req>: call() must return a movable awaitable (e.g. "
                  "a Task)");
    return false;
  } else {
    return true;
  }
}

namespace detail {

template <class S, class Req>
Task<absl::StatusOr<response_t<S, Req>>> oneshot_borrowed(const S* svc, Req req) {
  absl::StatusOr<permit_t<S>> permit = co_await svc->ready();
  if (!permit.ok()) co_return std::move(permit).status();
  auto response = svc->call(*std::move(permit), std::move(req));
  co_return co_await std::move(response);
}

template <class S, class Req>
Task<absl::StatusOr<response_t<S, Req>>> oneshot_owned(S svc, Req req) {
  absl::StatusOr<permit_t<S>> permit = co_await svc.ready();
  if (!permit.ok()) co_return std::move(permit).status();
  auto response = svc.call(*std::move(permit), std::move(req));
  co_return co_await std::move(response);
}

// What oneshot returns when S is not a Service (after the static_assert): an awaitable, so that
// the assertion is the only error.
struct NotAService {};
using NotAServiceResult = ReadyValue<absl::StatusOr<NotAService>>;

}  // namespace detail

// ready() then call(): a Task giving absl::StatusOr<response_t<S, Req>>. An lvalue service is
// borrowed (it must outlive the Task); an rvalue service is moved into the Task. (Code on a hot
// path may call a BoxService's or a Router's own oneshot(): an Eager, without a frame when the
// answer is there at once.)
namespace detail {
// An always-ready service whose call() already returns the Task oneshot would: oneshot is then
// that call, without a frame of its own.
template <class S, class Req>
concept DirectOneshot = std::same_as<ready_awaitable_t<S>, AlwaysReady> &&
    std::same_as<call_awaitable_t<S, Req>, Task<absl::StatusOr<response_t<S, Req>>>>;
// A service that knows a cheaper ready-then-call (BoxService, http::Router): its oneshot() gives
// a Task, or an Eager that may hold the result already (see as_task).
template <class S, class Req>
concept HasOwnOneshot = requires(const S& s, Req r) {
  { as_task(s.oneshot(std::move(r))) } -> std::same_as<Task<absl::StatusOr<response_t<S, Req>>>>;
};
}  // namespace detail

template <class S, class Req>
auto oneshot(const S& svc, Req req) {
  if constexpr (!assert_service<S, Req>()) {
    return detail::NotAServiceResult(absl::InternalError("not a service"));
  } else if constexpr (detail::HasOwnOneshot<S, Req>) {
    return detail::as_task(svc.oneshot(std::move(req)));
  } else if constexpr (detail::DirectOneshot<S, Req>) {
    return svc.call(NoPermit{}, std::move(req));
  } else {
    return detail::oneshot_borrowed(&svc, std::move(req));
  }
}
template <class S, class Req>
requires(!std::is_lvalue_reference_v<S>) auto oneshot(S&& svc, Req req) {
  if constexpr (assert_service<S, Req>()) {
    return detail::oneshot_owned(std::move(svc), std::move(req));
  } else {
    return detail::NotAServiceResult(absl::InternalError("not a service"));
  }
}

}  // namespace weft::tower

WEFT_TOWER_CORO_END
