#include "weft/middleware/limit/request_body_limit.h"

#include <charconv>
#include <string>
#include <string_view>

#include "weft/http/header_name.h"

namespace weft::middleware {

absl::Status LimitedBodySource::too_large() const {
  return absl::ResourceExhaustedError("request body larger than " + std::to_string(limit_) +
                                      " bytes");
}

Task<absl::StatusOr<std::optional<http::Frame>>> LimitedBodySource::next_frame() {
  // Past the limit: never touch the stream again.
  if (exceeded_.load(std::memory_order_relaxed)) co_return too_large();
  absl::StatusOr<std::optional<http::Frame>> f = co_await inner_->next_frame();
  if (!f.ok() || !f->has_value() || !(*f)->is_data()) co_return f;
  seen_ += (*f)->data.size();
  if (seen_ > limit_) {
    exceeded_.store(true, std::memory_order_release);
    co_return too_large();
  }
  co_return f;
}

std::optional<uint64_t> LimitedBodySource::size_hint() const {
  if (exceeded_.load(std::memory_order_relaxed)) return std::nullopt;
  return inner_->size_hint();
}

bool LimitedBodySource::is_end_stream() const {
  return !exceeded_.load(std::memory_order_relaxed) && inner_->is_end_stream();
}

bool declared_body_too_large(const HttpRequest& req, uint64_t limit) {
  std::optional<uint64_t> hint = req.body().size_hint();
  if (hint.has_value() && *hint > limit) return true;
  // The header too, for a body made by hand without a size hint. The server has already
  // checked it (a malformed or duplicated one never reaches a service): a value that does not
  // parse as a number is left to the stream check.
  for (const http::HeaderValue& v : req.headers().values(http::header::CONTENT_LENGTH)) {
    std::string_view s = v.as_str();
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec == std::errc::result_out_of_range) return true;  // larger than any limit
    if (ec == std::errc() && end == s.data() + s.size() && n > limit) return true;
  }
  return false;
}

}  // namespace weft::middleware
