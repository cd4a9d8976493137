// BoxService<Req, Resp> / BoxCloneService<Req, Resp>: type erasure for a Service, when a stack's
// type must not leak into an API (a struct member, a plugin boundary, a routing table).
//
//   weft::tower::BoxService<Request, Response> svc(
//       weft::tower::ServiceBuilder().map_err(f).service(handler));
//   co_await weft::tower::oneshot(svc, req);
//   weft::tower::BoxCloneService<Request, Response> c(stack);   // copyable: copies the stack
//
// Cost: one allocation when boxing (and per copy of a BoxCloneService); per request one virtual
// call for ready() and one for call(), plus one frame for ready() and, unless the inner call()
// already returns exactly Task<absl::StatusOr<Resp>>, one for call(). The inner permit lives in a
// BoxPermit, inline when it is at most kInlineSize bytes (heap-allocated otherwise).
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
  virtual Task<absl::StatusOr<BoxPermit>> ready() const = 0;
  virtual Task<absl::StatusOr<Resp>> call(BoxPermit permit, Req req) const = 0;
  virtual Task<absl::StatusOr<Resp>> oneshot(Req req) const = 0;
  virtual std::unique_ptr<BoxIface> clone() const = 0;
};

template <class S, class Req, class Resp>
class BoxModel final : public BoxIface<Req, Resp> {
  using P = permit_t<S>;
  using Fut = call_awaitable_t<S, Req>;

 public:
  explicit BoxModel(S s) : s_(std::move(s)) {}

  Task<absl::StatusOr<BoxPermit>> ready() const override { return ready_task(this); }

  Task<absl::StatusOr<Resp>> call(BoxPermit permit, Req req) const override {
    P* p = permit.get<P>(this);
    if (p == nullptr) return fail();
    if constexpr (std::is_same_v<Fut, Task<absl::StatusOr<Resp>>>) {
      return s_.call(std::move(*p), std::move(req));
    } else {
      return convert(s_.call(std::move(*p), std::move(req)));
    }
  }

  // ready() then call() without a BoxPermit in between; an always-ready inner service whose
  // call() gives Task<absl::StatusOr<Resp>> costs no frame beyond its own.
  Task<absl::StatusOr<Resp>> oneshot(Req req) const override {
    if constexpr (std::is_same_v<Fut, Task<absl::StatusOr<Resp>>> &&
                  std::is_same_v<ready_awaitable_t<S>, AlwaysReady>) {
      return s_.call(NoPermit{}, std::move(req));
    } else {
      return oneshot_task(this, std::move(req));
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
  static Task<absl::StatusOr<BoxPermit>> ready_task(const BoxModel* self) {
    absl::StatusOr<P> p = co_await self->s_.ready();
    if (!p.ok()) co_return std::move(p).status();
    co_return BoxPermit::make<P>(self, *std::move(p));
  }
  static Task<absl::StatusOr<Resp>> oneshot_task(const BoxModel* self, Req req) {
    absl::StatusOr<P> p = co_await self->s_.ready();
    if (!p.ok()) co_return std::move(p).status();
    Fut fut = self->s_.call(*std::move(p), std::move(req));
    auto r = co_await std::move(fut);
    if (!r.ok()) co_return std::move(r).status();
    co_return Resp(*std::move(r));
  }
  static Task<absl::StatusOr<Resp>> convert(Fut fut) {
    auto r = co_await std::move(fut);
    if (!r.ok()) co_return std::move(r).status();
    co_return Resp(*std::move(r));
  }
  static Task<absl::StatusOr<Resp>> fail() {
    co_return absl::FailedPreconditionError(
        "weft::tower::BoxService: permit from another service (or already spent)");
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

  Task<absl::StatusOr<BoxPermit>> ready() const { return impl_->ready(); }
  Task<absl::StatusOr<Resp>> call(BoxPermit permit, Req req) const {
    return impl_->call(std::move(permit), std::move(req));
  }
  // ready() and call() in one step (what tower::oneshot uses): one frame fewer.
  Task<absl::StatusOr<Resp>> oneshot(Req req) const { return impl_->oneshot(std::move(req)); }

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

  Task<absl::StatusOr<BoxPermit>> ready() const { return impl_->ready(); }
  Task<absl::StatusOr<Resp>> call(BoxPermit permit, Req req) const {
    return impl_->call(std::move(permit), std::move(req));
  }
  // ready() and call() in one step (what tower::oneshot uses): one frame fewer.
  Task<absl::StatusOr<Resp>> oneshot(Req req) const { return impl_->oneshot(std::move(req)); }

 private:
  std::unique_ptr<detail::BoxIface<Req, Resp>> impl_;
};

}  // namespace weft::tower

WEFT_TOWER_CORO_END
