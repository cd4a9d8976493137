// The echo example from outside, as a user runs it: start the binary, read its
// "listening on 127.0.0.1:PORT" line, talk to it with plain blocking sockets, SIGTERM it.
#define BOOST_TEST_MODULE echo_test
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "weft/tools/testing/child_server.h"

namespace {

using weft::testing::ChildServer;
using weft::testing::connect_loopback;

// The server, as the tests run it; fails the test case unless it announced its port.
struct Server : ChildServer {
  explicit Server(const char* path) : ChildServer(path, {"--port=0", "--workers=2"}) {
    BOOST_REQUIRE_MESSAGE(started(), "no 'listening on' line, got: " << first_line());
  }
};

// Writes `data` from one thread while reading the echo on this one.
std::string echo(int fd, const std::string& data) {
  std::thread writer([&] {
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  });
  std::string got;
  char buf[65536];
  while (got.size() < data.size()) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  writer.join();
  return got;
}

const char* kBinary = "examples/echo/echo";

}  // namespace

BOOST_AUTO_TEST_CASE(echoes_8_mib_byte_for_byte) {
  Server s(kBinary);
  std::string data(8 << 20, '\0');
  std::mt19937 rng(42);
  for (char& c : data) c = static_cast<char>(rng());
  int fd = connect_loopback(s.port());
  BOOST_REQUIRE(fd >= 0);
  BOOST_TEST((echo(fd, data) == data));
  ::close(fd);
  BOOST_TEST(s.stop() == 0);
}

// 1,000 connections open at the same time, driven from one thread with poll(2).
BOOST_AUTO_TEST_CASE(a_thousand_concurrent_clients) {
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  BOOST_REQUIRE_MESSAGE(lim.rlim_max >= 2100, "needs 2,100 file descriptors (server + clients)");
  lim.rlim_cur = std::max<rlim_t>(lim.rlim_cur, 2100);
  BOOST_REQUIRE(::setrlimit(RLIMIT_NOFILE, &lim) == 0);  // inherited by the server
  Server s(kBinary);
  constexpr int kClients = 1000;
  std::vector<int> fds;
  for (int i = 0; i < kClients; ++i) {
    int fd = connect_loopback(s.port());
    BOOST_REQUIRE(fd >= 0);
    fds.push_back(fd);
  }
  // Every client sends its own message while all are connected...
  for (int i = 0; i < kClients; ++i) {
    std::string msg = "client " + std::to_string(i) + "\n";
    BOOST_REQUIRE(::send(fds[i], msg.data(), msg.size(), MSG_NOSIGNAL) ==
                  static_cast<ssize_t>(msg.size()));
  }
  // ...and gets exactly that message back.
  std::vector<std::string> got(kClients);
  std::vector<pollfd> pfds(kClients);
  int done = 0;
  for (int round = 0; round < 1000 && done < kClients; ++round) {
    for (int i = 0; i < kClients; ++i) pfds[i] = {fds[i], POLLIN, 0};
    BOOST_REQUIRE(::poll(pfds.data(), kClients, 10000) > 0);
    for (int i = 0; i < kClients; ++i) {
      if (!(pfds[i].revents & POLLIN)) continue;
      char buf[64];
      ssize_t n = ::recv(fds[i], buf, sizeof buf, 0);
      BOOST_REQUIRE(n > 0);
      got[i].append(buf, static_cast<size_t>(n));
      if (got[i].back() == '\n') ++done;
    }
  }
  int right = 0;
  for (int i = 0; i < kClients; ++i) right += got[i] == "client " + std::to_string(i) + "\n";
  BOOST_TEST(right == kClients);
  for (int fd : fds) ::close(fd);
  BOOST_TEST(s.stop() == 0);
}

BOOST_AUTO_TEST_CASE(serves_many_clients_at_once) {
  Server s(kBinary);
  constexpr int kClients = 200;
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      int fd = connect_loopback(s.port());
      if (fd < 0) return;
      std::string msg = "client " + std::to_string(i) + std::string(1000, 'x');
      if (echo(fd, msg) == msg) ok.fetch_add(1);
      ::close(fd);
    });
  }
  for (auto& t : clients) t.join();
  BOOST_TEST(ok.load() == kClients);
  BOOST_TEST(s.stop() == 0);
}

BOOST_AUTO_TEST_CASE(sigterm_closes_open_connections_and_exits_0) {
  Server s(kBinary);
  int fd = connect_loopback(s.port());
  BOOST_REQUIRE(fd >= 0);
  BOOST_TEST(echo(fd, "hello") == "hello");
  BOOST_TEST(s.stop() == 0);
  char c;
  BOOST_TEST(::recv(fd, &c, 1, 0) <= 0);  // EOF (or reset): the server closed it
  ::close(fd);
}
