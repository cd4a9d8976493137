#!/usr/bin/env bash
# Searches for inputs that break a fuzz target, with libFuzzer (clang 14, ASan, UBSan).
#
# Usage: tools/fuzz/run.sh //PACKAGE:TARGET [SECONDS] [-- LIBFUZZER_FLAGS...]
#   e.g. tools/fuzz/run.sh //http:h1_parser_fuzz 600
#
# Starts from the target's checked-in corpus (the `corpus` files of its weft_cc_fuzz rule) plus
# what earlier runs found (kept in /tmp/weft-fuzz/TARGET/corpus), runs on both cores (-fork=2)
# for SECONDS (default 300), and leaves any crash files in /tmp/weft-fuzz/TARGET/crashes. A
# crash file replays with the binary it ran: /tmp/weft-fuzz/TARGET/TARGET CRASH_FILE. Once the
# bug is fixed, copy the file into the corpus folder with a name that says what it holds, so
# the corpus test (TARGET_test) keeps it fixed.
set -euo pipefail
cd "$(dirname "$0")/../.."

[ $# -ge 1 ] || { sed -n '2,12p' "$0" >&2; exit 2; }
label=$1
shift
secs=300
if [ $# -ge 1 ] && [ "$1" != "--" ]; then secs=$1; shift; fi
[ "${1:-}" = "--" ] && shift

pkg=${label#//}
pkg=${pkg%%:*}
name=${label##*:}
bazel build --config=fuzz "$label"
work=/tmp/weft-fuzz/$name
mkdir -p "$work/corpus" "$work/crashes"
# A copy: -fork re-runs the binary, and bazel-bin moves with the next build of another config.
binary=$work/$name
cp -f "bazel-bin/$pkg/$name" "$binary"

# The corpus files the rule embeds (its _seeds genrule's sources).
seeds=$(bazel query --output=label "labels(srcs, ${label}_seeds)" 2>/dev/null |
  sed -e 's#^//##' -e 's#:#/#')
for f in $seeds; do cp -f "$f" "$work/corpus/"; done

echo "fuzzing $label for $secs s; corpus $work/corpus, crashes $work/crashes" >&2
cd "$work/crashes"
"$binary" -max_total_time="$secs" -fork=2 -ignore_crashes=1 -max_len=4096 \
  -artifact_prefix="$work/crashes/" "$@" "$work/corpus" 2>&1 | tail -20
echo "crash files: $(find "$work/crashes" -type f -name 'crash-*' | wc -l) in $work/crashes" >&2
