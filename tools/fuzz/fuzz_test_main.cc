// The corpus test of a fuzz target (weft_cc_fuzz in fuzz.bzl makes one per target, as
// NAME_test): a Boost.Test module that runs the target's LLVMFuzzerTestOneInput over every seed
// of its corpus, then over a fixed number of mutants of them. The mutants come from a seeded
// generator, so a run is the same on every machine and a failure repeats; coverage-guided
// search for new inputs is libFuzzer's job (tools/fuzz/run.sh).
//
// A failing property (WEFT_FUZZ_CHECK) or a sanitizer report ends the test process (exit code
// 1): before it ends, the input that was running is printed on stderr (octal escapes) and written
// to $TEST_UNDECLARED_OUTPUTS_DIR/fuzz-failure-input, ready to add to the corpus once fixed.
//
// Arguments (after Boost.Test's own and `--`): --iterations=N mutants to run (default 20000);
// weft_cc_fuzz sets it from its `iterations`.
#define BOOST_TEST_MODULE fuzz_corpus_test
#include <fcntl.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "weft/tools/fuzz/seeds.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
// Present when a sanitizer runtime is linked in: called before a sanitizer report kills the
// process.
extern "C" void __sanitizer_set_death_callback(void (*callback)()) __attribute__((weak));

namespace {

using weft::fuzz::Seed;

// The input being run, for the death report (read from a signal handler: set before the run).
// It points at a copy that outlives the test case: Boost.Test leaves a case that aborts by a
// jump, and a sanitizer may report at exit, after that case's frame is gone.
const std::string* g_running = nullptr;

void write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w <= 0) return;
    p += w;
    n -= static_cast<size_t>(w);
  }
}

// Async-signal-safe: only write(2) and arithmetic.
void report_running_input() {
  const std::string* in = g_running;
  if (in == nullptr) return;
  static const char kHead[] = "\nfuzz: the input that failed (octal-escaped):\n\"";
  write_all(2, kHead, sizeof kHead - 1);
  for (unsigned char c : *in) {
    char buf[4];
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      buf[0] = static_cast<char>(c);
      write_all(2, buf, 1);
    } else {
      buf[0] = '\\';
      buf[1] = static_cast<char>('0' + (c >> 6));
      buf[2] = static_cast<char>('0' + ((c >> 3) & 7));
      buf[3] = static_cast<char>('0' + (c & 7));
      write_all(2, buf, 4);
    }
  }
  write_all(2, "\"\n", 2);
  if (const char* dir = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR"); dir != nullptr) {
    char path[4096];
    size_t n = 0;
    for (const char* p = dir; *p != '\0' && n < sizeof path - 32; ++p) path[n++] = *p;
    for (const char* p = "/fuzz-failure-input"; *p != '\0'; ++p) path[n++] = *p;
    path[n] = '\0';
    int fd = ::open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      write_all(fd, in->data(), in->size());
      ::close(fd);
    }
  }
}

}  // namespace

// A failed WEFT_FUZZ_CHECK: the input, then a plain exit. Not abort(): Boost.Test turns
// SIGABRT into an exception thrown from the signal handler, which ThreadSanitizer reports as
// signal-unsafe and then hangs on.
extern "C" void weft_fuzz_fail() {
  report_running_input();
  std::_Exit(1);
}

namespace {

struct ReportFailures {
  ReportFailures() {
    if (__sanitizer_set_death_callback != nullptr) {
      __sanitizer_set_death_callback(report_running_input);
    }
  }
};

void run(const std::string& input) {
  static std::string running;
  running = input;
  g_running = &running;
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  g_running = nullptr;
}

// Mutations in the style of libFuzzer's: byte changes, bytes that matter to text protocols,
// ranges deleted, repeated, or taken from another input, numbers that test limits, cuts.
class Mutator {
 public:
  explicit Mutator(const std::vector<std::string>& pool) : pool_(pool) {}

  std::string mutate(std::string s) {
    int n = 1 + static_cast<int>(below(6));
    for (int i = 0; i < n; ++i) once(s);
    return s;
  }

 private:
  uint64_t below(uint64_t n) { return n == 0 ? 0 : rng_() % n; }

  std::string_view slice_of_another() {
    const std::string& other = pool_[below(pool_.size())];
    size_t at = below(other.size() + 1);
    size_t len = std::min<size_t>(1 + below(32), other.size() - at);
    return std::string_view(other).substr(at, len);
  }

  void once(std::string& s) {
    static constexpr std::string_view kBytes("\r\n \t:;,=\"\\/?#%-+.0123456789aAfFzZ\0\x7f\x80\xff",
                                             38);
    static constexpr std::string_view kNumbers[] = {
        "0",
        "1",
        "-1",
        "00",
        "7fffffff",
        "ffffffffffffffff",
        "18446744073709551616",
        "99999999999999999999",
        "4294967296",
        " 12",
        "0x10",
        "1e3",
    };
    size_t at = below(s.size() + 1);
    switch (below(8)) {
      case 0:
        if (!s.empty()) s[below(s.size())] = static_cast<char>(below(256));
        break;
      case 1:
        if (!s.empty()) s[below(s.size())] = kBytes[below(kBytes.size())];
        break;
      case 2:
        s.erase(at, 1 + below(8));
        break;
      case 3: {
        size_t len = std::min<size_t>(1 + below(64), s.size() - at);
        s.insert(below(s.size() + 1), s.substr(at, len));
        break;
      }
      case 4:
        s.insert(at, slice_of_another());
        break;
      case 5:
        s.replace(at, below(16), slice_of_another());
        break;
      case 6:
        s.insert(at, kNumbers[below(std::size(kNumbers))]);
        break;
      case 7:
        s.resize(at);
        break;
    }
  }

  const std::vector<std::string>& pool_;
  std::mt19937_64 rng_{0x5eedf00du};
};

}  // namespace

BOOST_TEST_GLOBAL_FIXTURE(ReportFailures);

BOOST_AUTO_TEST_CASE(every_seed_of_the_corpus) {
  BOOST_TEST_REQUIRE(!weft::fuzz::seeds().empty(), "the target has no corpus files");
  for (const Seed& seed : weft::fuzz::seeds()) {
    BOOST_TEST_CONTEXT("seed " << seed.name) { run(std::string(seed.bytes)); }
  }
}

BOOST_AUTO_TEST_CASE(mutants_of_the_seeds) {
  long iterations = 20000;
  const auto& suite = boost::unit_test::framework::master_test_suite();
  for (int i = 1; i < suite.argc; ++i) {
    std::string_view arg = suite.argv[i];
    if (arg.substr(0, 13) == "--iterations=") iterations = std::atol(suite.argv[i] + 13);
  }
  // Mutants join the pool (up to a bound), so mutations stack over the run.
  std::vector<std::string> pool;
  for (const Seed& seed : weft::fuzz::seeds()) pool.emplace_back(seed.bytes);
  const size_t kMaxPool = pool.size() + 512;
  Mutator mutator(pool);
  std::mt19937_64 pick(42);
  std::unordered_set<std::string> distinct;
  for (long i = 0; i < iterations; ++i) {
    std::string input = mutator.mutate(pool[pick() % pool.size()]);
    run(input);
    if (distinct.size() < 4096) distinct.insert(input);
    if (pool.size() < kMaxPool) {
      pool.push_back(std::move(input));
    } else {
      pool[weft::fuzz::seeds().size() + pick() % 512] = std::move(input);
    }
  }
  // The mutator explores: (nearly) every mutant is new.
  BOOST_TEST(distinct.size() >= std::min<size_t>(4096, static_cast<size_t>(iterations) / 2));
}
