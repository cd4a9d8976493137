// HeaderName: parse validates RFC 9110 tokens and lowercases; comparisons against strings
// ignore case; standard names never allocate; from_static rejects what parse would change.
#define BOOST_TEST_MODULE header_name_test
#include "weft/http/header_name.h"

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "http/detail/test_allocations.h"
#include "weft/http/detail/chars.h"

namespace header = weft::http::header;
using weft::http::HeaderName;

namespace {

std::string message(const absl::Status& s) { return std::string(s.message()); }

bool message_contains(const absl::Status& s, std::string_view text) {
  return message(s).find(text) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_CASE(parse_lowercases) {
  absl::StatusOr<HeaderName> n = HeaderName::parse("X-Request-ID");
  BOOST_TEST_REQUIRE(n.ok());
  BOOST_TEST(n->as_str() == "x-request-id");

  absl::StatusOr<HeaderName> ct = HeaderName::parse("CONTENT-TYPE");
  BOOST_TEST_REQUIRE(ct.ok());
  BOOST_TEST(ct->as_str() == "content-type");
  BOOST_TEST((*ct == header::CONTENT_TYPE));
}

BOOST_AUTO_TEST_CASE(accepts_every_token_character) {
  const std::string tchars = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz";
  absl::StatusOr<HeaderName> n = HeaderName::parse(tchars);
  BOOST_TEST_REQUIRE(n.ok());
  BOOST_TEST(n->as_str() == tchars);
  absl::StatusOr<HeaderName> one = HeaderName::parse("a");
  BOOST_TEST_REQUIRE(one.ok());
  BOOST_TEST(one->as_str() == "a");
}

BOOST_AUTO_TEST_CASE(rejects_empty_and_non_tokens) {
  absl::StatusOr<HeaderName> empty = HeaderName::parse("");
  BOOST_TEST(absl::IsInvalidArgument(empty.status()));
  BOOST_TEST(message(empty.status()) == "invalid header name: empty");

  // Separators, whitespace, controls, DEL and non-ASCII bytes are not token characters.
  const std::string_view bad[] = {
      "content type", "content-type:", "a\tb",       "a\r", "a\n",  std::string_view("a\0b", 3),
      "(comment)",    "a\"b",          "a,b",        "a;b", "a=b",  "a/b",
      "[a]",          "{a}",           "a@b",        "a?b", "a\\b", "\x7F",
      "caf\xC3\xA9",  "\x80",          ":authority",
  };
  for (std::string_view name : bad) {
    absl::StatusOr<HeaderName> n = HeaderName::parse(name);
    BOOST_TEST(absl::IsInvalidArgument(n.status()), "accepted a bad name");
    BOOST_TEST(message_contains(n.status(), "is not a token character"));
  }

  absl::StatusOr<HeaderName> space = HeaderName::parse("Content Type");
  BOOST_TEST(message(space.status()) ==
             "invalid header name \"Content Type\": byte ' ' (0x20) at position 7 is not a "
             "token character");
  // Control bytes are escaped, never echoed raw.
  absl::StatusOr<HeaderName> crlf = HeaderName::parse("x\r\nInjected: 1");
  BOOST_TEST(message_contains(crlf.status(), "0x0D at position 1"));
  BOOST_TEST(message(crlf.status()).find_first_of("\r\n") == std::string::npos);
}

// Every byte at every position of names of every shape the parse takes (under 8 bytes byte by
// byte, then 16-byte blocks on the stack, over 32 bytes byte by byte into their own storage):
// accepted exactly when it is a tchar, lowercased, and a rejection names its position.
BOOST_AUTO_TEST_CASE(every_byte_at_every_position) {
  for (std::size_t len : {1u, 2u, 7u, 8u, 9u, 15u, 16u, 17u, 31u, 32u, 33u, 40u}) {
    for (std::size_t pos = 0; pos < len; ++pos) {
      for (int b = 0; b < 256; ++b) {
        std::string s(len, 'Q');
        s[pos] = static_cast<char>(b);
        absl::StatusOr<HeaderName> n = HeaderName::parse(s);
        const char lower = weft::http::detail::kTokenLower[b];
        BOOST_TEST_REQUIRE(n.ok() == (lower != 0), "byte " << b << " at " << pos << " of " << len);
        if (n.ok()) {
          std::string want(len, 'q');
          want[pos] = lower;
          BOOST_TEST_REQUIRE(n->as_str() == want, "byte " << b << " at " << pos << " of " << len);
        } else {
          BOOST_TEST(message_contains(n.status(), " at position " + std::to_string(pos) + " "));
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(length_limit) {
  std::string longest(HeaderName::kMaxLength, 'A');
  absl::StatusOr<HeaderName> ok = HeaderName::parse(longest);
  BOOST_TEST_REQUIRE(ok.ok());
  BOOST_TEST(ok->as_str() == std::string(HeaderName::kMaxLength, 'a'));

  absl::StatusOr<HeaderName> too_long = HeaderName::parse(longest + "a");
  BOOST_TEST(absl::IsInvalidArgument(too_long.status()));
  BOOST_TEST(message_contains(too_long.status(), "longer than 65535"));

  // Long invalid names are cut short in the message.
  absl::StatusOr<HeaderName> bad = HeaderName::parse(std::string(1000, 'x') + " ");
  BOOST_TEST(absl::IsInvalidArgument(bad.status()));
  BOOST_TEST(message(bad.status()).size() < 200);
  BOOST_TEST(message_contains(bad.status(), "at position 1000"));
}

BOOST_AUTO_TEST_CASE(long_custom_names_are_lowercased) {
  std::string mixed;
  for (int i = 0; i < 50; ++i) mixed += (i % 2 ? "AbC-" : "xYz_");
  absl::StatusOr<HeaderName> n = HeaderName::parse(mixed);
  BOOST_TEST_REQUIRE(n.ok());
  std::string lower;
  for (int i = 0; i < 50; ++i) lower += (i % 2 ? "abc-" : "xyz_");
  BOOST_TEST(n->as_str() == lower);
}

BOOST_AUTO_TEST_CASE(compares_to_strings_ignoring_case) {
  const HeaderName& ct = header::CONTENT_TYPE;
  BOOST_TEST((ct == "content-type"));
  BOOST_TEST((ct == "Content-Type"));
  BOOST_TEST((ct == std::string_view("CONTENT-TYPE")));
  BOOST_TEST(("CoNtEnT-TyPe" == ct));
  BOOST_TEST(!(ct == "content-typ"));
  BOOST_TEST(!(ct == "content-types"));
  BOOST_TEST(!(ct == "content_type"));
  BOOST_TEST((ct != "accept"));

  absl::StatusOr<HeaderName> custom = HeaderName::parse("X-Custom");
  BOOST_TEST((*custom == "x-CUSTOM"));
  BOOST_TEST(!(*custom == "x-custom "));
}

BOOST_AUTO_TEST_CASE(equality_and_order) {
  absl::StatusOr<HeaderName> a = HeaderName::parse("X-A");
  absl::StatusOr<HeaderName> a2 = HeaderName::parse("x-a");
  absl::StatusOr<HeaderName> b = HeaderName::parse("x-b");
  BOOST_TEST((*a == *a2));
  BOOST_TEST(!(*a == *b));
  BOOST_TEST((*a < *b));
  BOOST_TEST(!(*b < *a));
  BOOST_TEST((header::ACCEPT < header::HOST));
  BOOST_TEST(!(header::HOST == header::DATE));
  BOOST_TEST((HeaderName::parse("Host").value() == header::HOST));
  BOOST_TEST(!(header::HOST == *a));

  std::set<HeaderName> sorted = {header::VARY, *b, header::ACCEPT, *a};
  std::string order;
  for (const HeaderName& n : sorted) order += std::string(n.as_str()) + ",";
  BOOST_TEST(order == "accept,vary,x-a,x-b,");
}

BOOST_AUTO_TEST_CASE(hashable) {
  absl::flat_hash_set<HeaderName> set = {header::HOST, *HeaderName::parse("x-trace")};
  BOOST_TEST(set.contains(*HeaderName::parse("HOST")));
  BOOST_TEST(set.contains(*HeaderName::parse("X-Trace")));
  BOOST_TEST(!set.contains(header::DATE));

  std::unordered_set<HeaderName> std_set = {header::SET_COOKIE};
  BOOST_TEST(std_set.count(*HeaderName::parse("Set-Cookie")) == 1u);
  BOOST_TEST(std_set.count(header::COOKIE) == 0u);
}

BOOST_AUTO_TEST_CASE(from_static) {
  HeaderName trace = HeaderName::from_static("x-trace-id");
  BOOST_TEST(trace.as_str() == "x-trace-id");
  BOOST_TEST((HeaderName::from_static("content-length") == header::CONTENT_LENGTH));

  BOOST_CHECK_THROW(HeaderName::from_static("X-Trace-Id"), std::invalid_argument);  // not lowercase
  BOOST_CHECK_THROW(HeaderName::from_static("x trace"), std::invalid_argument);
  BOOST_CHECK_THROW(HeaderName::from_static(""), std::invalid_argument);
  BOOST_CHECK_THROW(HeaderName::from_static("x\r\n"), std::invalid_argument);

  // The bytes are copied: the source may go away.
  std::string temp = "x-temporary-name-longer-than-sso";
  HeaderName n = HeaderName::from_static(temp);
  temp.assign(temp.size(), 'z');
  BOOST_TEST(n.as_str() == "x-temporary-name-longer-than-sso");
}

BOOST_AUTO_TEST_CASE(standard_constants) {
  BOOST_TEST(header::CONTENT_TYPE.as_str() == "content-type");
  BOOST_TEST(header::CONTENT_LENGTH.as_str() == "content-length");
  BOOST_TEST(header::TRANSFER_ENCODING.as_str() == "transfer-encoding");
  BOOST_TEST(header::CONNECTION.as_str() == "connection");
  BOOST_TEST(header::HOST.as_str() == "host");
  BOOST_TEST(header::DATE.as_str() == "date");
  BOOST_TEST(header::SERVER.as_str() == "server");
  BOOST_TEST(header::EXPECT.as_str() == "expect");
  BOOST_TEST(header::UPGRADE.as_str() == "upgrade");
  BOOST_TEST(header::TE.as_str() == "te");
  BOOST_TEST(header::TRAILER.as_str() == "trailer");
  BOOST_TEST(header::ACCEPT.as_str() == "accept");
  BOOST_TEST(header::ACCEPT_ENCODING.as_str() == "accept-encoding");
  BOOST_TEST(header::CONTENT_ENCODING.as_str() == "content-encoding");
  BOOST_TEST(header::LOCATION.as_str() == "location");
  BOOST_TEST(header::ALLOW.as_str() == "allow");
  BOOST_TEST(header::USER_AGENT.as_str() == "user-agent");
  BOOST_TEST(header::AUTHORIZATION.as_str() == "authorization");
  BOOST_TEST(header::COOKIE.as_str() == "cookie");
  BOOST_TEST(header::SET_COOKIE.as_str() == "set-cookie");
  BOOST_TEST(header::KEEP_ALIVE.as_str() == "keep-alive");
  BOOST_TEST(header::CACHE_CONTROL.as_str() == "cache-control");
  BOOST_TEST(header::VARY.as_str() == "vary");
  BOOST_TEST(header::RETRY_AFTER.as_str() == "retry-after");
  BOOST_TEST(header::ORIGIN.as_str() == "origin");
  BOOST_TEST(header::ACCESS_CONTROL_ALLOW_CREDENTIALS.as_str() ==
             "access-control-allow-credentials");

  // Every standard name parses to the same (indexed) name, whatever its case.
  for (std::string_view s : weft::http::detail::kStandardHeaderNames) {
    std::string upper(s);
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    absl::StatusOr<HeaderName> n = HeaderName::parse(upper);
    BOOST_TEST_REQUIRE(n.ok());
    BOOST_TEST((*n == HeaderName::from_static(s)));
    BOOST_TEST(n->as_str() == s);
    // Found in the table, not copied: the text is the table's own.
    BOOST_TEST(static_cast<const void*>(n->as_str().data()) == static_cast<const void*>(s.data()));
  }
}

// The lookup compares whole names: one changed byte anywhere, one byte more or less, and a
// name is custom (and keeps its own text).
BOOST_AUTO_TEST_CASE(near_misses_of_standard_names_are_custom) {
  for (std::string_view s : weft::http::detail::kStandardHeaderNames) {
    std::vector<std::string> misses = {std::string(s) + "x", std::string(s.substr(1)),
                                       std::string(s.substr(0, s.size() - 1))};
    for (std::size_t i = 0; i < s.size(); ++i) {
      std::string m(s);
      m[i] = m[i] == 'q' ? 'z' : 'q';
      misses.push_back(m);
    }
    for (const std::string& m : misses) {
      absl::StatusOr<HeaderName> n = HeaderName::parse(m);
      BOOST_TEST_REQUIRE(n.ok(), m);
      BOOST_TEST(n->as_str() == m);
      const bool standard = std::find(std::begin(weft::http::detail::kStandardHeaderNames),
                                      std::end(weft::http::detail::kStandardHeaderNames),
                                      m) != std::end(weft::http::detail::kStandardHeaderNames);
      BOOST_TEST((*n == HeaderName::from_static(s)) == false, m);
      if (!standard) {
        BOOST_TEST(
            static_cast<const void*>(n->as_str().data()) != static_cast<const void*>(s.data()), m);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(standard_and_short_names_do_not_allocate) {
  weft::http::testing::Allocations allocs;
  absl::StatusOr<HeaderName> te = HeaderName::parse("Transfer-Encoding");  // 17 bytes, standard
  absl::StatusOr<HeaderName> acac = HeaderName::parse("Access-Control-Allow-Credentials");
  absl::StatusOr<HeaderName> custom = HeaderName::parse("X-Request-Trace-Span-Id");  // 23: inline
  HeaderName copy = header::TRANSFER_ENCODING;
  HeaderName copy2 = *custom;
  long n = allocs.count();
  BOOST_TEST(n == 0);
  BOOST_TEST((copy == *te));
  BOOST_TEST(acac->as_str() == "access-control-allow-credentials");
  BOOST_TEST((copy2 == "x-request-trace-span-id"));
}

BOOST_AUTO_TEST_CASE(prints_the_name) {
  std::ostringstream os;
  os << header::CONTENT_TYPE << ' ' << *HeaderName::parse("X-Y");
  BOOST_TEST(os.str() == "content-type x-y");
}
