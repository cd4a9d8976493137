#!/usr/bin/env bash
# Builds and runs every test the way CI does, and ends with the line `N passed, N failed`
# (test cases: each Boost.Test case counts, see tools/ci/bazel_test_summary.py).
#
#   tools/test.sh                     gcc 12, all tests
#   tools/test.sh --config=clang      clang 14
#   tools/test.sh --config=asan //runtime/...   any bazel test flags and targets
#
# Installs missing Debian packages first (tools/setup.sh). Test results are never served from
# the cache; compiled objects are (disk cache in ~/.cache, outside the clone).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh --check 2>/dev/null || tools/setup.sh
exec python3 tools/ci/bazel_test_summary.py --nocache_test_results --keep_going "$@"
