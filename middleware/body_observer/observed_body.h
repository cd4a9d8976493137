// observed_body: wraps a Body so that a middleware sees its bytes go by and learns, exactly
// once, how it ended — the hook access logs and metrics use to count bytes as they stream and
// to finish their record when the response (or request) body is really done.
//
//   struct Count {
//     std::shared_ptr<std::atomic<uint64_t>> n;
//     void on_data(std::size_t bytes) { n->fetch_add(bytes, std::memory_order_relaxed); }
//     void on_end(weft::middleware::BodyEnd end, const absl::Status& error) { ... }
//   };
//   res.body() = weft::middleware::observe_body(std::move(res.body()), Count{counter});
//
// Invariants:
//   * frames, errors, size_hint and is_end_stream of the inner body pass through unchanged (a
//     full body becomes a stream with the same exact size_hint);
//   * on_data(n) is called for each data frame as the reader takes it, before it gets it;
//   * on_end is called exactly once: kComplete when the body ended (nullopt, trailers, or the
//     inner body reports is_end_stream() right after a data frame — so a reader that stops at
//     the last byte of a known-length body still completes it), kError with the error a frame
//     gave, kDropped (error OK) when the body is destroyed before either (the reader gave up: a
//     HEAD response, a client gone, a handler that did not read its request body).
// The observer lives in the source and runs on whichever thread reads or drops the body; it
// must be cheap (it is on the data path) and thread-safe for what it shares.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weft/http/body.h"
#include "weft/runtime/task/task.h"
#include "weft/tower/detail/awaitable.h"

WEFT_TOWER_CORO_BEGIN

namespace weft::middleware {

enum class BodyEnd { kComplete, kError, kDropped };

template <class Observer>
class ObservedBodySource final : public http::BodySource {
 public:
  ObservedBodySource(http::Body inner, Observer obs)
      : inner_(std::move(inner)), obs_(std::move(obs)) {}
  ObservedBodySource(const ObservedBodySource&) = delete;
  ObservedBodySource& operator=(const ObservedBodySource&) = delete;
  ~ObservedBodySource() override {
    if (!ended_) obs_.on_end(BodyEnd::kDropped, absl::OkStatus());
  }

  Task<absl::StatusOr<std::optional<http::Frame>>> next_frame() override {
    Task<absl::StatusOr<std::optional<http::Frame>>> next = inner_.frame();
    absl::StatusOr<std::optional<http::Frame>> f = co_await std::move(next);
    if (ended_) co_return std::move(f);
    if (!f.ok()) {
      end(BodyEnd::kError, f.status());
    } else if (!f->has_value() || !(*f)->is_data()) {
      end(BodyEnd::kComplete, absl::OkStatus());
    } else {
      obs_.on_data((*f)->data.size());
      if (inner_.is_end_stream()) end(BodyEnd::kComplete, absl::OkStatus());
    }
    co_return std::move(f);
  }
  std::optional<uint64_t> size_hint() const override { return inner_.size_hint(); }
  bool is_end_stream() const override { return inner_.is_end_stream(); }

  const Observer& observer() const { return obs_; }

 private:
  void end(BodyEnd how, const absl::Status& error) {
    ended_ = true;
    obs_.on_end(how, error);
  }

  http::Body inner_;
  Observer obs_;
  bool ended_ = false;
};

// `body` behind an ObservedBodySource calling `obs` (one allocation).
template <class Observer>
http::Body observe_body(http::Body body, Observer obs) {
  return http::Body::from_source(
      std::make_shared<ObservedBodySource<Observer>>(std::move(body), std::move(obs)));
}

}  // namespace weft::middleware

WEFT_TOWER_CORO_END
