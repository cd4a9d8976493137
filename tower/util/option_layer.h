// option_layer: applies a layer if it is there, else leaves the service as it is (tower's
// option_layer): one stack type whether or not, say, a timeout is configured.
//
//   std::optional<TimeoutLayer> t;
//   if (cfg.timeout_ms > 0) t.emplace(std::chrono::milliseconds(cfg.timeout_ms));
//   auto svc = weft::tower::ServiceBuilder().option_layer(std::move(t)).service(inner);
//
// The service built is an Either<layered, inner> (util/either.h).
#pragma once

#include <optional>
#include <utility>

#include "weft/tower/layer.h"
#include "weft/tower/util/either.h"

namespace weft::tower {

template <class L>
class OptionLayer {
 public:
  explicit OptionLayer(std::optional<L> l) : l_(std::move(l)) {}

  template <class S>
  requires Layer<L, S> Either<layered_t<L, S>, S> layer(S inner)
  const {
    if (l_) return Either<layered_t<L, S>, S>::first(l_->layer(std::move(inner)));
    return Either<layered_t<L, S>, S>::second(std::move(inner));
  }

  bool has_value() const { return l_.has_value(); }

 private:
  std::optional<L> l_;
};

template <class L>
OptionLayer<L> option_layer(std::optional<L> l) {
  return OptionLayer<L>(std::move(l));
}

}  // namespace weft::tower
