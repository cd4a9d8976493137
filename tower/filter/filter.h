// filter: rejects requests with a predicate before they reach the inner service.
//
//   auto svc = weft::tower::ServiceBuilder()
//                  .layer(weft::tower::FilterLayer([](const Request& r) {
//                    return r.user.empty() ? absl::UnauthenticatedError("no user")
//                                          : absl::OkStatus();
//                  }))
//                  .layer(weft::tower::AsyncFilterLayer(
//                      [db](const Request& r) -> weft::Task<absl::Status> {
//                        co_return co_await db->check_quota(r.user);   // async check
//                      }))
//                  .service(inner);
//
// FilterLayer(pred): `pred(const Req&) -> absl::Status`, called as const (possibly from many
// tasks at once). AsyncFilterLayer(pred): `pred(const Req&)` returns an awaitable (a
// weft::Task<absl::Status>); the request lives in call()'s frame while it is awaited, so a
// coroutine predicate may keep the reference. A non-OK status is the call's error, unchanged
// (the caller branches on the predicate's own code), and the inner service's call() is never
// made: its permit (taken by ready(), which is the inner service's) is dropped, releasing what
// it reserved. An OK status forwards the request.
#pragma once

#include <concepts>
#include <functional>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weft/runtime/task/task.h"
#include "weft/tower/detail/awaitable.h"
#include "weft/tower/service.h"

WEFT_TOWER_CORO_BEGIN

namespace weft::tower {

template <class S, class P>
class Filter {
 public:
  Filter(S inner, P predicate) : inner_(std::move(inner)), predicate_(std::move(predicate)) {}

  auto ready() const requires detail::ReadyGivesStatusOr<S> { return inner_.ready(); }

  template <class Req>
  requires Service<S, Req> && std::is_invocable_r_v<absl::Status, const P&, const Req&>
      Task<absl::StatusOr<response_t<S, Req>>> call(permit_t<S> permit, Req req)
  const {
    absl::Status st = std::invoke(predicate_, std::as_const(req));
    if (!st.ok()) {
      // Drop the inner permit before returning (release its reservation at once).
      { [[maybe_unused]] permit_t<S> dropped = std::move(permit); }
      co_return st;
    }
    co_return co_await inner_.call(std::move(permit), std::move(req));
  }

  const S& inner() const { return inner_; }

 private:
  S inner_;
  [[no_unique_address]] P predicate_;
};

template <class S, class P>
class AsyncFilter {
 public:
  AsyncFilter(S inner, P predicate) : inner_(std::move(inner)), predicate_(std::move(predicate)) {}

  auto ready() const requires detail::ReadyGivesStatusOr<S> { return inner_.ready(); }

  template <class Req>
  requires Service<S, Req> && std::is_invocable_v<const P&, const Req&> &&
      detail::Awaitable<std::invoke_result_t<const P&, const Req&>> &&
      std::convertible_to<detail::await_result_t<std::invoke_result_t<const P&, const Req&>>,
                          absl::Status>
          Task<absl::StatusOr<response_t<S, Req>>> call(permit_t<S> permit, Req req)
  const {
    absl::Status st = co_await std::invoke(predicate_, std::as_const(req));
    if (!st.ok()) {
      { [[maybe_unused]] permit_t<S> dropped = std::move(permit); }
      co_return st;
    }
    co_return co_await inner_.call(std::move(permit), std::move(req));
  }

  const S& inner() const { return inner_; }

 private:
  S inner_;
  [[no_unique_address]] P predicate_;
};

template <class P>
class FilterLayer {
 public:
  explicit FilterLayer(P predicate) : predicate_(std::move(predicate)) {}
  template <class S>
  Filter<S, P> layer(S inner) const {
    return Filter<S, P>(std::move(inner), predicate_);
  }

 private:
  [[no_unique_address]] P predicate_;
};

template <class P>
class AsyncFilterLayer {
 public:
  explicit AsyncFilterLayer(P predicate) : predicate_(std::move(predicate)) {}
  template <class S>
  AsyncFilter<S, P> layer(S inner) const {
    return AsyncFilter<S, P>(std::move(inner), predicate_);
  }

 private:
  [[no_unique_address]] P predicate_;
};

template <class S, class P>
Filter<S, P> filter(S inner, P predicate) {
  return Filter<S, P>(std::move(inner), std::move(predicate));
}
template <class S, class P>
AsyncFilter<S, P> async_filter(S inner, P predicate) {
  return AsyncFilter<S, P>(std::move(inner), std::move(predicate));
}

}  // namespace weft::tower

WEFT_TOWER_CORO_END
