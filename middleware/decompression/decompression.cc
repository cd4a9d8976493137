#include "weft/middleware/decompression/decompression.h"

#include <zlib.h>

#include <algorithm>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "weft/http/header_map.h"
#include "weft/http/header_name.h"
#include "weft/http/header_value.h"
#include "weft/http/status_code.h"
#include "weft/runtime/io/bytes.h"

namespace weft::middleware {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

absl::Status too_large(uint64_t max) {
  return absl::ResourceExhaustedError("decompressed request body larger than " +
                                      std::to_string(max) + " bytes");
}

absl::Status corrupt(std::string_view why) {
  return absl::InvalidArgumentError("corrupt gzip request body: " + std::string(why));
}

// Streaming gunzip with a bound on the total output. Invariants: `input_` holds the bytes
// zs_.next_in points into; `more_` is true when the last inflate stopped because the output was
// full, so output may be pending inside zlib even with no input left; `in_member_` is true from
// the first byte of a gzip member to its end (the body may only end outside a member).
class GzipDecoder {
 public:
  explicit GzipDecoder(uint64_t max) : max_(max) {}
  GzipDecoder(const GzipDecoder&) = delete;
  GzipDecoder& operator=(const GzipDecoder&) = delete;
  ~GzipDecoder() {
    if (ready_) inflateEnd(&zs_);
  }

  absl::Status init() {
    // windowBits 15 + 16: gzip only (no zlib/raw auto-detection: the coding says gzip).
    if (inflateInit2(&zs_, 15 + 16) != Z_OK)
      return absl::InternalError("gzip: inflateInit2 failed");
    ready_ = true;
    return absl::OkStatus();
  }

  void feed(io::Bytes in) {
    input_ = std::move(in);
    zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input_.data()));
    zs_.avail_in = static_cast<uInt>(input_.size());
  }
  bool needs_input() const { return zs_.avail_in == 0 && !more_; }

  // Up to `max_out` bytes of output (empty: needs input).
  absl::StatusOr<io::Bytes> produce(std::size_t max_out) {
    const uint64_t left = max_ - std::min(total_, max_);
    // One byte past the limit is enough to know it is passed.
    const std::size_t room = static_cast<std::size_t>(std::min<uint64_t>(
        max_out, left == std::numeric_limits<uint64_t>::max() ? left : left + 1));
    std::string out(room, '\0');
    std::size_t produced = 0;
    for (;;) {
      if (produced == room) {
        more_ = true;
        break;
      }
      if (zs_.avail_in == 0 && !more_) break;
      if (zs_.avail_in > 0) in_member_ = true;
      zs_.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
      zs_.avail_out = static_cast<uInt>(room - produced);
      const int rc = inflate(&zs_, Z_NO_FLUSH);
      produced = room - zs_.avail_out;
      if (rc == Z_STREAM_END) {
        in_member_ = false;
        more_ = false;
        if (zs_.avail_in > 0) inflateReset(&zs_);  // another member follows (RFC 1952)
        continue;
      }
      if (rc == Z_OK) {
        more_ = zs_.avail_out == 0;
        continue;
      }
      if (rc == Z_BUF_ERROR) {  // no progress possible: needs input
        more_ = false;
        break;
      }
      if (rc == Z_MEM_ERROR) return absl::ResourceExhaustedError("gzip: out of memory");
      return corrupt(zs_.msg != nullptr ? zs_.msg : "invalid data");
    }
    total_ += produced;
    if (total_ > max_) return too_large(max_);
    if (produced == 0) return io::Bytes();
    out.resize(produced);
    // A small output is copied out rather than pinning a kOutputFrame-sized buffer.
    if (produced < room / 2) return io::Bytes::copy_from(std::string_view(out));
    return io::Bytes::from(std::move(out));
  }

  // The input has ended.
  absl::Status finish() const { return in_member_ ? corrupt("truncated") : absl::OkStatus(); }

 private:
  z_stream zs_{};
  bool ready_ = false;
  uint64_t max_;
  uint64_t total_ = 0;
  io::Bytes input_;
  bool more_ = false;
  bool in_member_ = false;
};

class GunzipSource final : public http::BodySource {
 public:
  GunzipSource(http::Body inner, std::unique_ptr<GzipDecoder> dec,
               std::shared_ptr<detail::DecodeErrors> errors)
      : inner_(std::move(inner)), dec_(std::move(dec)), errors_(std::move(errors)) {}

  Task<absl::StatusOr<std::optional<http::Frame>>> next_frame() override {
    for (;;) {
      if (failed_.has_value()) co_return *failed_;
      if (state_ == State::kTrailers) {
        state_ = State::kDone;
        co_return std::optional<http::Frame>(http::Frame::of_trailers(std::move(*trailers_)));
      }
      if (state_ == State::kDone) co_return std::optional<http::Frame>();
      if (!dec_->needs_input()) {
        absl::StatusOr<io::Bytes> out = dec_->produce(kOutputFrame);
        if (!out.ok()) co_return fail(out.status());
        if (!out->empty())
          co_return std::optional<http::Frame>(http::Frame::of_data(*std::move(out)));
        continue;
      }
      Task<absl::StatusOr<std::optional<http::Frame>>> next = inner_.frame();
      absl::StatusOr<std::optional<http::Frame>> f = co_await std::move(next);
      if (!f.ok()) co_return f.status();  // the transport's error, not a decoding one
      if (f->has_value() && (*f)->is_data()) {
        if (!(*f)->data.empty()) dec_->feed(std::move((*f)->data));
        continue;
      }
      absl::Status end = dec_->finish();
      if (!end.ok()) co_return fail(end);
      if (f->has_value()) trailers_ = std::move((*f)->trailers);
      state_ = trailers_.has_value() ? State::kTrailers : State::kDone;
    }
  }

  bool is_end_stream() const override { return state_ == State::kDone; }

 private:
  enum class State { kStreaming, kTrailers, kDone };

  absl::Status fail(const absl::Status& s) {
    failed_ = s;
    if (errors_ != nullptr) errors_->record(s);
    return s;
  }

  http::Body inner_;
  std::unique_ptr<GzipDecoder> dec_;
  std::shared_ptr<detail::DecodeErrors> errors_;
  State state_ = State::kStreaming;
  std::optional<http::HeaderMap> trailers_;
  std::optional<absl::Status> failed_;
};

http::Body gunzip(http::Body body, uint64_t max, std::shared_ptr<detail::DecodeErrors> errors) {
  auto dec = std::make_unique<GzipDecoder>(max);
  absl::Status st = dec->init();
  if (!st.ok()) {
    // No memory for zlib: a body whose every read fails says so.
    auto [tx, failed] = http::Body::channel(1);
    tx.abort(st);
    return std::move(failed);
  }
  return http::Body::from_source(
      std::make_shared<GunzipSource>(std::move(body), std::move(dec), std::move(errors)));
}

// A full body decoded at once.
absl::StatusOr<io::Bytes> gunzip_full(const io::Bytes& in, uint64_t max) {
  GzipDecoder dec(max);
  absl::Status st = dec.init();
  if (!st.ok()) return st;
  dec.feed(in);
  std::string out;
  while (!dec.needs_input()) {
    absl::StatusOr<io::Bytes> chunk = dec.produce(kOutputFrame);
    if (!chunk.ok()) return chunk.status();
    out.append(chunk->as_string_view());
  }
  st = dec.finish();
  if (!st.ok()) return st;
  return io::Bytes::from(std::move(out));
}

http::Response<http::Body> text_response(http::StatusCode status, std::string text) {
  http::Response<http::Body> res(status, http::Body(std::move(text)));
  res.headers().insert(http::header::CONTENT_TYPE,
                       http::HeaderValue::from_static("text/plain; charset=utf-8"));
  return res;
}

}  // namespace

http::Body gunzip_body(http::Body body, uint64_t max) {
  return gunzip(std::move(body), max, nullptr);
}

namespace detail {

http::Response<http::Body> error_response(const absl::Status& error) {
  const http::StatusCode status = absl::IsResourceExhausted(error)
                                      ? http::StatusCode::PAYLOAD_TOO_LARGE
                                      : http::StatusCode::BAD_REQUEST;
  return text_response(
      status, std::string(status.canonical_reason()) + ": " + std::string(error.message()));
}

bool is_decode_error(const DecodeErrors& errors, const absl::Status& inner_error) {
  std::lock_guard<std::mutex> lock(errors.mu);
  return errors.error.has_value() && *errors.error == inner_error;
}

Prepared prepare(const DecompressionConfig& cfg, http::Request<http::Body>& req) {
  Prepared p;
  http::HeaderMap& h = req.headers();
  if (!h.contains(http::header::CONTENT_ENCODING)) return p;
  int layers = 0;
  std::string unsupported;
  for (const http::HeaderValue& v : h.values(http::header::CONTENT_ENCODING)) {
    std::string_view rest = v.as_str();
    while (!rest.empty()) {
      std::size_t comma = rest.find(',');
      std::string coding = lower(trim(rest.substr(0, comma)));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      if (coding.empty() || coding == "identity") continue;
      if (coding == "gzip" || coding == "x-gzip") {
        ++layers;
      } else if (unsupported.empty()) {
        unsupported = coding;
      }
    }
  }
  if (!unsupported.empty()) {
    http::Response<http::Body> res = text_response(
        http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "Unsupported Media Type: content-encoding " + unsupported + " is not supported (gzip is)");
    res.headers().insert(http::header::ACCEPT_ENCODING, http::HeaderValue::from_static("gzip"));
    p.answer = std::move(res);
    return p;
  }
  h.remove(http::header::CONTENT_ENCODING);
  if (layers == 0) return p;
  h.remove(http::header::CONTENT_LENGTH);

  http::Body& body = req.body();
  if (body.is_full()) {
    io::Bytes data = body.full_bytes();
    for (int i = 0; i < layers; ++i) {
      absl::StatusOr<io::Bytes> out = gunzip_full(data, cfg.max);
      if (!out.ok()) {
        p.answer = error_response(out.status());
        return p;
      }
      data = *std::move(out);
    }
    body = http::Body::full(std::move(data));
    return p;
  }
  if (body.is_end_stream()) return p;  // empty: stays empty
  p.errors = std::make_shared<DecodeErrors>();
  for (int i = 0; i < layers; ++i) body = gunzip(std::move(body), cfg.max, p.errors);
  return p;
}

}  // namespace detail

}  // namespace weft::middleware
