// detail::InlineString: inline up to 23 bytes and on the heap beyond, copies that share
// nothing, moves that leave an empty source, reuse of one object across both forms.
#define BOOST_TEST_MODULE inline_string_test
#include "weft/http/detail/inline_string.h"

#include <boost/test/unit_test.hpp>
#include <string>
#include <utility>

using weft::http::detail::InlineString;

namespace {

std::string bytes(size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s.push_back(static_cast<char>('a' + i % 26));
  return s;
}

}  // namespace

BOOST_AUTO_TEST_CASE(empty_by_default) {
  InlineString s;
  BOOST_TEST(s.empty());
  BOOST_TEST(s.size() == 0u);
  BOOST_TEST(s.view() == "");
}

BOOST_AUTO_TEST_CASE(every_length_round_trips_across_the_inline_limit) {
  for (size_t n = 0; n <= 3 * InlineString::kInline; ++n) {
    const std::string want = bytes(n);
    InlineString s(want);
    BOOST_TEST(s.size() == n);
    BOOST_TEST(s.view() == want);
    // Inline values live inside the object; longer ones do not.
    const char* first = s.view().data();
    const bool inside = first >= reinterpret_cast<const char*>(&s) &&
                        first < reinterpret_cast<const char*>(&s) + sizeof(s);
    BOOST_TEST(inside == (n <= InlineString::kInline));
  }
  static_assert(sizeof(InlineString) == 24);
}

BOOST_AUTO_TEST_CASE(copies_share_nothing) {
  for (size_t n : {size_t{5}, size_t{40}}) {
    InlineString a(bytes(n));
    InlineString b(a);
    BOOST_TEST(b.view() == a.view());
    BOOST_TEST(static_cast<const void*>(b.view().data()) != a.view().data());
    InlineString c;
    c = a;
    BOOST_TEST(c.view() == bytes(n));
    a.assign_for_overwrite(n)[0] = '#';  // changing a leaves its copies alone
    BOOST_TEST(b.view() == bytes(n));
    BOOST_TEST(c.view() == bytes(n));
    BOOST_TEST(a.view()[0] == '#');
    const InlineString& same = c;
    c = same;  // self-assignment keeps the value
    BOOST_TEST(c.view() == bytes(n));
  }
}

BOOST_AUTO_TEST_CASE(moves_take_the_bytes_and_leave_the_source_empty) {
  for (size_t n : {size_t{0}, size_t{23}, size_t{24}, size_t{100}}) {
    InlineString a(bytes(n));
    const char* heap = a.view().data();
    InlineString b(std::move(a));
    BOOST_TEST(b.view() == bytes(n));
    BOOST_TEST(a.empty());  // NOLINT(bugprone-use-after-move): the documented state
    if (n > InlineString::kInline) {
      BOOST_TEST(static_cast<const void*>(b.view().data()) == heap);  // not copied
    }

    InlineString c(bytes(50));  // what c held is freed (ASan's leak check says if not)
    c = std::move(b);
    BOOST_TEST(c.view() == bytes(n));
    BOOST_TEST(b.empty());  // NOLINT(bugprone-use-after-move)
    InlineString& self = c;
    c = std::move(self);  // self-move keeps the value
    BOOST_TEST(c.view() == bytes(n));
  }
}

BOOST_AUTO_TEST_CASE(one_object_goes_from_heap_to_inline_and_back) {
  InlineString s(bytes(64));
  char* p = s.assign_for_overwrite(3);
  p[0] = 'x';
  p[1] = 'y';
  p[2] = 'z';
  BOOST_TEST(s.view() == "xyz");
  p = s.assign_for_overwrite(30);
  for (int i = 0; i < 30; ++i) p[i] = '0' + i % 10;
  BOOST_TEST(s.view() == "012345678901234567890123456789");
  BOOST_TEST((s == InlineString(std::string("012345678901234567890123456789"))));
  BOOST_TEST(!(s == InlineString(std::string("0123"))));
}
