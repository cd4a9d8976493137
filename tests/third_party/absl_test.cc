// Abseil (Debian libabsl-dev 20220623): status, strings, containers, time, flags.
#define BOOST_TEST_MODULE absl_test
#include <boost/test/unit_test.hpp>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

ABSL_FLAG(int, port, 8080, "listen port");

namespace {
absl::StatusOr<int> parse_positive(int v) {
  if (v <= 0) return absl::InvalidArgumentError(absl::StrCat("not positive: ", v));
  return v;
}
}  // namespace

BOOST_AUTO_TEST_CASE(status_or_carries_value_or_error) {
  BOOST_TEST(*parse_positive(3) == 3);
  absl::Status s = parse_positive(-1).status();
  BOOST_TEST(absl::IsInvalidArgument(s));
  BOOST_TEST(std::string(s.message()) == "not positive: -1");
}

BOOST_AUTO_TEST_CASE(strings_and_containers) {
  absl::flat_hash_map<std::string, int> m;
  for (absl::string_view part : absl::StrSplit("a,b,a", ',')) ++m[part];
  BOOST_TEST(m["a"] == 2);
  BOOST_TEST(absl::StrFormat("%05.1f", 3.14159) == "003.1");
}

BOOST_AUTO_TEST_CASE(flags_parse_from_argv) {
  const char* argv[] = {"prog", "--port=9"};
  absl::ParseCommandLine(2, const_cast<char**>(argv));
  BOOST_TEST(absl::GetFlag(FLAGS_port) == 9);
}

BOOST_AUTO_TEST_CASE(clock_moves_forward) {
  absl::Time t0 = absl::Now();
  absl::SleepFor(absl::Milliseconds(2));
  BOOST_TEST(absl::Now() - t0 >= absl::Milliseconds(2));
}
