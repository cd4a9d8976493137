// What every layer in middleware/ shares: the HTTP service concept and the small responses the
// layers answer with themselves (413, 401, 500, ...).
//
//   template <weft::middleware::HttpService S>   // Request<Body> -> Response<Body>
//   class MyLayerService { ... };
//   co_return weft::middleware::detail::text_response(http::StatusCode::PAYLOAD_TOO_LARGE);
//
// Internal to middleware/ (the headers of the layers include it); not a layer of its own.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "weft/http/body.h"
#include "weft/http/header_name.h"
#include "weft/http/header_value.h"
#include "weft/http/request.h"
#include "weft/http/response.h"
#include "weft/http/status_code.h"
#include "weft/runtime/task/task.h"
#include "weft/tower/detail/awaitable.h"
#include "weft/tower/service.h"

WEFT_TOWER_CORO_BEGIN

namespace weft::middleware {

using HttpRequest = http::Request<http::Body>;
using HttpResponse = http::Response<http::Body>;

// S serves Request<Body> with Response<Body>: what a Router, a server and every layer here take.
template <class S>
concept HttpService = tower::ServiceFor<S, HttpRequest, HttpResponse>;

namespace detail {

// `code` with its reason phrase as a text/plain body ("Payload Too Large\n"), as the server
// writes its own error answers: nothing from the request or an error message is echoed.
inline HttpResponse text_response(http::StatusCode code) {
  HttpResponse resp(code, http::Body(std::string(code.canonical_reason()) + "\n"));
  resp.headers().append(http::header::CONTENT_TYPE,
                        http::HeaderValue::from_static("text/plain; charset=utf-8"));
  return resp;
}

// The function of a Mapped that changes nothing.
struct PassThrough {
  template <class T>
  T operator()(T v) const {
    return v;
  }
};

// What a layer's call() returns when it either answers itself at once (a 413, a preflight, a
// redirect) or awaits the inner call, whose result `g` may edit on the way out. Either way no
// coroutine frame: the inner awaitable is wrapped in place (tower::detail::Mapped), and an answer
// of the layer's own is complete at once.
template <class Fut, class G = PassThrough>
class ReadyOr {
 public:
  // The layer's own answer.
  explicit ReadyOr(absl::StatusOr<HttpResponse> r) : ready_(std::move(r)) {}
  // The inner call, made by `make()`, its result passed through `g`.
  template <class Make>
  ReadyOr(std::in_place_t, Make&& make, G g) {
    inner_.emplace(std::in_place, std::forward<Make>(make), std::move(g));
  }

  bool await_ready() { return ready_.has_value() || inner_->await_ready(); }
  template <class H>
  decltype(auto) await_suspend(H h) {
    return inner_->await_suspend(h);  // only reached for the inner call
  }
  absl::StatusOr<HttpResponse> await_resume() {
    if (ready_.has_value()) return std::move(*ready_);
    return inner_->await_resume();
  }

 private:
  std::optional<absl::StatusOr<HttpResponse>> ready_;
  std::optional<tower::detail::Mapped<Fut, G>> inner_;
};

// Any awaitable as a Task (to run it as a child task, or to await it inside try/catch).
template <class R, class Fut>
Task<R> own(Fut fut) {
  R r = co_await std::move(fut);
  co_return r;
}

}  // namespace detail

}  // namespace weft::middleware

WEFT_TOWER_CORO_END
