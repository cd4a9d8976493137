// ServiceBuilder and Layer: the first layer written is the outermost (a trace of every layer's
// request and response side proves it, readiness included), option_layer with and without its
// layer, layer_fn, and a builder reused for two services.
#define BOOST_TEST_MODULE service_builder_test
#include "weft/tower/service_builder.h"

#include <boost/test/unit_test.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "weft/runtime/runtime.h"
#include "weft/runtime/task/yield_now.h"
#include "weft/runtime/testing/test_runtime.h"
#include "weft/tower/boxed.h"
#include "weft/tower/layer.h"
#include "weft/tower/service.h"

using weft::Task;
namespace tower = weft::tower;

namespace {

struct Trace {
  std::mutex mu;
  std::vector<std::string> events;
  void add(std::string e) {
    std::lock_guard<std::mutex> lock(mu);
    events.push_back(std::move(e));
  }
};

// Records "<name>.ready", "<name>>" (request going in) and "<name><" (response coming out).
template <class S>
class Traced {
 public:
  Traced(S inner, std::string name, std::shared_ptr<Trace> trace)
      : inner_(std::move(inner)), name_(std::move(name)), trace_(std::move(trace)) {}

  Task<absl::StatusOr<tower::permit_t<S>>> ready() const {
    trace_->add(name_ + ".ready");
    co_return co_await inner_.ready();
  }

  template <class Req>
  requires tower::Service<S, Req> Task<absl::StatusOr<tower::response_t<S, Req>>> call(
      tower::permit_t<S> p, Req req)
  const {
    trace_->add(name_ + ">");
    auto inner = inner_.call(std::move(p), std::move(req));
    auto r = co_await std::move(inner);
    trace_->add(name_ + "<");
    co_return r;
  }

 private:
  S inner_;
  std::string name_;
  std::shared_ptr<Trace> trace_;
};

struct TraceLayer {
  std::string name;
  std::shared_ptr<Trace> trace;
  template <class S>
  Traced<S> layer(S inner) const {
    return Traced<S>(std::move(inner), name, trace);
  }
};

auto traced_leaf(std::shared_ptr<Trace> trace) {
  return tower::service_fn([trace](std::string req) -> Task<absl::StatusOr<std::string>> {
    co_await weft::yield_now();
    trace->add("svc");
    co_return req + "!";
  });
}

Task<absl::StatusOr<std::string>> run(const auto& svc, std::string req) {
  co_return co_await tower::oneshot(svc, std::move(req));
}

}  // namespace

BOOST_AUTO_TEST_CASE(first_layer_is_outermost) {
  auto rt = weft::testing::make_runtime();
  auto trace = std::make_shared<Trace>();
  auto svc = tower::ServiceBuilder()
                 .layer(TraceLayer{"a", trace})
                 .layer(TraceLayer{"b", trace})
                 .layer(TraceLayer{"c", trace})
                 .service(traced_leaf(trace));
  static_assert(tower::Service<decltype(svc), std::string>);
  absl::StatusOr<std::string> r = rt.block_on(run(svc, "x"));
  BOOST_TEST_REQUIRE(r.ok());
  BOOST_TEST(*r == "x!");
  std::vector<std::string> want = {"a.ready", "b.ready", "c.ready", "a>", "b>",
                                   "c>",      "svc",     "c<",      "b<", "a<"};
  BOOST_TEST(trace->events == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(map_layers_apply_in_written_order) {
  auto rt = weft::testing::make_runtime();
  // Requests flow down: "+1" then "*10"; responses flow up: "-3" (inner) then "/2" (outer).
  auto svc = tower::ServiceBuilder()
                 .map_request([](int x) { return x + 1; })
                 .map_response([](int x) { return x / 2; })
                 .map_request([](int x) { return x * 10; })
                 .map_response([](int x) { return x - 3; })
                 .service_fn([](int x) -> absl::StatusOr<int> { return x; });
  auto go = [](const auto* s) -> Task<absl::StatusOr<int>> {
    co_return co_await tower::oneshot(*s, 4);
  };
  absl::StatusOr<int> r = rt.block_on(go(&svc));
  BOOST_TEST_REQUIRE(r.ok());
  BOOST_TEST(*r == ((4 + 1) * 10 - 3) / 2);
}

BOOST_AUTO_TEST_CASE(option_layer_present_or_absent) {
  auto rt = weft::testing::make_runtime();
  auto trace = std::make_shared<Trace>();
  auto build = [&](std::optional<TraceLayer> l) {
    return tower::ServiceBuilder().option_layer(std::move(l)).service(traced_leaf(trace));
  };
  auto with = build(TraceLayer{"opt", trace});
  auto without = build(std::nullopt);
  static_assert(std::is_same_v<decltype(with), decltype(without)>);  // one type either way
  BOOST_TEST(with.is_first());
  BOOST_TEST(!without.is_first());

  BOOST_TEST(*rt.block_on(run(with, "w")) == "w!");
  std::vector<std::string> want_with = {"opt.ready", "opt>", "svc", "opt<"};
  BOOST_TEST(trace->events == want_with, boost::test_tools::per_element());

  trace->events.clear();
  BOOST_TEST(*rt.block_on(run(without, "o")) == "o!");
  std::vector<std::string> want_without = {"svc"};
  BOOST_TEST(trace->events == want_without, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(layer_fn_and_builder_reuse) {
  auto rt = weft::testing::make_runtime();
  auto trace = std::make_shared<Trace>();
  auto builder = tower::ServiceBuilder().layer_fn(
      [trace](auto inner) { return Traced<decltype(inner)>(std::move(inner), "fn", trace); });
  auto one = builder.service(traced_leaf(trace));
  auto two = builder.map_request([](std::string s) { return s + s; }).service(traced_leaf(trace));
  BOOST_TEST(*rt.block_on(run(one, "1")) == "1!");
  BOOST_TEST(*rt.block_on(run(two, "2")) == "22!");
  BOOST_TEST(trace->events.size() == 8u);

  // The composed layer can be applied by hand, too.
  auto three = builder.into_inner().layer(traced_leaf(trace));
  BOOST_TEST(*rt.block_on(run(three, "3")) == "3!");
}

BOOST_AUTO_TEST_CASE(stack_of_layers_by_hand) {
  auto rt = weft::testing::make_runtime();
  auto trace = std::make_shared<Trace>();
  tower::Stack<TraceLayer, TraceLayer> stack(TraceLayer{"inner", trace},
                                             TraceLayer{"outer", trace});
  auto svc = stack.layer(traced_leaf(trace));
  BOOST_TEST(*rt.block_on(run(svc, "s")) == "s!");
  std::vector<std::string> want = {"outer.ready", "inner.ready", "outer>", "inner>",
                                   "svc",         "inner<",      "outer<"};
  BOOST_TEST(trace->events == want, boost::test_tools::per_element());
}

// The example of tower/README.md, verbatim.
namespace readme {
namespace tower = weft::tower;

weft::Task<absl::StatusOr<std::string>> handle(std::string name) {
  co_await weft::yield_now();
  co_return "hello " + name;
}

weft::Task<int> main_task() {
  auto svc = tower::ServiceBuilder()
                 .map_err([](absl::Status s) { return absl::UnavailableError(s.message()); })
                 .map_response([](std::string s) { return s + "!"; })
                 .map_request([](int id) { return "user" + std::to_string(id); })
                 .service_fn(&handle);
  absl::StatusOr<tower::permit_t<decltype(svc)>> permit = co_await svc.ready();
  if (!permit.ok()) co_return 1;
  absl::StatusOr<std::string> a = co_await svc.call(std::move(*permit), 7);
  absl::StatusOr<std::string> b = co_await tower::oneshot(svc, 8);
  tower::BoxService<int, std::string> boxed(std::move(svc));
  if (!a.ok() || *a != "hello user7!" || !b.ok() || *b != "hello user8!") co_return 2;
  absl::StatusOr<std::string> c = co_await tower::oneshot(boxed, 9);
  co_return c.ok() && *c == "hello user9!" ? 0 : 3;
}
}  // namespace readme

BOOST_AUTO_TEST_CASE(readme_example) {
  auto rt = weft::testing::make_runtime();
  BOOST_TEST(rt.block_on(readme::main_task()) == 0);
}
