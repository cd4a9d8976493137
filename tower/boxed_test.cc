// BoxService / BoxCloneService: a boxed stack behaves as the stack (responses, errors from
// ready() and call(), readiness permits), copies are independent, a permit works only with
// the box that made it, and large permits (stored on the heap) are released.
#define BOOST_TEST_MODULE boxed_test
#include "weft/tower/boxed.h"

#include <array>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <memory>
#include <string>
#include <vector>

#include "weft/runtime/runtime.h"
#include "weft/runtime/task/yield_now.h"
#include "weft/runtime/testing/test_runtime.h"
#include "weft/tower/service_builder.h"

using weft::Task;
namespace tower = weft::tower;
using BoxedIntToString = tower::BoxService<int, std::string>;

namespace {

template <class S, class Req>
absl::StatusOr<tower::response_t<S, Req>> call_on(weft::Runtime& rt, const S& svc, Req req) {
  auto go = [](const S* s, Req r) -> Task<absl::StatusOr<tower::response_t<S, Req>>> {
    co_return co_await tower::oneshot(*s, std::move(r));
  };
  return rt.block_on(go(&svc, std::move(req)));
}

auto stack() {
  return tower::ServiceBuilder()
      .map_response([](int x) { return "#" + std::to_string(x); })
      .map_request([](int x) { return x * 2; })
      .service_fn([](int x) -> Task<absl::StatusOr<int>> {
        co_await weft::yield_now();
        if (x < 0) co_return absl::InvalidArgumentError("negative");
        co_return x;
      });
}

// A permit too big for BoxPermit's inline buffer, counting live instances.
struct BigPermitService {
  std::shared_ptr<std::atomic<int>> live = std::make_shared<std::atomic<int>>(0);
  bool down = false;
  struct Permit {
    std::array<char, 200> pad{};
    std::shared_ptr<std::atomic<int>> live;
    explicit Permit(std::shared_ptr<std::atomic<int>> l) : live(std::move(l)) {
      live->fetch_add(1);
    }
    Permit(Permit&& o) noexcept : pad(o.pad), live(std::move(o.live)) {}
    Permit(const Permit&) = delete;
    ~Permit() {
      if (live) live->fetch_sub(1);
    }
  };
  Task<absl::StatusOr<Permit>> ready() const {
    co_await weft::yield_now();
    if (down) co_return absl::ResourceExhaustedError("full");
    co_return Permit(live);
  }
  Task<absl::StatusOr<std::string>> call(Permit p, int x) const {
    co_await weft::yield_now();
    co_return std::to_string(x + (p.live->load() > 0 ? 1000 : 0));
  }
};

static_assert(tower::ServiceFor<BoxedIntToString, int, std::string>);
static_assert(!std::is_copy_constructible_v<BoxedIntToString>);
static_assert(std::is_copy_constructible_v<tower::BoxCloneService<int, std::string>>);
static_assert(std::is_same_v<tower::permit_t<BoxedIntToString>, tower::BoxPermit>);

}  // namespace

BOOST_AUTO_TEST_CASE(boxing_preserves_behaviour) {
  auto rt = weft::testing::make_runtime();
  auto plain = stack();
  BoxedIntToString boxed(stack());
  for (int x : {0, 1, 21, -4}) {
    absl::StatusOr<std::string> a = call_on(rt, plain, x);
    absl::StatusOr<std::string> b = call_on(rt, boxed, x);
    BOOST_TEST(a.status() == b.status());
    if (a.ok() && b.ok()) BOOST_TEST(*a == *b);
  }
  BOOST_TEST(*call_on(rt, boxed, 21) == "#42");
  BOOST_TEST(absl::IsInvalidArgument(call_on(rt, boxed, -1).status()));
  // A box in a container: one type for different stacks.
  std::vector<BoxedIntToString> many;
  many.emplace_back(stack());
  many.emplace_back(tower::service_fn([](int x) -> absl::StatusOr<std::string> {
    return std::string(static_cast<std::size_t>(x), 'x');
  }));
  BOOST_TEST(*call_on(rt, many[0], 1) == "#2");
  BOOST_TEST(*call_on(rt, many[1], 3) == "xxx");
}

BOOST_AUTO_TEST_CASE(boxed_permits_large_and_errors) {
  auto rt = weft::testing::make_runtime();
  BigPermitService inner;
  auto live = inner.live;
  tower::BoxService<int, std::string> boxed(inner);
  BOOST_TEST(*call_on(rt, boxed, 1) == "1001");  // the permit was alive during the call
  BOOST_TEST(live->load() == 0);                 // and released after it

  // A permit taken and dropped without a call is released too.
  auto take_and_drop = [](const tower::BoxService<int, std::string>* s,
                          std::shared_ptr<std::atomic<int>> l) -> Task<int> {
    int during = -1;
    {
      absl::StatusOr<tower::BoxPermit> p = co_await s->ready();
      if (p.ok()) during = l->load();
    }
    co_return during * 10 + l->load();
  };
  BOOST_TEST(rt.block_on(take_and_drop(&boxed, live)) == 10);

  tower::BoxService<int, std::string> down(BigPermitService{.down = true});
  BOOST_TEST(absl::IsResourceExhausted(call_on(rt, down, 1).status()));
}

BOOST_AUTO_TEST_CASE(permit_of_another_box_is_rejected) {
  auto rt = weft::testing::make_runtime();
  BoxedIntToString a(stack()), b(stack());
  auto cross = [](const BoxedIntToString* a,
                  const BoxedIntToString* b) -> Task<absl::StatusOr<std::string>> {
    absl::StatusOr<tower::BoxPermit> p = co_await a->ready();
    if (!p.ok()) co_return p.status();
    auto response = b->call(*std::move(p), 1);
    co_return co_await std::move(response);
  };
  BOOST_TEST(absl::IsFailedPrecondition(rt.block_on(cross(&a, &b)).status()));
  BOOST_TEST(*rt.block_on(cross(&a, &a)) == "#2");
}

BOOST_AUTO_TEST_CASE(box_clone_copies_are_independent) {
  auto rt = weft::testing::make_runtime();
  auto calls = std::make_shared<std::atomic<int>>(0);
  struct Counting {
    std::shared_ptr<std::atomic<int>> calls;
    int offset;
    tower::AlwaysReady ready() const { return tower::always_ready(); }
    Task<absl::StatusOr<std::string>> call(tower::NoPermit, int x) const {
      calls->fetch_add(1);
      co_return std::to_string(x + offset);
    }
  };
  tower::BoxCloneService<int, std::string> original(Counting{calls, 100});
  tower::BoxCloneService<int, std::string> copy = original;
  tower::BoxCloneService<int, std::string> assigned(Counting{calls, 5});
  assigned = copy;
  BOOST_TEST(*call_on(rt, original, 1) == "101");
  BOOST_TEST(*call_on(rt, copy, 2) == "102");
  BOOST_TEST(*call_on(rt, assigned, 3) == "103");
  BOOST_TEST(calls->load() == 3);
  // Clones are boxes of their own: a permit of the original does not work on the copy.
  auto cross = [](const tower::BoxCloneService<int, std::string>* a,
                  const tower::BoxCloneService<int, std::string>* b) -> Task<absl::Status> {
    absl::StatusOr<tower::BoxPermit> p = co_await a->ready();
    if (!p.ok()) co_return p.status();
    auto response = b->call(*std::move(p), 1);
    co_return (co_await std::move(response)).status();
  };
  BOOST_TEST(absl::IsFailedPrecondition(rt.block_on(cross(&original, &copy))));
}
