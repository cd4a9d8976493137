// Uri: the four request-target forms and their parts, normalisation (scheme case, empty path),
// fragments dropped, strict rejection of bytes and malformed authorities, percent-decoding and
// query parameters.
#define BOOST_TEST_MODULE uri_test
#include "weft/http/uri.h"

#include <boost/test/unit_test.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "http/detail/test_allocations.h"

using weft::http::Uri;
using Form = weft::http::Uri::Form;

namespace {

Uri parse_ok(std::string_view s) {
  absl::StatusOr<Uri> u = Uri::parse(s);
  BOOST_TEST_REQUIRE(u.ok(), "rejected \"" << s << "\": " << u.status().message());
  return *std::move(u);
}

// The error message when `s` is rejected (and that it was rejected as INVALID_ARGUMENT).
std::string error(std::string_view s) {
  absl::StatusOr<Uri> u = Uri::parse(s);
  if (u.ok()) BOOST_FAIL("accepted \"" << s << "\" as " << *u);
  BOOST_TEST(absl::IsInvalidArgument(u.status()));
  return std::string(u.status().message());
}

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_CASE(default_is_slash) {
  Uri u;
  BOOST_TEST(u.path() == "/");
  BOOST_TEST(u.query() == "");
  BOOST_TEST(u.to_string() == "/");
  BOOST_TEST(u.path_and_query() == "/");
  BOOST_TEST(!u.is_absolute());
  BOOST_TEST((u.form() == Form::kOrigin));
  BOOST_TEST((u == parse_ok("/")));
}

BOOST_AUTO_TEST_CASE(origin_form) {
  Uri u = parse_ok("/a/b?q=1&r=2");
  BOOST_TEST((u.form() == Form::kOrigin));
  BOOST_TEST(!u.is_absolute());
  BOOST_TEST(u.scheme() == "");
  BOOST_TEST(u.authority() == "");
  BOOST_TEST(u.host() == "");
  BOOST_TEST(!u.port().has_value());
  BOOST_TEST(u.path() == "/a/b");
  BOOST_TEST(u.query() == "q=1&r=2");
  BOOST_TEST(u.path_and_query() == "/a/b?q=1&r=2");
  BOOST_TEST(u.path_and_query_view() == "/a/b?q=1&r=2");
  BOOST_TEST(u.to_string() == "/a/b?q=1&r=2");

  Uri no_query = parse_ok("/index.html");
  BOOST_TEST(no_query.path() == "/index.html");
  BOOST_TEST(no_query.query() == "");

  Uri empty_query = parse_ok("/a?");  // the '?' is kept, the query is empty
  BOOST_TEST(empty_query.path() == "/a");
  BOOST_TEST(empty_query.query() == "");
  BOOST_TEST(empty_query.to_string() == "/a?");

  Uri second_mark = parse_ok("/a?b?c=/d");
  BOOST_TEST(second_mark.path() == "/a");
  BOOST_TEST(second_mark.query() == "b?c=/d");

  // Escapes and sub-delims are kept as written.
  Uri escaped = parse_ok("/caf%C3%A9/a;b=c,d!$'()*+~@:");
  BOOST_TEST(escaped.path() == "/caf%C3%A9/a;b=c,d!$'()*+~@:");
}

BOOST_AUTO_TEST_CASE(absolute_form) {
  Uri u = parse_ok("http://example.com:8080/a/b?q=x");
  BOOST_TEST((u.form() == Form::kAbsolute));
  BOOST_TEST(u.is_absolute());
  BOOST_TEST(u.scheme() == "http");
  BOOST_TEST(u.authority() == "example.com:8080");
  BOOST_TEST(u.host() == "example.com");
  BOOST_TEST_REQUIRE(u.port().has_value());
  BOOST_TEST(*u.port() == 8080);
  BOOST_TEST(u.path() == "/a/b");
  BOOST_TEST(u.query() == "q=x");
  BOOST_TEST(u.path_and_query() == "/a/b?q=x");
  BOOST_TEST(u.to_string() == "http://example.com:8080/a/b?q=x");

  Uri no_port = parse_ok("https://example.com/");
  BOOST_TEST(no_port.scheme() == "https");
  BOOST_TEST(no_port.host() == "example.com");
  BOOST_TEST(no_port.authority() == "example.com");
  BOOST_TEST(!no_port.port().has_value());  // no default from the scheme

  // Any scheme, lowercased; host case kept.
  Uri upper = parse_ok("HTTPS://Example.COM/Path");
  BOOST_TEST(upper.scheme() == "https");
  BOOST_TEST(upper.host() == "Example.COM");
  BOOST_TEST(upper.path() == "/Path");
  BOOST_TEST(upper.to_string() == "https://Example.COM/Path");
  BOOST_TEST(parse_ok("ws://h/chat").scheme() == "ws");
  BOOST_TEST(parse_ok("Custom+V1.x-y://h/").scheme() == "custom+v1.x-y");

  // Port edge values.
  BOOST_TEST(*parse_ok("http://h:0/").port() == 0);
  BOOST_TEST(*parse_ok("http://h:65535/").port() == 65535);
  BOOST_TEST(*parse_ok("http://h:00080/").port() == 80);
}

BOOST_AUTO_TEST_CASE(absolute_form_with_empty_path_gets_slash) {
  Uri bare = parse_ok("http://example.com");
  BOOST_TEST(bare.path() == "/");
  BOOST_TEST(bare.query() == "");
  BOOST_TEST(bare.path_and_query() == "/");
  BOOST_TEST(bare.authority() == "example.com");
  BOOST_TEST(bare.to_string() == "http://example.com/");

  Uri with_port = parse_ok("http://example.com:81");
  BOOST_TEST(with_port.host() == "example.com");
  BOOST_TEST(*with_port.port() == 81);
  BOOST_TEST(with_port.path() == "/");

  Uri query_only = parse_ok("http://h?x=1");
  BOOST_TEST(query_only.path() == "/");
  BOOST_TEST(query_only.query() == "x=1");
  BOOST_TEST(query_only.path_and_query() == "/?x=1");
  BOOST_TEST(query_only.to_string() == "http://h/?x=1");
  BOOST_TEST((query_only == parse_ok("http://h/?x=1")));
}

BOOST_AUTO_TEST_CASE(ipv6_hosts) {
  Uri u = parse_ok("http://[::1]:8080/x");
  BOOST_TEST(u.host() == "[::1]");  // brackets kept
  BOOST_TEST(u.authority() == "[::1]:8080");
  BOOST_TEST(*u.port() == 8080);
  BOOST_TEST(u.path() == "/x");

  Uri no_port = parse_ok("https://[2001:db8::a:1]/");
  BOOST_TEST(no_port.host() == "[2001:db8::a:1]");
  BOOST_TEST(!no_port.port().has_value());

  Uri mapped = parse_ok("http://[::ffff:192.0.2.1]");
  BOOST_TEST(mapped.host() == "[::ffff:192.0.2.1]");
  BOOST_TEST(mapped.path() == "/");

  BOOST_TEST(contains(error("http://[::g]/"), "invalid IPv6 address"));
  BOOST_TEST(contains(error("http://[192.0.2.1]/"), "invalid IPv6 address"));
  BOOST_TEST(contains(error("http://[]/"), "invalid IPv6 address"));
  BOOST_TEST(contains(error("http://[::1/"), "'[' without ']'"));
  BOOST_TEST(contains(error("http://[::1]x/"), "'x' (0x78) after IPv6 address"));
  BOOST_TEST(contains(error("http://[::1%25eth0]/"), "invalid IPv6 address"));  // no zone ids
  BOOST_TEST(contains(error("http://[::1]:/"), "empty port"));
}

BOOST_AUTO_TEST_CASE(authority_form) {
  Uri u = parse_ok("example.com:443");
  BOOST_TEST((u.form() == Form::kAuthority));
  BOOST_TEST(!u.is_absolute());
  BOOST_TEST(u.scheme() == "");
  BOOST_TEST(u.authority() == "example.com:443");
  BOOST_TEST(u.host() == "example.com");
  BOOST_TEST(*u.port() == 443);
  BOOST_TEST(u.path() == "");
  BOOST_TEST(u.query() == "");
  BOOST_TEST(u.path_and_query() == "");
  BOOST_TEST(u.to_string() == "example.com:443");

  Uri v6 = parse_ok("[::1]:8443");
  BOOST_TEST((v6.form() == Form::kAuthority));
  BOOST_TEST(v6.host() == "[::1]");
  BOOST_TEST(*v6.port() == 8443);

  Uri ip = parse_ok("10.0.0.1:80");
  BOOST_TEST(ip.host() == "10.0.0.1");
  BOOST_TEST(*ip.port() == 80);

  BOOST_TEST(contains(error("example.com"), "authority-form needs a port"));
  BOOST_TEST(contains(error("[::1]"), "authority-form needs a port"));
  BOOST_TEST(contains(error("example.com:"), "empty port"));
  BOOST_TEST(contains(error(":443"), "missing host"));
  BOOST_TEST(contains(error("example.com:65536"), "port out of range"));
  BOOST_TEST(contains(error("example.com:99999999999999999999"), "port out of range"));
  BOOST_TEST(contains(error("example.com:8a"), "port is not a decimal number"));
  BOOST_TEST(contains(error("example.com:-1"), "port is not a decimal number"));
  BOOST_TEST(contains(error("a:b:1"), "port is not a decimal number"));
  BOOST_TEST(contains(error("user@example.com:443"), "userinfo"));
  BOOST_TEST(contains(error("a<b:80"), "byte '<' (0x3C) at position 1 of the host"));
  // With a path it is none of the forms.
  BOOST_TEST(contains(error("example.com:443/x"), "expected origin-form"));
  BOOST_TEST(contains(error("example.com/x"), "expected origin-form"));
}

BOOST_AUTO_TEST_CASE(asterisk_form) {
  Uri u = parse_ok("*");
  BOOST_TEST((u.form() == Form::kAsterisk));
  BOOST_TEST(u.path() == "*");
  BOOST_TEST(u.query() == "");
  BOOST_TEST(u.host() == "");
  BOOST_TEST(u.path_and_query() == "*");
  BOOST_TEST(u.to_string() == "*");
  BOOST_TEST(!u.is_absolute());
  BOOST_TEST(contains(error("**"), "authority-form needs a port"));  // "*" is a sub-delim
  BOOST_TEST(contains(error("*/a"), "expected origin-form"));
}

BOOST_AUTO_TEST_CASE(fragments_are_dropped) {
  Uri origin = parse_ok("/a?b=1#frag");
  BOOST_TEST(origin.path() == "/a");
  BOOST_TEST(origin.query() == "b=1");
  BOOST_TEST(origin.to_string() == "/a?b=1");

  Uri origin_no_query = parse_ok("/a#x?y");
  BOOST_TEST(origin_no_query.path() == "/a");
  BOOST_TEST(origin_no_query.query() == "");

  Uri absolute = parse_ok("http://h/p#f");
  BOOST_TEST(absolute.path() == "/p");
  BOOST_TEST(absolute.to_string() == "http://h/p");

  Uri bare = parse_ok("http://h:80#f");
  BOOST_TEST(*bare.port() == 80);
  BOOST_TEST(bare.path() == "/");
  BOOST_TEST(bare.to_string() == "http://h:80/");

  // The fragment is still checked for bad bytes.
  BOOST_TEST(contains(error("/a#b c"), "position 4"));
  // Only a fragment is no target.
  BOOST_TEST(contains(error("#frag"), "expected origin-form"));
  BOOST_TEST(contains(error("*#x"), "expected origin-form"));
}

BOOST_AUTO_TEST_CASE(rejects_bad_bytes) {
  BOOST_TEST(error("") == "invalid URI: empty");
  BOOST_TEST(error("/a b") ==
             "invalid URI: byte ' ' (0x20) at position 2 is not allowed (controls, spaces and "
             "non-ASCII bytes must be percent-encoded)");
  BOOST_TEST(contains(error(" /"), "' ' (0x20) at position 0"));
  BOOST_TEST(contains(error("/a\tb"), "0x09 at position 2"));
  BOOST_TEST(contains(error("/a\r\nHost: evil"), "0x0D at position 2"));
  BOOST_TEST(contains(error(std::string_view("/a\0b", 4)), "0x00 at position 2"));
  BOOST_TEST(contains(error("/\x01"), "0x01"));
  BOOST_TEST(contains(error("/\x7F"), "0x7F"));
  BOOST_TEST(contains(error("/caf\xC3\xA9"), "0xC3 at position 4"));
  BOOST_TEST(contains(error("http://exa mple.com/"), "0x20"));
  BOOST_TEST(contains(error("http://h/\n"), "0x0A"));
  // No raw control byte makes it into a message.
  BOOST_TEST(error("/\r\n").find_first_of("\r\n") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(rejects_bad_authorities) {
  BOOST_TEST(contains(error("http://"), "missing host"));
  BOOST_TEST(contains(error("http:///path"), "missing host"));
  BOOST_TEST(contains(error("http://:80/"), "missing host"));
  BOOST_TEST(contains(error("http://user:pw@example.com/"), "userinfo"));
  BOOST_TEST(contains(error("http://@example.com/"), "userinfo"));
  BOOST_TEST(contains(error("http://h:/"), "empty port"));
  BOOST_TEST(contains(error("http://h:http/"), "port is not a decimal number"));
  BOOST_TEST(contains(error("http://h:65536/"), "port out of range"));
  BOOST_TEST(contains(error("http://a<b/"), "byte '<' (0x3C) at position 1 of the host"));
  BOOST_TEST(contains(error("http://a\"b/"), "of the host"));
  // Not "scheme://": neither absolute- nor authority-form.
  BOOST_TEST(contains(error("http:/x"), "expected origin-form"));
  BOOST_TEST(contains(error("1http://h/"), "expected origin-form"));
  BOOST_TEST(contains(error("?x=1"), "expected origin-form"));
  BOOST_TEST(contains(error("mailto:a@b"), "userinfo"));
}

BOOST_AUTO_TEST_CASE(length_limit) {
  std::string longest = "/" + std::string(Uri::kMaxLength - 1, 'a');
  Uri u = parse_ok(longest);
  BOOST_TEST(u.path().size() == Uri::kMaxLength);
  BOOST_TEST(contains(error(longest + "a"), "longer than 65534"));

  // At the limit, an absolute URI with no path still gets its "/" (one byte past kMaxLength).
  std::string host_only = "http://" + std::string(Uri::kMaxLength - 7, 'h');
  Uri a = parse_ok(host_only);
  BOOST_TEST(a.path() == "/");
  BOOST_TEST(a.to_string().size() == Uri::kMaxLength + 1);
  BOOST_TEST(a.host().size() == Uri::kMaxLength - 7);

  std::string query_at_end = "http://h?" + std::string(Uri::kMaxLength - 9, 'q');
  Uri q = parse_ok(query_at_end);
  BOOST_TEST(q.query().size() == Uri::kMaxLength - 9);
}

BOOST_AUTO_TEST_CASE(percent_decode) {
  BOOST_TEST(*Uri::percent_decode("") == "");
  BOOST_TEST(*Uri::percent_decode("plain") == "plain");
  BOOST_TEST(*Uri::percent_decode("a%20b") == "a b");
  BOOST_TEST(*Uri::percent_decode("%2F%2f") == "//");
  BOOST_TEST(*Uri::percent_decode("caf%C3%A9") == "caf\xC3\xA9");
  BOOST_TEST(*Uri::percent_decode("a+b") == "a+b");  // '+' is only a space in queries
  BOOST_TEST(*Uri::percent_decode("%25zz") == "%zz");
  BOOST_TEST(*Uri::percent_decode("%00") == std::string(1, '\0'));

  for (std::string_view bad : {"%", "%2", "a%", "%zz", "%g0", "%0g", "abc%4", "%%41", "% 20"}) {
    BOOST_TEST(!Uri::percent_decode(bad).has_value(), bad);
  }
}

BOOST_AUTO_TEST_CASE(query_params) {
  Uri u = parse_ok(
      "/search?q=hello+world&x=%20y&empty=&flag&k%20ey=v&a+b=plus&q=second&enc=%2B1%26%3D");
  BOOST_TEST(*u.query_param("q") == "hello world");  // '+' is a space; first value wins
  BOOST_TEST(*u.query_param("x") == " y");
  BOOST_TEST(*u.query_param("empty") == "");
  BOOST_TEST(*u.query_param("flag") == "");   // no '=' at all
  BOOST_TEST(*u.query_param("k ey") == "v");  // keys are decoded too
  BOOST_TEST(*u.query_param("a b") == "plus");
  BOOST_TEST(*u.query_param("enc") == "+1&=");
  BOOST_TEST(!u.query_param("missing").has_value());
  BOOST_TEST(!u.query_param("Q").has_value());       // case-sensitive
  BOOST_TEST(!u.query_param("k%20ey").has_value());  // compared after decoding

  Uri bad = parse_ok("/?a=%zz&b=ok&%zz=c");
  BOOST_TEST(!bad.query_param("a").has_value());  // malformed value
  BOOST_TEST(*bad.query_param("b") == "ok");      // other pairs unaffected
  BOOST_TEST(!bad.query_param("%zz").has_value());

  Uri value_with_eq = parse_ok("/?k=a=b&&=x");
  BOOST_TEST(*value_with_eq.query_param("k") == "a=b");
  BOOST_TEST(*value_with_eq.query_param("") == "x");

  BOOST_TEST(!parse_ok("/path").query_param("a").has_value());
  BOOST_TEST(*parse_ok("http://h?a=1").query_param("a") == "1");
  BOOST_TEST(*parse_ok("/a?b=1#c=2").query_param("b") == "1");
  BOOST_TEST(!parse_ok("/a?b=1#c=2").query_param("c").has_value());
}

BOOST_AUTO_TEST_CASE(copies_compare_and_print) {
  Uri u = parse_ok("http://example.com:8080/a/very/long/path/that/is/not/inline?q=1");
  Uri copy = u;
  BOOST_TEST((copy == u));
  BOOST_TEST(copy.host() == "example.com");
  BOOST_TEST(*copy.port() == 8080);
  Uri moved = std::move(copy);
  BOOST_TEST(moved.path() == "/a/very/long/path/that/is/not/inline");
  // A moved-from Uri is "/", whole and usable.
  BOOST_TEST(copy.to_string() == "/");
  BOOST_TEST(copy.path() == "/");
  BOOST_TEST(copy.host() == "");
  BOOST_TEST(copy.scheme() == "");
  BOOST_TEST(copy.authority() == "");
  BOOST_TEST(copy.query() == "");
  BOOST_TEST(copy.path_and_query() == "/");
  BOOST_TEST((copy.form() == Uri::Form::kOrigin));
  BOOST_TEST(!copy.port().has_value());
  Uri assigned = parse_ok("/x");
  assigned = std::move(moved);
  BOOST_TEST(assigned.host() == "example.com");
  BOOST_TEST(moved.path() == "/");
  BOOST_TEST(!(moved == parse_ok("/a")));
  std::ostringstream os;
  os << parse_ok("HTTP://h?x#y");
  BOOST_TEST(os.str() == "http://h/?x");
}

BOOST_AUTO_TEST_CASE(targets_up_to_23_bytes_are_kept_without_allocating) {
  weft::http::testing::Allocations allocs;
  absl::StatusOr<Uri> u = Uri::parse("/users/12345?tab=orders");  // 23 bytes
  Uri moved = *std::move(u);
  Uri copy = moved;
  const long small = allocs.count();
  absl::StatusOr<Uri> longer = Uri::parse("/users/12345?tab=orders&x");
  const long with_longer = allocs.count();
  BOOST_TEST(small == 0);
  BOOST_TEST(with_longer >= 1);
  BOOST_TEST(copy.path() == "/users/12345");
  BOOST_TEST(copy.query() == "tab=orders");
  BOOST_TEST(longer->query() == "tab=orders&x");
}
