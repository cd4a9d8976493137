// Bytes vs absl::Cord for the operations a network stack does on received buffers: make a
// handle from a 4 KiB buffer, slice a 100-byte field out of the middle, copy the handle, destroy.
//
//   bazel run --config=opt //runtime/io:bytes_bench
//
// Prints ns per operation, the median of 5 runs of kIters operations each. A program, not a
// test: it never fails on a time.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/cord.h"
#include "weft/runtime/io/bytes.h"

namespace {

using weft::io::Bytes;

constexpr int kIters = 1'000'000;
constexpr int kRuns = 5;
constexpr std::size_t kSize = 4096;
constexpr std::size_t kSliceBegin = kSize / 2 - 50;
constexpr std::size_t kSliceEnd = kSliceBegin + 100;

template <class T>
inline void keep(const T& v) {
  asm volatile("" : : "r"(&v) : "memory");
}

template <class F>
double median_ns(F&& body) {
  std::vector<double> runs;
  for (int r = 0; r < kRuns; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kIters; ++i) body();
    auto t1 = std::chrono::steady_clock::now();
    runs.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / kIters);
  }
  std::sort(runs.begin(), runs.end());
  return runs[kRuns / 2];
}

}  // namespace

int main() {
  const std::string src(kSize, 'x');
  const std::string_view sv(src);
  const absl::string_view asv(src);  // Debian's Abseil has its own string_view

  // Baseline: making the std::string that the "adopt" rows then hand over.
  double make_string = median_ns([&] {
    std::string s(sv);
    keep(s);
  });

  double b_copy = median_ns([&] {
    Bytes b = Bytes::copy_from(sv);
    keep(b);
  });
  double c_copy = median_ns([&] {
    absl::Cord c(asv);
    keep(c);
  });

  double b_adopt = median_ns([&] {
    Bytes b = Bytes::from(std::string(sv));
    keep(b);
  });
  double c_adopt = median_ns([&] {
    absl::Cord c{std::string(sv)};
    keep(c);
  });

  const Bytes bytes = Bytes::copy_from(sv);
  const absl::Cord cord{std::string(sv)};
  double b_slice = median_ns([&] {
    Bytes s = bytes.slice(kSliceBegin, kSliceEnd);
    keep(s);
  });
  double c_slice = median_ns([&] {
    absl::Cord s = cord.Subcord(kSliceBegin, kSliceEnd - kSliceBegin);
    keep(s);
  });
  // Reading the slice as contiguous bytes (what a parser does next).
  double b_slice_read = median_ns([&] {
    Bytes s = bytes.slice(kSliceBegin, kSliceEnd);
    std::string_view v = s.as_string_view();
    keep(v);
  });
  double c_slice_read = median_ns([&] {
    absl::Cord s = cord.Subcord(kSliceBegin, kSliceEnd - kSliceBegin);
    absl::string_view v = s.Flatten();
    keep(v);
  });

  double b_handle = median_ns([&] {
    Bytes c = bytes;
    keep(c);
  });
  double c_handle = median_ns([&] {
    absl::Cord c = cord;
    keep(c);
  });

  double b_cycle = median_ns([&] {
    Bytes b = Bytes::from(std::string(sv));
    Bytes s = b.slice(kSliceBegin, kSliceEnd);
    Bytes c = s;
    keep(b);
    keep(s);
    keep(c);
  });
  double c_cycle = median_ns([&] {
    absl::Cord b{std::string(sv)};
    absl::Cord s = b.Subcord(kSliceBegin, kSliceEnd - kSliceBegin);
    absl::Cord c = s;
    keep(b);
    keep(s);
    keep(c);
  });

  std::printf("ns per operation, median of %d runs x %d ops (4 KiB source, 100-byte slice)\n",
              kRuns, kIters);
  std::printf("%-52s %10s %12s\n", "operation", "Bytes", "absl::Cord");
  auto row = [](const char* name, double b, double c) {
    std::printf("%-52s %10.1f %12.1f\n", name, b, c);
  };
  row("create: copy 4 KiB in (+destroy)", b_copy, c_copy);
  row("create: adopt a 4 KiB std::string&& (+destroy)*", b_adopt, c_adopt);
  row("slice 100 B from the middle (+destroy)", b_slice, c_slice);
  row("slice 100 B + contiguous view (Flatten for Cord)", b_slice_read, c_slice_read);
  row("copy the handle (+destroy the copy)", b_handle, c_handle);
  row("cycle: adopt*, slice, copy, destroy all", b_cycle, c_cycle);
  std::printf("* includes making the 4 KiB std::string: %.1f ns\n", make_string);
  return 0;
}
