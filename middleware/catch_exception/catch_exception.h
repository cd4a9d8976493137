// catch_exception: an exception escaping the inner service becomes a 500 response, so that the
// layers outside (trace, metrics, request id) see an ordinary answer (tower-http's
// CatchPanicLayer).
//
//   namespace mw = weft::middleware;
//   auto svc = weft::tower::ServiceBuilder()
//                  .layer(mw::CatchExceptionLayer([](std::string_view what) {
//                    std::cerr << "handler threw: " << what << "\n";      // or a logger
//                  }))
//                  .service(router);
//   // a throwing handler -> 500 "Internal Server Error\n", text/plain; `what` went to the log
//
// Caught: what inner.call() throws while making its awaitable, and what the awaitable throws
// while it is awaited (a Task rethrows its coroutine's exception there). The answer is always the
// same: 500 with the body "Internal Server Error\n" (content-type text/plain) — the exception's
// text is NOT in it (it may hold paths, SQL, secrets). The text (std::exception::what(), or
// "unknown exception" for anything else) goes to the optional callback, called with a view valid
// during the call, from the request's task, perhaps from many tasks at once; an exception the
// callback itself throws is dropped. Without a callback the text is discarded.
//
// Not caught: exceptions from ready() (the permit is taken before this layer is involved) and
// from reading the response body after call() returned (the server answers or closes then). An
// error Status is not an exception: it passes through unchanged. Cancellation (the caller gives
// up) destroys the frame without an exception, so nothing is reported.
//
// Cost: one coroutine frame per call (a try block needs a frame to live in).
#pragma once

#include <exception>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "weft/http/status_code.h"
#include "weft/middleware/detail/http_service.h"
#include "weft/runtime/task/task.h"
#include "weft/tower/detail/awaitable.h"
#include "weft/tower/service.h"

WEFT_TOWER_CORO_BEGIN

namespace weft::middleware {

// The default callback: drops the text.
struct IgnoreException {
  void operator()(std::string_view) const noexcept {}
};

template <class S, class F>
class CatchException {
 public:
  CatchException(S inner, F on_exception)
      : inner_(std::move(inner)), on_exception_(std::move(on_exception)) {}

  auto ready() const requires tower::detail::HasReady<S> { return inner_.ready(); }
  auto try_ready() const requires requires(const S& s) { s.try_ready(); }
  { return inner_.try_ready(); }

  // A Task giving the inner result, or the 500 when it threw.
  Task<absl::StatusOr<HttpResponse>> call(tower::permit_t<S> permit,
                                          HttpRequest req) const requires HttpService<S> {
    return run(this, std::move(permit), std::move(req));
  }

  const S& inner() const { return inner_; }

 private:
  static Task<absl::StatusOr<HttpResponse>> run(const CatchException* self,
                                                tower::permit_t<S> permit, HttpRequest req) {
    std::string what;
    try {
      auto fut = self->inner_.call(std::move(permit), std::move(req));
      absl::StatusOr<HttpResponse> r = co_await std::move(fut);
      co_return r;
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
      what = "unknown exception";
    }
    self->report(what);
    co_return detail::text_response(http::StatusCode::INTERNAL_SERVER_ERROR);
  }

  void report(std::string_view what) const noexcept {
    try {
      on_exception_(what);
    } catch (...) {  // a failing logger must not turn the 500 into an exception again
    }
  }

  S inner_;
  [[no_unique_address]] F on_exception_;
};

// `F`: `void(std::string_view what) const`, thread-safe.
template <class F = IgnoreException>
class CatchExceptionLayer {
 public:
  CatchExceptionLayer() = default;
  explicit CatchExceptionLayer(F on_exception) : on_exception_(std::move(on_exception)) {}

  template <class S>
  CatchException<S, F> layer(S inner) const {
    return CatchException<S, F>(std::move(inner), on_exception_);
  }

 private:
  [[no_unique_address]] F on_exception_{};
};

template <class F>
CatchExceptionLayer(F) -> CatchExceptionLayer<F>;

}  // namespace weft::middleware

WEFT_TOWER_CORO_END
