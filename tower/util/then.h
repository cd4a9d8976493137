// then: after every call, success or error, runs `f(absl::StatusOr<Response>)`, which returns
// Task<absl::StatusOr<R2>> (any awaitable of one) or absl::StatusOr<R2>: recover from errors,
// turn responses into errors, log, ... Errors from ready() are not seen by f (they happen
// before there is a call).
//
//   auto svc = weft::tower::ServiceBuilder()
//                  .then([](absl::StatusOr<int> r) -> absl::StatusOr<int> { return r.value_or(0);
//                  }) .service(inner);
//
// No coroutine frame when the inner call and `f` both answer at once; otherwise one per call
// (from the runtime's per-thread frame cache).
#pragma once

#include <concepts>
#include <functional>
#include <type_traits>
#include <utility>

#include "absl/status/statusor.h"
#include "weft/runtime/task/task.h"
#include "weft/tower/layer.h"
#include "weft/tower/service.h"
#include "weft/tower/util/continuation.h"

WEFT_TOWER_CORO_BEGIN

namespace weft::tower {

template <class S, class F>
using Then = detail::Continue<S, F, /*kOnSuccess=*/false>;

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
