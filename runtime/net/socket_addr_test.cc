// SocketAddr: parsing, printing, sockaddr round trips, equality.
#define BOOST_TEST_MODULE socket_addr_test
#include "weft/runtime/net/socket_addr.h"

#include <arpa/inet.h>

#include <boost/test/unit_test.hpp>
#include <cstring>
#include <sstream>

using weft::net::SocketAddr;

BOOST_AUTO_TEST_CASE(parses_ipv4) {
  absl::StatusOr<SocketAddr> a = SocketAddr::parse("127.0.0.1:8080");
  BOOST_REQUIRE(a.ok());
  BOOST_TEST(a->is_ipv4());
  BOOST_TEST(!a->is_ipv6());
  BOOST_TEST(a->port() == 8080);
  BOOST_TEST(a->to_string() == "127.0.0.1:8080");
  BOOST_TEST(a->ip_string() == "127.0.0.1");
  BOOST_TEST(a->is_loopback());
  BOOST_TEST(*a == SocketAddr::loopback_v4(8080));
}

BOOST_AUTO_TEST_CASE(parses_ipv6) {
  absl::StatusOr<SocketAddr> a = SocketAddr::parse("[::1]:80");
  BOOST_REQUIRE(a.ok());
  BOOST_TEST(a->is_ipv6());
  BOOST_TEST(a->port() == 80);
  BOOST_TEST(a->to_string() == "[::1]:80");
  BOOST_TEST(*a == SocketAddr::loopback_v6(80));
  BOOST_TEST(a->is_loopback());

  absl::StatusOr<SocketAddr> b = SocketAddr::parse("[2001:db8::5]:65535");
  BOOST_REQUIRE(b.ok());
  BOOST_TEST(b->to_string() == "[2001:db8::5]:65535");

  absl::StatusOr<SocketAddr> scoped = SocketAddr::parse("[fe80::1%7]:443");
  BOOST_REQUIRE(scoped.ok());
  BOOST_TEST(scoped->scope_id() == 7u);
  BOOST_TEST(scoped->to_string() == "[fe80::1%7]:443");
  BOOST_TEST(*scoped != *SocketAddr::parse("[fe80::1]:443"));

  BOOST_TEST(SocketAddr::parse("[::]:0")->is_unspecified());
  BOOST_TEST(SocketAddr::parse("0.0.0.0:1")->is_unspecified());
}

BOOST_AUTO_TEST_CASE(rejects_malformed_text) {
  for (const char* bad :
       {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:8o",
        "1.2.3:80", "256.0.0.1:80", "localhost:80", "::1:80", "[::1]", "[::1]80", "[127.0.0.1]:80",
        "[::1:80", " 1.2.3.4:80", "1.2.3.4:80 ", "[fe80::1%]:80"}) {
    absl::StatusOr<SocketAddr> a = SocketAddr::parse(bad);
    BOOST_TEST(!a.ok(), "accepted \"" << bad << "\"");
    if (!a.ok()) {
      BOOST_TEST(absl::IsInvalidArgument(a.status()));
      BOOST_TEST(a.status().message().find("invalid socket address") != absl::string_view::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(sockaddr_round_trip) {
  for (const char* text : {"10.1.2.3:9", "[2001:db8::1]:1234", "[fe80::2%3]:5"}) {
    SocketAddr a = *SocketAddr::parse(text);
    sockaddr_storage ss;
    socklen_t len = a.to_sockaddr(&ss);
    BOOST_TEST(len == (a.is_ipv4() ? sizeof(sockaddr_in) : sizeof(sockaddr_in6)));
    absl::StatusOr<SocketAddr> back =
        SocketAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
    BOOST_REQUIRE(back.ok());
    BOOST_TEST(*back == a);
  }
  // The kernel's layout: port in network order.
  sockaddr_storage ss;
  SocketAddr::parse("1.2.3.4:258")->to_sockaddr(&ss);
  sockaddr_in in;
  std::memcpy(&in, &ss, sizeof in);
  BOOST_TEST(in.sin_family == AF_INET);
  BOOST_TEST(ntohs(in.sin_port) == 258);
  BOOST_TEST(ntohl(in.sin_addr.s_addr) == 0x01020304u);

  sockaddr bogus{};
  bogus.sa_family = AF_UNIX;
  BOOST_TEST(!SocketAddr::from_sockaddr(&bogus, sizeof bogus).ok());
  BOOST_TEST(!SocketAddr::from_sockaddr(nullptr, 0).ok());
}

BOOST_AUTO_TEST_CASE(constructors_and_printing) {
  BOOST_TEST(SocketAddr().to_string() == "0.0.0.0:0");
  BOOST_TEST(SocketAddr::v4({192, 168, 0, 1}, 53).to_string() == "192.168.0.1:53");
  BOOST_TEST(SocketAddr::any_v6(7).to_string() == "[::]:7");
  BOOST_TEST(SocketAddr::from_ip("::ffff:1.2.3.4", 1)->to_string() == "[::ffff:1.2.3.4]:1");
  SocketAddr a = SocketAddr::loopback_v4(1);
  a.set_port(2);
  BOOST_TEST(a.port() == 2);
  std::ostringstream os;
  os << a;
  BOOST_TEST(os.str() == "127.0.0.1:2");
}
