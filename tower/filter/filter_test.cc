// Filter / AsyncFilter: accepted requests reach the inner service, rejected ones never do and
// fail with the predicate's own status; inner readiness errors pass through.
#define BOOST_TEST_MODULE filter_test
#include "weft/tower/filter/filter.h"

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <memory>
#include <string>

#include "weft/runtime/runtime.h"
#include "weft/runtime/task/yield_now.h"
#include "weft/runtime/testing/test_runtime.h"
#include "weft/tower/service.h"
#include "weft/tower/service_builder.h"

using weft::Task;
namespace tower = weft::tower;

namespace {

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
    co_return x;
  }
};

absl::Status non_negative(const int& x) {
  return x < 0 ? absl::InvalidArgumentError("negative") : absl::OkStatus();
}

template <class S, class Req>
absl::StatusOr<tower::response_t<S, Req>> call_on(weft::Runtime& rt, const S& svc, Req req) {
  auto go = [](const S* s, Req r) -> Task<absl::StatusOr<tower::response_t<S, Req>>> {
    co_return co_await tower::oneshot(*s, std::move(r));
  };
  return rt.block_on(go(&svc, std::move(req)));
}

}  // namespace

BOOST_AUTO_TEST_CASE(sync_filter_rejects_before_the_inner_service) {
  auto rt = weft::testing::make_runtime();
  Echo echo;
  auto svc = tower::ServiceBuilder().layer(tower::FilterLayer(&non_negative)).service(echo);
  static_assert(tower::ServiceFor<decltype(svc), int, int>);
  BOOST_TEST(*call_on(rt, svc, 5) == 5);
  BOOST_TEST(echo.calls->load() == 1);
  absl::StatusOr<int> r = call_on(rt, svc, -1);
  BOOST_TEST(absl::IsInvalidArgument(r.status()));
  BOOST_TEST(r.status().message() == "negative");
  BOOST_TEST(echo.calls->load() == 1);  // never reached
  // A lambda predicate with its own code.
  auto even = tower::filter(echo, [](const int& x) {
    return x % 2 == 0 ? absl::OkStatus() : absl::PermissionDeniedError("odd");
  });
  BOOST_TEST(absl::IsPermissionDenied(call_on(rt, even, 3).status()));
  BOOST_TEST(*call_on(rt, even, 4) == 4);
  BOOST_TEST(echo.calls->load() == 2);
}

BOOST_AUTO_TEST_CASE(async_filter_rejects_before_the_inner_service) {
  auto rt = weft::testing::make_runtime();
  Echo echo;
  auto checks = std::make_shared<std::atomic<int>>(0);
  auto svc = tower::ServiceBuilder()
                 .layer(tower::AsyncFilterLayer([checks](const int& x) -> Task<absl::Status> {
                   co_await weft::yield_now();  // suspends: `x` must stay alive across this
                   checks->fetch_add(1);
                   if (x > 100) co_return absl::ResourceExhaustedError("too big");
                   co_return absl::OkStatus();
                 }))
                 .service(echo);
  static_assert(tower::ServiceFor<decltype(svc), int, int>);
  BOOST_TEST(*call_on(rt, svc, 7) == 7);
  absl::StatusOr<int> r = call_on(rt, svc, 101);
  BOOST_TEST(absl::IsResourceExhausted(r.status()));
  BOOST_TEST(r.status().message() == "too big");
  BOOST_TEST(checks->load() == 2);
  BOOST_TEST(echo.calls->load() == 1);
}

BOOST_AUTO_TEST_CASE(filters_compose_and_readiness_errors_pass_through) {
  auto rt = weft::testing::make_runtime();
  Echo echo;
  auto svc = tower::ServiceBuilder()
                 .layer(tower::FilterLayer(&non_negative))
                 .layer(tower::AsyncFilterLayer([](const int& x) -> Task<absl::Status> {
                   co_return x == 13 ? absl::FailedPreconditionError("unlucky") : absl::OkStatus();
                 }))
                 .service(echo);
  BOOST_TEST(absl::IsInvalidArgument(call_on(rt, svc, -3).status()));
  BOOST_TEST(absl::IsFailedPrecondition(call_on(rt, svc, 13).status()));
  BOOST_TEST(*call_on(rt, svc, 12) == 12);
  BOOST_TEST(echo.calls->load() == 1);

  Echo down{.down = true};
  auto d = tower::filter(down, &non_negative);
  BOOST_TEST(absl::IsUnavailable(call_on(rt, d, 1).status()));
  BOOST_TEST(down.calls->load() == 0);
}
