// decompression: request bodies sent with `content-encoding: gzip` reach the handler
// decompressed, as a stream, with a bound on the decompressed size (tower-http's
// RequestDecompressionLayer).
//
//   namespace mw = weft::middleware;
//   mw::DecompressionOptions o;
//   o.max_decompressed_bytes = 8 << 20;             // zip bombs stop here
//   auto svc = weft::tower::ServiceBuilder()
//                  .layer(mw::RequestDecompressionLayer(o))
//                  .service(std::move(router));
//   // in a handler: co_await req.body().collect(limit) gives the decompressed bytes
//
// Content-Encoding: every field, comma-separated codings in the order they were applied.
// `gzip` and `x-gzip` (any case) are decoded (several: last applied, first undone);
// `identity` is ignored. Any other coding: 415 Unsupported Media Type (text/plain), with
// `accept-encoding: gzip` saying what is supported (RFC 9110 §15.5.16); the inner service is not
// called. A request with no coding left passes through untouched (an `identity`-only
// content-encoding is removed).
//
// A decoded request loses `content-encoding` and `content-length` (the size changes; its
// size_hint becomes unknown). Its body is decompressed as the handler reads it, at most
// kOutputFrame (32 KiB) of output per frame whatever the input frame expands to, so a small
// compressed frame cannot make one huge allocation. Concatenated gzip members are one body
// (RFC 1952); an empty body stays empty (lenient: some clients label empty bodies gzip).
//
// Errors, and who finds out first:
//   * Streamed bodies (what a server hands over) are decoded lazily, so the HANDLER finds out:
//     its frame()/collect() fails with INVALID_ARGUMENT "corrupt gzip request body: ..."
//     (bad header, bad data, a bad CRC, trailing garbage, or truncated: the body ended inside
//     a member) or RESOURCE_EXHAUSTED "decompressed request body larger than N bytes" (as soon
//     as the output would pass max_decompressed_bytes; the rest is not read). If the handler
//     returns exactly that error, the layer turns it into a response: 400 Bad Request or 413
//     Payload Too Large (the server would make 400 and 429 of the bare codes). A handler that
//     answers otherwise keeps its answer.
//   * Full bodies (already in memory: a client-built or collected request) are decoded in
//     call(), before the handler runs, so the LAYER finds out: 400 / 413 at once, and the
//     handler, not called, gets nothing; on success it gets a full body of exact size.
// The layer never reads a streamed body ahead of the handler: a handler that refuses a request
// without reading it (auth, 404) costs no inflate and sends no `100 Continue`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weft/http/body.h"
#include "weft/http/request.h"
#include "weft/http/response.h"
#include "weft/runtime/task/task.h"
#include "weft/tower/service.h"

WEFT_TOWER_CORO_BEGIN

namespace weft::middleware {

struct DecompressionOptions {
  // The most bytes a decompressed request body may have. 16 MiB: far above the JSON/form
  // bodies a decompressing API expects, far below what hurts a server; gzip expands up to
  // ~1032:1, so without it a 1 MiB upload could become 1 GiB.
  uint64_t max_decompressed_bytes = 16u << 20;
};

// Output per frame of a decompressed stream.
inline constexpr std::size_t kOutputFrame = 32u << 10;

// The body gunzipped as it is read (see the top comment); `max` bounds its total size.
http::Body gunzip_body(http::Body body, uint64_t max);

namespace detail {

struct DecompressionConfig {
  uint64_t max;
};

// What the decoders of one request found wrong, so that the layer can recognise its own error
// coming back from the handler.
struct DecodeErrors {
  mutable std::mutex mu;
  std::optional<absl::Status> error;
  void record(const absl::Status& s) {
    std::lock_guard<std::mutex> lock(mu);
    if (!error.has_value()) error = s;
  }
};

struct Prepared {
  // Set when the layer answers by itself (415, or 400/413 for a full body).
  std::optional<http::Response<http::Body>> answer;
  std::shared_ptr<DecodeErrors> errors;  // set when the body is decoded lazily
};

// Parses content-encoding, rewrites the request (headers, body) or prepares the answer.
Prepared prepare(const DecompressionConfig& cfg, http::Request<http::Body>& req);
// The response for a decoding error (400 or 413).
http::Response<http::Body> error_response(const absl::Status& error);
// Whether `inner_error` is the decoding error recorded in `errors`.
bool is_decode_error(const DecodeErrors& errors, const absl::Status& inner_error);

}  // namespace detail

template <class S>
class RequestDecompression {
  using Req = http::Request<http::Body>;
  using Resp = http::Response<http::Body>;

 public:
  RequestDecompression(S inner, std::shared_ptr<const detail::DecompressionConfig> cfg)
      : inner_(std::move(inner)), cfg_(std::move(cfg)) {}

  auto ready() const requires tower::detail::ReadyGivesStatusOr<S> { return inner_.ready(); }

  // The inner response for the decoded request; or 415/400/413 (see the top comment).
  Task<absl::StatusOr<Resp>> call(tower::permit_t<S> permit,
                                  Req req) const requires tower::ServiceFor<S, Req, Resp> {
    detail::Prepared p = detail::prepare(*cfg_, req);
    if (p.answer.has_value()) co_return std::move(*p.answer);  // the permit is released here
    auto fut = inner_.call(std::move(permit), std::move(req));
    absl::StatusOr<Resp> r = co_await std::move(fut);
    if (!r.ok() && p.errors != nullptr && detail::is_decode_error(*p.errors, r.status())) {
      co_return detail::error_response(r.status());
    }
    co_return std::move(r);
  }

  const S& inner() const { return inner_; }

 private:
  S inner_;
  std::shared_ptr<const detail::DecompressionConfig> cfg_;
};

class RequestDecompressionLayer {
 public:
  RequestDecompressionLayer() : RequestDecompressionLayer(DecompressionOptions()) {}
  explicit RequestDecompressionLayer(DecompressionOptions options)
      : cfg_(std::make_shared<const detail::DecompressionConfig>(
            detail::DecompressionConfig{options.max_decompressed_bytes})) {}

  template <class S>
  RequestDecompression<S> layer(S inner) const {
    return RequestDecompression<S>(std::move(inner), cfg_);
  }

 private:
  std::shared_ptr<const detail::DecompressionConfig> cfg_;
};

}  // namespace weft::middleware

WEFT_TOWER_CORO_END
