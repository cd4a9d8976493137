// RateLimit: the first window's calls pass at once, the next caller waits for the next window,
// many concurrent callers never exceed the rate, and a dropped permit gives its token back.
#define BOOST_TEST_MODULE rate_limit_test
#include "weft/tower/limit/rate/rate_limit.h"

#include <algorithm>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

#include "weft/runtime/runtime.h"
#include "weft/runtime/task/yield_now.h"
#include "weft/runtime/testing/test_runtime.h"
#include "weft/tower/service.h"
#include "weft/tower/service_builder.h"

using weft::Task;
namespace tower = weft::tower;
namespace wt = weft::time;
using std::chrono::milliseconds;

namespace {

// Records the instant of every call.
struct Recorder {
  std::shared_ptr<std::mutex> mu = std::make_shared<std::mutex>();
  std::shared_ptr<std::vector<wt::Instant>> times = std::make_shared<std::vector<wt::Instant>>();
  bool down = false;
  Task<absl::StatusOr<tower::NoPermit>> ready() const {
    if (down) co_return absl::UnavailableError("down");
    co_return tower::NoPermit{};
  }
  Task<absl::StatusOr<int>> call(tower::NoPermit, int x) const {
    {
      std::lock_guard<std::mutex> lock(*mu);
      times->push_back(wt::Clock::now());
    }
    co_await weft::yield_now();
    co_return x;
  }
};

using Svc = tower::RateLimit<Recorder>;
static_assert(tower::ServiceFor<Svc, int, int>);

// Elapsed time of each of `n` sequential calls, measured from the start.
Task<absl::StatusOr<std::vector<wt::Duration>>> sequential(const Svc* svc, int n) {
  std::vector<wt::Duration> out;
  wt::Instant start = wt::Clock::now();
  for (int i = 0; i < n; ++i) {
    absl::StatusOr<int> r = co_await tower::oneshot(*svc, i);
    if (!r.ok()) co_return r.status();
    if (*r != i) co_return absl::InternalError("wrong response");
    out.push_back(wt::Clock::now() - start);
  }
  co_return out;
}

Task<absl::Status> one_call(const Svc* svc, int i) {
  absl::StatusOr<int> r = co_await tower::oneshot(*svc, i);
  co_return r.status();
}

Task<absl::Status> concurrent(const Svc* svc, int n) {
  std::vector<weft::JoinHandle<absl::Status>> hs;
  for (int i = 0; i < n; ++i) hs.push_back(weft::spawn(one_call(svc, i)));
  for (auto& h : hs) {
    absl::StatusOr<absl::Status> r = co_await h;
    if (!r.ok()) co_return r.status();
    if (!r->ok()) co_return *r;
  }
  co_return absl::OkStatus();
}

// Takes a permit and drops it, then checks that `n` calls still pass in the same window.
Task<absl::Status> drop_then_call(const Svc* svc, int n) {
  {
    auto p = co_await svc->ready();
    WEFT_CO_CHECK(p.ok());
  }  // dropped without a call: the token goes back
  wt::Instant start = wt::Clock::now();
  for (int i = 0; i < n; ++i) WEFT_CO_OK((co_await tower::oneshot(*svc, i)).status());
  WEFT_CO_CHECK(wt::Clock::now() - start < milliseconds(150));
  co_return absl::OkStatus();
}

}  // namespace

BOOST_AUTO_TEST_CASE(first_window_passes_then_waits_for_next) {
  auto rt = weft::testing::make_runtime();
  const auto window = milliseconds(200);
  Recorder rec;
  auto svc = tower::ServiceBuilder().layer(tower::RateLimitLayer(3, window)).service(rec);
  absl::StatusOr<std::vector<wt::Duration>> r = rt.block_on(sequential(&svc, 4));
  BOOST_REQUIRE(r.ok());
  // The first three are immediate (well under the window).
  for (int i = 0; i < 3; ++i) BOOST_TEST(((*r)[i] < window / 2));
  // The fourth waited for the next window, but not much longer.
  BOOST_TEST(((*r)[3] >= window));
  BOOST_TEST(((*r)[3] < window * 3));
  BOOST_TEST(rec.times->size() == 4u);
}

BOOST_AUTO_TEST_CASE(concurrent_callers_never_exceed_the_rate) {
  for (auto flavor : weft::testing::kAllFlavors) {
    auto rt = weft::testing::make_runtime(flavor);
    const int n = 4;
    const auto window = milliseconds(60);
    Recorder rec;
    Svc svc = tower::rate_limit(rec, n, window);
    wt::Instant start = wt::Clock::now();
    absl::Status st = rt.block_on(concurrent(&svc, 3 * n + 1));  // four windows
    wt::Duration total = wt::Clock::now() - start;
    BOOST_TEST(st.ok(), st);
    std::vector<wt::Instant> times = *rec.times;
    BOOST_REQUIRE(times.size() == static_cast<std::size_t>(3 * n + 1));
    std::sort(times.begin(), times.end());
    // Window k starts no earlier than k * window after the start, so the i-th call (by time)
    // is in window i / n or later.
    for (std::size_t i = 0; i < times.size(); ++i) {
      BOOST_TEST((times[i] - start >= window * static_cast<int>(i / n)), "call " << i);
    }
    BOOST_TEST((total >= window * 3));
    BOOST_TEST((total < window * 10));
  }
}

BOOST_AUTO_TEST_CASE(dropped_permit_gives_its_token_back) {
  auto rt = weft::testing::make_runtime();
  Recorder rec;
  Svc svc = tower::rate_limit(rec, 2, milliseconds(500));
  absl::Status st = rt.block_on(drop_then_call(&svc, 2));
  BOOST_TEST(st.ok(), st);
  BOOST_TEST(rec.times->size() == 2u);
}

BOOST_AUTO_TEST_CASE(inner_readiness_error_passes_through_and_keeps_the_token) {
  auto rt = weft::testing::make_runtime();
  Recorder down;
  down.down = true;
  Svc svc = tower::rate_limit(down, 1, std::chrono::seconds(5));
  absl::StatusOr<std::vector<wt::Duration>> r = rt.block_on(sequential(&svc, 1));
  BOOST_TEST(absl::IsUnavailable(r.status()));
  r = rt.block_on(sequential(&svc, 1));  // the token went back: fails at once, does not sleep 5s
  BOOST_TEST(absl::IsUnavailable(r.status()));
  BOOST_TEST(down.times->empty());
}
