"""Build macros every weft package uses, so all targets share one shape.

    load("//tools/bazel:weft.bzl", "weft_cc_library", "weft_cc_test")

    weft_cc_library(name = "task", hdrs = ["task.h"], srcs = ["task.cc"])
    weft_cc_test(name = "task_test", srcs = ["task_test.cc"], deps = [":task"])

Public headers are included with a `weft/` prefix (`#include "weft/runtime/task/task.h"`), so
they can never collide with a user's own top-level folders when weft is an external repository.
"""

# Warnings are errors in weft's own code (not in third_party): both gcc 12 and clang 14 build
# everything in CI, so a warning one compiler finds is fixed at once.
WEFT_COPTS = [
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wno-unused-parameter",
    "-Wno-missing-field-initializers",
]

def weft_cc_library(name, copts = [], **kwargs):
    native.cc_library(
        name = name,
        copts = WEFT_COPTS + copts,
        # Bazel 4 applies include_prefix to the package-relative path unless the prefix to
        # strip is given: "/" keeps the repository-relative path, so runtime/task/task.h is
        # included as weft/runtime/task/task.h.
        strip_include_prefix = "/",
        include_prefix = "weft",
        **kwargs
    )

def weft_cc_binary(name, copts = [], **kwargs):
    native.cc_binary(name = name, copts = WEFT_COPTS + copts, **kwargs)

def weft_cc_test(name, deps = [], copts = [], size = "small", linkstatic = True, **kwargs):
    """A Boost.Test test: one file defines BOOST_TEST_MODULE; test.xml lists every case.

    Linked statically (like binaries), so the system libraries' --as-needed link sees every
    object that needs them; per-library shared objects would miss their absl dependencies.
    """
    native.cc_test(
        name = name,
        linkstatic = linkstatic,
        copts = WEFT_COPTS + copts,
        deps = deps + ["//tools/boost_test"],
        size = size,
        **kwargs
    )
