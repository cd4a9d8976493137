#!/usr/bin/env bash
# The consumer's binary, built against @weft, answers its own request.
set -euo pipefail
out=$("$TEST_SRCDIR/weft_consumer/greeter" --self_check)
[ "$out" = "hello, bazel" ] || { echo "unexpected: $out" >&2; exit 1; }
