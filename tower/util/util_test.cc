// The combinators: map_request, map_response, map_err, and_then, then, Steer: their results on
// success and on every error path (errors from ready(), from call(), from the function).
#define BOOST_TEST_MODULE util_test
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "weft/runtime/runtime.h"
#include "weft/runtime/task/yield_now.h"
#include "weft/runtime/testing/test_runtime.h"
#include "weft/tower/service.h"
#include "weft/tower/service_fn.h"
#include "weft/tower/util/and_then.h"
#include "weft/tower/util/map_err.h"
#include "weft/tower/util/map_request.h"
#include "weft/tower/util/map_response.h"
#include "weft/tower/util/steer.h"
#include "weft/tower/util/then.h"

using weft::Task;
namespace tower = weft::tower;

namespace {

// Echoes ints after a suspension; fails calls with negative requests (INVALID_ARGUMENT) and
// readiness when built with `down` (UNAVAILABLE).
struct Echo {
  bool down = false;
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
  Task<absl::StatusOr<tower::NoPermit>> ready() const {
    if (down) co_return absl::UnavailableError("down");
    co_return tower::NoPermit{};
  }
  Task<absl::StatusOr<int>> call(tower::NoPermit, int x) const {
    calls->fetch_add(1);
    co_await weft::yield_now();
    if (x < 0) co_return absl::InvalidArgumentError("negative");
    co_return x;
  }
};

template <class S, class Req>
absl::StatusOr<tower::response_t<S, Req>> call_on(weft::Runtime& rt, const S& svc, Req req) {
  auto go = [](const S* s, Req r) -> Task<absl::StatusOr<tower::response_t<S, Req>>> {
    co_return co_await tower::oneshot(*s, std::move(r));
  };
  return rt.block_on(go(&svc, std::move(req)));
}

}  // namespace

BOOST_AUTO_TEST_CASE(map_request_transforms_requests) {
  auto rt = weft::testing::make_runtime();
  auto svc = tower::map_request(Echo{}, [](std::string s) { return static_cast<int>(s.size()); });
  static_assert(tower::ServiceFor<decltype(svc), std::string, int>);
  BOOST_TEST(*call_on(rt, svc, std::string("hello")) == 5);
  // Readiness is the inner one's.
  auto down = tower::map_request(Echo{.down = true}, [](int x) { return x; });
  BOOST_TEST(absl::IsUnavailable(call_on(rt, down, 1).status()));
}

BOOST_AUTO_TEST_CASE(map_response_transforms_success_only) {
  auto rt = weft::testing::make_runtime();
  std::atomic<int> mapped{0};
  auto svc = tower::map_response(Echo{}, [&mapped](int x) {
    mapped.fetch_add(1);
    return std::to_string(x) + "!";
  });
  static_assert(tower::ServiceFor<decltype(svc), int, std::string>);
  BOOST_TEST(*call_on(rt, svc, 7) == "7!");
  absl::StatusOr<std::string> err = call_on(rt, svc, -1);
  BOOST_TEST(absl::IsInvalidArgument(err.status()));
  BOOST_TEST(mapped.load() == 1);  // not called for the error
}

BOOST_AUTO_TEST_CASE(map_err_maps_ready_and_call_errors) {
  auto rt = weft::testing::make_runtime();
  auto wrap = [](absl::Status s) {
    return absl::AbortedError(std::string("wrapped: ") + std::string(s.message()));
  };
  auto svc = tower::map_err(Echo{}, wrap);
  BOOST_TEST(*call_on(rt, svc, 3) == 3);  // success untouched
  absl::StatusOr<int> call_err = call_on(rt, svc, -3);
  BOOST_TEST(absl::IsAborted(call_err.status()));
  BOOST_TEST(call_err.status().message() == "wrapped: negative");

  Echo down{.down = true};
  auto down_svc = tower::map_err(down, wrap);
  absl::StatusOr<int> ready_err = call_on(rt, down_svc, 3);
  BOOST_TEST(absl::IsAborted(ready_err.status()));
  BOOST_TEST(ready_err.status().message() == "wrapped: down");
  BOOST_TEST(down.calls->load() == 0);  // call() never ran without a permit
}

BOOST_AUTO_TEST_CASE(and_then_runs_only_after_success) {
  auto rt = weft::testing::make_runtime();
  std::atomic<int> ran{0};
  auto async_next = tower::and_then(Echo{}, [&ran](int x) -> Task<absl::StatusOr<std::string>> {
    ran.fetch_add(1);
    co_await weft::yield_now();
    if (x == 13) co_return absl::NotFoundError("unlucky");
    co_return std::string(static_cast<std::size_t>(x), '*');
  });
  static_assert(tower::ServiceFor<decltype(async_next), int, std::string>);
  BOOST_TEST(*call_on(rt, async_next, 3) == "***");
  BOOST_TEST(absl::IsNotFound(call_on(rt, async_next, 13).status()));         // f's error
  BOOST_TEST(absl::IsInvalidArgument(call_on(rt, async_next, -1).status()));  // inner error
  BOOST_TEST(ran.load() == 2);                                                // skipped once

  auto sync_next = tower::and_then(Echo{}, [](int x) -> absl::StatusOr<int> { return x * 3; });
  BOOST_TEST(*call_on(rt, sync_next, 5) == 15);
  BOOST_TEST(absl::IsUnavailable(
      call_on(rt,
              tower::and_then(Echo{.down = true}, [](int x) -> absl::StatusOr<int> { return x; }),
              1)
          .status()));
}

BOOST_AUTO_TEST_CASE(then_sees_success_and_errors) {
  auto rt = weft::testing::make_runtime();
  // Recover errors into a default, turn 0 into an error.
  auto svc = tower::then(Echo{}, [](absl::StatusOr<int> r) -> Task<absl::StatusOr<int>> {
    co_await weft::yield_now();
    if (!r.ok()) co_return -100;
    if (*r == 0) co_return absl::OutOfRangeError("zero");
    co_return *r + 1;
  });
  BOOST_TEST(*call_on(rt, svc, 1) == 2);
  BOOST_TEST(*call_on(rt, svc, -5) == -100);
  BOOST_TEST(absl::IsOutOfRange(call_on(rt, svc, 0).status()));

  // A ready() error happens before any call: then's function does not see it.
  std::atomic<int> seen{0};
  auto down = tower::then(Echo{.down = true}, [&seen](absl::StatusOr<int> r) {
    seen.fetch_add(1);
    return r;
  });
  BOOST_TEST(absl::IsUnavailable(call_on(rt, down, 1).status()));
  BOOST_TEST(seen.load() == 0);
}

BOOST_AUTO_TEST_CASE(combinators_nest) {
  auto rt = weft::testing::make_runtime();
  auto svc = tower::map_response(
      tower::and_then(tower::map_request(Echo{}, [](std::string s) { return std::stoi(s); }),
                      [](int x) -> absl::StatusOr<long> { return 2L * x; }),
      [](long x) { return std::to_string(x); });
  BOOST_TEST(*call_on(rt, svc, std::string("21")) == "42");
}

namespace {
struct Tagged {
  std::string tag;
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
  tower::AlwaysReady ready() const { return tower::always_ready(); }
  Task<absl::StatusOr<std::string>> call(tower::NoPermit, int x) const {
    calls->fetch_add(1);
    co_await weft::yield_now();
    co_return tag + std::to_string(x);
  }
};
}  // namespace

BOOST_AUTO_TEST_CASE(steer_routes_by_picker) {
  auto rt = weft::testing::make_runtime();
  std::vector<Tagged> backends = {{"even:"}, {"odd:"}};
  auto even_calls = backends[0].calls, odd_calls = backends[1].calls;
  auto svc = tower::steer(std::move(backends), [](const int& x, std::span<const Tagged> s) {
    return static_cast<std::size_t>(x) % s.size();
  });
  BOOST_TEST(*call_on(rt, svc, 4) == "even:4");
  BOOST_TEST(*call_on(rt, svc, 7) == "odd:7");
  BOOST_TEST(*call_on(rt, svc, 9) == "odd:9");
  BOOST_TEST(even_calls->load() == 1);
  BOOST_TEST(odd_calls->load() == 2);

  // A picker that ignores the services; a bad index is an error, not a crash.
  auto bad = tower::steer(std::vector<Tagged>{{"a"}},
                          [](const int& x) { return static_cast<std::size_t>(x); });
  BOOST_TEST(*call_on(rt, bad, 0) == "a0");
  BOOST_TEST(absl::IsOutOfRange(call_on(rt, bad, 3).status()));
  auto empty = tower::steer(std::vector<Tagged>{}, [](const int&) { return std::size_t{0}; });
  BOOST_TEST(absl::IsUnavailable(call_on(rt, empty, 0).status()));
}

BOOST_AUTO_TEST_CASE(steer_waits_for_the_picked_service_only) {
  auto rt = weft::testing::make_runtime();
  // Service 1 is down (its ready() fails); requests routed to service 0 are unaffected.
  std::vector<Echo> backends = {Echo{}, Echo{.down = true}};
  auto svc = tower::steer(std::move(backends),
                          [](const int& x) { return x >= 100 ? std::size_t{1} : std::size_t{0}; });
  BOOST_TEST(*call_on(rt, svc, 5) == 5);
  BOOST_TEST(absl::IsUnavailable(call_on(rt, svc, 500).status()));
}
