// The http_echo example from outside, as a user runs it: start the binary, read its
// "listening on 127.0.0.1:PORT" line, talk HTTP/1.1 to it with raw sockets and curl, SIGTERM
// it. Each case checks the public contract in http_echo.cc's header comment exactly.
#define BOOST_TEST_MODULE http_echo_test
#include <arpa/inet.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "weft/http/testing/raw_client.h"
#include "weft/runtime/testing/thread_helpers.h"
#include "weft/tools/testing/child_server.h"

using weft::http::testing::CurlResult;
using weft::http::testing::get_request;
using weft::http::testing::RawConn;
using weft::http::testing::RawResponse;
using weft::http::testing::roundtrip;
using weft::http::testing::run_curl;
using weft::http::testing::url;
using weft::http::testing::without_date;
using weft::testing::ChildServer;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

const char* kBinary = "examples/http_echo/http_echo";

// The example, started as the tests run it; fails the case unless it announced its port.
struct HttpEcho : ChildServer {
  explicit HttpEcho(std::string mode = "work-stealing")
      : ChildServer(kBinary, {"--port=0", "--workers=2", "--mode=" + mode}) {
    BOOST_REQUIRE_MESSAGE(started(), "no 'listening on' line, got: " << first_line());
  }
};

int elapsed_ms(Clock::time_point since) {
  return static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count());
}

// The receive queue of the server's end of the connection whose client port is `client_port`
// (from /proc/net/tcp), -1 while that socket is not found. 0 means the server read everything
// the client sent.
long server_rx_queue(int server_port, int client_port) {
  std::ifstream f("/proc/net/tcp");
  std::string line;
  std::getline(f, line);  // header
  while (std::getline(f, line)) {
    std::istringstream in(line);
    std::string slot, local, remote, st, queues;
    in >> slot >> local >> remote >> st >> queues;
    auto port_of = [](const std::string& addr) {
      return static_cast<int>(std::stoul(addr.substr(addr.find(':') + 1), nullptr, 16));
    };
    if (port_of(local) != server_port || port_of(remote) != client_port) continue;
    return static_cast<long>(std::stoul(queues.substr(queues.find(':') + 1), nullptr, 16));
  }
  return -1;
}

// Bytes this end has sent that the peer's kernel has not acknowledged yet.
int unacked(int fd) {
  int n = -1;
  return ::ioctl(fd, SIOCOUTQ, &n) == 0 ? n : -1;
}

int local_port(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

const std::string kHelloRaw =
    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ndate: *\r\ncontent-length: 13\r\n\r\n"
    "Hello, world!";

}  // namespace

BOOST_AUTO_TEST_CASE(port_0_prints_the_listening_line) {
  HttpEcho s;
  BOOST_TEST(s.first_line() == "listening on 127.0.0.1:" + std::to_string(s.port()) + "\n");
  BOOST_TEST(RawConn(s.port()).connected());
  BOOST_TEST(s.stop() == 0);
}

BOOST_AUTO_TEST_CASE(get_root_says_hello) {
  HttpEcho s;
  RawResponse r = roundtrip(s.port(), get_request("/"));
  BOOST_TEST(r.error == "");
  BOOST_TEST(without_date(r.raw) == kHelloRaw);
  CurlResult cr = run_curl({"-D", "-", url(s.port(), "/")});
  BOOST_TEST(cr.exit_code == 0, cr.err);
  BOOST_TEST(cr.out.find("HTTP/1.1 200 OK\r\n") == 0u, cr.out);
  BOOST_TEST(cr.out.find("content-type: text/plain\r\n") != std::string::npos, cr.out);
  BOOST_TEST(cr.out.substr(cr.out.size() - 13) == "Hello, world!");
  BOOST_TEST(s.stop() == 0);
}

BOOST_AUTO_TEST_CASE(post_echo_returns_the_body_byte_for_byte) {
  HttpEcho s;
  std::string data(100'000, '\0');
  std::mt19937 rng(7);
  for (char& c : data) c = static_cast<char>(rng());
  {
    RawConn c(s.port());
    BOOST_REQUIRE(c.connected());
    c.send(
        "POST /echo HTTP/1.1\r\nhost: t\r\ncontent-type: application/x-weft\r\ncontent-length: " +
        std::to_string(data.size()) + "\r\n\r\n" + data);
    RawResponse r = c.read_response();
    BOOST_TEST(r.error == "");
    BOOST_TEST(r.status == 200);
    BOOST_TEST(r.header_names() == "content-type,date,content-length");
    BOOST_TEST(r.header("content-type") == "application/x-weft");
    BOOST_TEST(r.header("content-length") == std::to_string(data.size()));
    BOOST_TEST((r.body == data));
    // Without a content-type, none comes back; an empty body echoes empty.
    c.send("POST /echo HTTP/1.1\r\nhost: t\r\ncontent-length: 3\r\n\r\nabc");
    r = c.read_response();
    BOOST_TEST(without_date(r.raw) == "HTTP/1.1 200 OK\r\ndate: *\r\ncontent-length: 3\r\n\r\nabc");
    c.send("POST /echo HTTP/1.1\r\nhost: t\r\ncontent-length: 0\r\n\r\n");
    r = c.read_response();
    BOOST_TEST(without_date(r.raw) == "HTTP/1.1 200 OK\r\ndate: *\r\ncontent-length: 0\r\n\r\n");
  }
  {
    // curl, with a chunked upload: the echo is chunked too.
    const char* dir = std::getenv("TEST_TMPDIR");
    const std::string in = std::string(dir != nullptr ? dir : "/tmp") + "/http_echo_in";
    std::ofstream(in, std::ios::binary)
        .write(data.data(), static_cast<std::streamsize>(data.size()));
    CurlResult cr =
        run_curl({"--data-binary", "@" + in, "-H", "content-type: image/png", "-H",
                  "transfer-encoding: chunked", "-D", "/dev/stderr", url(s.port(), "/echo")});
    BOOST_TEST(cr.exit_code == 0, cr.err);
    BOOST_TEST(cr.err.find("content-type: image/png\r\n") != std::string::npos, cr.err);
    BOOST_TEST(cr.err.find("transfer-encoding: chunked\r\n") != std::string::npos, cr.err);
    BOOST_TEST((cr.out == data));
  }
  BOOST_TEST(s.stop() == 0);
}

BOOST_AUTO_TEST_CASE(stream_sends_n_chunks) {
  HttpEcho s;
  RawResponse r = roundtrip(s.port(), get_request("/stream?n=4"));
  BOOST_TEST(r.error == "");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.header("transfer-encoding") == "chunked");
  BOOST_TEST(r.header("content-length") == "<none>");
  BOOST_TEST(r.header("content-type") == "text/plain");
  std::vector<std::string> want = {"chunk 0\n", "chunk 1\n", "chunk 2\n", "chunk 3\n"};
  BOOST_TEST(r.chunks == want, boost::test_tools::per_element());
  r = roundtrip(s.port(), get_request("/stream?n=0"));
  BOOST_TEST(r.error == "");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.chunks.empty());
  BOOST_TEST(r.raw.substr(r.raw.size() - 5) == "0\r\n\r\n");
  CurlResult cr = run_curl({url(s.port(), "/stream?n=500")});
  std::string all;
  for (int i = 0; i < 500; ++i) all += "chunk " + std::to_string(i) + "\n";
  BOOST_TEST(cr.exit_code == 0, cr.err);
  BOOST_TEST((cr.out == all));
  BOOST_TEST(s.stop() == 0);
}

BOOST_AUTO_TEST_CASE(delay_answers_done_after_the_delay) {
  HttpEcho s;
  const auto t0 = Clock::now();
  RawResponse r = roundtrip(s.port(), get_request("/delay?ms=300"));
  const int waited = elapsed_ms(t0);
  BOOST_TEST(r.error == "");
  BOOST_TEST(
      without_date(r.raw) ==
      "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ndate: *\r\ncontent-length: 4\r\n\r\ndone");
  BOOST_TEST(waited >= 300, waited << " ms");
  BOOST_TEST(s.stop() == 0);
}

BOOST_AUTO_TEST_CASE(anything_else_is_404) {
  HttpEcho s;
  for (std::string req :
       {get_request("/nope"), get_request("/echo/x"), get_request("/index.html"),
        std::string("POST /nope HTTP/1.1\r\nhost: t\r\ncontent-length: 2\r\n\r\nhi"),
        std::string("DELETE /x HTTP/1.1\r\nhost: t\r\n\r\n")}) {
    BOOST_TEST_CONTEXT(req) {
      RawResponse r = roundtrip(s.port(), req);
      BOOST_TEST(r.error == "");
      BOOST_TEST(without_date(r.raw) ==
                 "HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\ndate: *\r\ncontent-length: "
                 "9\r\n\r\nNot Found");
    }
  }
  // A known path with another method is the router's 405 (with allow), not 404.
  RawResponse r = roundtrip(s.port(), get_request("/echo"));
  BOOST_TEST(r.status == 405);
  BOOST_TEST(r.header("allow") == "POST");
  BOOST_TEST(s.stop() == 0);
}

BOOST_AUTO_TEST_CASE(sigterm_lets_an_in_flight_request_finish_then_exits_0) {
  HttpEcho s;
  RawConn c(s.port());
  BOOST_REQUIRE(c.connected());
  const auto t0 = Clock::now();
  c.send(get_request("/delay?ms=500"));
  // In flight once the request reached the server's socket (acknowledged) and the server read
  // it from there.
  const int client_port = local_port(c.fd());
  BOOST_REQUIRE(weft::testing::eventually(
      [&] { return unacked(c.fd()) == 0 && server_rx_queue(s.port(), client_port) == 0; }));
  s.signal(SIGTERM);
  RawResponse r = c.read_response();
  BOOST_TEST(r.error == "");
  BOOST_TEST(without_date(r.raw) ==
             "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ndate: *\r\ncontent-length: 4\r\n"
             "connection: close\r\n\r\ndone");
  BOOST_TEST(elapsed_ms(t0) >= 500);
  BOOST_TEST(c.wait_closed());
  BOOST_TEST(s.wait() == 0);
}

BOOST_AUTO_TEST_CASE(sigterm_closes_idle_connections_and_exits_0) {
  HttpEcho s;
  RawConn c(s.port());
  BOOST_REQUIRE(c.connected());
  c.send(get_request("/"));
  BOOST_TEST(without_date(c.read_response().raw) == kHelloRaw);
  BOOST_TEST(s.stop() == 0);
  BOOST_TEST(c.wait_closed());
}

BOOST_AUTO_TEST_CASE(thread_per_core_mode_answers) {
  HttpEcho s("thread-per-core");
  for (int i = 0; i < 4; ++i) {  // fresh connections land on either thread's listener
    RawResponse r = roundtrip(s.port(), get_request("/"));
    BOOST_TEST(r.error == "");
    BOOST_TEST(without_date(r.raw) == kHelloRaw);
  }
  BOOST_TEST(s.stop() == 0);
}
