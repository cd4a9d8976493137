// h1::feed: drives a Parser over a whole byte string the way a connection does, for tests and
// fuzz targets. Private to http/ (testonly).
//
//   h1::Parser p(h1::Parser::Kind::kRequest, limits);
//   std::string problem = h1::feed(p, wire, /*piece=*/1, /*finish=*/false,
//       [&](const h1::Parser::Step& s, const std::string& buf) {
//         if (s.event == h1::Parser::Event::kHead)
//         heads.push_back(p.take_request_head(buf.data())); return true;  // false: stop here
//       });
//
// The bytes go in pieces of `piece` bytes (0: all at once) into a buffer that keeps a message's
// head bytes contiguous from where the message began (Parser's invariant 1) and drops a
// message's bytes once it completes. With `finish`, the end of the bytes is the connection's
// close: finish() reports it (a body read until the close ends there). Every event but
// kNeedMore goes to `on_event`, with the buffer the step's offsets are into; the feed stops
// after kError, kUpgrade, the close's event, or when on_event returns false.
//
// Returns "" or what the parser did wrong: bytes left unread on kNeedMore, an offset out of
// range, or a loop (more than a few steps per byte).
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

#include "weft/http/proto/h1/parser.h"

namespace weft::http::proto::h1 {

template <class OnEvent>
std::string feed(Parser& p, std::string_view wire, std::size_t piece, bool finish,
                 OnEvent on_event) {
  using Event = Parser::Event;
  std::string buf;
  std::size_t pos = 0, fed = 0;
  bool closed = false;
  // Each step consumes bytes or reports an event the next step moves past.
  const std::size_t max_steps = 8 * (wire.size() + 8);
  for (std::size_t steps = 0; steps < max_steps; ++steps) {
    // Even with no new bytes: an event may be pending (the end of a body-less message).
    Parser::Step s = p.execute(buf.data(), pos, buf.size());
    if (s.event == Event::kNeedMore) {
      if (s.consumed != buf.size()) return "kNeedMore left bytes unread";
      pos = buf.size();
      if (fed < wire.size()) {
        std::size_t n = piece == 0 ? wire.size() - fed : std::min(piece, wire.size() - fed);
        buf.append(wire.substr(fed, n));
        fed += n;
        continue;
      }
      if (!finish) return "";
      closed = true;
      s = p.finish();
      if (s.event == Event::kNeedMore) return "";
    } else {
      if (s.event != Event::kError) {  // (an error's offset means nothing)
        if (s.consumed < pos || s.consumed > buf.size()) return "an offset out of range";
        pos = s.consumed;
      }
      if (s.event == Event::kData && (s.data_begin >= s.data_end || s.data_end > buf.size())) {
        return "a body piece out of range";
      }
    }
    const bool go_on = on_event(s, static_cast<const std::string&>(buf));
    if (!go_on || closed || s.event == Event::kError || s.event == Event::kUpgrade) return "";
    if (s.event == Event::kMessageComplete) {
      buf.erase(0, pos);  // the next message starts at offset 0
      pos = 0;
    }
  }
  return "the parse does not end";
}

}  // namespace weft::http::proto::h1
