#!/usr/bin/env bash
# weft vs Tokio runtime micro-benchmarks, side by side.
#
# Usage: tools/bench/runtime_vs_tokio.sh [CASE...]
#   CASE: spawn pingpong mpsc yield timers chained oneshot_pp (default: all seven), plus `idle`
#         (bytes per idle task; run by default after the seven). Tokio's side of `idle` is
#         bench/runtime/tokio_idle (tokio-bench has no such case), built with cargo --offline
#         from Debian's crate sources when cargo is installed.
#   env:  ITERS=5 WORKERS=2
#         PEERS_BIN=/tmp/peers/bin   where Tokio's tokio-bench binary lives
#         TOKIO_RESULTS=FILE         if the binary is missing: compare against a saved
#                                    tokio-bench output instead (e.g.
#                                    /work/shared/peers/results-20261125/tokio-bench.txt)
#         OUT_DIR=DIR                keep the raw outputs there (default: a temp dir)
#         TOKIO_IDLE_BUILD_DIR=DIR   where tokio_idle is built (default: $TMPDIR/weft-tokio-idle)
#
# Builds //bench/runtime:runtime_bench with --config=opt (no bazel-* symlinks are touched),
# then for each case runs Tokio's binary and weft's, interleaved (tokio, then weft), each with
# `--workers $WORKERS --iters $ITERS --case CASE` (one untimed warm-up iteration each), and
# prints: case, Tokio median ms, weft median ms, ratio weft/Tokio (< 1: weft is faster).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ITERS=${ITERS:-5}
WORKERS=${WORKERS:-2}
TOKIO_BIN=${PEERS_BIN:-/tmp/peers/bin}/tokio-bench
TOKIO_CASES=(spawn pingpong mpsc yield timers chained oneshot_pp)

cases=("$@")
if [ ${#cases[@]} -eq 0 ]; then cases=("${TOKIO_CASES[@]}" idle); fi

OUT_DIR=${OUT_DIR:-$(mktemp -d /tmp/runtime_vs_tokio.XXXXXX)}
mkdir -p "$OUT_DIR"

cd "$ROOT"
echo "== building weft: bazel build --config=opt //bench/runtime:runtime_bench" >&2
bazel build --config=opt --symlink_prefix=/ //bench/runtime:runtime_bench >&2
WEFT_BIN="$(bazel info --config=opt bazel-bin 2>/dev/null)/bench/runtime/runtime_bench"
[ -x "$WEFT_BIN" ] || { echo "error: $WEFT_BIN not built" >&2; exit 1; }

have_tokio=1
if [ ! -x "$TOKIO_BIN" ]; then
  have_tokio=0
  cat >&2 <<MSG
warning: Tokio's benchmark binary $TOKIO_BIN is missing. Build it (offline, takes a while) with
    /work/shared/peers/build-all.sh --no-apt
(PEERS_BIN=DIR to put it elsewhere). Tokio columns come from \$TOKIO_RESULTS if set, else n/a.
MSG
fi

# median_of FILE CASE: the median_ms column of CASE's row in a *-bench output.
median_of() { awk -v c="$2" '$1 == c { m = $2 } END { print (m == "" ? "n/a" : m) }' "$1"; }

is_tokio_case() {
  local c
  for c in "${TOKIO_CASES[@]}"; do [ "$c" = "$1" ] && return 0; done
  return 1
}

# Builds bench/runtime/tokio_idle (offline) and prints the binary's path; fails without cargo.
# The build directory is kept between runs (sources copied with their timestamps), so cargo
# compiles Tokio and its dependencies once, not on every run.
build_tokio_idle() {
  command -v cargo >/dev/null || { echo "note: no cargo: Tokio's idle figure is skipped" >&2; return 1; }
  local dir="${TOKIO_IDLE_BUILD_DIR:-${TMPDIR:-/tmp}/weft-tokio-idle}"
  mkdir -p "$dir/.cargo"
  cp -rp "$ROOT/bench/runtime/tokio_idle/Cargo.toml" "$ROOT/bench/runtime/tokio_idle/src" "$dir/"
  # The peers' offline cargo setup (Debian's crate sources), as build-all.sh uses it.
  cp -p "$ROOT/../shared/peers/cargo/config.toml" "$dir/.cargo/config.toml" || return 1
  (cd "$dir" && cargo build --release --offline >&2) || return 1
  echo "$dir/target/release/tokio-idle"
}

rows=()
idle_line=""
for c in "${cases[@]}"; do
  tok="n/a"
  if is_tokio_case "$c"; then
    if [ $have_tokio = 1 ]; then
      echo "== tokio $c" >&2
      "$TOKIO_BIN" --workers "$WORKERS" --iters "$ITERS" --case "$c" | tee "$OUT_DIR/tokio-$c.txt" >&2
      tok=$(median_of "$OUT_DIR/tokio-$c.txt" "$c")
    elif [ -n "${TOKIO_RESULTS:-}" ]; then
      tok=$(median_of "$TOKIO_RESULTS" "$c")
    fi
  fi
  echo "== weft $c" >&2
  "$WEFT_BIN" --workers "$WORKERS" --iters "$ITERS" --case "$c" | tee "$OUT_DIR/weft-$c.txt" >&2
  weft=$(median_of "$OUT_DIR/weft-$c.txt" "$c")
  if [ "$c" = idle ]; then
    idle_line=$(grep '^# idle' "$OUT_DIR/weft-$c.txt" || true)
    if tokio_idle=$(build_tokio_idle); then
      echo "== tokio idle" >&2
      idle_line="$idle_line"$'\n'"$("$tokio_idle" | tee "$OUT_DIR/tokio-idle.txt")"
    fi
  fi
  ratio=$(awk -v t="$tok" -v w="$weft" \
    'BEGIN { if (t == "n/a" || w == "n/a" || t + 0 == 0) print "n/a"; else printf "%.2f", w / t }')
  rows+=("$(printf '%-10s %12s %12s %10s' "$c" "$tok" "$weft" "$ratio")")
done

echo
src="tokio-bench"
[ $have_tokio = 1 ] || src="${TOKIO_RESULTS:+recorded: $TOKIO_RESULTS}"
echo "# workers=$WORKERS iters=$ITERS  tokio=${src:-n/a}  weft=$WEFT_BIN"
echo "# $(nproc) CPUs, load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews the numbers)"
printf '%-10s %12s %12s %10s\n' case tokio_ms weft_ms weft/tokio
printf '%s\n' "${rows[@]}"
[ -z "$idle_line" ] || echo "$idle_line"
echo "# raw outputs: $OUT_DIR"
