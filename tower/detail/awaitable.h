// Awaitable plumbing for tower's combinators: what `co_await x` gives, an awaitable that is
// complete at once (ReadyValue), an adapter that transforms the result of another awaitable
// without a coroutine frame (Mapped), and one of two awaitables chosen at run time (OneOf;
// Eager<T> is "a value now, or a Task"). Internal to weft::tower.
//
//   detail::await_result_t<Task<int>>               // int
//   co_await detail::ReadyValue<int>(42);           // 42, never suspends
//   detail::Mapped<Task<int>, G>(task, g)           // co_await gives g(co_await task)
//   detail::Eager<int> e = fast ? Eager<int>(ReadyValue<int>(1)) : Eager<int>(slow());
//
// Layers use these so that a stack over a service that answers at once allocates no coroutine
// frame: each layer does its synchronous part in ready()/call() and only falls back to a Task
// when it really has to wait. Peekable awaitables (ReadyValue, Mapped, OneOf) may be moved after
// await_ready() (not after await_suspend()): a layer may look whether one is complete before
// deciding what to do with it (Timeout does).
#pragma once

#include <concepts>
#include <coroutine>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "absl/status/statusor.h"
#include "weft/runtime/task/task.h"

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
  // The value made by `make()` in place (no move: what a layer returns is built where it lives).
  template <class Make>
  ReadyValue(std::in_place_t, Make&& make) : v_(std::forward<Make>(make)()) {}
  bool await_ready() const noexcept { return true; }
  void await_suspend(std::coroutine_handle<>) const noexcept {}
  T await_resume() { return std::move(v_); }

 private:
  T v_;
};

// Passes a result through (Mapped<A, Pass> is `co_await a`, as a peekable awaitable). A type
// derived from Pass passes results through too (and may hold state: ConcurrencyLimit's slot).
struct Pass {
  template <class T>
  T operator()(T v) const {
    return v;
  }
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
  // The wrapped awaitable itself, taken out (only before it was first awaited or peeked at).
  A take() && { return std::move(a_); }
  template <class H>
  decltype(auto) await_suspend(H h) {
    return awaiter().await_suspend(h);
  }
  decltype(auto) await_resume() {
    if constexpr (std::is_base_of_v<Pass, G>) {
      return awaiter().await_resume();  // no detour through Pass's parameter (one move fewer)
    } else {
      return std::invoke(g_, awaiter().await_resume());
    }
  }

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

// `co_await OneOf<A, B>` awaits whichever of the two it holds; both give the same result type.
// No frame: the awaiter protocol of the alternative is forwarded.
//
// A two-member union with an index rather than std::variant: every member function, the
// destructor included, is two plain branches that inline into the layer above. (libstdc++'s
// variant destroys through an out-of-line _Variant_storage reset, and clang then also left
// await_resume out of line: its result came back through memory and was read with wider loads
// than the stores that wrote it, a store-forwarding stall per layer and call.) await_resume and
// the destructor are always inlined: clang otherwise leaves them out of line; forcing the other
// awaiter functions too made g++'s 6-layer stack slower (stack_bench, unpinned: about +41 ns
// added with these two, +60 to +68 with all of them).
template <class A, class B>
requires std::same_as<await_result_t<A>, await_result_t<B>>
class OneOf {
  using MA = Mapped<A, Pass>;
  using MB = Mapped<B, Pass>;

 public:
  using result_type = await_result_t<A>;

  OneOf(A a) : a_(std::move(a), Pass{}), index_(0) {}
  OneOf(B b) requires(!std::same_as<A, B>) : b_(std::move(b), Pass{}), index_(1) {}
  // Alternative I made by `make()` in place: a layer's awaitable, which holds the awaitables of
  // every layer below it, is then built once where it ends up instead of being moved up through
  // each layer (the moves grew with the square of the stack's depth).
  template <class Make>
  OneOf(std::in_place_index_t<0>, Make&& make)
      : a_(std::in_place, std::forward<Make>(make), Pass{}), index_(0) {}
  template <class Make>
  OneOf(std::in_place_index_t<1>, Make&& make)
      : b_(std::in_place, std::forward<Make>(make), Pass{}), index_(1) {}

  OneOf(OneOf&& o) noexcept(
      std::is_nothrow_move_constructible_v<MA>&& std::is_nothrow_move_constructible_v<MB>) requires
      std::move_constructible<MA> && std::move_constructible<MB> : index_(o.index_) {
    if (index_ == 0) {
      std::construct_at(&a_, std::move(o.a_));
    } else {
      std::construct_at(&b_, std::move(o.b_));
    }
  }
  OneOf& operator=(OneOf&&) = delete;  // awaitables are built, moved and awaited, not assigned
  [[gnu::always_inline]] ~OneOf() {
    if (index_ == 0) {
      a_.~MA();
    } else {
      b_.~MB();
    }
  }

  bool await_ready() { return index_ == 0 ? a_.await_ready() : b_.await_ready(); }
  // Which alternative is held, and each taken out as it was given (only before the OneOf was
  // first awaited or peeked at): how an Eager turns back into a Task without a frame.
  std::size_t index() const { return index_; }
  A take_first() && { return std::move(a_).take(); }
  B take_second() && { return std::move(b_).take(); }
  // Returns a handle only if an alternative does (g++ does not always make symmetric transfer a
  // tail call, see runtime/task/task.h: bool keeps the stack flat there).
  auto await_suspend(std::coroutine_handle<> h) {
    return index_ == 0 ? suspend(a_, h) : suspend(b_, h);
  }
  [[gnu::always_inline]] result_type await_resume() {
    if (index_ == 0) return a_.await_resume();
    return b_.await_resume();
  }

 private:
  template <class M>
  using SuspendResult = decltype(std::declval<M&>().await_suspend(std::coroutine_handle<>()));
  template <class M>
  static constexpr bool kReturnsHandle =
      !std::is_void_v<SuspendResult<M>> && !std::same_as<SuspendResult<M>, bool>;
  static constexpr bool kTransfers = kReturnsHandle<MA> || kReturnsHandle<MB>;

  // What the alternative's await_suspend returned (void, bool or a handle), in OneOf's form.
  template <class M>
  static auto suspend(M& m, std::coroutine_handle<> h) {
    using R = SuspendResult<M>;
    if constexpr (kTransfers) {
      if constexpr (std::is_void_v<R>) {
        m.await_suspend(h);
        return std::coroutine_handle<>(std::noop_coroutine());
      } else if constexpr (std::same_as<R, bool>) {
        return m.await_suspend(h) ? std::coroutine_handle<>(std::noop_coroutine()) : h;
      } else {
        return std::coroutine_handle<>(m.await_suspend(h));
      }
    } else if constexpr (std::is_void_v<R>) {
      m.await_suspend(h);
      return true;
    } else {
      return m.await_suspend(h);
    }
  }

  union {
    MA a_;
    MB b_;
  };
  unsigned char index_;
};

// A result that is either here already or still to come from a Task.
template <class T>
using Eager = OneOf<ReadyValue<T>, Task<T>>;

// An Eager<T> holding the T made by `make()`, built in place (see OneOf's in-place constructor):
//   return detail::eager_with<R>([&] { return inner.await_resume(); });
template <class T, class Make>
Eager<T> eager_with(Make&& make) {
  return Eager<T>(std::in_place_index<0>,
                  [&] { return ReadyValue<T>(std::in_place, std::forward<Make>(make)); });
}

template <class T>
Task<T> ready_task(T v) {
  co_return std::move(v);
}

// An Eager<T> (or a Task<T>) as a Task<T>: the Task it holds (no frame), or one giving its value.
template <class T>
Task<T> as_task(Task<T> t) {
  return t;
}
template <class T>
Task<T> as_task(Eager<T> e) {
  if (e.index() == 1) return std::move(e).take_second();
  return ready_task<T>(std::move(e).take_first().await_resume());
}

// `co_await a` in a Task of its own.
template <class T, class A>
Task<T> await_in_task(A a) {
  co_return co_await std::move(a);
}

// An awaitable giving T, as an Eager<T>: itself if it is one, a ReadyValue or a Task as that
// alternative, anything else awaited in a Task.
template <class T, class A>
Eager<T> as_eager(A a) {
  if constexpr (std::same_as<A, Eager<T>> || std::same_as<A, ReadyValue<T>> ||
                std::same_as<A, Task<T>>) {
    return Eager<T>(std::move(a));
  } else {
    return Eager<T>(await_in_task<T>(std::move(a)));
  }
}

// Awaitables whose await_ready() may be asked before they are moved (see the top).
template <class A>
struct IsPeekable : std::false_type {};
template <class T>
struct IsPeekable<ReadyValue<T>> : std::true_type {};
template <class A, class G>
struct IsPeekable<Mapped<A, G>> : std::true_type {};
template <class A, class B>
struct IsPeekable<OneOf<A, B>> : std::true_type {};
template <class A>
concept Peekable = IsPeekable<std::remove_cvref_t<A>>::value;

}  // namespace weft::tower::detail
