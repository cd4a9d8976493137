// Awaitable plumbing for tower's combinators: what `co_await x` gives, an awaitable that is
// complete at once (ReadyValue), and an adapter that transforms the result of another awaitable
// without a coroutine frame (Mapped). Internal to weft::tower.
//
//   detail::await_result_t<Task<int>>               // int
//   co_await detail::ReadyValue<int>(42);           // 42, never suspends
//   detail::Mapped<Task<int>, G>(task, g)           // co_await gives g(co_await task)
#pragma once

#include <concepts>
#include <coroutine>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

#include "absl/status/statusor.h"

// g++ warns (-Wsubobject-linkage) when a coroutine template defined in a header is instantiated
// with a type that has no linkage, such as a lambda declared in a function: the coroutine frame
// then "has a field whose type has no linkage". The frame is private to the translation unit
// that instantiates it, so the warning does not apply; tower's coroutine templates are wrapped
// in these so that users' lambdas compile under -Werror.
#if defined(__GNUC__) && !defined(__clang__)
#define WEFT_TOWER_CORO_BEGIN \
  _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wsubobject-linkage\"")
#define WEFT_TOWER_CORO_END _Pragma("GCC diagnostic pop")
#else
#define WEFT_TOWER_CORO_BEGIN
#define WEFT_TOWER_CORO_END
#endif

namespace weft::tower::detail {

template <class A>
concept HasMemberCoAwait = requires(A&& a) {
  std::forward<A>(a).operator co_await();
};
template <class A>
concept HasFreeCoAwait = requires(A&& a) {
  operator co_await(std::forward<A>(a));
};

// The awaiter `co_await a` uses: a.operator co_await(), operator co_await(a), or a itself.
template <class A>
decltype(auto) get_awaiter(A&& a) {
  if constexpr (HasMemberCoAwait<A>) {
    return std::forward<A>(a).operator co_await();
  } else if constexpr (HasFreeCoAwait<A>) {
    return operator co_await(std::forward<A>(a));
  } else {
    return std::forward<A>(a);
  }
}

template <class A>
using awaiter_t = decltype(get_awaiter(std::declval<A>()));

// `co_await a` is valid for a prvalue of type A.
template <class A>
concept Awaitable = requires(std::remove_reference_t<awaiter_t<A>>& w) {
  { w.await_ready() } -> std::convertible_to<bool>;
  w.await_resume();
};

template <Awaitable A>
using await_result_t =
    decltype(std::declval<std::remove_reference_t<awaiter_t<A>>&>().await_resume());

template <class T>
struct StatusOrTraits : std::false_type {};
template <class T>
struct StatusOrTraits<absl::StatusOr<T>> : std::true_type {
  using value_type = T;
};

template <class T>
concept IsStatusOr = StatusOrTraits<std::remove_cvref_t<T>>::value;

// A value that is "awaited" without suspending: the awaitable for work that finished inside
// the call (an always-ready readiness check, a synchronous service_fn). No frame, no allocation.
template <class T>
class ReadyValue {
 public:
  explicit ReadyValue(T v) : v_(std::move(v)) {}
  bool await_ready() const noexcept { return true; }
  void await_suspend(std::coroutine_handle<>) const noexcept {}
  T await_resume() { return std::move(v_); }

 private:
  T v_;
};

// `co_await Mapped{a, g}` gives `g(co_await a)`. It forwards the awaiter protocol of `a`, so
// wrapping a Task (or any awaitable) adds neither a frame nor a suspension. Movable until it is
// first awaited (like the Task inside it); construct it in place from a factory when `A`
// cannot be moved (an awaiter such as Semaphore::AcquireAwaiter).
template <class A, class G>
class Mapped {
  static constexpr bool kConverts = HasMemberCoAwait<A> || HasFreeCoAwait<A>;
  using Awaiter = std::remove_cvref_t<awaiter_t<A>>;
  struct Empty {};

 public:
  Mapped(A a, G g) requires std::move_constructible<A> : a_(std::move(a)), g_(std::move(g)) {}
  template <class Make>
  Mapped(std::in_place_t, Make&& make, G g) : a_(std::forward<Make>(make)()), g_(std::move(g)) {}

  bool await_ready() { return awaiter().await_ready(); }
  template <class H>
  decltype(auto) await_suspend(H h) {
    return awaiter().await_suspend(h);
  }
  decltype(auto) await_resume() { return std::invoke(g_, awaiter().await_resume()); }

 private:
  Awaiter& awaiter() {
    if constexpr (kConverts) {
      if (!w_) w_.emplace(get_awaiter(std::move(a_)));
      return *w_;
    } else {
      return a_;
    }
  }

  A a_;
  [[no_unique_address]] std::conditional_t<kConverts, std::optional<Awaiter>, Empty> w_;
  [[no_unique_address]] G g_;
};

}  // namespace weft::tower::detail
