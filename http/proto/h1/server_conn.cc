#include "weft/http/proto/h1/server_conn.h"

#include <sys/uio.h>
#include <time.h>

#include <array>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "weft/http/detail/chars.h"
#include "weft/http/proto/h1/encode.h"
#include "weft/http/upgrade.h"
#include "weft/runtime/io/bytes.h"
#include "weft/runtime/time/sleep.h"
#include "weft/runtime/time/timeout.h"

namespace weft::http::proto::h1 {

int64_t coarse_now_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

namespace {

// Bytes asked of one read: a head rarely needs more than one 4 KiB read; a body streams in
// 16 KiB frames (fewer syscalls per MiB, still little memory per connection).
constexpr std::size_t kHeadRead = 4 * 1024;
constexpr std::size_t kBodyRead = 16 * 1024;
// Full response bodies up to this size are copied behind the head: one write() instead of a
// writev() of two buffers (a copy of a few KiB costs less than the extra iovec handling).
constexpr std::size_t kInlineBody = 8 * 1024;

// A full body copied behind its head (encode_response), so nothing is left to write after it.
bool copied_with_head(const Body& body) {
  return body.is_full() && body.full_bytes().size() <= kInlineBody;
}
// Pipelined answers are held back (one write for several) up to this many bytes.
constexpr std::size_t kMaxHeldBack = 64 * 1024;
// A request body the handler left unread is read and discarded, to keep the connection, up to
// this size; a larger rest is cheaper to drop with the connection.
constexpr std::size_t kDrainLimit = 256 * 1024;

// `token` (lowercase) in a comma-separated header value, ignoring ASCII case and the spaces
// around items: "close" in "keep-alive, Close".
bool has_token(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    std::size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (http::detail::equals_lowercase(token, item)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

bool has_body(const RequestHead& h) {
  return h.framing.chunked || h.framing.content_length.value_or(0) > 0;
}

class Conn final : public BodySource, public std::enable_shared_from_this<Conn> {
 public:
  Conn(net::TcpStream s, const http::detail::ErasedService& svc, ConnControl& ctl,
       const ConnConfig& cfg)
      : io_(std::move(s)),
        svc_(svc),
        ctl_(ctl),
        cfg_(cfg),
        parser_(Parser::Kind::kRequest, cfg.limits) {}

  Task<void> run();

  // BodySource: the current request's body, read off the socket as it is asked for.
  Task<absl::StatusOr<std::optional<Frame>>> next_frame() override;
  std::optional<uint64_t> size_hint() const override {
    if (body_done_) return 0;
    if (body_length_known_) return body_left_;
    return std::nullopt;
  }
  bool is_end_stream() const override { return body_done_; }

 private:
  enum class Read : uint8_t { kData, kEof, kError };
  // How reading a head ended: a request to serve, a bad one (answered with the parser's error),
  // the header read timeout (408), or nothing more to do (closed, or the client left).
  enum class Head : uint8_t { kRequest, kBad, kTimedOut, kClose };
  Head take_head(const char* base, std::size_t& at, std::size_t end);
  // Answering a request: call_service builds it from head_ and calls the service; settle makes
  // the result final (an error becomes its response; keep-alive and a protocol switch decided)
  // and says whether answer_at_once can finish it without waiting (a small full body,
  // keep-alive, the request body consumed). Everything else goes through answer's frame, which
  // also awaits a service that did not answer at once (`pending`).
  using Result = absl::StatusOr<Response<Body>>;
  tower::detail::Eager<Result> call_service();
  bool settle();
  void answer_at_once();
  Task<bool> answer(Task<Result> pending);
  Task<Read> read_more(std::size_t want);
  Task<absl::Status> write_iov(const iovec* iov, int n);
  Task<absl::Status> flush();
  // Writes out_ without waiting; false when something is left (then co_await flush()).
  bool try_flush();
  // Encodes the head (and a small full body) into out_; true when a body remains to be written
  // by write_body. Clears keep_alive when the framing needs the close (a body delimited by it).
  bool encode_response(Response<Body>& resp, bool head_request, Version peer, bool& keep_alive,
                       BodyFraming& framing);
  Task<absl::Status> write_body(Response<Body>& resp, BodyFraming framing);
  Task<void> reject(StatusCode status, std::string_view message);
  Task<void> linger();
  Task<bool> drain_body();
  bool draining() const {
    return cfg_.draining != nullptr && cfg_.draining->load(std::memory_order_seq_cst);
  }

  net::TcpStream io_;
  const http::detail::ErasedService& svc_;
  ConnControl& ctl_;
  const ConnConfig& cfg_;
  Parser parser_;
  io::BytesMut buf_;
  std::size_t pos_ = 0;                      // parse position in buf_; bytes before it are consumed
  std::string out_;                          // response bytes not yet written
  std::size_t head_at_ = std::string::npos;  // where the response being written starts in out_
  // The current request's body.
  uint64_t served_ = 0;  // requests read on this connection
  RequestHead head_;     // the request read, until call_service takes it
  // The answer in progress (see call_service).
  struct Exchange {
    Result resp{absl::CancelledError()};                     // none: dropped once written
    std::optional<sync::oneshot::Sender<Upgraded>> upgrade;  // the request may switch protocols
    Version peer = Version::kHttp11;
    bool head_request = false;
    bool keep_alive = false;
    bool switching = false;  // the service agreed to the switch (101)
    // Drops the response (its body may hold the request's, and with it this connection).
    void drop_response() { resp = absl::CancelledError(); }
  } ex_;
  bool upgrade_requested_ = false;  // head_ asks to switch protocols (llhttp paused for it)
  bool body_done_ = true;
  bool body_error_ = false;
  bool expect_continue_ = false;  // "100 Continue" owed before the first body read
  bool body_length_known_ = false;
  uint64_t body_left_ = 0;
};

Task<Conn::Read> Conn::read_more(std::size_t want) {
  if (buf_.capacity() - buf_.size() < want / 4) buf_.reserve(want);
  absl::StatusOr<std::size_t> n = co_await io_.read(buf_.spare_capacity());
  if (!n.ok()) co_return Read::kError;
  if (*n == 0) co_return Read::kEof;
  buf_.commit(*n);
  co_return Read::kData;
}

Task<absl::Status> Conn::write_iov(const iovec* iov_in, int n) {
  iovec iov[4];
  for (int i = 0; i < n; ++i) iov[i] = iov_in[i];
  int first = 0;
  while (first < n) {
    absl::StatusOr<std::size_t> w =
        co_await io_.writev(std::span<const iovec>(iov + first, n - first));
    if (!w.ok()) co_return w.status();
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

Task<absl::Status> Conn::flush() {
  std::size_t at = 0;
  while (at < out_.size()) {
    absl::StatusOr<std::size_t> w =
        co_await io_.write(std::span<const char>(out_.data() + at, out_.size() - at));
    if (!w.ok()) {
      out_.clear();
      co_return w.status();
    }
    at += *w;
  }
  out_.clear();
  co_return absl::OkStatus();
}

bool Conn::try_flush() {
  while (!out_.empty()) {
    absl::StatusOr<std::size_t> w = io_.try_write(std::span<const char>(out_));
    if (!w.ok()) return false;  // would block, or an error flush() will report
    if (*w == out_.size()) {
      out_.clear();
      return true;
    }
    out_.erase(0, *w);
  }
  return true;
}

Task<void> Conn::reject(StatusCode status, std::string_view message) {
  HeaderMap h;
  h.append(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
  std::string body(status.canonical_reason());
  body.append(": ").append(message).append("\n");
  encode_response_head(out_, status, h, BodyFraming::of_length(body.size()), false);
  out_.append(body);
  absl::Status st = co_await flush();
  if (!st.ok()) co_return;
  co_await linger();
}

// Lingering close: half-close, then discard what the client still sends for a moment, so that
// closing with unread bytes does not reset the connection before the answer is read.
Task<void> Conn::linger() {
  (void)io_.shutdown_write();
  auto discard = [](Conn* self) -> Task<void> {
    char scratch[4096];
    std::size_t total = 0;
    while (total < kDrainLimit) {
      absl::StatusOr<std::size_t> n = co_await self->io_.read(std::span<char>(scratch));
      if (!n.ok() || *n == 0) co_return;
      total += *n;
    }
  };
  Task<void> d = discard(this);
  auto bounded = time::timeout(std::chrono::milliseconds(500), std::move(d));
  (void)co_await std::move(bounded);
}

Task<absl::StatusOr<std::optional<Frame>>> Conn::next_frame() {
  if (body_done_) co_return std::optional<Frame>();
  if (body_error_) co_return absl::FailedPreconditionError("request body already failed");
  if (expect_continue_) {
    expect_continue_ = false;
    // Before the final response's head if that is already encoded (the handler answers with
    // a body that reads this one, as an echo does).
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    out_.insert(head_at_ == std::string::npos ? out_.size() : head_at_, kContinue);
    absl::Status st = co_await flush();
    if (!st.ok()) {
      body_error_ = true;
      co_return st;
    }
  }
  for (;;) {
    // Once a Content-Length body's last byte is out, the parser still owes the message's end,
    // which needs no more input: ask for it rather than wait for bytes that will not come.
    const bool end_owed = body_length_known_ && body_left_ == 0;
    if (pos_ < buf_.size() || end_owed) {
      static constexpr char kNoBytes[1] = {};
      const char* base = buf_.size() > 0 ? buf_.data() : kNoBytes;
      Parser::Step st = parser_.execute(base, pos_, buf_.size());
      pos_ = st.consumed;
      if (st.event == Parser::Event::kData) {
        // Hand the bytes out without copying: split them (and the framing before them) off
        // the buffer, which goes on reading into the rest of its block.
        io::Bytes front = buf_.split_to(st.data_end).freeze();
        pos_ -= st.data_end;
        io::Bytes data = front.slice(st.data_begin, st.data_end);
        if (body_length_known_) body_left_ -= data.size();
        co_return std::optional<Frame>(Frame::of_data(std::move(data)));
      }
      if (st.event == Parser::Event::kMessageComplete) {
        body_done_ = true;
        HeaderMap trailers = parser_.take_trailers();
        if (!trailers.empty())
          co_return std::optional<Frame>(Frame::of_trailers(std::move(trailers)));
        co_return std::optional<Frame>();
      }
      if (st.event != Parser::Event::kNeedMore) {
        body_error_ = true;
        co_return absl::InvalidArgumentError(
            absl::StrCat("malformed request body: ", parser_.error().message));
      }
    }
    if (pos_ == buf_.size()) {
      buf_.clear();
      pos_ = 0;
    }
    Read r = co_await read_more(kBodyRead);
    if (r != Read::kData) {
      body_error_ = true;
      co_return absl::UnavailableError("connection closed before the request body ended");
    }
  }
}

Task<bool> Conn::drain_body() {
  if (expect_continue_) co_return false;  // the client has not sent it: closing is cheaper
  std::size_t total = 0;
  while (!body_done_) {
    absl::StatusOr<std::optional<Frame>> f = co_await next_frame();
    if (!f.ok()) co_return false;
    if (!f->has_value()) break;
    total += (*f)->data.size();
    if (total > kDrainLimit) co_return false;
  }
  co_return true;
}

bool Conn::encode_response(Response<Body>& resp, bool head_request, Version peer, bool& keep_alive,
                           BodyFraming& framing) {
  const uint16_t code = resp.status().as_u16();
  const bool bodiless_status = code < 200 || code == 204 || code == 304;
  Body& body = resp.body();
  const std::optional<uint64_t> hint = body.size_hint();
  if (bodiless_status) {
    framing = BodyFraming::none();
  } else if (hint.has_value()) {
    framing = BodyFraming::of_length(*hint);
  } else if (head_request) {
    framing = BodyFraming::none();
  } else if (peer == Version::kHttp11) {
    framing = BodyFraming::chunked();
  } else {
    framing = BodyFraming::close_delimited();
    keep_alive = false;  // the body ends where the connection does
  }
  head_at_ = out_.size();
  encode_response_head(out_, resp.status(), resp.headers(), framing, keep_alive, peer);
  if (head_request || bodiless_status || body.is_end_stream()) return false;
  if (copied_with_head(body)) {
    out_.append(body.full_bytes().as_string_view());
    return false;
  }
  return true;
}

// A large full body, or a streamed one, after the head encode_response left in out_.
Task<absl::Status> Conn::write_body(Response<Body>& resp, BodyFraming framing) {
  struct ClearHeadAt {
    std::size_t& at;
    ~ClearHeadAt() { at = std::string::npos; }
  } clear_head_at{head_at_};
  Body& body = resp.body();
  if (body.is_full()) {
    const io::Bytes& b = body.full_bytes();
    iovec iov[2] = {{out_.data(), out_.size()}, {const_cast<char*>(b.data()), b.size()}};
    absl::Status st = co_await write_iov(iov, 2);
    out_.clear();
    co_return st;
  }

  // Streamed: each frame goes out as it comes (a stream's reader expects it promptly).
  const bool chunked = framing.kind == BodyFraming::Kind::kChunked;
  uint64_t sent = 0;
  std::optional<HeaderMap> trailers;
  for (;;) {
    absl::StatusOr<std::optional<Frame>> f = co_await body.frame();
    if (!f.ok()) {
      // The request's own body is malformed (an echo reads it) and nothing of this answer has
      // gone out (its head waits in out_ for the first frame): the client gets the 400 for
      // its body, not a cut connection.
      if (body_error_ && absl::IsInvalidArgument(f.status()) && head_at_ != std::string::npos &&
          out_.size() > head_at_) {
        out_.resize(head_at_);
        co_await reject(parser_.error().status, parser_.error().message);
      }
      co_return f.status();  // a cut body: the caller closes without ending it
    }
    if (!f->has_value()) break;
    Frame& fr = **f;
    if (!fr.is_data()) {
      trailers = std::move(fr.trailers);
      break;
    }
    if (fr.data.empty()) continue;
    sent += fr.data.size();
    if (framing.kind == BodyFraming::Kind::kLength && sent > framing.length) {
      co_return absl::InternalError("response body longer than its size hint");
    }
    if (chunked) append_chunk_header(out_, fr.data.size());
    static constexpr char kCrlf[] = "\r\n";
    iovec iov[3] = {{out_.data(), out_.size()},
                    {const_cast<char*>(fr.data.data()), fr.data.size()},
                    {const_cast<char*>(kCrlf), 2}};
    absl::Status st = co_await write_iov(iov, chunked ? 3 : 2);
    out_.clear();
    if (!st.ok()) co_return st;
  }
  if (framing.kind == BodyFraming::Kind::kLength && sent != framing.length) {
    co_return absl::InternalError("response body shorter than its size hint");
  }
  if (chunked) append_last_chunk(out_, trailers ? &*trailers : nullptr);
  co_return absl::OkStatus();
}

// The thread's scratch buffer for request heads: an idle connection holds no read buffer, and
// a request that arrives whole in one read (the common case) is parsed straight out of here.
// Only used between a readiness wake-up and the end of the parse, with no suspension between,
// so one buffer per thread serves every connection on it.
std::span<char> head_scratch() {
  thread_local std::array<char, 16 * 1024> scratch;
  return std::span<char>(scratch);
}

// Takes the parsed head out of the parser (its bytes are at `base`), and the end of a
// body-less message with it: `at` moves past what that consumed, up to `end`.
Conn::Head Conn::take_head(const char* base, std::size_t& at, std::size_t end) {
  if (!ctl_.enter(ConnControl::kBusy)) {
    return ctl_.phase.load() == ConnControl::kTimedOut ? Head::kTimedOut : Head::kClose;
  }
  ++served_;
  upgrade_requested_ = false;
  head_ = parser_.take_request_head(base, std::move(head_.headers));
  if (parser_.head_error()) return Head::kBad;
  body_done_ = !has_body(head_);
  if (body_done_) {
    // The parser reports the end of a body-less message separately: take it now, so the
    // connection counts as between messages (its buffer can be reused) once answered.
    Parser::Step st = parser_.execute(base, at, end);
    at = st.consumed;
    if (st.event == Parser::Event::kUpgrade) {
      upgrade_requested_ = true;
      head_.framing.keep_alive = false;
    }
  }
  return Head::kRequest;
}

tower::detail::Eager<Conn::Result> Conn::call_service() {
  body_error_ = false;
  expect_continue_ = head_.expect_continue && !body_done_;
  body_length_known_ = head_.framing.content_length.has_value();
  body_left_ = head_.framing.content_length.value_or(0);
  ex_.head_request = head_.method == Method::HEAD;
  ex_.peer = head_.version;
  ex_.keep_alive = head_.framing.keep_alive && !head_.framing.upgrade;

  Request<Body> req(body_done_ ? Body() : Body::from_source(shared_from_this()));
  req.method() = std::move(head_.method);
  req.uri() = std::move(head_.uri);
  req.version() = head_.version;
  // A swap: head_ keeps the fresh request's (pooled, cleared) header vector for the next parse,
  // so neither side allocates in steady state (http/request.h).
  std::swap(req.headers(), head_.headers);

  // An upgrade request gets a handle to the connection (http/upgrade.h).
  ex_.upgrade.reset();
  if (upgrade_requested_) {
    auto [tx, rx] = sync::oneshot::channel<Upgraded>();
    ex_.upgrade.emplace(std::move(tx));
    req.extensions().insert(OnUpgrade(std::move(rx)));
  }
  try {
    return svc_.call(std::move(req));
  } catch (...) {
    return tower::detail::ReadyValue<Result>(absl::InternalError("handler threw"));
  }
}

bool Conn::settle() {
  absl::StatusOr<Response<Body>>& resp = ex_.resp;
  if (!resp.ok()) {
    StatusCode code = from_status(resp.status());
    Response<Body> err(code, Body(std::string(code.canonical_reason()) + "\n"));
    err.headers().append(header::CONTENT_TYPE,
                         HeaderValue::from_static("text/plain; charset=utf-8"));
    resp = std::move(err);
  }
  bool& keep_alive = ex_.keep_alive;
  // A malformed or cut request body leaves the connection unusable: say so.
  if (draining() || body_error_) keep_alive = false;
  // A body the client will only send after "100 Continue" is not drained: close instead.
  if (!body_done_ && expect_continue_ && !resp->body().is_stream()) keep_alive = false;
  // The handler may close the connection itself ("connection: close" on its answer).
  if (const HeaderValue* c = resp->headers().get(header::CONNECTION);
      c != nullptr && has_token(c->as_str(), "close")) {
    keep_alive = false;
  }
  ex_.switching = ex_.upgrade.has_value() && resp->status() == StatusCode::SWITCHING_PROTOCOLS;
  if (ex_.switching) {
    // The new protocol starts right after this head: no body, and the connection is handed on.
    resp->body() = Body();
    keep_alive = true;
    return false;
  }
  const Body& body = resp->body();
  return keep_alive && body_done_ && (body.is_end_stream() || copied_with_head(body));
}

void Conn::answer_at_once() {
  BodyFraming framing;
  (void)encode_response(*ex_.resp, ex_.head_request, ex_.peer, ex_.keep_alive, framing);
  head_at_ = std::string::npos;
  ex_.drop_response();
}

Task<bool> Conn::answer(Task<Result> pending) {
  if (pending.valid()) {
    try {
      // The finished task goes at once: its frame may hold the request (and its body).
      Task<Result> call = std::move(pending);
      ex_.resp = co_await std::move(call);
    } catch (...) {
      ex_.resp = absl::InternalError("handler threw");
    }
    if (settle()) {
      answer_at_once();
      co_return true;
    }
  }
  bool& keep_alive = ex_.keep_alive;
  BodyFraming framing;
  absl::Status st;
  if (encode_response(*ex_.resp, ex_.head_request, ex_.peer, keep_alive, framing)) {
    Task<absl::Status> body = write_body(*ex_.resp, framing);
    st = co_await std::move(body);
  }
  head_at_ = std::string::npos;
  ex_.drop_response();
  if (!st.ok()) co_return false;
  if (ex_.switching) {
    if (!try_flush()) {
      absl::Status fl = co_await flush();
      if (!fl.ok()) co_return false;
    }
    io::Bytes rest = buf_.split().freeze();
    io::Bytes ahead = rest.slice(pos_, rest.size());
    (void)ex_.upgrade->send(Upgraded{std::move(io_), std::move(ahead)});
    co_return false;
  }
  const bool unread_body = !body_done_;
  if (unread_body) {
    // Unread request body: discard it to keep the connection, unless the connection closes
    // anyway or someone else still holds the body.
    if (keep_alive && weak_from_this().use_count() == 1) {
      bool drained = co_await drain_body();
      if (!drained) keep_alive = false;
    } else {
      keep_alive = false;
    }
  }
  if (!keep_alive) {
    // The answer still goes out (it may be held back in out_), then the close.
    absl::Status fl = co_await flush();
    if (!fl.ok()) co_return false;
    if (unread_body && !body_error_ && weak_from_this().use_count() == 1) {
      co_await linger();
    } else {
      (void)io_.shutdown_write();
    }
    co_return false;
  }
  co_return true;
}

// Reads a head and answers it. A service that answers at once with a small body costs no
// coroutine frame at all; anything that waits runs in answer's frame, which exists only while
// that request is served: an idle connection keeps just this frame and the Conn.
Task<void> Conn::run() {
  for (;;) {
    Head h = Head::kClose;
    for (;;) {
      if (pos_ < buf_.size()) {
        Parser::Step st = parser_.execute(buf_.data(), pos_, buf_.size());
        pos_ = st.consumed;
        if (st.event == Parser::Event::kHead) {
          h = take_head(buf_.data(), pos_, buf_.size());
          break;
        }
        if (st.event == Parser::Event::kError) {
          h = Head::kBad;
          break;
        }
        if (st.event != Parser::Event::kNeedMore) continue;
      }
      const bool idle = parser_.between_messages();
      if (idle) {
        buf_.clear();
        pos_ = 0;
      }
      if (!try_flush()) {
        absl::Status st = co_await flush();
        if (!st.ok()) co_return;
      }
      // Between requests the keep-alive timeout applies; inside a head, or before the first
      // request of a connection, the header read timeout.
      const bool waiting_idle = idle && served_ > 0;
      if (!ctl_.enter(waiting_idle ? ConnControl::kIdle : ConnControl::kHead)) co_return;
      if (waiting_idle && draining()) co_return;
      Read r = Read::kData;
      if (idle) {
        // Nothing buffered: wait without a buffer, then parse from the thread's scratch.
        (void)co_await io_.readable();
        std::span<char> scratch = head_scratch();
        absl::StatusOr<std::size_t> n = io_.try_read(scratch);
        if (absl::IsUnavailable(n.status())) continue;  // a spurious wake-up
        if (!n.ok() || *n == 0) {
          r = n.ok() ? Read::kEof : Read::kError;
        } else {
          Parser::Step st = parser_.execute(scratch.data(), 0, *n);
          if (st.event == Parser::Event::kHead) {
            std::size_t at = st.consumed;
            h = take_head(scratch.data(), at, *n);
            // What follows the head (a body, pipelined requests) moves to the connection's
            // buffer: the scratch is the thread's, not ours, after the next suspension.
            if (h == Head::kRequest && at < *n) {
              buf_.append(std::span<const char>(scratch.data() + at, *n - at));
            }
            pos_ = 0;
            break;
          }
          if (st.event == Parser::Event::kError) {
            h = Head::kBad;
            break;
          }
          // A partial head: keep its bytes at the same offsets (the parser's spans point there).
          buf_.append(std::span<const char>(scratch.data(), *n));
          pos_ = st.consumed;
          continue;
        }
      } else {
        r = co_await read_more(kHeadRead);
      }
      if (r != Read::kData) {
        const bool timed_out = !waiting_idle && ctl_.phase.load() == ConnControl::kTimedOut;
        h = timed_out ? Head::kTimedOut : Head::kClose;
        break;
      }
    }
    if (h == Head::kBad) {
      co_await reject(parser_.error().status, parser_.error().message);
      co_return;
    }
    if (h == Head::kTimedOut) {
      co_await reject(StatusCode::REQUEST_TIMEOUT, "request head not received in time");
      co_return;
    }
    if (h != Head::kRequest) co_return;
    if (head_.expect_other) {
      co_await reject(StatusCode::EXPECTATION_FAILED, "only 100-continue is supported");
      co_return;
    }
    tower::detail::Eager<Result> call = call_service();
    const bool answered = call.index() == 0;  // the service answered at once
    if (answered) ex_.resp = call.await_resume();
    if (answered && settle()) {
      answer_at_once();  // the common case: no frame, nothing to wait for
    } else {
      Task<bool> rest = answer(answered ? Task<Result>() : std::move(call).take_second());
      if (!co_await std::move(rest)) co_return;
    }
    // Pipelined answers are held back (the loop writes before it reads), up to a limit.
    if (out_.size() >= kMaxHeldBack && !try_flush()) {
      absl::Status st = co_await flush();
      if (!st.ok()) co_return;
    }
  }
}

}  // namespace

Task<void> serve_connection(net::TcpStream stream, const http::detail::ErasedService& svc,
                            ConnControl& ctl, const ConnConfig& cfg) {
  auto conn = std::make_shared<Conn>(std::move(stream), svc, ctl, cfg);
  struct Unregister {
    ConnControl& ctl;
    ~Unregister() {
      if (ctl.registry != nullptr) ctl.registry->remove(&ctl);
    }
  };
  {
    Unregister guard{ctl};
    Task<void> run = conn->run();
    co_await std::move(run);
  }
  // `conn` (and the socket) may live on in a request body a handler kept; it is no longer
  // registered, so the server never touches its descriptor again.
}

}  // namespace weft::http::proto::h1
