// WEFT_FUZZ_CHECK: the assertion of a fuzz target. A property that fails prints where and why
// on stderr and ends the process: under libFuzzer by abort() (it saves the input as a crash
// file); in the corpus test (fuzz_test_main.cc) by printing the input that broke it and exiting
// with status 1.
//
//   extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
//     auto r = parse(std::string_view(reinterpret_cast<const char*>(data), size));
//     WEFT_FUZZ_CHECK(r.ok() || !r.status().message().empty(), "an error without a message");
//     return 0;
//   }
#pragma once

#include <cstdio>
#include <cstdlib>

// Defined by the corpus test (fuzz_test_main.cc): prints the failing input and exits. Absent
// (null) under libFuzzer, which saves the input itself.
extern "C" void weft_fuzz_fail() __attribute__((weak));

#define WEFT_FUZZ_CHECK(cond, what)                                                              \
  do {                                                                                           \
    if (!(cond)) {                                                                               \
      std::fprintf(stderr, "%s:%d: fuzz property failed: %s (%s)\n", __FILE__, __LINE__, (what), \
                   #cond);                                                                       \
      if (weft_fuzz_fail != nullptr) weft_fuzz_fail();                                           \
      std::abort();                                                                              \
    }                                                                                            \
  } while (false)
