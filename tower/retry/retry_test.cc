// Retry and RetryBudget: a flaky service succeeds after retries; a failure the policy rejects
// (a non-idempotent request) is never retried; the budget stops retries and the last error is
// returned. Inner calls are counted.
#define BOOST_TEST_MODULE retry_test
#include "weft/tower/retry/retry.h"

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "weft/runtime/runtime.h"
#include "weft/runtime/task/yield_now.h"
#include "weft/runtime/testing/test_runtime.h"
#include "weft/tower/retry/budget.h"
#include "weft/tower/service.h"
#include "weft/tower/service_builder.h"

using weft::Task;
namespace tower = weft::tower;

namespace {

struct Req {
  int value = 0;
  bool idempotent = true;
};

// Fails its first `failures` calls with UNAVAILABLE, then echoes.
struct Flaky {
  int failures = 0;
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
  tower::AlwaysReady ready() const { return tower::always_ready(); }
  Task<absl::StatusOr<int>> call(tower::NoPermit, Req r) const {
    int n = calls->fetch_add(1);
    co_await weft::yield_now();
    if (n < failures) co_return absl::UnavailableError("flaky");
    co_return r.value;
  }
};

// Retries UNAVAILABLE up to 10 attempts, only for idempotent requests.
struct IdempotentOnly {
  std::optional<Req> clone_request(const Req& r) const { return r; }
  bool retry(const Req& r, const absl::StatusOr<int>& result, int attempts) const {
    return !result.ok() && absl::IsUnavailable(result.status()) && r.idempotent && attempts < 10;
  }
};
static_assert(tower::Policy<IdempotentOnly, Req, int>);
static_assert(tower::Policy<tower::RetryOnCodes, Req, int>);

std::shared_ptr<tower::RetryBudget> big_budget() {
  return std::make_shared<tower::RetryBudget>(std::chrono::seconds(10), 100, 1.0);
}

template <class S>
absl::StatusOr<int> call_on(weft::Runtime& rt, const S& svc, Req req) {
  auto go = [](const S* s, Req r) -> Task<absl::StatusOr<int>> {
    co_return co_await tower::oneshot(*s, std::move(r));
  };
  return rt.block_on(go(&svc, std::move(req)));
}

}  // namespace

BOOST_AUTO_TEST_CASE(flaky_service_succeeds_after_retries) {
  auto rt = weft::testing::make_runtime();
  Flaky flaky{.failures = 3};
  auto svc = tower::ServiceBuilder()
                 .layer(tower::RetryLayer(IdempotentOnly{}, big_budget()))
                 .service(flaky);
  static_assert(tower::ServiceFor<decltype(svc), Req, int>);
  absl::StatusOr<int> r = call_on(rt, svc, Req{.value = 42});
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(*r == 42);
  BOOST_TEST(flaky.calls->load() == 4);  // 3 failures + the success

  // The stock policy stops at max_attempts and returns the last error.
  Flaky always{.failures = 1000};
  auto codes =
      tower::retry(always, tower::RetryOnCodes(3, {absl::StatusCode::kUnavailable}), big_budget());
  BOOST_TEST(absl::IsUnavailable(call_on(rt, codes, Req{}).status()));
  BOOST_TEST(always.calls->load() == 3);
}

BOOST_AUTO_TEST_CASE(failure_the_policy_rejects_is_not_retried) {
  auto rt = weft::testing::make_runtime();
  Flaky flaky{.failures = 1};
  auto svc = tower::retry(flaky, IdempotentOnly{}, big_budget());
  absl::StatusOr<int> r = call_on(rt, svc, Req{.value = 1, .idempotent = false});
  BOOST_TEST(absl::IsUnavailable(r.status()));
  BOOST_TEST(flaky.calls->load() == 1);  // never retried
  // A code the stock policy does not list is not retried either.
  Flaky other{.failures = 1};
  auto codes =
      tower::retry(other, tower::RetryOnCodes(5, {absl::StatusCode::kAborted}), big_budget());
  BOOST_TEST(absl::IsUnavailable(call_on(rt, codes, Req{}).status()));
  BOOST_TEST(other.calls->load() == 1);
}

BOOST_AUTO_TEST_CASE(spent_budget_stops_retries_with_the_last_error) {
  auto rt = weft::testing::make_runtime();
  // No share and no floor: no retry at all.
  {
    Flaky always{.failures = 1000};
    auto none = std::make_shared<tower::RetryBudget>(std::chrono::seconds(10), 0, 0.0);
    auto svc = tower::retry(always, IdempotentOnly{}, none);
    BOOST_TEST(absl::IsUnavailable(call_on(rt, svc, Req{}).status()));
    BOOST_TEST(always.calls->load() == 1);
  }
  // A floor of 1 per second over 3 s: 3 retries in all, shared by every request.
  {
    Flaky always{.failures = 1000};
    auto floor = std::make_shared<tower::RetryBudget>(std::chrono::seconds(3), 1, 0.0);
    BOOST_TEST(floor->available() == 3);
    auto svc = tower::retry(always, IdempotentOnly{}, floor);
    BOOST_TEST(absl::IsUnavailable(call_on(rt, svc, Req{}).status()));
    BOOST_TEST(always.calls->load() == 4);  // 1 + 3 retries
    BOOST_TEST(absl::IsUnavailable(call_on(rt, svc, Req{}).status()));
    BOOST_TEST(always.calls->load() == 5);  // budget spent: no retry
    BOOST_TEST(floor->available() == 0);
  }
  // A share of 50%: every two requests earn one retry.
  {
    auto half = std::make_shared<tower::RetryBudget>(std::chrono::seconds(10), 0, 0.5);
    for (int i = 0; i < 10; ++i) half->deposit();
    BOOST_TEST(half->available() == 5);
    int granted = 0;
    while (half->withdraw()) ++granted;
    BOOST_TEST(granted == 5);
  }
}

BOOST_AUTO_TEST_CASE(budget_deposits_expire_after_ttl) {
  auto budget = std::make_shared<tower::RetryBudget>(std::chrono::seconds(1), 0, 1.0);
  for (int i = 0; i < 4; ++i) budget->deposit();
  BOOST_TEST(budget->available() == 4);
  std::this_thread::sleep_for(std::chrono::milliseconds(1150));
  BOOST_TEST(budget->available() == 0);
}

// Deposits go to per-thread rows (and a locked shared row past 32 threads): every one counts,
// and withdrawals from several threads never overdraw.
BOOST_AUTO_TEST_CASE(budget_counts_deposits_from_many_threads_and_never_overdraws) {
  auto budget = std::make_shared<tower::RetryBudget>(std::chrono::seconds(10), 0, 1.0);
  constexpr int kThreads = 40;  // more than the per-thread rows
  constexpr int kDeposits = 500;
  std::vector<std::thread> threads;
  std::atomic<int> arrived{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      arrived.fetch_add(1);
      while (arrived.load() < kThreads) std::this_thread::yield();  // all alive at once
      for (int i = 0; i < kDeposits; ++i) budget->deposit();
    });
  }
  for (auto& t : threads) t.join();
  BOOST_TEST(budget->available() == kThreads * kDeposits);

  std::atomic<int> granted{0};
  threads.clear();
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      while (budget->withdraw()) granted.fetch_add(1);
    });
  }
  for (auto& t : threads) t.join();
  BOOST_TEST(granted.load() == kThreads * kDeposits);
  BOOST_TEST(budget->available() == 0);
}
