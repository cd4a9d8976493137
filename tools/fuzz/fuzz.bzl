"""weft_cc_fuzz: a fuzz target, its corpus test and its fuzzing binary.

    load("//tools/fuzz:fuzz.bzl", "weft_cc_fuzz")

    weft_cc_fuzz(
        name = "request_fuzz",
        srcs = ["request_fuzz.cc"],       # defines LLVMFuzzerTestOneInput
        corpus = glob(["corpus/request/*"]),
        deps = [":parser"],
    )

makes
  NAME_test  a Boost.Test test (run by tools/test.sh and CI, under every sanitizer config) that
             runs the target over every corpus file, then over `iterations` (default 20,000)
             seeded mutants of them;
  NAME       the fuzzing binary: with `--config=fuzz` (clang, libFuzzer, ASan and UBSan) it
             searches for new inputs (tools/fuzz/run.sh); built otherwise, it replays the files
             it is given.
An input the target rejects as a property failure (WEFT_FUZZ_CHECK) or a sanitizer report is a
bug: fix it, then add the input to the corpus so the test keeps it fixed.
"""

load("//tools/bazel:weft.bzl", "weft_cc_binary", "weft_cc_library", "weft_cc_test")

def weft_cc_fuzz(name, srcs, corpus, deps = [], testonly = False, iterations = 20000):
    """`iterations`: mutants the corpus test runs; `testonly` when deps are test helpers."""
    weft_cc_library(
        name = name + "_target",
        srcs = srcs,
        deps = deps + ["//tools/fuzz:check"],
        alwayslink = True,
        testonly = testonly,
    )
    native.genrule(
        name = name + "_seeds",
        srcs = corpus,
        outs = [name + "_seeds.cc"],
        cmd = "$(location //tools/fuzz:embed) $@ $(SRCS)",
        tools = ["//tools/fuzz:embed"],
    )
    weft_cc_test(
        name = name + "_test",
        srcs = [name + "_seeds.cc"],
        deps = [
            ":" + name + "_target",
            "//tools/fuzz:fuzz_test_main",
            "//tools/fuzz:seeds",
        ],
        args = ["--", "--iterations=%d" % iterations],
    )
    weft_cc_binary(
        name = name,
        testonly = testonly,
        deps = [":" + name + "_target"] + select({
            "//tools/fuzz:libfuzzer": [],
            "//conditions:default": ["//tools/fuzz:standalone_main"],
        }),
        linkopts = select({
            "//tools/fuzz:libfuzzer": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
    )
