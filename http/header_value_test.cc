// HeaderValue: every byte but CTLs (HTAB allowed) is accepted and kept as is; errors name the
// byte and position without echoing the value; integers; the sensitive flag.
#define BOOST_TEST_MODULE header_value_test
#include "weft/http/header_value.h"

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "http/detail/test_allocations.h"

using weft::http::HeaderValue;

namespace {

std::string message(const absl::Status& s) { return std::string(s.message()); }

}  // namespace

BOOST_AUTO_TEST_CASE(accepts_visible_ascii_space_tab_and_obs_text) {
  const std::string_view good[] = {
      "text/plain; charset=utf-8",
      "",
      " leading and trailing ",
      "tab\tinside",
      "\t",
      "\x80\xFF obs-text",
      "caf\xC3\xA9",
      "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
  };
  for (std::string_view s : good) {
    absl::StatusOr<HeaderValue> v = HeaderValue::parse(s);
    BOOST_TEST_REQUIRE(v.ok());
    BOOST_TEST(v->as_str() == s);  // kept as is, not trimmed
    BOOST_TEST(v->size() == s.size());
    BOOST_TEST(v->empty() == s.empty());
  }
}

BOOST_AUTO_TEST_CASE(rejects_cr_lf_nul_and_other_controls) {
  const std::string_view bad[] = {
      "a\rb", "a\nb", "a\r\nInjected: 1", std::string_view("a\0b", 3), "\x01", "\x08", "\x0B",
      "\x0C", "\x1F", "del\x7F",
  };
  for (std::string_view s : bad) {
    absl::StatusOr<HeaderValue> v = HeaderValue::parse(s);
    BOOST_TEST(absl::IsInvalidArgument(v.status()), "accepted a bad value");
    BOOST_TEST(message(v.status()).find("is not allowed") != std::string::npos);
  }
  absl::StatusOr<HeaderValue> crlf = HeaderValue::parse("secret-token\r\nX: y");
  BOOST_TEST(message(crlf.status()) ==
             "invalid header value: byte 0x0D at position 12 is not allowed (no CR, LF, NUL or "
             "other control characters)");
  // The value may be a credential: it does not appear in the message.
  BOOST_TEST(message(crlf.status()).find("secret") == std::string::npos);
  absl::StatusOr<HeaderValue> del = HeaderValue::parse("a\x7F");
  BOOST_TEST(message(del.status()).find("0x7F at position 1") != std::string::npos);
}

// Every byte, at every position of values short and long enough for the block-at-a-time scans
// (8-byte words, 16-byte SSE2 blocks, and their overlapping last block), is accepted exactly
// when the byte table allows it, and a rejection names its position.
BOOST_AUTO_TEST_CASE(every_byte_at_every_position_of_a_long_value) {
  for (std::size_t len : {1u, 7u, 8u, 9u, 13u, 15u, 16u, 17u, 23u, 31u, 32u, 33u, 40u}) {
    for (std::size_t pos = 0; pos < len; ++pos) {
      for (int b = 0; b < 256; ++b) {
        std::string s(len, 'a');
        s[pos] = static_cast<char>(b);
        absl::StatusOr<HeaderValue> v = HeaderValue::parse(s);
        const bool allowed = b == '\t' || (b >= 0x20 && b != 0x7F);
        BOOST_TEST_REQUIRE(v.ok() == allowed, "byte " << b << " at " << pos << " of " << len);
        if (!allowed) {
          BOOST_TEST(message(v.status()).find(" at position " + std::to_string(pos) + " ") !=
                     std::string::npos);
        }
      }
    }
  }
  // Two bad bytes: the first one is reported, wherever the words split.
  BOOST_TEST(message(HeaderValue::parse("abcdefghij\x01lmnop\x7F").status()).find("position 10") !=
             std::string::npos);
  // The last word overlaps the one before it: the first bad byte is still the one reported.
  BOOST_TEST(message(HeaderValue::parse("abcdefgh\x01ij\x02").status()).find("position 8") !=
             std::string::npos);
  BOOST_TEST(message(HeaderValue::parse("a\tc\x01"
                                        "efghij")
                         .status())
                 .find("position 3") != std::string::npos);
  // A tab with a control later in the same word: the control is still found.
  BOOST_TEST(!HeaderValue::parse("a\tb\x1F"
                                 "cdefgh")
                  .ok());
}

BOOST_AUTO_TEST_CASE(default_is_empty) {
  HeaderValue v;
  BOOST_TEST(v.empty());
  BOOST_TEST(v.size() == 0u);
  BOOST_TEST(v.as_str() == "");
  BOOST_TEST(!v.is_sensitive());
}

BOOST_AUTO_TEST_CASE(from_static) {
  HeaderValue v = HeaderValue::from_static("gzip, br");
  BOOST_TEST(v.as_str() == "gzip, br");
  BOOST_CHECK_THROW(HeaderValue::from_static("a\r\nb"), std::invalid_argument);
  BOOST_CHECK_THROW(HeaderValue::from_static(std::string_view("\0", 1)), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(from_integer) {
  BOOST_TEST(HeaderValue::from_integer(0).as_str() == "0");
  BOOST_TEST(HeaderValue::from_integer(1234).as_str() == "1234");
  BOOST_TEST(HeaderValue::from_integer(std::numeric_limits<uint64_t>::max()).as_str() ==
             "18446744073709551615");
}

BOOST_AUTO_TEST_CASE(sensitive_flag) {
  HeaderValue v = HeaderValue::from_static("Bearer abc");
  BOOST_TEST(!v.is_sensitive());
  v.set_sensitive(true);
  BOOST_TEST(v.is_sensitive());
  HeaderValue copy = v;
  BOOST_TEST(copy.is_sensitive());  // travels with the value
  // Comparison is by bytes only.
  BOOST_TEST((v == HeaderValue::from_static("Bearer abc")));
  v.set_sensitive(false);
  BOOST_TEST(!v.is_sensitive());
}

BOOST_AUTO_TEST_CASE(compares_bytes) {
  HeaderValue v = HeaderValue::from_static("Text/Plain");
  BOOST_TEST((v == "Text/Plain"));
  BOOST_TEST(!(v == "text/plain"));  // values are case-sensitive
  BOOST_TEST(("Text/Plain" == v));
  BOOST_TEST((v != HeaderValue::from_static("Text/Plain ")));
}

BOOST_AUTO_TEST_CASE(prints_escaped_or_redacted) {
  HeaderValue v = HeaderValue::from_static("a\"b\x80");
  std::ostringstream os;
  os << v;
  BOOST_TEST(os.str() == "\"a\\\"b\\x80\"");
  v.set_sensitive(true);
  std::ostringstream redacted;
  redacted << v;
  BOOST_TEST(redacted.str() == "Sensitive");
}

BOOST_AUTO_TEST_CASE(values_up_to_23_bytes_are_kept_without_allocating) {
  weft::http::testing::Allocations allocs;
  absl::StatusOr<HeaderValue> host = HeaderValue::parse("service.internal:443");
  HeaderValue moved = *std::move(host);
  HeaderValue copy = moved;
  HeaderValue longest = HeaderValue::from_static("application/grpc+proto");  // 22 bytes
  HeaderValue number = HeaderValue::from_integer(18446744073709551615ull);   // 20 digits
  const long small = allocs.count();
  HeaderValue big = HeaderValue::from_static("text/html; charset=utf-8");  // 24 bytes
  const long with_big = allocs.count();
  BOOST_TEST(small == 0);
  BOOST_TEST(with_big == 1);
  BOOST_TEST(copy == "service.internal:443");
  BOOST_TEST(longest == "application/grpc+proto");
  BOOST_TEST(number == "18446744073709551615");
  BOOST_TEST(big == "text/html; charset=utf-8");
}
