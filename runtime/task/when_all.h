// when_all(a, b, ...): runs tasks concurrently and waits for all of them (Tokio's join!).
//
//   auto [user, orders] = co_await weft::when_all(load_user(id), load_orders(id));
//
// Each task runs as a child task of the current runtime (on another worker if one is free); the
// results come back in argument order, void results as std::monostate. If a task throws, the
// others still run to completion and then the first exception (in argument order) is rethrown.
// Cancel-safe: cancelling the awaiting task cancels the children before its frame goes away,
// so they may borrow from it.
#pragma once

#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

#include "weft/runtime/runtime.h"
#include "weft/runtime/task/race.h"

namespace weft {

template <class T>
using ValueOrMonostate = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

namespace detail {
template <class T>
ValueOrMonostate<T> take_value(JoinHandle<T>& h) {
  if constexpr (std::is_void_v<T>) {
    h.take_or_throw();
    return std::monostate{};
  } else {
    return h.take_or_throw();
  }
}
}  // namespace detail

template <class... Ts>
Task<std::tuple<ValueOrMonostate<Ts>...>> when_all(Task<Ts>... tasks) {
  std::tuple<JoinHandle<Ts>...> handles{weft::spawn(std::move(tasks))...};
  detail::AbortOnDrop<sizeof...(Ts)> guard(std::apply(
      [](auto&... h) { return std::array<detail::TaskHeader*, sizeof...(Ts)>{h.raw()...}; },
      handles));
  // Await every child in turn; the order does not matter, each wait ends once that child is
  // done. (A lambda coroutine that captures nothing; the handles outlive it.)
  auto wait_all = [](JoinHandle<Ts>&... h) -> Task<void> {
    (co_await detail::CompletionAwaiter(h.raw()), ...);
  };
  co_await std::apply(wait_all, handles);
  guard.release();
  co_return std::apply(
      [](auto&... h) { return std::tuple<ValueOrMonostate<Ts>...>(detail::take_value(h)...); },
      handles);
}

}  // namespace weft
