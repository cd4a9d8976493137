// Method: standard methods parse to their kind, anything else that is a token is an extension
// (case-sensitive), non-tokens are rejected with a message; safety/idempotency per RFC 9110;
// standard methods are copied without allocating.
#define BOOST_TEST_MODULE method_test
#include "weft/http/method.h"

#include <boost/test/unit_test.hpp>
#include <sstream>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "http/detail/test_allocations.h"

using weft::http::Method;
using Kind = weft::http::Method::Kind;

namespace {

bool message_contains(const absl::Status& s, std::string_view text) {
  return std::string(s.message()).find(text) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_CASE(default_is_get) {
  Method m;
  BOOST_TEST((m == Method::GET));
  BOOST_TEST((m.kind() == Kind::kGet));
  BOOST_TEST(m.as_str() == "GET");
}

BOOST_AUTO_TEST_CASE(parse_standard_methods) {
  struct Case {
    std::string_view text;
    Kind kind;
    const Method& constant;
  };
  const Case cases[] = {
      {"GET", Kind::kGet, Method::GET},
      {"HEAD", Kind::kHead, Method::HEAD},
      {"POST", Kind::kPost, Method::POST},
      {"PUT", Kind::kPut, Method::PUT},
      {"DELETE", Kind::kDelete, Method::DELETE},
      {"CONNECT", Kind::kConnect, Method::CONNECT},
      {"OPTIONS", Kind::kOptions, Method::OPTIONS},
      {"TRACE", Kind::kTrace, Method::TRACE},
      {"PATCH", Kind::kPatch, Method::PATCH},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Method> m = Method::parse(c.text);
    BOOST_TEST_REQUIRE(m.ok(), c.text);
    BOOST_TEST((m->kind() == c.kind), c.text);
    BOOST_TEST((*m == c.constant), c.text);
    BOOST_TEST(m->as_str() == c.text);
    BOOST_TEST(c.constant.as_str() == c.text);
  }
  BOOST_TEST(!(Method::GET == Method::POST));
}

BOOST_AUTO_TEST_CASE(methods_are_case_sensitive) {
  absl::StatusOr<Method> m = Method::parse("get");
  BOOST_TEST_REQUIRE(m.ok());
  BOOST_TEST((m->kind() == Kind::kExtension));
  BOOST_TEST(m->as_str() == "get");
  BOOST_TEST(!(*m == Method::GET));
}

BOOST_AUTO_TEST_CASE(unknown_tokens_are_extensions) {
  absl::StatusOr<Method> purge = Method::parse("PURGE");
  BOOST_TEST_REQUIRE(purge.ok());
  BOOST_TEST((purge->kind() == Kind::kExtension));
  BOOST_TEST(purge->as_str() == "PURGE");
  BOOST_TEST((*purge == *Method::parse("PURGE")));
  BOOST_TEST(!(*purge == *Method::parse("MKCOL")));
  BOOST_TEST(!(*purge == Method::GET));

  // Every tchar is allowed, and long names are kept whole.
  std::string odd = "X-!#$%&'*+-.^_`|~09azAZ-" + std::string(100, 'M');
  absl::StatusOr<Method> m = Method::parse(odd);
  BOOST_TEST_REQUIRE(m.ok());
  BOOST_TEST(m->as_str() == odd);

  Method copy = *m;  // shares the name
  BOOST_TEST((copy == *m));
  BOOST_TEST(copy.as_str() == odd);

  Method moved = std::move(copy);  // a move is a copy: the source keeps its name
  BOOST_TEST(moved.as_str() == odd);
  BOOST_TEST(copy.as_str() == odd);
}

BOOST_AUTO_TEST_CASE(rejects_non_tokens) {
  absl::StatusOr<Method> empty = Method::parse("");
  BOOST_TEST(absl::IsInvalidArgument(empty.status()));
  BOOST_TEST(message_contains(empty.status(), "empty"));

  const std::string_view bad[] = {
      "GE T",       "GET\r", "GET\n", std::string_view("GE\0T", 4), "G(ET", "GET/1", "GE\"T",
      "G\xC3\x89T", "\x7F",  "GET:",
  };
  for (std::string_view text : bad) {
    absl::StatusOr<Method> m = Method::parse(text);
    BOOST_TEST(absl::IsInvalidArgument(m.status()), "accepted a bad method");
    BOOST_TEST(message_contains(m.status(), "not a token character"));
  }
  absl::StatusOr<Method> space = Method::parse("GE T");
  BOOST_TEST(message_contains(space.status(), "' ' (0x20) at position 2"));
  absl::StatusOr<Method> cr = Method::parse("GET\r");
  BOOST_TEST(message_contains(cr.status(), "0x0D at position 3"));
  BOOST_TEST(std::string(cr.status().message()).find('\r') == std::string::npos);
}

BOOST_AUTO_TEST_CASE(safe_and_idempotent) {
  BOOST_TEST(Method::GET.is_safe());
  BOOST_TEST(Method::HEAD.is_safe());
  BOOST_TEST(Method::OPTIONS.is_safe());
  BOOST_TEST(Method::TRACE.is_safe());
  BOOST_TEST(!Method::POST.is_safe());
  BOOST_TEST(!Method::PUT.is_safe());
  BOOST_TEST(!Method::DELETE.is_safe());
  BOOST_TEST(!Method::PATCH.is_safe());
  BOOST_TEST(!Method::CONNECT.is_safe());

  BOOST_TEST(Method::GET.is_idempotent());
  BOOST_TEST(Method::HEAD.is_idempotent());
  BOOST_TEST(Method::OPTIONS.is_idempotent());
  BOOST_TEST(Method::TRACE.is_idempotent());
  BOOST_TEST(Method::PUT.is_idempotent());
  BOOST_TEST(Method::DELETE.is_idempotent());
  BOOST_TEST(!Method::POST.is_idempotent());
  BOOST_TEST(!Method::PATCH.is_idempotent());
  BOOST_TEST(!Method::CONNECT.is_idempotent());

  Method ext = *Method::parse("PROPFIND");
  BOOST_TEST(!ext.is_safe());
  BOOST_TEST(!ext.is_idempotent());
}

BOOST_AUTO_TEST_CASE(standard_methods_do_not_allocate) {
  weft::http::testing::Allocations allocs;
  absl::StatusOr<Method> m = Method::parse("OPTIONS");
  Method copy = *m;
  Method assigned;
  assigned = Method::DELETE;
  BOOST_TEST(allocs.count() == 0);
  BOOST_TEST((copy == Method::OPTIONS));
  BOOST_TEST((assigned == Method::DELETE));
}

BOOST_AUTO_TEST_CASE(prints_its_name) {
  std::ostringstream os;
  os << Method::PATCH << ' ' << *Method::parse("PURGE");
  BOOST_TEST(os.str() == "PATCH PURGE");
}
