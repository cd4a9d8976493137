#include "weft/http/proto/h1/parser.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "weft/http/detail/chars.h"

namespace weft::http::proto::h1 {

namespace {
Parser* self(llhttp_t* p) { return static_cast<Parser*>(p->data); }

#if defined(WEFT_LLHTTP_SSE42)
// llhttp was compiled with -msse4.2 (third_party/llhttp.BUILD defines this macro when it is). On
// a CPU without it, say so when the program starts, not with a SIGILL at the first request.
[[maybe_unused]] const bool kCpuHasSse42 = [] {
  __builtin_cpu_init();  // needed before main
  if (!__builtin_cpu_supports("sse4.2")) {
    std::fputs(
        "weft: the HTTP/1 parser was built for x86-64 CPUs with SSE4.2 (x86-64-v2); this "
        "CPU lacks it\n",
        stderr);
    std::abort();
  }
  return true;
}();
#endif

std::string_view trim_ows(std::string_view v) {
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  return v;
}
}  // namespace

const llhttp_settings_t& Parser::settings() {
  static const llhttp_settings_t s = [] {
    llhttp_settings_t st;
    llhttp_settings_init(&st);
    st.on_message_begin = &Parser::on_message_begin;
    st.on_url = &Parser::on_url;
    st.on_header_field = &Parser::on_header_field;
    st.on_header_value = &Parser::on_header_value;
    st.on_headers_complete = &Parser::on_headers_complete;
    st.on_body = &Parser::on_body;
    st.on_message_complete = &Parser::on_message_complete;
    return st;
  }();
  return s;
}

Parser::Parser(Kind kind, Limits limits) : kind_(kind), limits_(limits) {
  llhttp_init(&llhttp_, kind == Kind::kRequest ? HTTP_REQUEST : HTTP_RESPONSE, &settings());
  llhttp_.data = this;
}

int Parser::fail(StatusCode status, std::string message) {
  error_ = ParseError{status, std::move(message)};
  return HPE_USER;
}

Parser::Step Parser::fail_step(StatusCode status, std::string message) {
  error_ = ParseError{status, std::move(message)};
  return Step{Event::kError};
}

int Parser::on_message_begin(llhttp_t* p) {
  Parser* s = self(p);
  s->in_message_ = true;
  s->url_ = Span{};
  s->fields_.clear();
  s->last_was_value_ = false;
  s->trailer_fields_.clear();
  s->trailer_name_.clear();
  s->trailer_value_.clear();
  return 0;
}

int Parser::on_url(llhttp_t* p, const char* at, std::size_t len) {
  Parser* s = self(p);
  if (s->url_.len == 0) s->url_.off = static_cast<std::size_t>(at - s->base_);
  s->url_.len += len;
  if (s->url_.len > s->limits_.max_uri_bytes) {
    return s->fail(StatusCode::URI_TOO_LONG,
                   absl::StrCat("request target longer than ", s->limits_.max_uri_bytes, " bytes"));
  }
  return 0;
}

int Parser::on_header_field(llhttp_t* p, const char* at, std::size_t len) {
  Parser* s = self(p);
  if (s->in_body_) {  // a trailer
    if (s->last_was_value_) {
      s->trailer_fields_.emplace_back(std::move(s->trailer_name_), std::move(s->trailer_value_));
      s->trailer_name_.clear();
      s->trailer_value_.clear();
      if (s->trailer_fields_.size() >= s->limits_.max_headers) {
        return s->fail(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "too many trailer fields");
      }
    }
    s->trailer_name_.append(at, len);
    if (s->trailer_name_.size() > s->limits_.max_head_bytes) {
      return s->fail(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "trailer field too large");
    }
    s->last_was_value_ = false;
    return 0;
  }
  if (s->last_was_value_ || s->fields_.empty()) {
    if (s->fields_.size() >= s->limits_.max_headers) {
      return s->fail(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                     absl::StrCat("more than ", s->limits_.max_headers, " header fields"));
    }
    s->fields_.push_back(Field{Span{static_cast<std::size_t>(at - s->base_), len}, Span{}});
  } else {
    s->fields_.back().name.len += len;
  }
  s->last_was_value_ = false;
  return 0;
}

int Parser::on_header_value(llhttp_t* p, const char* at, std::size_t len) {
  Parser* s = self(p);
  if (s->in_body_) {
    s->trailer_value_.append(at, len);
    if (s->trailer_value_.size() > s->limits_.max_head_bytes) {
      return s->fail(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "trailer field too large");
    }
    s->last_was_value_ = true;
    return 0;
  }
  Span& v = s->fields_.back().value;
  if (v.len == 0) v.off = static_cast<std::size_t>(at - s->base_);
  v.len += len;
  s->last_was_value_ = true;
  return 0;
}

int Parser::on_headers_complete(llhttp_t* p) {
  Parser* s = self(p);
  s->head_ready_ = true;
  s->in_body_ = true;
  s->last_was_value_ = false;
  // No body follows (and no pause): an answer to HEAD, and 1xx, 204 and 304, which never have
  // one (RFC 9112 6.3), even with a Transfer-Encoding (llhttp would read it until the close).
  if (s->kind_ == Kind::kResponse &&
      (s->skip_body_ || p->status_code < 200 || p->status_code == 204 || p->status_code == 304)) {
    return 1;
  }
  // A request without a body (and not an upgrade, which llhttp ends its own way): run on to
  // on_message_complete, which pauses; execute() reports kHead now and kMessageComplete on the
  // next call without entering llhttp again. Transfer-Encoding without chunked still pauses
  // here, so take_request_head answers it (llhttp would fail it after this callback).
  if (s->kind_ == Kind::kRequest && p->upgrade == 0 && p->content_length == 0 &&
      (p->flags & (F_CHUNKED | F_TRANSFER_ENCODING)) == 0) {
    return 0;
  }
  return HPE_PAUSED;
}

int Parser::on_body(llhttp_t* p, const char* at, std::size_t len) {
  // llhttp reports an open span at the end of every execute(), with no bytes when it was given
  // none: that is not a piece of body (and must not pause, or an execute() without new bytes
  // would report an empty kData forever).
  if (len == 0) return 0;
  Parser* s = self(p);
  s->data_begin_ = static_cast<std::size_t>(at - s->base_);
  s->data_end_ = s->data_begin_ + len;
  s->data_ready_ = true;
  return HPE_PAUSED;
}

int Parser::on_message_complete(llhttp_t* p) {
  Parser* s = self(p);
  if (s->last_was_value_ && s->in_body_) {
    s->trailer_fields_.emplace_back(std::move(s->trailer_name_), std::move(s->trailer_value_));
  }
  s->in_body_ = false;
  s->in_message_ = false;
  s->complete_ready_ = true;
  // An upgrade ends in HPE_PAUSED_UPGRADE right after this; pausing here would hide it.
  return p->upgrade ? 0 : HPE_PAUSED;
}

Parser::Step Parser::execute(const char* base, std::size_t begin, std::size_t end) {
  // Events raised by an earlier call, reported one at a time.
  // A head completed together with its message (a response without body): the head was
  // reported first, the completion now.
  if (complete_ready_) {
    complete_ready_ = false;
    return Step{Event::kMessageComplete, begin};
  }
  base_ = base;
  const bool in_head = in_message_ && !in_body_;
  const bool was_idle = !in_message_;
  llhttp_errno_t err = llhttp_execute(&llhttp_, base + begin, end - begin);
  std::size_t consumed = end;
  if (err == HPE_PAUSED) {
    consumed = static_cast<std::size_t>(llhttp_get_error_pos(&llhttp_) - base);
    llhttp_resume(&llhttp_);
  } else if (err == HPE_PAUSED_UPGRADE) {
    consumed = static_cast<std::size_t>(llhttp_get_error_pos(&llhttp_) - base);
    head_ready_ = false;
    complete_ready_ = false;
    return Step{Event::kUpgrade, consumed};
  } else if (err != HPE_OK) {
    if (err == HPE_USER) return Step{Event::kError, begin};
    const char* reason = llhttp_get_error_reason(&llhttp_);
    return fail_step(StatusCode::BAD_REQUEST,
                     absl::StrCat("malformed HTTP/1 message: ", reason != nullptr ? reason : "",
                                  " (", llhttp_errno_name(err), ")"));
  }
  // Head size: bytes of this head seen so far (from the call where the message began).
  if (in_head || (was_idle && (in_message_ || head_ready_))) {
    head_bytes_ += consumed - begin;
    if (head_bytes_ > limits_.max_head_bytes) {
      return fail_step(
          StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
          absl::StrCat("header section larger than ", limits_.max_head_bytes, " bytes"));
    }
  }
  if (head_ready_) {
    head_bytes_ = 0;
    head_ready_ = false;
    head_error_ = false;
    return Step{Event::kHead, consumed};
  }
  if (data_ready_) {
    data_ready_ = false;
    return Step{Event::kData, consumed, data_begin_, data_end_};
  }
  if (complete_ready_) {
    complete_ready_ = false;
    return Step{Event::kMessageComplete, consumed};
  }
  return Step{Event::kNeedMore, consumed};
}

Parser::Step Parser::finish() {
  if (!in_message_) return Step{Event::kNeedMore};
  llhttp_errno_t err = llhttp_finish(&llhttp_);
  if (err == HPE_OK && complete_ready_) {
    complete_ready_ = false;
    return Step{Event::kMessageComplete};
  }
  if (err == HPE_PAUSED && complete_ready_) {
    llhttp_resume(&llhttp_);
    complete_ready_ = false;
    return Step{Event::kMessageComplete};
  }
  return fail_step(StatusCode::BAD_REQUEST, in_body_ ? "connection closed before the body ended"
                                                     : "connection closed inside a message head");
}

absl::Status Parser::fill_headers(const char* base, HeaderMap& out) {
  out.reserve(fields_.size());
  for (const Field& f : fields_) {
    std::string_view name(base + f.name.off, f.name.len);
    std::string_view value = trim_ows(std::string_view(base + f.value.off, f.value.len));
    absl::Status st = out.append(name, value);
    if (!st.ok()) return st;
  }
  fields_.clear();
  return absl::OkStatus();
}

Framing Parser::framing() const {
  Framing f;
  f.chunked = (llhttp_.flags & F_CHUNKED) != 0;
  if ((llhttp_.flags & F_CONTENT_LENGTH) != 0) f.content_length = llhttp_.content_length;
  f.keep_alive = llhttp_should_keep_alive(&llhttp_) != 0;
  f.upgrade = llhttp_.upgrade != 0;
  // A response without length is read until EOF, except those that never have a body (1xx,
  // 204, 304, an answer to HEAD): llhttp_message_needs_eof knows them.
  if (kind_ == Kind::kResponse && !skip_body_ && llhttp_message_needs_eof(&llhttp_) != 0) {
    f.until_eof = true;
    f.keep_alive = false;
  }
  return f;
}

namespace {
Version version_of(const llhttp_t& p) {
  if (p.http_major == 1 && p.http_minor == 0) return Version::kHttp10;
  if (p.http_major == 2) return Version::kHttp2;
  return Version::kHttp11;
}
}  // namespace

template <class Head>
Head Parser::rejected(Head h, StatusCode status, std::string message) {
  error_ = ParseError{status, std::move(message)};
  h.framing.keep_alive = false;
  head_error_ = true;
  return h;
}

RequestHead Parser::take_request_head(const char* base, HeaderMap reuse) {
  RequestHead h;
  h.headers = std::move(reuse);  // its capacity: no allocation when the headers fit
  h.headers.clear();
  auto reject = [&](StatusCode status, std::string message) {
    return rejected(std::move(h), status, std::move(message));
  };
  if (llhttp_.http_major != 1) {
    return reject(StatusCode::HTTP_VERSION_NOT_SUPPORTED,
                  "only HTTP/1.0 and HTTP/1.1 are served here");
  }
  h.version = version_of(llhttp_);
  h.framing = framing();
  if (!h.framing.chunked && !h.framing.content_length.has_value()) h.framing.content_length = 0;
  auto method = static_cast<llhttp_method_t>(llhttp_.method);
  switch (method) {
    case HTTP_GET:
      h.method = Method::GET;
      break;
    case HTTP_HEAD:
      h.method = Method::HEAD;
      break;
    case HTTP_POST:
      h.method = Method::POST;
      break;
    case HTTP_PUT:
      h.method = Method::PUT;
      break;
    case HTTP_DELETE:
      h.method = Method::DELETE;
      break;
    case HTTP_PATCH:
      h.method = Method::PATCH;
      break;
    case HTTP_OPTIONS:
      h.method = Method::OPTIONS;
      break;
    case HTTP_CONNECT:
      h.method = Method::CONNECT;
      break;
    case HTTP_TRACE:
      h.method = Method::TRACE;
      break;
    default: {
      absl::StatusOr<Method> m = Method::parse(llhttp_method_name(method));
      if (m.ok()) h.method = *std::move(m);
      break;
    }
  }
  absl::StatusOr<Uri> uri = Uri::parse(std::string_view(base + url_.off, url_.len));
  if (!uri.ok()) return reject(StatusCode::BAD_REQUEST, std::string(uri.status().message()));
  h.uri = *std::move(uri);
  absl::Status st = fill_headers(base, h.headers);
  if (!st.ok()) return reject(StatusCode::BAD_REQUEST, std::string(st.message()));
  // RFC 9112 3.2: an HTTP/1.1 request carries exactly one Host (a proxy or router trusting a
  // second one is a classic confusion).
  std::size_t hosts = 0;
  for (const HeaderMap::Entry& e : h.headers) hosts += e.name == header::HOST ? 1 : 0;
  if (hosts > 1) return reject(StatusCode::BAD_REQUEST, "more than one Host header");
  if (hosts == 0 && h.version == Version::kHttp11) {
    return reject(StatusCode::BAD_REQUEST, "missing Host header");
  }
  // Transfer-Encoding (RFC 9112 6.1): the final coding of a request must be chunked (400
  // otherwise: the length cannot be known); any coding before it is one we cannot undo (501).
  if ((llhttp_.flags & F_TRANSFER_ENCODING) != 0) {
    std::vector<std::string_view> te = h.headers.get_all(header::TRANSFER_ENCODING);
    if (te.size() != 1) return reject(StatusCode::BAD_REQUEST, "more than one Transfer-Encoding");
    std::string_view codings = te[0];
    std::size_t comma = codings.rfind(',');
    std::string_view last =
        trim_ows(comma == std::string_view::npos ? codings : codings.substr(comma + 1));
    if (!http::detail::equals_lowercase("chunked", last)) {
      return reject(StatusCode::BAD_REQUEST, "the final transfer-coding must be chunked");
    }
    if (comma != std::string_view::npos) {
      return reject(StatusCode::NOT_IMPLEMENTED, "only the chunked transfer-coding is supported");
    }
  }
  if (const HeaderValue* e = h.headers.get(header::EXPECT)) {
    if (http::detail::equals_lowercase("100-continue", e->as_str())) {
      h.expect_continue = h.version == Version::kHttp11;
    } else {
      h.expect_other = true;
    }
  }
  return h;
}

ResponseHead Parser::take_response_head(const char* base) {
  ResponseHead h;
  h.version = version_of(llhttp_);
  h.status = StatusCode(static_cast<uint16_t>(llhttp_.status_code));
  h.framing = framing();
  auto reject = [&](std::string message) {
    return rejected(std::move(h), StatusCode::BAD_GATEWAY, std::move(message));
  };
  // A status is three digits (RFC 9110 15); llhttp takes "2" or "050" as 2 and 50, which are
  // neither interim nor final answers.
  if (llhttp_.status_code < 100) {
    return reject(absl::StrCat("invalid status code ", llhttp_.status_code));
  }
  absl::Status st = fill_headers(base, h.headers);
  if (!st.ok()) return reject(std::string(st.message()));
  return h;
}

HeaderMap Parser::take_trailers() {
  HeaderMap t;
  for (auto& [n, v] : trailer_fields_) {
    absl::StatusOr<HeaderName> name = HeaderName::parse(n);
    absl::StatusOr<HeaderValue> value = HeaderValue::parse(trim_ows(v));
    if (name.ok() && value.ok()) t.append(*std::move(name), *std::move(value));
  }
  trailer_fields_.clear();
  return t;
}

}  // namespace weft::http::proto::h1
