// Bytes / BytesMut: zero-copy slicing and splitting (same memory), lifetimes, comparison, bounds,
// and handles copied and dropped on several threads at once (for TSan).
#define BOOST_TEST_MODULE bytes_test
#include "weft/runtime/io/bytes.h"

#include <boost/test/unit_test.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using weft::io::Bytes;
using weft::io::BytesMut;

namespace {
// BOOST_TEST would compare char pointers as C strings; compare addresses.
const void* addr(const char* p) { return p; }
}  // namespace

BOOST_AUTO_TEST_CASE(slice_shares_storage_and_outlives_the_original) {
  Bytes slice;
  const char* base = nullptr;
  {
    Bytes orig = Bytes::copy_from(std::string_view("hello, wonderful world"));
    base = orig.data();
    slice = orig.slice(7, 16);
    BOOST_TEST(addr(slice.data()) == addr(base + 7));  // same memory region, no copy
    BOOST_TEST(slice == "wonderful");
    BOOST_TEST(orig.use_count() == 2u);
    Bytes sub = slice.slice(3, 6);
    BOOST_TEST(addr(sub.data()) == addr(base + 10));
    BOOST_TEST(sub == "der");
    BOOST_TEST(orig.use_count() == 3u);
  }
  // The original is gone; the slice still owns the block.
  BOOST_TEST(slice.use_count() == 1u);
  BOOST_TEST(addr(slice.data()) == addr(base + 7));
  BOOST_TEST(slice.as_string_view() == "wonderful");
}

BOOST_AUTO_TEST_CASE(from_string_adopts_the_buffer) {
  std::string s(4096, 'a');
  const char* p = s.data();
  Bytes b = Bytes::from(std::move(s));
  BOOST_TEST(addr(b.data()) == addr(p));  // the heap buffer moved, not copied
  BOOST_TEST(b.size() == 4096u);
  Bytes c = b;
  BOOST_TEST(addr(c.data()) == addr(p));
  BOOST_TEST(b.use_count() == 2u);
  Bytes small = Bytes::from(std::string("hi"));  // SSO strings move their bytes, still fine
  BOOST_TEST(small == "hi");
  BOOST_TEST(Bytes::from(std::string()).empty());
}

BOOST_AUTO_TEST_CASE(copy_from_copies) {
  std::string s = "abc";
  Bytes b = Bytes::copy_from(std::span<const char>(s));
  BOOST_TEST(addr(b.data()) != addr(s.data()));
  s[0] = 'X';
  BOOST_TEST(b == "abc");
  Bytes st = Bytes::from_static("static");
  BOOST_TEST(st.use_count() == 0u);
  BOOST_TEST(st.slice(1, 3) == "ta");
}

BOOST_AUTO_TEST_CASE(comparison_and_bounds) {
  Bytes a = Bytes::copy_from(std::string_view("abc"));
  Bytes b = Bytes::from(std::string("abd"));
  BOOST_TEST((a < b));
  BOOST_TEST((a == Bytes::from_static("abc")));
  BOOST_TEST((a != b));
  BOOST_TEST((Bytes() == Bytes::from_static("")));
  BOOST_CHECK_THROW(a.slice(2, 4), std::out_of_range);
  BOOST_CHECK_THROW(a.slice(3, 2), std::out_of_range);
  BOOST_CHECK_THROW(a.split_to(4), std::out_of_range);
  BOOST_TEST(a.slice(3, 3).empty());
}

BOOST_AUTO_TEST_CASE(split_to_and_split_off) {
  Bytes b = Bytes::copy_from(std::string_view("header:body:trailer"));
  const char* base = b.data();
  Bytes head = b.split_to(7);
  BOOST_TEST(head == "header:");
  BOOST_TEST(b == "body:trailer");
  BOOST_TEST(addr(b.data()) == addr(base + 7));
  Bytes tail = b.split_off(4);
  BOOST_TEST(b == "body");
  BOOST_TEST(tail == ":trailer");
  BOOST_TEST(addr(tail.data()) == addr(base + 11));
  BOOST_TEST(b.use_count() == 3u);
}

BOOST_AUTO_TEST_CASE(bytes_mut_split_and_freeze_without_copy) {
  BytesMut m;
  for (int i = 0; i < 1000; ++i) m.append(std::string_view("0123456789"));
  BOOST_TEST(m.size() == 10000u);
  const char* base = m.data();
  BytesMut first = m.split_to(10);
  BOOST_TEST(addr(first.data()) == addr(base));
  BOOST_TEST(addr(m.data()) == addr(base + 10));
  BOOST_TEST(first.as_string_view() == "0123456789");
  Bytes frozen = std::move(first).freeze();
  BOOST_TEST(addr(frozen.data()) == addr(base));  // no copy
  BOOST_TEST(frozen == "0123456789");
  // Appending to the split-off head may not overwrite m's bytes: it moves to a new block.
  BytesMut second = m.split_to(10);
  second.append(std::string_view("!"));
  BOOST_TEST(second.as_string_view() == "0123456789!");
  BOOST_TEST(m.as_string_view().substr(0, 10) == "0123456789");
  BytesMut tail = m.split_off(m.size() - 5);
  BOOST_TEST(tail.as_string_view() == "56789");
  Bytes all = std::move(m).freeze();
  BOOST_TEST(all.size() == 10000u - 25u);
  BOOST_TEST(BytesMut().split().empty());
}

BOOST_AUTO_TEST_CASE(to_cord_shares_the_block) {
  Bytes b = Bytes::from(std::string(1000, 'c'));
  {
    absl::Cord c = b.slice(10, 510).to_cord();
    BOOST_TEST(c.size() == 500u);
    BOOST_TEST(b.use_count() == 2u);  // the Cord holds a reference
    BOOST_TEST(std::string(c) == std::string(500, 'c'));
  }
  BOOST_TEST(b.use_count() == 1u);
}

BOOST_AUTO_TEST_CASE(handles_shared_across_threads) {
  Bytes root = Bytes::from(std::string(1 << 16, 'z'));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([root, t] {
      std::vector<Bytes> kept;
      for (int i = 0; i < 20000; ++i) {
        Bytes s =
            root.slice(static_cast<std::size_t>(i % 1000), 1000 + static_cast<std::size_t>(t));
        if (i % 7 == 0) kept.push_back(s);
        if (kept.size() > 50) kept.clear();
      }
    });
  }
  for (auto& th : threads) th.join();
  BOOST_TEST(root.use_count() == 1u);
}
