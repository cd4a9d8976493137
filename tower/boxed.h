// BoxService<Req, Resp> / BoxCloneService<Req, Resp>: type erasure for a Service, when a stack's
// type must not leak into an API (a struct member, a plugin boundary, a routing table).
//
//   weft::tower::BoxService<Request, Response> svc(
//       weft::tower::ServiceBuilder().map_err(f).service(handler));
//   co_await weft::tower::oneshot(svc, req);
//   weft::tower::BoxCloneService<Request, Response> c(stack);   // copyable: copies the stack
//
// Cost: one allocation when boxing (and per copy of a BoxCloneService); per request one virtual
// call for ready() and one for call() (or one for oneshot()). No coroutine frame of its own when
// the inner service answers at once: ready(), call() and oneshot() return a detail::Eager, the
// result itself or the inner Task; only an inner awaitable that must wait and is not
// Task<absl::StatusOr<Resp>> gets a converting frame. The inner permit lives in a BoxPermit,
// inline when it is at most kInlineSize bytes (heap-allocated otherwise).
// A BoxPermit only works with the box that made it: another box's permit fails the call with
// FAILED_PRECONDITION instead of misbehaving.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weft/runtime/task/task.h"
#include "weft/tower/service.h"

WEFT_TOWER_CORO_BEGIN

namespace weft::tower {

// The permit of a boxed service: the inner permit, type-erased.
class BoxPermit {
 public:
  static constexpr std::size_t kInlineSize = 48;

  BoxPermit() = default;
  BoxPermit(BoxPermit&& o) noexcept { take(o); }
  BoxPermit& operator=(BoxPermit&& o) noexcept {
    if (this != &o) {
      reset();
      take(o);
    }
    return *this;
  }
  BoxPermit(const BoxPermit&) = delete;
  BoxPermit& operator=(const BoxPermit&) = delete;
  ~BoxPermit() { reset(); }

  // Wraps `p`, made by the service identified by `owner`.
  template <class P>
  static BoxPermit make(const void* owner, P p) {
    BoxPermit b;
    b.owner_ = owner;
    b.ops_ = &OpsFor<P>::kOps;
    if constexpr (fits_inline<P>()) {
      new (b.buf_) P(std::move(p));
    } else {
      *reinterpret_cast<P**>(b.buf_) = new P(std::move(p));
    }
    return b;
  }

  // The inner permit if this permit was made by `owner` (with type P), else nullptr.
  template <class P>
  P* get(const void* owner) {
    if (ops_ != &OpsFor<P>::kOps || owner_ != owner) return nullptr;
    if constexpr (fits_inline<P>()) {
      return std::launder(reinterpret_cast<P*>(buf_));
    } else {
      return *reinterpret_cast<P**>(buf_);
    }
  }

 private:
  struct Ops {
    void (*move)(unsigned char* dst, unsigned char* src) noexcept;
    void (*destroy)(unsigned char* buf) noexcept;
  };
  template <class P>
  static constexpr bool fits_inline() {
    return sizeof(P) <= kInlineSize && alignof(P) <= alignof(std::max_align_t) &&
           std::is_nothrow_move_constructible_v<P>;
  }
  template <class P>
  struct OpsFor {
    static void move(unsigned char* dst, unsigned char* src) noexcept {
      if constexpr (fits_inline<P>()) {
        P* s = std::launder(reinterpret_cast<P*>(src));
        new (dst) P(std::move(*s));
        s->~P();
      } else {
        *reinterpret_cast<P**>(dst) = *reinterpret_cast<P**>(src);
      }
    }
    static void destroy(unsigned char* buf) noexcept {
      if constexpr (fits_inline<P>()) {
        std::launder(reinterpret_cast<P*>(buf))->~P();
      } else {
        delete *reinterpret_cast<P**>(buf);
      }
    }
    static constexpr Ops kOps{&move, &destroy};
  };

  void take(BoxPermit& o) noexcept {
    if (o.ops_ == nullptr) return;
    o.ops_->move(buf_, o.buf_);
    ops_ = std::exchange(o.ops_, nullptr);
    owner_ = std::exchange(o.owner_, nullptr);
  }
  void reset() noexcept {
    if (ops_ != nullptr) std::exchange(ops_, nullptr)->destroy(buf_);
    owner_ = nullptr;
  }

  alignas(std::max_align_t) unsigned char buf_[kInlineSize];
  const Ops* ops_ = nullptr;
  const void* owner_ = nullptr;
};

namespace detail {

template <class Req, class Resp>
class BoxIface {
 public:
  virtual ~BoxIface() = default;
  virtual Eager<absl::StatusOr<BoxPermit>> ready() const = 0;
  virtual Eager<absl::StatusOr<Resp>> call(BoxPermit permit, Req req) const = 0;
  virtual Eager<absl::StatusOr<Resp>> oneshot(Req req) const = 0;
  virtual std::unique_ptr<BoxIface> clone() const = 0;
};

template <class S, class Req, class Resp>
class BoxModel final : public BoxIface<Req, Resp> {
  using P = permit_t<S>;
  using ReadyFut = ready_awaitable_t<S>;
  using Fut = call_awaitable_t<S, Req>;
  using ReadyResult = absl::StatusOr<BoxPermit>;
  using Result = absl::StatusOr<Resp>;

 public:
  explicit BoxModel(S s) : s_(std::move(s)) {}

  Eager<ReadyResult> ready() const override {
    if constexpr (Peekable<ReadyFut>) {
      ReadyFut f = s_.ready();
      if (f.await_ready()) return eager_with<ReadyResult>([&] { return boxed(f.await_resume()); });
      return Eager<ReadyResult>(finish_ready(this, std::move(f)));
    } else {
      return Eager<ReadyResult>(finish_ready(this, s_.ready()));
    }
  }

  Eager<Result> call(BoxPermit permit, Req req) const override {
    P* p = permit.get<P>(this);
    if (p == nullptr) {
      return Eager<Result>(ReadyValue<Result>(absl::FailedPreconditionError(
          "weft::tower::BoxService: permit from another service (or already spent)")));
    }
    return inner_call(std::move(*p), std::move(req));
  }

  // ready() then call() without a BoxPermit in between: an inner service that is ready at once
  // goes straight to its call().
  Eager<Result> oneshot(Req req) const override {
    if constexpr (Peekable<ReadyFut>) {
      ReadyFut f = s_.ready();
      if (!f.await_ready()) return Eager<Result>(oneshot_task(this, std::move(f), std::move(req)));
      absl::StatusOr<P> p = f.await_resume();
      if (!p.ok()) return Eager<Result>(ReadyValue<Result>(std::move(p).status()));
      return inner_call(*std::move(p), std::move(req));
    } else {
      return Eager<Result>(oneshot_task(this, s_.ready(), std::move(req)));
    }
  }

  std::unique_ptr<BoxIface<Req, Resp>> clone() const override {
    if constexpr (std::is_copy_constructible_v<S>) {
      return std::make_unique<BoxModel>(s_);
    } else {
      return nullptr;  // only BoxCloneService clones, and it requires a copyable S
    }
  }

 private:
  // The inner call as an Eager: its result now when it has one (no frame), the inner Task
  // itself when it is one of ours, else a Task converting the result.
  Eager<Result> inner_call(P p, Req req) const {
    if constexpr (std::is_same_v<Fut, Task<Result>>) {
      return Eager<Result>(s_.call(std::move(p), std::move(req)));
    } else if constexpr (Peekable<Fut>) {
      Fut fut = s_.call(std::move(p), std::move(req));
      if (fut.await_ready())
        return eager_with<Result>([&] { return converted(fut.await_resume()); });
      return Eager<Result>(convert(std::move(fut)));
    } else {
      return Eager<Result>(convert(s_.call(std::move(p), std::move(req))));
    }
  }

  ReadyResult boxed(absl::StatusOr<P> p) const {
    if (!p.ok()) return std::move(p).status();
    return BoxPermit::make<P>(this, *std::move(p));
  }
  template <class R>
  static Result converted(R r) {
    if constexpr (std::is_same_v<R, Result>) {
      return r;
    } else {
      if (!r.ok()) return std::move(r).status();
      return Resp(*std::move(r));
    }
  }

  template <class F>
  static Task<ReadyResult> finish_ready(const BoxModel* self, F f) {
    co_return self->boxed(co_await std::move(f));
  }
  template <class F>
  static Task<Result> oneshot_task(const BoxModel* self, F ready, Req req) {
    absl::StatusOr<P> p = co_await std::move(ready);
    if (!p.ok()) co_return std::move(p).status();
    Fut fut = self->s_.call(*std::move(p), std::move(req));
    co_return converted(co_await std::move(fut));
  }
  template <class F>
  static Task<Result> convert(F fut) {
    co_return converted(co_await std::move(fut));
  }

  S s_;
};

template <class S, class Req, class Resp>
constexpr bool assert_boxable() {
  if constexpr (!assert_service<S, Req>()) {
    return false;
  } else if constexpr (!std::is_convertible_v<response_t<S, Req>, Resp>) {
    static_assert(std::is_convertible_v<response_t<S, Req>, Resp>,
                  "weft::tower::BoxService<Req, Resp>: the service's response type does not "
                  "convert to Resp");
    return false;
  } else {
    return true;
  }
}

}  // namespace detail

template <class Req, class Resp>
class BoxService {
 public:
  template <class S>
  requires(!std::is_same_v<std::remove_cvref_t<S>, BoxService>) explicit BoxService(S svc) {
    if constexpr (detail::assert_boxable<S, Req, Resp>()) {
      impl_ = std::make_unique<detail::BoxModel<S, Req, Resp>>(std::move(svc));
    }
  }
  BoxService(BoxService&&) noexcept = default;
  BoxService& operator=(BoxService&&) noexcept = default;

  // Awaitables (detail::Eager) giving absl::StatusOr<BoxPermit> and absl::StatusOr<Resp>.
  auto ready() const { return impl_->ready(); }
  auto call(BoxPermit permit, Req req) const {
    return impl_->call(std::move(permit), std::move(req));
  }
  // ready() and call() in one step (what tower::oneshot uses).
  auto oneshot(Req req) const { return impl_->oneshot(std::move(req)); }

 private:
  std::unique_ptr<detail::BoxIface<Req, Resp>> impl_;
};

// Like BoxService, and copyable: a copy copies the service inside (one allocation).
template <class Req, class Resp>
class BoxCloneService {
 public:
  template <class S>
  requires(!std::is_same_v<std::remove_cvref_t<S>, BoxCloneService>) explicit BoxCloneService(
      S svc) {
    static_assert(std::is_copy_constructible_v<S>,
                  "weft::tower::BoxCloneService: the service must be copy-constructible (use "
                  "BoxService for a move-only one)");
    if constexpr (std::is_copy_constructible_v<S> && detail::assert_boxable<S, Req, Resp>()) {
      impl_ = std::make_unique<detail::BoxModel<S, Req, Resp>>(std::move(svc));
    }
  }
  BoxCloneService(const BoxCloneService& o) : impl_(o.impl_ ? o.impl_->clone() : nullptr) {}
  BoxCloneService& operator=(const BoxCloneService& o) {
    if (this != &o) impl_ = o.impl_ ? o.impl_->clone() : nullptr;
    return *this;
  }
  BoxCloneService(BoxCloneService&&) noexcept = default;
  BoxCloneService& operator=(BoxCloneService&&) noexcept = default;

  // Awaitables (detail::Eager) giving absl::StatusOr<BoxPermit> and absl::StatusOr<Resp>.
  auto ready() const { return impl_->ready(); }
  auto call(BoxPermit permit, Req req) const {
    return impl_->call(std::move(permit), std::move(req));
  }
  // ready() and call() in one step (what tower::oneshot uses).
  auto oneshot(Req req) const { return impl_->oneshot(std::move(req)); }

 private:
  std::unique_ptr<detail::BoxIface<Req, Resp>> impl_;
};

}  // namespace weft::tower

WEFT_TOWER_CORO_END
