// lookup_host through the blocking pool, on a 2-worker multi-thread runtime. Only names that
// resolve without a network: "localhost" (from /etc/hosts) and numeric addresses.
#define BOOST_TEST_MODULE lookup_host_test
#include "weft/runtime/net/lookup_host.h"

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "weft/runtime/net/tcp_listener.h"
#include "weft/runtime/net/tcp_stream.h"
#include "weft/runtime/runtime.h"
#include "weft/runtime/testing/test_runtime.h"

using weft::Runtime;
using weft::Task;
using weft::net::lookup_host;
using weft::net::SocketAddr;

namespace {
Runtime make_rt() { return weft::testing::make_runtime(); }

Task<absl::StatusOr<std::vector<SocketAddr>>> resolve(std::string host, uint16_t port) {
  absl::StatusOr<std::vector<SocketAddr>> r = co_await lookup_host(std::move(host), port);
  co_return r;
}

Task<absl::StatusOr<std::vector<SocketAddr>>> resolve_str(std::string hp) {
  absl::StatusOr<std::vector<SocketAddr>> r = co_await lookup_host(std::move(hp));
  co_return r;
}

// Resolves localhost and connects to a listener through one of the results.
Task<absl::Status> resolve_and_connect() {
  absl::StatusOr<weft::net::TcpListener> l =
      weft::net::TcpListener::bind(SocketAddr::loopback_v4(0));
  if (!l.ok()) co_return l.status();
  uint16_t port = l->local_addr()->port();
  absl::StatusOr<std::vector<SocketAddr>> addrs = co_await lookup_host("localhost", port);
  if (!addrs.ok()) co_return addrs.status();
  for (const SocketAddr& a : *addrs) {
    if (!a.is_ipv4()) continue;
    absl::StatusOr<weft::net::TcpStream> s = co_await weft::net::TcpStream::connect(a);
    co_return s.status();
  }
  co_return absl::NotFoundError("localhost has no IPv4 address");
}
}  // namespace

BOOST_AUTO_TEST_CASE(localhost_resolves_to_loopback) {
  Runtime rt = make_rt();
  absl::StatusOr<std::vector<SocketAddr>> r = rt.block_on(resolve("localhost", 80));
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status());
  BOOST_REQUIRE(!r->empty());
  for (const SocketAddr& a : *r) {
    BOOST_TEST(a.is_loopback(), a);
    BOOST_TEST(a.port() == 80);
  }
  // No duplicates.
  for (size_t i = 0; i < r->size(); ++i)
    for (size_t j = i + 1; j < r->size(); ++j) BOOST_TEST((*r)[i] != (*r)[j]);
}

BOOST_AUTO_TEST_CASE(numeric_addresses_skip_the_resolver) {
  Runtime rt = make_rt();
  absl::StatusOr<std::vector<SocketAddr>> r = rt.block_on(resolve("127.0.0.1", 8080));
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->size() == 1u);
  BOOST_TEST(r->front() == SocketAddr::loopback_v4(8080));
  r = rt.block_on(resolve("::1", 443));
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->front() == SocketAddr::loopback_v6(443));
}

BOOST_AUTO_TEST_CASE(host_port_strings) {
  Runtime rt = make_rt();
  absl::StatusOr<std::vector<SocketAddr>> r = rt.block_on(resolve_str("localhost:8081"));
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status());
  BOOST_TEST(r->front().port() == 8081);
  r = rt.block_on(resolve_str("[::1]:9"));
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->front() == SocketAddr::loopback_v6(9));
  for (const char* bad : {"localhost", "localhost:", "localhost:99999", "[::1]", "::1:80"}) {
    absl::StatusOr<std::vector<SocketAddr>> e = rt.block_on(resolve_str(bad));
    BOOST_TEST(absl::IsInvalidArgument(e.status()), bad << ": " << e.status());
  }
}

BOOST_AUTO_TEST_CASE(unknown_host_is_not_found) {
  Runtime rt = make_rt();
  // .invalid is reserved (RFC 2606): never resolves. Offline resolvers may instead report a
  // temporary failure; either way it is an error Status, not a crash or a hang.
  absl::StatusOr<std::vector<SocketAddr>> r = rt.block_on(resolve("no-such-host.invalid", 1));
  BOOST_TEST(!r.ok());
  BOOST_TEST((absl::IsNotFound(r.status()) || absl::IsUnavailable(r.status())), r.status());
  r = rt.block_on(resolve("", 1));
  BOOST_TEST(absl::IsInvalidArgument(r.status()), r.status());
}

BOOST_AUTO_TEST_CASE(resolve_then_connect) {
  Runtime rt = make_rt();
  absl::Status st = rt.block_on(resolve_and_connect());
  BOOST_TEST(st.ok(), st);
}
