// The seed corpus of a fuzz target, compiled into its corpus test: weft_cc_fuzz (fuzz.bzl)
// turns the target's corpus files into a table with embed.cc. Private to tools/fuzz.
#pragma once

#include <string_view>
#include <vector>

namespace weft::fuzz {

struct Seed {
  std::string_view name;   // the corpus file's name
  std::string_view bytes;  // its contents
};

const std::vector<Seed>& seeds();

}  // namespace weft::fuzz
