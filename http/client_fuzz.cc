// Fuzz target of the HTTP/1.1 client, end to end over a real loopback connection: whatever a
// server answers, the client gives a response or an error status, in time, and agrees with
// h1::Parser about what the answer was.
//
// Input: one mode byte (bit 4 set: the bytes are a response, as in h1_parser_fuzz's corpus;
// bit 5: the request is a HEAD, else a GET), then the bytes a server sends back once it has
// read the request head; it then closes the connection.
//
// Properties, for any input:
//   - no crash and no sanitizer report;
//   - the request ends before its 10 s timeout (the server closed: nothing is left to wait for);
//   - an error is INTERNAL (malformed), UNAVAILABLE (closed or reset) or RESOURCE_EXHAUSTED
//     (limits), with a message;
//   - when h1::Parser, given the same bytes, completes a first final (non-1xx) response, the
//     client gives that response: same status and, read to its end, the same body; when the
//     parser fails before any final head, the client fails too.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "weft/http/body.h"
#include "weft/http/client.h"
#include "weft/http/proto/h1/feed.h"
#include "weft/http/proto/h1/parser.h"
#include "weft/runtime/runtime.h"
#include "weft/tools/fuzz/check.h"

namespace {

namespace http = weft::http;
namespace h1 = weft::http::proto::h1;
using weft::Task;

// A plain blocking server on its own thread: for each connection, reads up to the end of the
// request head, sends the current answer and closes.
class FakeServer {
 public:
  FakeServer() {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    WEFT_FUZZ_CHECK(listener_ >= 0 &&
                        ::bind(listener_, reinterpret_cast<sockaddr*>(&a), len) == 0 &&
                        ::listen(listener_, 16) == 0 &&
                        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len) == 0,
                    "the fake server cannot listen");
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeServer() {
    ::shutdown(listener_, SHUT_RDWR);  // wakes accept()
    thread_.join();
    ::close(listener_);
  }
  int port() const { return port_; }
  void set_answer(std::string_view a) {
    std::lock_guard<std::mutex> lock(mu_);
    answer_.assign(a);
  }

 private:
  void serve() {
    for (;;) {
      int c = ::accept(listener_, nullptr, nullptr);
      if (c < 0) return;
      std::string got;
      char buf[4096];
      while (got.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        got.append(buf, static_cast<std::size_t>(n));
      }
      std::string answer;
      {
        std::lock_guard<std::mutex> lock(mu_);
        answer = answer_;
      }
      for (std::size_t at = 0; at < answer.size();) {
        ssize_t n = ::send(c, answer.data() + at, answer.size() - at, MSG_NOSIGNAL);
        if (n <= 0) break;
        at += static_cast<std::size_t>(n);
      }
      ::shutdown(c, SHUT_WR);
      while (::recv(c, buf, sizeof buf, 0) > 0) {
      }  // until the client closes: no reset for unread bytes
      ::close(c);
    }
  }

  int listener_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::string answer_;
};

// The first final response h1::Parser reads from `wire` (the connection then closes).
struct Expected {
  bool failed = false;  // an error before any final head
  std::optional<int> status;
  std::optional<std::string> body;  // set when the response completed
};

Expected expected_response(std::string_view wire, bool head) {
  h1::Parser p(h1::Parser::Kind::kResponse, h1::Limits{64 * 1024, 8 * 1024, 100});
  p.set_response_has_no_body(head);
  Expected e;
  bool switching = false;  // 101: not compared
  std::string body;
  (void)h1::feed(p, wire, 0, /*finish=*/true,
                 [&](const h1::Parser::Step& s, const std::string& buf) {
                   switch (s.event) {
                     case h1::Parser::Event::kError:
                       e.failed = !e.status.has_value();
                       return false;
                     case h1::Parser::Event::kUpgrade:
                       switching = true;
                       return false;
                     case h1::Parser::Event::kHead: {
                       h1::ResponseHead h = p.take_response_head(buf.data());
                       if (p.head_error()) {
                         e.failed = !e.status.has_value();
                         return false;
                       }
                       switching = h.status.as_u16() == 101;
                       if (h.status.as_u16() >= 200) e.status = h.status.as_u16();
                       return !switching;
                     }
                     case h1::Parser::Event::kData:
                       body.append(buf, s.data_begin, s.data_end - s.data_begin);
                       return true;
                     case h1::Parser::Event::kMessageComplete:
                       if (e.status.has_value()) {
                         e.body = body;
                         return false;
                       }
                       body.clear();
                       return true;
                     case h1::Parser::Event::kNeedMore:
                       break;
                   }
                   return true;
                 });
  return switching ? Expected{} : e;
}

bool expected_error(const absl::Status& st) {
  return !st.message().empty() &&
         (st.code() == absl::StatusCode::kInternal || st.code() == absl::StatusCode::kUnavailable ||
          st.code() == absl::StatusCode::kResourceExhausted);
}

Task<void> request(int port, bool head, const Expected& e) {
  http::ClientOptions opts;
  opts.request_timeout = std::chrono::seconds(10);
  http::Client client(opts);
  http::Request<http::Body> req;
  req.method() = head ? http::Method::HEAD : http::Method::GET;
  req.uri() = *http::Uri::parse("http://127.0.0.1:" + std::to_string(port) + "/");
  absl::StatusOr<http::Response<http::Body>> r = co_await client.request(std::move(req));
  if (!r.ok()) {
    if (e.body.has_value()) std::fprintf(stderr, "request: %s\n", r.status().ToString().c_str());
    WEFT_FUZZ_CHECK(expected_error(r.status()), "an unexpected error from request()");
    WEFT_FUZZ_CHECK(!e.body.has_value(), "an error where the parser read a whole response");
    co_return;
  }
  WEFT_FUZZ_CHECK(!e.failed, "a response where the parser failed");
  if (e.status.has_value()) {
    WEFT_FUZZ_CHECK(r->status().as_u16() == *e.status, "another status than the parser's");
  }
  absl::StatusOr<weft::io::Bytes> body = co_await r->body().collect(1 << 20);
  if (!body.ok()) {
    if (e.body.has_value()) std::fprintf(stderr, "body: %s\n", body.status().ToString().c_str());
    WEFT_FUZZ_CHECK(expected_error(body.status()), "an unexpected error from the body");
    WEFT_FUZZ_CHECK(!e.body.has_value(), "a body error where the parser read a whole body");
    co_return;
  }
  if (e.body.has_value()) {
    WEFT_FUZZ_CHECK(std::string_view(body->data(), body->size()) == *e.body,
                    "another body than the parser's");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static FakeServer server;
  static weft::Runtime rt = *weft::Runtime::Builder::new_current_thread().build();
  if (size == 0) return 0;
  bool head = (data[0] & 32) != 0;
  std::string_view wire(reinterpret_cast<const char*>(data) + 1, size - 1);
  server.set_answer(wire);
  Expected e = expected_response(wire, head);
  auto started = std::chrono::steady_clock::now();
  rt.block_on(request(server.port(), head, e));
  WEFT_FUZZ_CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(9),
                  "the request waited for a server that had closed");
  return 0;
}
