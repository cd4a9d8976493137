// The Service concept, oneshot and service_fn on a real runtime: concept checks, borrowed and
// owned oneshot, ready() errors, and capturing lambdas whose captures are used after the
// coroutine suspended (ASan catches a dangling capture or request).
#define BOOST_TEST_MODULE service_test
#include "weft/tower/service.h"

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "weft/runtime/runtime.h"
#include "weft/runtime/task/yield_now.h"
#include "weft/runtime/testing/test_runtime.h"
#include "weft/runtime/time/sleep.h"
#include "weft/tower/service_fn.h"

using namespace std::chrono_literals;
using weft::Task;
namespace tower = weft::tower;

namespace {

// A hand-written service: ready() fails when told to, call() doubles.
struct Doubler {
  bool fail_ready = false;
  struct Permit {
    int token = 7;
    Permit() = default;
    Permit(Permit&&) = default;
    Permit(const Permit&) = delete;
  };
  Task<absl::StatusOr<Permit>> ready() const {
    if (fail_ready) co_return absl::UnavailableError("not today");
    co_return Permit{};
  }
  Task<absl::StatusOr<int>> call(Permit p, int x) const {
    co_await weft::yield_now();
    co_return x * 2 + (p.token - 7);
  }
};

struct CopyablePermit {
  struct P {};
  tower::detail::ReadyValue<absl::StatusOr<P>> ready() const {
    return tower::detail::ReadyValue<absl::StatusOr<P>>(P{});
  }
  Task<absl::StatusOr<int>> call(P, int x) const { co_return x; }
};

struct NoStatus {
  tower::AlwaysReady ready() const { return tower::always_ready(); }
  Task<int> call(tower::NoPermit, int x) const { co_return x; }
};

static_assert(tower::Service<Doubler, int>);
static_assert(tower::ServiceFor<Doubler, int, int>);
static_assert(std::is_same_v<tower::permit_t<Doubler>, Doubler::Permit>);
static_assert(std::is_same_v<tower::response_t<Doubler, int>, int>);
static_assert(!tower::Service<Doubler, std::string>);  // wrong request type
static_assert(!tower::Service<CopyablePermit, int>);   // a permit must be move-only
static_assert(!tower::Service<NoStatus, int>);         // call must give StatusOr
static_assert(!tower::Service<int, int>);

Task<absl::StatusOr<int>> borrowed_and_owned() {
  Doubler d;
  absl::StatusOr<int> a = co_await tower::oneshot(d, 20);         // borrows d
  absl::StatusOr<int> b = co_await tower::oneshot(Doubler{}, 1);  // owns its service
  if (!a.ok() || !b.ok()) co_return absl::InternalError("failed");
  co_return *a + *b;
}

Task<absl::Status> ready_error_skips_call() {
  Doubler d{.fail_ready = true};
  absl::StatusOr<int> r = co_await tower::oneshot(d, 1);
  co_return r.status();
}

Task<absl::StatusOr<int>> manual_ready_then_call() {
  Doubler d;
  absl::StatusOr<Doubler::Permit> p = co_await d.ready();
  if (!p.ok()) co_return p.status();
  auto response = d.call(*std::move(p), 5);
  co_return co_await std::move(response);
}

}  // namespace

BOOST_AUTO_TEST_CASE(oneshot_borrows_or_owns) {
  auto rt = weft::testing::make_runtime();
  absl::StatusOr<int> r = rt.block_on(borrowed_and_owned());
  BOOST_TEST_REQUIRE(r.ok());
  BOOST_TEST(*r == 42);
  BOOST_TEST(*rt.block_on(manual_ready_then_call()) == 10);
}

BOOST_AUTO_TEST_CASE(ready_error_is_returned) {
  auto rt = weft::testing::make_runtime();
  absl::Status s = rt.block_on(ready_error_skips_call());
  BOOST_TEST(absl::IsUnavailable(s));
}

namespace {

// Captures used after suspensions, request taken by value (called directly, no extra frame).
Task<absl::StatusOr<std::string>> capturing_by_value() {
  std::string greeting = "hello, a greeting long enough to live on the heap: ";
  auto counter = std::make_shared<std::atomic<int>>(0);
  auto svc =
      tower::service_fn([greeting, counter](std::string name) -> Task<absl::StatusOr<std::string>> {
        co_await weft::time::sleep(1ms);
        co_await weft::yield_now();
        counter->fetch_add(1);
        co_return greeting + name;
      });
  greeting.assign(greeting.size(), 'x');  // the service has its own copy
  absl::StatusOr<std::string> a = co_await tower::oneshot(svc, std::string("ann"));
  absl::StatusOr<std::string> b = co_await tower::oneshot(svc, std::string("bob"));
  if (!a.ok() || !b.ok() || counter->load() != 2) co_return absl::InternalError("bad");
  co_return *a + "|" + *b;
}

// The request taken by reference: service_fn keeps the request alive in its own frame.
Task<absl::StatusOr<std::size_t>> capturing_by_reference() {
  auto tag = std::make_unique<std::string>("some tag text that is not in the small buffer");
  auto svc = tower::service_fn(
      [tag = std::move(tag)](const std::string& body) -> Task<absl::StatusOr<std::size_t>> {
        co_await weft::time::sleep(1ms);
        co_return body.size() + tag->size();  // both used after suspending
      });
  std::string body(100, 'b');
  co_return co_await tower::oneshot(svc, std::move(body));
}

// A generic lambda with an rvalue-reference parameter: also owned by service_fn's frame.
Task<absl::StatusOr<int>> generic_lambda() {
  int base = 1000;
  auto svc = tower::service_fn([base](auto&& v) -> Task<absl::StatusOr<int>> {
    co_await weft::yield_now();
    co_return base + static_cast<int>(v.size());
  });
  co_return co_await tower::oneshot(std::move(svc), std::string("four"));
}

// A synchronous function: the response is ready at once (no frame).
Task<absl::StatusOr<int>> synchronous() {
  auto svc = tower::service_fn([](int x) -> absl::StatusOr<int> {
    if (x < 0) return absl::InvalidArgumentError("negative");
    return x + 1;
  });
  absl::StatusOr<int> bad = co_await tower::oneshot(svc, -1);
  if (!absl::IsInvalidArgument(bad.status())) co_return absl::InternalError("no error");
  co_return co_await tower::oneshot(svc, 41);
}

// Concurrent callers share one service (ready/call are const).
Task<int> shared_by_many() {
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto svc = tower::service_fn([calls](int x) -> Task<absl::StatusOr<int>> {
    co_await weft::yield_now();
    calls->fetch_add(1);
    co_return x;
  });
  std::vector<weft::JoinHandle<absl::StatusOr<int>>> hs;
  for (int i = 0; i < 64; ++i) hs.push_back(weft::spawn(tower::oneshot(svc, i)));
  int sum = 0;
  for (auto& h : hs) {
    absl::StatusOr<absl::StatusOr<int>> r = co_await h;
    if (r.ok() && r->ok()) sum += **r;
  }
  co_return sum + calls->load() * 10000;
}

}  // namespace

BOOST_AUTO_TEST_CASE(service_fn_capturing_lambda_survives_suspension) {
  for (auto flavor : weft::testing::kAllFlavors) {
    auto rt = weft::testing::make_runtime(flavor);
    absl::StatusOr<std::string> r = rt.block_on(capturing_by_value());
    BOOST_TEST_REQUIRE(r.ok());
    const std::string g = "hello, a greeting long enough to live on the heap: ";
    BOOST_TEST(*r == g + "ann|" + g + "bob");
    absl::StatusOr<std::size_t> n = rt.block_on(capturing_by_reference());
    BOOST_TEST_REQUIRE(n.ok());
    BOOST_TEST(*n == 100u + std::string("some tag text that is not in the small buffer").size());
    BOOST_TEST(*rt.block_on(generic_lambda()) == 1004);
  }
}

BOOST_AUTO_TEST_CASE(service_fn_synchronous_function) {
  auto rt = weft::testing::make_runtime();
  BOOST_TEST(*rt.block_on(synchronous()) == 42);
}

BOOST_AUTO_TEST_CASE(one_service_many_concurrent_callers) {
  auto rt = weft::testing::make_runtime();
  BOOST_TEST(rt.block_on(shared_by_many()) == 64 * 63 / 2 + 64 * 10000);
}
