// select(a, b, ...): runs tasks concurrently; the first to finish wins (Tokio's select!).
//
//   auto r = co_await weft::select(read_request(conn), weft::time::sleep_task(5s));
//   if (r.index() == 1) { /* timed out */ }
//
// The result is a std::variant whose index is the winner (void results as std::monostate).
// The losers are cancelled, and their destructors have run before select returns. If the
// winner threw, its exception is rethrown (after the losers are gone). Ties go to the lowest
// index. Cancel-safe: cancelling the awaiting task cancels every child before its frame goes away,
// so they may borrow from it.
#pragma once

#include <array>
#include <cstddef>
#include <tuple>
#include <utility>
#include <variant>

#include "weft/runtime/runtime.h"
#include "weft/runtime/task/race.h"
#include "weft/runtime/task/when_all.h"

namespace weft {

namespace detail {
template <class Result, std::size_t I, class Handles>
Result take_winner(Handles& handles) {
  auto& h = std::get<I>(handles);
  return Result(std::in_place_index<I>, take_value(h));
}

template <class Result, class Handles, std::size_t... Is>
Result take_index(Handles& handles, std::size_t winner, std::index_sequence<Is...>) {
  using Fn = Result (*)(Handles&);
  static constexpr Fn table[] = {&take_winner<Result, Is, Handles>...};
  return table[winner](handles);
}
}  // namespace detail

template <class... Ts>
Task<std::variant<ValueOrMonostate<Ts>...>> select(Task<Ts>... tasks) {
  using Result = std::variant<ValueOrMonostate<Ts>...>;
  constexpr std::size_t N = sizeof...(Ts);
  std::tuple<JoinHandle<Ts>...> handles{weft::spawn(std::move(tasks))...};
  std::array<detail::TaskHeader*, N> raw = std::apply(
      [](auto&... h) { return std::array<detail::TaskHeader*, N>{h.raw()...}; }, handles);
  detail::AbortOnDrop<N> guard(raw);
  {
    std::array<detail::CompletionAwaiter, N> waits =
        std::apply([](auto*... t) { return std::array<detail::CompletionAwaiter, N>{t...}; }, raw);
    detail::AnyCompletion<N> any;
    for (std::size_t i = 0; i < N; ++i) any.awaiters[i] = &waits[i];
    co_await any;
  }
  std::size_t winner = N;
  for (std::size_t i = 0; i < N && winner == N; ++i) {
    if (raw[i]->is_complete()) winner = i;
  }
  // Cancel the losers and wait until each is gone.
  for (std::size_t i = 0; i < N; ++i) {
    if (i == winner) continue;
    if (raw[i]->transition_to_notified_and_cancel() == detail::TaskHeader::Wake::kSubmit) {
      raw[i]->scheduler->schedule(raw[i], false);
    }
  }
  for (std::size_t i = 0; i < N; ++i) {
    if (i != winner) co_await detail::CompletionAwaiter(raw[i]);
  }
  guard.release();
  co_return detail::take_index<Result>(handles, winner, std::index_sequence_for<Ts...>{});
}

}  // namespace weft
