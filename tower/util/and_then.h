// and_then: after a successful response, runs `f(Response)`, which may be async and may fail:
// it returns Task<absl::StatusOr<R2>> (any awaitable of one) or absl::StatusOr<R2>. An error
// from the inner service skips f and passes through.
//
//   auto svc = weft::tower::ServiceBuilder()
//                  .and_then([](User u) -> Task<absl::StatusOr<Profile>> { co_return co_await
//                  load(u); }) .service(lookup_user);
//
// No coroutine frame when the inner call and `f` both answer at once; otherwise one per call
// (from the runtime's per-thread frame cache). `f` is called as const; it must not capture by
// reference anything that dies before the response.
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
#include "weft/tower/util/continuation.h"

WEFT_TOWER_CORO_BEGIN

namespace weft::tower {

template <class S, class F>
using AndThen = detail::Continue<S, F, /*kOnSuccess=*/true>;

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
