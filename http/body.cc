#include "weft/http/body.h"

#include <mutex>

#include "absl/strings/str_cat.h"
#include "weft/runtime/sync/mpsc.h"

namespace weft::http {

namespace {

// The reading end of Body::channel(). Frames travel through a bounded mpsc channel; an abort
// travels beside it (it must not wait for room), and is reported once the buffered frames
// are read.
struct ChannelError {
  std::mutex mu;
  std::optional<absl::Status> error;
};

class ChannelSource final : public BodySource {
 public:
  ChannelSource(sync::mpsc::Receiver<Frame> rx, std::shared_ptr<ChannelError> err)
      : rx_(std::move(rx)), err_(std::move(err)) {}

  Task<absl::StatusOr<std::optional<Frame>>> next_frame() override {
    if (done_) co_return std::optional<Frame>();
    std::optional<Frame> f = co_await rx_.recv();
    if (!f.has_value()) {
      done_ = true;
      std::lock_guard<std::mutex> lock(err_->mu);
      if (err_->error.has_value()) co_return *err_->error;
      co_return std::optional<Frame>();
    }
    if (!f->is_data()) done_ = true;  // trailers end the body
    co_return std::move(f);
  }
  bool is_end_stream() const override { return done_; }

 private:
  sync::mpsc::Receiver<Frame> rx_;
  std::shared_ptr<ChannelError> err_;
  bool done_ = false;
};

}  // namespace

struct BodySender::Shared {
  sync::mpsc::Sender<Frame> tx;
  std::shared_ptr<ChannelError> err;
};

std::pair<BodySender, Body> Body::channel(std::size_t capacity) {
  auto [tx, rx] = sync::mpsc::channel<Frame>(capacity);
  auto err = std::make_shared<ChannelError>();
  auto shared = std::make_shared<BodySender::Shared>(BodySender::Shared{std::move(tx), err});
  return {BodySender(std::move(shared)),
          Body::from_source(std::make_shared<ChannelSource>(std::move(rx), std::move(err)))};
}

BodySender::~BodySender() = default;

Task<absl::Status> BodySender::send_data(io::Bytes data) {
  if (shared_ == nullptr) co_return absl::FailedPreconditionError("body sender moved from");
  if (data.empty()) co_return absl::OkStatus();
  absl::Status s = co_await shared_->tx.send(Frame::of_data(std::move(data)));
  if (!s.ok()) co_return absl::FailedPreconditionError("body receiver dropped");
  co_return absl::OkStatus();
}

Task<absl::Status> BodySender::send_trailers(HeaderMap trailers) {
  if (shared_ == nullptr) co_return absl::FailedPreconditionError("body sender moved from");
  absl::Status s = co_await shared_->tx.send(Frame::of_trailers(std::move(trailers)));
  shared_.reset();
  if (!s.ok()) co_return absl::FailedPreconditionError("body receiver dropped");
  co_return absl::OkStatus();
}

void BodySender::abort(absl::Status error) {
  if (shared_ == nullptr) return;
  {
    std::lock_guard<std::mutex> lock(shared_->err->mu);
    shared_->err->error = error.ok() ? absl::AbortedError("body aborted") : std::move(error);
  }
  shared_.reset();  // closes the channel: the reader sees the error after the buffered frames
}

Task<absl::StatusOr<std::optional<Frame>>> Body::frame() {
  switch (kind_) {
    case Kind::kEmpty:
      co_return std::optional<Frame>();
    case Kind::kFull: {
      kind_ = Kind::kEmpty;
      co_return std::optional<Frame>(Frame::of_data(std::move(full_)));
    }
    case Kind::kStream:
      break;
  }
  Task<absl::StatusOr<std::optional<Frame>>> next = source_->next_frame();
  co_return co_await std::move(next);
}

Task<absl::StatusOr<io::Bytes>> Body::collect(std::size_t limit) {
  auto too_large = [limit] {
    return absl::ResourceExhaustedError(absl::StrCat("body larger than ", limit, " bytes"));
  };
  if (kind_ == Kind::kEmpty) co_return io::Bytes();
  if (kind_ == Kind::kFull) {
    if (full_.size() > limit) co_return too_large();
    kind_ = Kind::kEmpty;
    co_return std::move(full_);
  }
  std::optional<uint64_t> hint = source_->size_hint();
  if (hint.has_value() && *hint > limit) co_return too_large();
  // One frame is returned as is (no copy); several are joined.
  io::Bytes first;
  io::BytesMut joined;
  std::size_t total = 0;
  for (;;) {
    absl::StatusOr<std::optional<Frame>> f = co_await source_->next_frame();
    if (!f.ok()) co_return std::move(f).status();
    if (!f->has_value()) break;
    Frame& fr = **f;
    if (!fr.is_data()) break;
    if (fr.data.empty()) continue;
    total += fr.data.size();
    if (total > limit) co_return too_large();
    if (first.empty() && joined.empty()) {
      first = std::move(fr.data);
      continue;
    }
    if (!first.empty()) {
      joined.reserve(hint.value_or(first.size() * 2 + fr.data.size()));
      joined.append(first.as_span());
      first = io::Bytes();
    }
    joined.append(fr.data.as_span());
  }
  if (!joined.empty()) co_return std::move(joined).freeze();
  co_return std::move(first);
}

}  // namespace weft::http
