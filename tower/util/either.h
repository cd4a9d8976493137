// Either<A, B>: one of two services, chosen when it is built (what option_layer builds when a
// layer may or may not be applied). Both must give the same response type for a request.
//
//   weft::tower::Either<Timeout<S>, S> svc = cfg.timeout ? Either<...>::first(...) : ...;
//   co_await weft::tower::oneshot(svc, req);
//
// Its permit is a std::variant of the two permits. ready() and call() each cost one coroutine
// frame (the two branches' awaitables have different types).
#pragma once

#include <type_traits>
#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weft/runtime/task/task.h"
#include "weft/tower/service.h"

WEFT_TOWER_CORO_BEGIN

namespace weft::tower {

template <class A, class B>
requires detail::ReadyGivesStatusOr<A> && detail::ReadyGivesStatusOr<B>
class Either {
 public:
  using Permit = std::variant<permit_t<A>, permit_t<B>>;

  static Either first(A a) { return Either(std::in_place_index<0>, std::move(a)); }
  static Either second(B b) { return Either(std::in_place_index<1>, std::move(b)); }

  bool is_first() const { return v_.index() == 0; }

  Task<absl::StatusOr<Permit>> ready() const {
    if (v_.index() == 0) co_return co_await ready_of<0>();
    co_return co_await ready_of<1>();
  }

  template <class Req>
  requires Service<A, Req> && Service<B, Req> &&
      std::same_as<response_t<A, Req>, response_t<B, Req>>
          Task<absl::StatusOr<response_t<A, Req>>> call(Permit permit, Req req)
  const {
    if (permit.index() != v_.index()) {
      co_return absl::FailedPreconditionError("weft::tower::Either: permit of another service");
    }
    if (v_.index() == 0) {
      auto response = std::get<0>(v_).call(std::get<0>(std::move(permit)), std::move(req));
      co_return co_await std::move(response);
    }
    auto response = std::get<1>(v_).call(std::get<1>(std::move(permit)), std::move(req));
    co_return co_await std::move(response);
  }

  const std::variant<A, B>& get() const { return v_; }

 private:
  template <std::size_t I, class... Args>
  explicit Either(std::in_place_index_t<I> i, Args&&... args)
      : v_(i, std::forward<Args>(args)...) {}

  template <std::size_t I>
  Task<absl::StatusOr<Permit>> ready_of() const {
    auto p = co_await std::get<I>(v_).ready();
    if (!p.ok()) co_return std::move(p).status();
    co_return absl::StatusOr<Permit>(absl::in_place, std::in_place_index<I>, *std::move(p));
  }

  std::variant<A, B> v_;
};

}  // namespace weft::tower

WEFT_TOWER_CORO_END
