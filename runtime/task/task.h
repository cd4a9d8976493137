// Task<T>: weft's coroutine type. Lazy (nothing runs until it is awaited or spawned), move-only,
// and awaiting it uses symmetric transfer, so deep co_await chains do not grow the stack.
//
//   weft::Task<int> answer() { co_return 42; }
//   weft::Task<int> twice() { co_return co_await answer() + co_await answer(); }
//   auto handle = weft::spawn(twice());      // runs on the runtime
//   absl::StatusOr<int> v = co_await handle;  // 84
//
// An exception thrown inside a Task propagates to whoever awaits it (or, for a spawned task, is
// reported through its JoinHandle). Destroying a Task destroys its frame and everything it is
// awaiting: that is how cancellation works in weft.
//
// Coroutine pitfall: parameters taken by reference, and captures of a lambda that is itself a
// coroutine, dangle after the first suspension. Take parameters by value.
#pragma once

#include <coroutine>
#include <exception>
#include <new>
#include <type_traits>
#include <utility>
#include <variant>

#include "weft/runtime/task/header.h"

namespace weft {

template <class T = void>
class Task;

namespace detail {

struct PromiseBase {
  std::coroutine_handle<> continuation;  // the awaiting coroutine, null for a spawned root
  std::exception_ptr exception;

  static void* operator new(std::size_t n) { return frame_alloc(n); }
  static void operator delete(void* p) { frame_free(p); }

  std::suspend_always initial_suspend() noexcept { return {}; }

  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
      std::coroutine_handle<> next = h.promise().continuation;
      return next ? next : std::noop_coroutine();
    }
    void await_resume() noexcept {}
  };
  FinalAwaiter final_suspend() noexcept { return {}; }

  void unhandled_exception() noexcept { exception = std::current_exception(); }
};

template <class T>
struct Promise : PromiseBase {
  std::variant<std::monostate, T> value;

  Task<T> get_return_object() noexcept;
  template <class U = T>
  requires std::is_convertible_v<U&&, T>
  void return_value(U&& v) { value.template emplace<1>(std::forward<U>(v)); }
  T take() {
    if (exception) std::rethrow_exception(exception);
    return std::move(std::get<1>(value));
  }
};

template <>
struct Promise<void> : PromiseBase {
  Task<void> get_return_object() noexcept;
  void return_void() noexcept {}
  void take() {
    if (exception) std::rethrow_exception(exception);
  }
};

}  // namespace detail

template <class T>
class [[nodiscard]] Task {
 public:
  using promise_type = detail::Promise<T>;
  using value_type = T;

  Task() = default;
  explicit Task(std::coroutine_handle<promise_type> h) : h_(h) {}
  Task(Task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  Task& operator=(Task&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() { reset(); }

  bool valid() const { return static_cast<bool>(h_); }

  // Awaiting a Task starts it and resumes the awaiter with its result (or its exception).
  auto operator co_await() && noexcept {
    struct Awaiter {
      std::coroutine_handle<promise_type> h;
      bool await_ready() const noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
        h.promise().continuation = awaiting;
        return h;
      }
      T await_resume() { return h.promise().take(); }
    };
    return Awaiter{h_};
  }

  // For the runtime: give up ownership of the frame (spawn adopts it).
  std::coroutine_handle<promise_type> release() { return std::exchange(h_, {}); }

 private:
  void reset() {
    if (h_) std::exchange(h_, {}).destroy();
  }
  std::coroutine_handle<promise_type> h_;
};

namespace detail {
template <class T>
Task<T> Promise<T>::get_return_object() noexcept {
  return Task<T>(std::coroutine_handle<Promise<T>>::from_promise(*this));
}
inline Task<void> Promise<void>::get_return_object() noexcept {
  return Task<void>(std::coroutine_handle<Promise<void>>::from_promise(*this));
}

template <class X>
struct IsTask : std::false_type {};
template <class T>
struct IsTask<Task<T>> : std::true_type {};
}  // namespace detail

}  // namespace weft
