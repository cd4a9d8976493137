// Test helpers for middleware/: requests built in one line, bodies read back, and a runner for a
// test coroutine on every runtime flavour.
//
//   HttpRequest req = testing::request(http::Method::GET, "/a", {{"origin", "https://x.org"}});
//   absl::StatusOr<HttpResponse> r = co_await tower::oneshot(svc, std::move(req));
//   std::string text = co_await testing::body_text(std::move(*r));
//   http::Body b = testing::body_in_pieces(data, 7);  // streamed, 7 bytes a frame
//   BOOST_TEST(testing::run_in_all_flavors(&my_test_coroutine).ok());
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weft/http/body.h"
#include "weft/http/method.h"
#include "weft/http/uri.h"
#include "weft/middleware/detail/http_service.h"
#include "weft/runtime/runtime.h"
#include "weft/runtime/task/task.h"
#include "weft/runtime/testing/test_runtime.h"

namespace weft::middleware::testing {

using HeaderList = std::initializer_list<std::pair<std::string_view, std::string_view>>;

// A request; throws std::invalid_argument on a bad target or header (tests want loud failures).
inline HttpRequest request(http::Method method, std::string_view target, HeaderList headers = {},
                           http::Body body = http::Body()) {
  HttpRequest req(std::move(body));
  req.method() = std::move(method);
  absl::StatusOr<http::Uri> uri = http::Uri::parse(target);
  if (!uri.ok()) throw std::invalid_argument("bad target");
  req.uri() = *std::move(uri);
  for (const auto& [name, value] : headers) {
    absl::Status s = req.headers().append(name, value);
    if (!s.ok()) throw std::invalid_argument("bad header");
  }
  return req;
}

// The body as a string ("<error: ...>" if reading it failed).
inline Task<std::string> body_text(HttpResponse resp) {
  http::Body body = std::move(resp).into_body();
  absl::StatusOr<io::Bytes> all = co_await body.collect(1 << 20);
  if (!all.ok()) co_return "<error: " + std::string(all.status().message()) + ">";
  co_return all->to_string();
}

// The first value of `name`, "" when absent.
inline std::string header(const http::HeaderMap& h, std::string_view name) {
  const http::HeaderValue* v = h.get(name);
  return v != nullptr ? std::string(v->as_str()) : std::string();
}

// A streamed body that carries `data` in pieces of `piece` bytes (a spawned task sends them, so
// call it inside a runtime), as a client that writes in small pieces would.
inline http::Body body_in_pieces(std::string data, std::size_t piece) {
  auto [tx, body] = http::Body::channel(2);
  weft::spawn([](http::BodySender tx, std::string data, std::size_t piece) -> Task<void> {
    for (std::size_t at = 0; at < data.size(); at += piece) {
      Task<absl::Status> send =
          tx.send_data(io::Bytes::copy_from(std::string_view(data).substr(at, piece)));
      if (!(co_await std::move(send)).ok()) co_return;  // the reader went away
    }
  }(std::move(tx), std::move(data), piece));
  return std::move(body);
}

// Runs `test()` on each runtime flavour; the first failure (naming the flavour), or OK.
using weft::testing::run_in_all_flavors;

}  // namespace weft::middleware::testing
