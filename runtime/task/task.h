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
#include <cstdint>
#include <exception>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include "weft/runtime/task/header.h"

namespace weft {

template <class T = void>
class Task;

namespace detail {

// How an awaited Task hands control back (see Task::operator co_await). clang always makes
// symmetric transfer a tail call; g++ 12 does not without optimisation (nor under sanitizers),
// and then a loop that awaits Tasks completing without suspending grows the stack by two frames
// per iteration until it overflows. With g++ the awaiter therefore resumes the child inline and,
// if it finishes without suspending, continues without any transfer.
#if defined(__clang__)
inline constexpr bool kSymmetricTransfer = true;
#else
inline constexpr bool kSymmetricTransfer = false;
#endif

struct PromiseBase {
  std::coroutine_handle<> continuation;  // the awaiting coroutine, null for a spawned root
  std::exception_ptr exception;
  // Inline-resume protocol (g++): kInline while the awaiter's await_suspend is inside resume();
  // the final awaiter then marks kDoneInline and returns to it instead of transferring.
  enum : uint8_t { kDetached, kInline, kDoneInline } inline_state = kDetached;

  std::suspend_always initial_suspend() noexcept { return {}; }

  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
      PromiseBase& p = h.promise();
      if (p.inline_state == kInline) {
        p.inline_state = kDoneInline;  // back into the awaiter's await_suspend
        return std::noop_coroutine();
      }
      std::coroutine_handle<> next = p.continuation;
      return next ? next : std::noop_coroutine();
    }
    void await_resume() noexcept {}
  };
  FinalAwaiter final_suspend() noexcept { return {}; }

  void unhandled_exception() noexcept { exception = std::current_exception(); }
};

// Where a spawned task's result lives once its frame is gone (see header.h).
template <class T>
struct Outcome {
  std::optional<std::conditional_t<std::is_void_v<T>, bool, T>> value;
  std::exception_ptr exception;
};

// Reserves room for the output slot behind the frame (used only if the Task is spawned).
template <class T>
void* alloc_with_output(std::size_t n) {
  return frame_alloc(n + sizeof(Outcome<T>) + alignof(Outcome<T>));
}

template <class T>
struct Promise : PromiseBase {
  std::variant<std::monostate, T> value;

  static void* operator new(std::size_t n) { return alloc_with_output<T>(n); }
  static void operator delete(void* p) { frame_free(p); }

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
  static void* operator new(std::size_t n) { return alloc_with_output<void>(n); }
  static void operator delete(void* p) { frame_free(p); }
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
      auto await_suspend(std::coroutine_handle<> awaiting) noexcept {
        auto& p = h.promise();
        p.continuation = awaiting;
        if constexpr (detail::kSymmetricTransfer) {
          return std::coroutine_handle<>(h);
        } else {
          p.inline_state = detail::PromiseBase::kInline;
          h.resume();
          if (p.inline_state == detail::PromiseBase::kDoneInline) return false;  // continue now
          p.inline_state = detail::PromiseBase::kDetached;  // it suspended: it resumes us later
          return true;
        }
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

template <class T>
Outcome<T>* outcome_of(TaskHeader* t) {
  return static_cast<Outcome<T>*>(t->output_slot(sizeof(Outcome<T>), alignof(Outcome<T>)));
}

// The vtable spawn<T> installs: moves the result out of the finished frame into the slot.
template <class T>
struct TaskVtableFor {
  static void store(TaskHeader* t) {
    auto& p = std::coroutine_handle<Promise<T>>::from_address(t->frame()).promise();
    auto* out = new (outcome_of<T>(t)) Outcome<T>();
    if (p.exception) {
      out->exception = std::move(p.exception);
    } else if constexpr (std::is_void_v<T>) {
      out->value.emplace(true);
    } else {
      out->value.emplace(std::move(std::get<1>(p.value)));
    }
    t->output_stored = true;
  }
  static void drop(TaskHeader* t) { outcome_of<T>(t)->~Outcome<T>(); }
  static constexpr TaskVtable kVtable{&store, &drop};
};

template <class X>
struct IsTask : std::false_type {};
template <class T>
struct IsTask<Task<T>> : std::true_type {};
}  // namespace detail

}  // namespace weft
