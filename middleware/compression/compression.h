// compression: gzip response bodies for clients that accept it (tower-http's CompressionLayer),
// frame by frame, so a streamed response stays streamed.
//
//   namespace mw = weft::middleware;
//   auto svc = weft::tower::ServiceBuilder()
//                  .layer(mw::CompressionLayer())              // gzip, level 6, >= 32 bytes
//                  .service(std::move(router));
//   mw::CompressionOptions o;
//   o.level = 1;                                               // cheaper, bigger
//   o.min_size = 1024;
//   o.predicate = [](std::string_view ct) { return ct.starts_with("text/"); };
//   router.layer(mw::CompressionLayer(o));
//
// Negotiation (RFC 9110 §12.5.3), from every `accept-encoding` field of the request: codings
// compare ignoring case, `x-gzip` is `gzip`, q-values are 0..1 with up to 3 decimals (an element
// with a malformed q is ignored). gzip's weight is its own q, else `*`'s, else 0; identity's is
// its own q, else `*`'s, else 0 (unmentioned, identity is the fallback, not a rival: "deflate,
// gzip;q=0.8" wants gzip). The response is gzipped when gzip's weight is positive and at least
// identity's (so `gzip;q=0`, `identity;q=1, gzip;q=0.5` and no header at all give identity;
// `*`, `gzip;q=0.1` and `gzip, identity` give gzip). Identity is always the last resort: even
// with `identity;q=0` nothing is refused (no 406), as with tower-http and common servers.
//
// A response is compressible when (the same whatever the request asked, because it decides
// `vary`): its status may carry a body (not 1xx, 204, 304) and is not 206; it has no
// `content-encoding` (already encoded) and no `content-range`; `cache-control` has no
// `no-transform`; its body is not empty and its size_hint, when known, is >= min_size; and the
// predicate accepts its `content-type` (default: compressible_content_type, which refuses
// images except SVG, audio, video, gRPC, and already-compressed archives and fonts; a missing
// content-type is compressed). A compressible response gets `vary: accept-encoding` (added to
// an existing vary unless it lists it or `*`) whether or not it is gzipped, so caches keep the
// two variants apart.
//
// A gzipped response: `content-encoding: gzip`, no `content-length` (the size changes; the
// server frames the new body), a strong `etag` made weak (W/"...": the bytes differ, the
// meaning does not — what nginx does). Body:
//   * full (in memory): compressed at once, in call(), into a full body of known size (so the
//     server still sends content-length and one write);
//   * streamed: a gzip stream produced frame by frame — each inner data frame is deflated with
//     Z_SYNC_FLUSH and handed on as one frame before the next inner frame is read (a client can
//     decode everything received so far), the gzip trailer goes with the last data frame (or
//     alone when the end is seen later), then the inner trailers. An inner error is passed on;
//     the gzip stream is then cut short (as the connection will be). Size: unknown (chunked).
// The deflate state (~256 KiB with zlib's defaults) lives as long as a streamed body; if zlib
// cannot allocate it the response goes out uncompressed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "weft/http/body.h"
#include "weft/http/header_map.h"
#include "weft/http/request.h"
#include "weft/http/response.h"
#include "weft/runtime/task/task.h"
#include "weft/tower/service.h"

WEFT_TOWER_CORO_BEGIN

namespace weft::middleware {

struct CompressionOptions {
  // zlib level: 1 (fastest) .. 9 (smallest); 0 stores; -1 is zlib's default (6).
  int level = 6;
  // Bodies whose size_hint is known and below this are sent as they are (the gzip header and
  // trailer alone are 18 bytes). Streams of unknown size are compressed.
  uint64_t min_size = 32;
  // Given the content-type ("" when there is none); default: compressible_content_type.
  std::function<bool(std::string_view content_type)> predicate;
  // Z_SYNC_FLUSH after each streamed frame (the stream stays a stream). Turning it off
  // compresses better but holds data back until zlib's buffer fills or the body ends.
  bool flush_frames = true;
};

// The default predicate (see the top comment).
bool compressible_content_type(std::string_view content_type);

enum class ContentCoding { kIdentity, kGzip };
// What the request's accept-encoding asks for (see the top comment).
ContentCoding negotiate_encoding(const http::HeaderMap& request_headers);

// `body` gzipped: full in, full out; a stream in, a stream out (frame by frame). With
// `flush_frames` false streamed frames are not flushed. INTERNAL if zlib cannot start.
absl::StatusOr<http::Body> gzip_body(http::Body body, int level = 6, bool flush_frames = true);

namespace detail {

struct CompressionConfig {
  int level;
  uint64_t min_size;
  std::function<bool(std::string_view)> predicate;
  bool flush_frames;
};

// Applies the top comment's rules to a response: vary, then (for kGzip) headers and body.
void compress_response(const CompressionConfig& cfg, ContentCoding coding,
                       http::Response<http::Body>& res);

}  // namespace detail

template <class S>
class Compression {
  using Req = http::Request<http::Body>;
  using Resp = http::Response<http::Body>;

 public:
  Compression(S inner, std::shared_ptr<const detail::CompressionConfig> cfg)
      : inner_(std::move(inner)), cfg_(std::move(cfg)) {}

  auto ready() const requires tower::detail::ReadyGivesStatusOr<S> { return inner_.ready(); }

  // The inner response, gzipped when negotiated and compressible; errors unchanged.
  Task<absl::StatusOr<Resp>> call(tower::permit_t<S> permit,
                                  Req req) const requires tower::ServiceFor<S, Req, Resp> {
    const ContentCoding coding = negotiate_encoding(req.headers());
    auto fut = inner_.call(std::move(permit), std::move(req));
    absl::StatusOr<Resp> r = co_await std::move(fut);
    if (r.ok()) detail::compress_response(*cfg_, coding, *r);
    co_return std::move(r);
  }

  const S& inner() const { return inner_; }

 private:
  S inner_;
  std::shared_ptr<const detail::CompressionConfig> cfg_;
};

class CompressionLayer {
 public:
  CompressionLayer() : CompressionLayer(CompressionOptions()) {}
  explicit CompressionLayer(CompressionOptions options);

  template <class S>
  Compression<S> layer(S inner) const {
    return Compression<S>(std::move(inner), cfg_);
  }

 private:
  std::shared_ptr<const detail::CompressionConfig> cfg_;
};

}  // namespace weft::middleware

WEFT_TOWER_CORO_END
