// Extensions: one value per type, insert replaces, remove takes the value out, values are
// destroyed exactly once, move-only values work, and an empty map allocates nothing.
#define BOOST_TEST_MODULE extensions_test
#include "weft/http/extensions.h"

#include <boost/test/unit_test.hpp>
#include <memory>
#include <optional>
#include <string>

#include "http/detail/test_allocations.h"

using weft::http::Extensions;

namespace {

struct RequestId {
  std::string id;
};

struct PeerPort {
  int port = 0;
};

// Counts live instances, to check that every stored value is destroyed exactly once.
struct Counted {
  static inline int live = 0;
  int value;
  explicit Counted(int v) : value(v) { ++live; }
  Counted(const Counted& o) : value(o.value) { ++live; }
  Counted(Counted&& o) noexcept : value(o.value) { ++live; }
  Counted& operator=(const Counted&) = default;
  Counted& operator=(Counted&&) = default;
  ~Counted() { --live; }
};

// Neither copyable nor assignable: replaced by destroying and constructing.
struct Pinned {
  const int value;
  explicit Pinned(int v) : value(v) {}
  Pinned(Pinned&& o) noexcept : value(o.value) {}
  Pinned& operator=(Pinned&&) = delete;
};

}  // namespace

BOOST_AUTO_TEST_CASE(empty_does_not_allocate) {
  weft::http::testing::Allocations allocs;
  Extensions ext;
  bool missing = ext.get<RequestId>() == nullptr;
  std::optional<RequestId> removed = ext.remove<RequestId>();
  Extensions moved = std::move(ext);
  moved.clear();
  long n = allocs.count();
  BOOST_TEST(n == 0);
  BOOST_TEST(missing);
  BOOST_TEST(!removed.has_value());
  BOOST_TEST(moved.empty());
  BOOST_TEST(moved.size() == 0u);
}

BOOST_AUTO_TEST_CASE(insert_and_get_by_type) {
  Extensions ext;
  RequestId* id = ext.insert(RequestId{"abc"});
  PeerPort* port = ext.insert(PeerPort{8080});
  int* answer = ext.insert(42);
  BOOST_TEST(ext.size() == 3u);
  BOOST_TEST(!ext.empty());

  BOOST_TEST_REQUIRE(ext.get<RequestId>() != nullptr);
  BOOST_TEST(ext.get<RequestId>() == id);
  BOOST_TEST(ext.get<RequestId>()->id == "abc");
  BOOST_TEST(ext.get<PeerPort>() == port);
  BOOST_TEST(ext.get<PeerPort>()->port == 8080);
  BOOST_TEST(*ext.get<int>() == 42);
  BOOST_TEST(ext.get<int>() == answer);

  // Exact types only: no conversions between int, long and unsigned.
  BOOST_TEST(ext.get<long>() == nullptr);
  BOOST_TEST(ext.get<unsigned>() == nullptr);
  BOOST_TEST(ext.get<std::string>() == nullptr);

  // Through the pointer, the stored value changes.
  ext.get<PeerPort>()->port = 9090;
  BOOST_TEST(ext.get<PeerPort>()->port == 9090);

  const Extensions& view = ext;
  const RequestId* cid = view.get<RequestId>();
  BOOST_TEST(cid == id);
  BOOST_TEST(view.get<double>() == nullptr);
}

BOOST_AUTO_TEST_CASE(insert_replaces) {
  Extensions ext;
  ext.insert(PeerPort{1});
  RequestId* first = ext.insert(RequestId{"first"});
  RequestId* second = ext.insert(RequestId{"second"});
  BOOST_TEST(ext.size() == 2u);
  BOOST_TEST(second->id == "second");
  BOOST_TEST(ext.get<RequestId>()->id == "second");
  BOOST_TEST(first == second);  // assignable values are replaced in place
  BOOST_TEST(ext.get<PeerPort>()->port == 1);

  // A type that cannot be assigned is replaced too.
  ext.insert(Pinned(1));
  Pinned* p = ext.insert(Pinned(2));
  BOOST_TEST(p->value == 2);
  BOOST_TEST(ext.get<Pinned>()->value == 2);
  BOOST_TEST(ext.size() == 3u);
}

BOOST_AUTO_TEST_CASE(remove_takes_the_value_out) {
  Extensions ext;
  ext.insert(RequestId{"abc"});
  ext.insert(PeerPort{7});
  ext.insert(3.5);

  std::optional<RequestId> id = ext.remove<RequestId>();
  BOOST_TEST_REQUIRE(id.has_value());
  BOOST_TEST(id->id == "abc");
  BOOST_TEST(ext.size() == 2u);
  BOOST_TEST(ext.get<RequestId>() == nullptr);
  BOOST_TEST(!ext.remove<RequestId>().has_value());  // already gone

  // The others are untouched, whichever slot was removed.
  BOOST_TEST(ext.get<PeerPort>()->port == 7);
  BOOST_TEST(*ext.get<double>() == 3.5);
  BOOST_TEST(*ext.remove<double>() == 3.5);
  BOOST_TEST(ext.get<PeerPort>()->port == 7);
  BOOST_TEST(ext.remove<PeerPort>()->port == 7);
  BOOST_TEST(ext.empty());

  // Insert after remove works again.
  ext.insert(RequestId{"again"});
  BOOST_TEST(ext.get<RequestId>()->id == "again");
}

BOOST_AUTO_TEST_CASE(move_only_values) {
  Extensions ext;
  ext.insert(std::make_unique<int>(5));
  BOOST_TEST(**ext.get<std::unique_ptr<int>>() == 5);
  ext.insert(std::make_unique<int>(6));
  BOOST_TEST(**ext.get<std::unique_ptr<int>>() == 6);
  std::optional<std::unique_ptr<int>> taken = ext.remove<std::unique_ptr<int>>();
  BOOST_TEST_REQUIRE(taken.has_value());
  BOOST_TEST(**taken == 6);
  BOOST_TEST(ext.empty());
}

BOOST_AUTO_TEST_CASE(values_are_destroyed_exactly_once) {
  BOOST_TEST(Counted::live == 0);
  {
    Extensions ext;
    ext.insert(Counted(1));
    BOOST_TEST(Counted::live == 1);
    ext.insert(Counted(2));  // replaced: still one
    BOOST_TEST(Counted::live == 1);
    BOOST_TEST(ext.get<Counted>()->value == 2);
    {
      std::optional<Counted> out = ext.remove<Counted>();
      BOOST_TEST(Counted::live == 1);  // only the one taken out
    }
    BOOST_TEST(Counted::live == 0);

    ext.insert(Counted(3));
    ext.clear();
    BOOST_TEST(Counted::live == 0);
    BOOST_TEST(ext.empty());

    ext.insert(Counted(4));
    Extensions moved = std::move(ext);
    BOOST_TEST(Counted::live == 1);
    BOOST_TEST(moved.get<Counted>()->value == 4);
  }
  BOOST_TEST(Counted::live == 0);  // destroyed with the map
}

BOOST_AUTO_TEST_CASE(pointers_survive_moves_of_the_map) {
  Extensions ext;
  RequestId* id = ext.insert(RequestId{"stable"});
  for (int i = 0; i < 20; ++i) ext.insert(i);  // same type: one slot
  ext.insert(PeerPort{1});
  ext.insert(1.0);
  ext.insert(std::string("grow the slot vector"));
  Extensions moved = std::move(ext);
  BOOST_TEST(moved.get<RequestId>() == id);
  BOOST_TEST(id->id == "stable");
  BOOST_TEST(*moved.get<int>() == 19);
  BOOST_TEST(moved.size() == 5u);
}
