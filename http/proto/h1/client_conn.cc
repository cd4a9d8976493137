#include "weft/http/proto/h1/client_conn.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <span>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "weft/runtime/runtime.h"
#include "weft/runtime/time/timeout.h"

namespace weft::http::proto::h1 {

namespace {

// Bytes asked of one read, as the server does: a response head rarely needs more than one
// 4 KiB read; a body streams in 16 KiB frames.
constexpr std::size_t kHeadRead = 4 * 1024;
constexpr std::size_t kBodyRead = 16 * 1024;
// A response body dropped unread is drained in the background, to keep the connection, when
// at most this much of it is left (a round trip or two on any network); a larger rest is
// cheaper to drop with the connection, as hyper does with every unread body.
constexpr std::size_t kDrainLimit = 64 * 1024;
// ... and when it arrives within this time (a stalled server must not hold the task).
constexpr auto kDrainTimeout = std::chrono::seconds(1);

// Writes iov[0, n) entirely (n <= 4). `written` (if not null) counts the bytes that went out.
Task<absl::Status> write_all_iov(net::TcpStream* io, iovec* iov, int n, uint64_t* written) {
  int first = 0;
  while (first < n && iov[first].iov_len == 0) ++first;
  while (first < n) {
    absl::StatusOr<std::size_t> w = co_await io->writev(
        std::span<const iovec>(iov + first, static_cast<std::size_t>(n - first)));
    if (!w.ok()) co_return w.status();
    if (*w == 0) co_return absl::UnavailableError("the socket accepted no bytes");
    if (written != nullptr) *written += *w;
    std::size_t done = *w;
    while (first < n && done >= iov[first].iov_len) {
      done -= iov[first].iov_len;
      ++first;
    }
    if (first < n) {
      iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + done;
      iov[first].iov_len -= done;
    }
  }
  co_return absl::OkStatus();
}

// Sends `body` framed as `framing`. *source_failed tells a failure of the body itself (its
// stream errored, or its length disagreed with its size hint) from one of the socket.
Task<absl::Status> send_body(net::TcpStream* io, Body* body, BodyFraming framing,
                             bool* source_failed) {
  const bool chunked = framing.kind == BodyFraming::Kind::kChunked;
  const bool sized = framing.kind == BodyFraming::Kind::kLength;
  static constexpr char kCrlf[] = "\r\n";
  uint64_t sent = 0;
  std::string pre;
  std::optional<HeaderMap> trailers;
  for (;;) {
    Task<absl::StatusOr<std::optional<Frame>>> next = body->frame();
    absl::StatusOr<std::optional<Frame>> f = co_await std::move(next);
    if (!f.ok()) {
      *source_failed = true;
      co_return f.status();
    }
    if (!f->has_value()) break;
    Frame& fr = **f;
    if (!fr.is_data()) {
      trailers = std::move(fr.trailers);
      break;
    }
    if (fr.data.empty()) continue;
    sent += fr.data.size();
    if (sized && sent > framing.length) {
      *source_failed = true;
      co_return absl::InvalidArgumentError(
          absl::StrCat("request body longer than its size hint (", framing.length, " bytes)"));
    }
    pre.clear();
    if (chunked) append_chunk_header(pre, fr.data.size());
    iovec iov[3] = {{pre.data(), pre.size()},
                    {const_cast<char*>(fr.data.data()), fr.data.size()},
                    {const_cast<char*>(kCrlf), chunked ? std::size_t{2} : std::size_t{0}}};
    Task<absl::Status> w = write_all_iov(io, iov, 3, nullptr);
    absl::Status st = co_await std::move(w);
    if (!st.ok()) co_return st;
  }
  if (sized && sent != framing.length) {
    *source_failed = true;
    co_return absl::InvalidArgumentError(absl::StrCat("request body shorter than its size hint (",
                                                      sent, " of ", framing.length, " bytes)"));
  }
  if (chunked) {
    pre.clear();
    append_last_chunk(pre, trailers.has_value() ? &*trailers : nullptr);
    iovec iov[1] = {{pre.data(), pre.size()}};
    Task<absl::Status> w = write_all_iov(io, iov, 1, nullptr);
    absl::Status st = co_await std::move(w);
    if (!st.ok()) co_return st;
  }
  co_return absl::OkStatus();
}

// The request body writer task (invariant 2 of the header).
Task<void> run_body_writer(std::shared_ptr<ClientConn> conn, Body body, BodyFraming framing,
                           std::shared_ptr<WriterShared> ws, std::weak_ptr<ConnPool> pool) {
  bool source_failed = false;
  Task<absl::Status> send = send_body(&conn->io(), &body, framing, &source_failed);
  absl::Status st = co_await std::move(send);
  std::shared_ptr<ClientConn> parked;
  {
    std::lock_guard<std::mutex> lock(ws->mu);
    ws->done = true;
    ws->status = st;
    ws->source_failed = source_failed;
    parked = std::move(ws->parked);
  }
  if (source_failed) {
    // The request cannot be completed: the server sees it cut short, and our reader (which
    // reports ws->status) wakes up at once instead of waiting for an answer.
    ::shutdown(conn->io().raw_fd(), SHUT_RDWR);
    co_return;
  }
  if (parked != nullptr && st.ok()) {
    std::shared_ptr<ConnPool> p = pool.lock();
    if (p != nullptr) p->checkin(std::move(parked));
  }
}

// Parses what `c` has buffered from `pos` on. With nothing buffered the parser still runs: an
// event may be owed without new bytes (the end of a message right after its head or its last
// body byte); the base must then be non-null.
Parser::Step parse_buffered(Parser& parser, io::BytesMut& buf, std::size_t pos) {
  static constexpr char kNoBytes[1] = {};
  const char* base = buf.size() > 0 ? buf.data() : kNoBytes;
  return parser.execute(base, pos, buf.size());
}

absl::Status parse_error(const Parser& p) {
  const ParseError& e = p.error();
  if (e.status == StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE) {
    return absl::ResourceExhaustedError(absl::StrCat("response head too large: ", e.message));
  }
  return absl::InternalError(absl::StrCat("malformed HTTP/1 response: ", e.message));
}

}  // namespace

// ---- ClientConn ----

ClientConn::ClientConn(net::TcpStream stream, Limits limits, std::string pool_key)
    : io_(std::move(stream)), parser_(Parser::Kind::kResponse, limits), key_(std::move(pool_key)) {}

bool ClientConn::peer_gone() const {
  char c;
  ssize_t n = ::recv(io_.raw_fd(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
  return true;  // 0: the peer closed; > 0: bytes before any request
}

Task<absl::StatusOr<std::size_t>> ClientConn::read_more(std::size_t want) {
  if (buf_.capacity() - buf_.size() < want / 4) buf_.reserve(want);
  absl::StatusOr<std::size_t> n = co_await io_.read(buf_.spare_capacity());
  if (n.ok()) buf_.commit(*n);
  co_return n;
}

// ---- Exchange ----

Exchange::Exchange(std::shared_ptr<ClientConn> conn, std::weak_ptr<ConnPool> pool, bool reused)
    : conn_(std::move(conn)), pool_(std::move(pool)), reused_(reused) {}

Exchange::~Exchange() { release(false); }

void Exchange::release(bool reusable) {
  if (released_) return;
  released_ = true;
  std::shared_ptr<ClientConn> conn = std::move(conn_);
  if (ws_ != nullptr) {
    std::unique_lock<std::mutex> lock(ws_->mu);
    if (!ws_->done) {
      if (reusable) {
        // The writer finishes the exchange: detach it.
        ws_->parked = std::move(conn);
        lock.unlock();
        writer_ = JoinHandle<void>();
        return;
      }
      lock.unlock();
      writer_.abort();  // its frame holds the last reference: the socket closes with it
      return;
    }
    reusable = reusable && ws_->status.ok();
  }
  if (!reusable || conn == nullptr) return;
  std::shared_ptr<ConnPool> pool = pool_.lock();
  if (pool != nullptr) pool->checkin(std::move(conn));
}

absl::Status Exchange::fail(absl::Status st) {
  error_ = st;
  release(false);
  return st;
}

void Exchange::on_complete(bool reusable) {
  ClientConn& c = *conn_;
  ++c.completed_;
  // Bytes after the response: the server sent something nobody asked for.
  const bool leftover = c.pos_ != c.buf_.size();
  if (!leftover) {
    c.buf_.clear();
    c.pos_ = 0;
  }
  release(reusable && !leftover);
}

absl::Status Exchange::closed_error(const char* when, const absl::Status& io) {
  if (ws_ != nullptr) {
    std::lock_guard<std::mutex> lock(ws_->mu);
    if (ws_->done && ws_->source_failed) {
      return absl::Status(ws_->status.code(),
                          absl::StrCat("request body failed: ", ws_->status.message()));
    }
  }
  if (io.ok()) return absl::UnavailableError(absl::StrCat("connection closed ", when));
  return absl::Status(io.code(), absl::StrCat("connection failed ", when, ": ", io.message()));
}

bool Exchange::retryable(const Outgoing& out) const {
  if (!reused_ || received_any_ || !closed_early_ || stream_taken_) return false;
  return out.idempotent || written_ == 0;
}

Task<absl::Status> Exchange::send(Outgoing* out) {
  head_request_ = out->head_request;
  const bool inline_body = !out->stream.has_value() && out->full.size() <= kInlineBodyLimit;
  iovec iov[2] = {{out->head.data(), out->head.size()},
                  {inline_body ? const_cast<char*>(out->full.data()) : nullptr,
                   inline_body ? out->full.size() : 0}};
  Task<absl::Status> w = write_all_iov(&conn_->io_, iov, 2, &written_);
  absl::Status st = co_await std::move(w);
  if (!st.ok()) {
    closed_early_ = true;
    co_return fail(absl::Status(st.code(), absl::StrCat("sending the request: ", st.message())));
  }
  if (!inline_body) {
    Body body;
    if (out->stream.has_value()) {
      body = std::move(*out->stream);
      out->stream.reset();
      stream_taken_ = true;
    } else {
      body = Body::full(out->full);  // shares the bytes: `out` can still replay them
    }
    ws_ = std::make_shared<WriterShared>();
    writer_ = weft::spawn(run_body_writer(conn_, std::move(body), out->framing, ws_, pool_));
  }
  co_return absl::OkStatus();
}

Task<absl::StatusOr<std::size_t>> Exchange::read_some(std::size_t want) {
  Task<absl::StatusOr<std::size_t>> read = conn_->read_more(want);
  if (!deadline_.has_value()) {
    absl::StatusOr<std::size_t> n = co_await std::move(read);
    co_return n;
  }
  Task<absl::StatusOr<std::size_t>> guarded = time::timeout_at(*deadline_, std::move(read));
  absl::StatusOr<std::size_t> n = co_await std::move(guarded);
  if (!n.ok() && absl::IsDeadlineExceeded(n.status()) && time::Clock::now() >= *deadline_) {
    co_return absl::DeadlineExceededError(deadline_what_);
  }
  co_return n;
}

Task<absl::StatusOr<ResponseHead>> Exchange::read_head() {
  if (!error_.ok()) co_return error_;
  ClientConn& c = *conn_;
  c.parser_.set_response_has_no_body(head_request_);
  for (;;) {
    // Parse even without new bytes: an event may be pending (the end of an interim response).
    Parser::Step st = parse_buffered(c.parser_, c.buf_, c.pos_);
    c.pos_ = st.consumed;
    if (st.event == Parser::Event::kHead) {
      ResponseHead head = c.parser_.take_response_head(c.buf_.data());
      if (c.parser_.head_error()) {
        co_return fail(absl::InternalError(
            absl::StrCat("malformed HTTP/1 response head: ", c.parser_.error().message)));
      }
      const uint16_t code = head.status.as_u16();
      if (code >= 100 && code < 200 && code != 101) continue;  // interim (100 Continue, 103)
      keep_alive_ = head.framing.keep_alive && !head.framing.upgrade && code != 101;
      const bool empty_length =
          !head.framing.chunked && head.framing.content_length.value_or(1) == 0;
      no_body_ = head_request_ || code < 200 || code == 204 || code == 304 || empty_length;
      length_known_ =
          no_body_ || (head.framing.content_length.has_value() && !head.framing.chunked);
      body_left_ = no_body_ ? 0 : head.framing.content_length.value_or(0);
      if (code == 101) {
        release(false);  // protocol upgrades are not supported: the connection is dropped
      } else if (no_body_) {
        (void)finish_from_buffer();  // the message ends with its head
      }
      co_return head;
    }
    if (st.event == Parser::Event::kMessageComplete) {  // the end of an interim response
      if (c.pos_ == c.buf_.size()) {
        c.buf_.clear();
        c.pos_ = 0;
      }
      continue;
    }
    if (st.event != Parser::Event::kNeedMore) co_return fail(parse_error(c.parser_));
    Task<absl::StatusOr<std::size_t>> read = read_some(kHeadRead);
    absl::StatusOr<std::size_t> n = co_await std::move(read);
    if (!n.ok()) {
      if (absl::IsDeadlineExceeded(n.status())) co_return fail(n.status());
      if (!received_any_) closed_early_ = true;
      co_return fail(closed_error("before the response head", n.status()));
    }
    if (*n == 0) {
      if (!received_any_) closed_early_ = true;
      co_return fail(
          closed_error(received_any_ ? "inside the response head" : "before the response head",
                       absl::OkStatus()));
    }
    received_any_ = true;
  }
}

bool Exchange::finish_from_buffer() {
  if (released_) return error_.ok();
  ClientConn& c = *conn_;
  for (;;) {
    Parser::Step st = parse_buffered(c.parser_, c.buf_, c.pos_);
    c.pos_ = st.consumed;
    switch (st.event) {
      case Parser::Event::kData:
        if (length_known_) body_left_ -= st.data_end - st.data_begin;
        continue;
      case Parser::Event::kMessageComplete:
        (void)c.parser_.take_trailers();
        on_complete(keep_alive_);
        return true;
      case Parser::Event::kNeedMore:
        if (c.pos_ == c.buf_.size()) {  // the body bytes were discarded
          c.buf_.clear();
          c.pos_ = 0;
        }
        return false;
      default:
        (void)fail(parse_error(c.parser_));
        return false;
    }
  }
}

std::optional<uint64_t> Exchange::body_remaining() const {
  if (released_ && error_.ok()) return 0;
  if (length_known_) return body_left_;
  return std::nullopt;
}

Task<absl::StatusOr<std::optional<Frame>>> Exchange::next_frame() {
  if (!error_.ok()) co_return error_;
  if (released_) co_return std::optional<Frame>();
  ClientConn& c = *conn_;
  for (;;) {
    Parser::Step st = parse_buffered(c.parser_, c.buf_, c.pos_);
    c.pos_ = st.consumed;
    if (st.event == Parser::Event::kData) {
      // Hand the bytes out without copying: split them (and the framing before them) off the
      // buffer, which goes on reading into the rest of its block.
      io::Bytes front = c.buf_.split_to(st.data_end).freeze();
      c.pos_ -= st.data_end;
      io::Bytes data = front.slice(st.data_begin, st.data_end);
      if (length_known_) body_left_ -= data.size();
      co_return std::optional<Frame>(Frame::of_data(std::move(data)));
    }
    if (st.event == Parser::Event::kMessageComplete) {
      HeaderMap trailers = c.parser_.take_trailers();
      on_complete(keep_alive_);  // `c` may belong to another exchange from here on
      if (!trailers.empty())
        co_return std::optional<Frame>(Frame::of_trailers(std::move(trailers)));
      co_return std::optional<Frame>();
    }
    if (st.event != Parser::Event::kNeedMore) co_return fail(parse_error(c.parser_));
    if (c.pos_ == c.buf_.size()) {
      c.buf_.clear();
      c.pos_ = 0;
    }
    Task<absl::StatusOr<std::size_t>> read = read_some(kBodyRead);
    absl::StatusOr<std::size_t> n = co_await std::move(read);
    if (!n.ok()) {
      if (absl::IsDeadlineExceeded(n.status())) co_return fail(n.status());
      co_return fail(closed_error("before the response body ended", n.status()));
    }
    if (*n == 0) {
      Parser::Step end = c.parser_.finish();
      if (end.event == Parser::Event::kMessageComplete) {  // a body delimited by the close
        on_complete(false);
        co_return std::optional<Frame>();
      }
      co_return fail(closed_error("before the response body ended", absl::OkStatus()));
    }
  }
}

// ---- the response body ----

namespace {

Task<void> drain_loop(Exchange* ex) {
  for (;;) {
    Task<absl::StatusOr<std::optional<Frame>>> next = ex->next_frame();
    absl::StatusOr<std::optional<Frame>> f = co_await std::move(next);
    if (!f.ok() || !f->has_value()) co_return;
  }
}

// Reads the rest of a dropped body so that the exchange finishes and the connection is reused.
Task<void> drain_rest(std::unique_ptr<Exchange> ex) {
  Task<void> drain = drain_loop(ex.get());
  Task<absl::Status> bounded = time::timeout(kDrainTimeout, std::move(drain));
  (void)co_await std::move(bounded);
}  // not finished: ~Exchange closes the connection

class ResponseBody final : public BodySource {
 public:
  explicit ResponseBody(std::unique_ptr<Exchange> ex) : ex_(std::move(ex)) {}
  ~ResponseBody() override {
    if (ex_->finished()) return;
    if (ex_->finish_from_buffer()) return;
    const std::optional<uint64_t> left = ex_->body_remaining();
    if (ex_->healthy() && left.has_value() && *left <= kDrainLimit && Handle::in_runtime()) {
      weft::spawn(drain_rest(std::move(ex_)));
    }
  }

  Task<absl::StatusOr<std::optional<Frame>>> next_frame() override { return ex_->next_frame(); }
  std::optional<uint64_t> size_hint() const override { return ex_->body_remaining(); }
  bool is_end_stream() const override { return ex_->finished() && ex_->body_remaining() == 0; }

 private:
  std::unique_ptr<Exchange> ex_;
};

}  // namespace

std::shared_ptr<BodySource> response_body(std::unique_ptr<Exchange> ex) {
  return std::make_shared<ResponseBody>(std::move(ex));
}

}  // namespace weft::http::proto::h1
