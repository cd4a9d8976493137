#!/usr/bin/env bash
# TCP echo benchmark: weft's echo server (//examples/echo) driven by weft's load generator
# (//bench/net:echo_client) over loopback; latency, throughput, server CPU per round trip and
# syscalls per echoed message.
#
# Usage: tools/bench/echo_bench.sh
#   env: SECS=5                 measured seconds per run (plus the client's 0.5 s warm-up)
#        ROUNDS=3               runs per scenario; the table shows the median of each column
#        STRACE_ROUND_TRIPS=100000   round trips for the syscall count (scenario b)
#        SERVER_CPU=1 CLIENT_CPU=0   cores for taskset
#        OUT_DIR=DIR            keep the raw outputs there (default: a temp dir)
#
# What it does:
#   1. bazel build --config=opt //examples/echo:echo //bench/net:echo_client (no bazel-*
#      symlinks are touched).
#   2. Starts `echo --port=0 --workers=1` pinned on $SERVER_CPU and reads its
#      "listening on 127.0.0.1:PORT" line (gives up after 10 s).
#   3. Runs the client pinned on $CLIENT_CPU (--workers 1), $ROUNDS times each:
#        (a) 1 connection, 32-byte messages (latency)
#        (b) 64 connections, 32 bytes
#        (c) 16 connections, 64 KiB
#      and prints the medians, with the server's CPU time (utime+stime from /proc/PID/stat,
#      whole client run incl. connect and warm-up) divided by all round trips of the run.
#   4. Runs a fresh server under `strace -c -f` for scenario (b) with --round-trips N and
#      prints the server's syscalls divided by N (strace slows the server down, so each
#      epoll_wait returns more events than it would untraced). If perf can count syscall
#      tracepoints, the same run (and scenario (a) with N/5 round trips) is repeated untraced
#      under `perf stat -p` as a cross-check.
# The server is killed on exit (trap); every client run has a timeout.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SECS=${SECS:-5}
ROUNDS=${ROUNDS:-3}
STRACE_ROUND_TRIPS=${STRACE_ROUND_TRIPS:-100000}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
OUT_DIR=${OUT_DIR:-$(mktemp -d /tmp/echo_bench.XXXXXX)}
mkdir -p "$OUT_DIR"
CLK_TCK=$(getconf CLK_TCK)
CLIENT_TIMEOUT=$((SECS + 60))

LAUNCH_PID=""  # what we started (echo itself, or strace)
SERVER_PID=""  # the echo server process
PORT=""

log() { echo "== $*" >&2; }
die() {
  echo "echo_bench: error: $*" >&2
  exit 1
}
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

CLIENT_PID=""  # the running client (or perf), so an interrupt can stop it at once

# The wrapper's (strace's) child: the echo server itself.
child_of() { tr ' ' '\n' <"/proc/$1/task/$1/children" 2>/dev/null | grep . | head -1 || true; }

# Stops the client, if one runs, and the server: SIGTERM to echo (it exits cleanly, so strace
# can write its summary), then SIGKILL to whatever is left after 10 s.
cleanup() {
  if [ -n "$CLIENT_PID" ]; then
    kill -TERM "$CLIENT_PID" 2>/dev/null || true
    wait "$CLIENT_PID" 2>/dev/null || true
    CLIENT_PID=""
  fi
  stop_server
}
stop_server() {
  [ -n "$LAUNCH_PID" ] || return 0
  [ -n "$SERVER_PID" ] || SERVER_PID=$(child_of "$LAUNCH_PID")
  [ -n "$SERVER_PID" ] || SERVER_PID=$LAUNCH_PID
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  local _
  for _ in $(seq 100); do
    kill -0 "$LAUNCH_PID" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$LAUNCH_PID" 2>/dev/null; then
    echo "echo_bench: server did not stop; killing it" >&2
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    kill -KILL "$LAUNCH_PID" 2>/dev/null || true
  fi
  wait "$LAUNCH_PID" 2>/dev/null || true
  LAUNCH_PID=""
  SERVER_PID=""
  PORT=""
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_server LOG [WRAPPER...]: runs `taskset -c $SERVER_CPU WRAPPER... echo --port=0
# --workers=1` and waits (at most 10 s) for its port. With a wrapper (strace), SERVER_PID is
# the wrapper's child.
start_server() {
  local logf=$1
  shift
  taskset -c "$SERVER_CPU" "$@" "$ECHO_BIN" --port=0 --workers=1 >"$logf" 2>&1 &
  LAUNCH_PID=$!
  local _
  for _ in $(seq 100); do
    PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$logf" | head -1)
    [ -n "$PORT" ] && break
    kill -0 "$LAUNCH_PID" 2>/dev/null || die "server exited before listening: $(cat "$logf")"
    sleep 0.1
  done
  [ -n "$PORT" ] || die "server did not print its port within 10 s (see $logf); refusing to run"
  if [ $# -eq 0 ]; then
    SERVER_PID=$LAUNCH_PID  # taskset execs the server
  else
    SERVER_PID=$(child_of "$LAUNCH_PID")
    [ -n "$SERVER_PID" ] || die "cannot find the server process under $1"
  fi
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# field KEY LINE: the value of key=value in a client output line.
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR == 0 ? "n/a" : v[int((NR + 1) / 2)]) }'; }

# bg OUT CMD...: runs CMD in the background with stdout to OUT and waits for it (a trapped
# signal interrupts `wait`, not a foreground command), returning its status.
bg() {
  local out=$1 rc=0
  shift
  "$@" >"$out" &
  CLIENT_PID=$!
  wait "$CLIENT_PID" || rc=$?
  CLIENT_PID=""
  return "$rc"
}
# client OUT ARGS...: the load generator, pinned, with a timeout.
client() {
  local out=$1
  shift
  bg "$out" taskset -c "$CLIENT_CPU" timeout "$CLIENT_TIMEOUT" "$CLIENT_BIN" --port "$PORT" \
    --workers 1 "$@"
}

# ---- build ----
cd "$ROOT"
for tool in taskset timeout bazel; do command -v "$tool" >/dev/null || die "$tool not found"; done
if [ "$(nproc)" -le "$SERVER_CPU" ] || [ "$(nproc)" -le "$CLIENT_CPU" ]; then
  die "need cpus $CLIENT_CPU and $SERVER_CPU"
fi
log "building: bazel build --config=opt //examples/echo:echo //bench/net:echo_client"
timeout 1800 bazel build --config=opt --symlink_prefix=/ //examples/echo:echo //bench/net:echo_client >&2
BIN_DIR=$(bazel info --config=opt --symlink_prefix=/ bazel-bin 2>/dev/null)
ECHO_BIN=$BIN_DIR/examples/echo/echo
CLIENT_BIN=$BIN_DIR/bench/net/echo_client
if [ ! -x "$ECHO_BIN" ] || [ ! -x "$CLIENT_BIN" ]; then die "binaries not built under $BIN_DIR"; fi

LOAD_BEFORE=$(loadavg)

# ---- (a) (b) (c): latency and throughput ----
start_server "$OUT_DIR/server.log"
log "server pid $SERVER_PID on 127.0.0.1:$PORT (cpu $SERVER_CPU); client on cpu $CLIENT_CPU"
scenarios=("a 1 32 latency" "b 64 32 many-conns" "c 16 65536 64KiB")
rows=()
for sc in "${scenarios[@]}"; do
  read -r name conns size label <<<"$sc"
  : >"$OUT_DIR/$name.txt"
  for r in $(seq "$ROUNDS"); do
    t0=$(cpu_ticks "$SERVER_PID")
    client "$OUT_DIR/run.txt" --connections "$conns" --size "$size" --seconds "$SECS" ||
      die "client failed in scenario $name round $r: $(cat "$OUT_DIR/run.txt")"
    line=$(cat "$OUT_DIR/run.txt")
    t1=$(cpu_ticks "$SERVER_PID")
    all=$(field all_round_trips "$line")
    cpu=$(awk -v d=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$all" \
      'BEGIN { printf "%.2f", (n > 0 ? d / hz * 1e6 / n : 0) }')
    echo "$line server_cpu_us_per_rt=$cpu" | tee -a "$OUT_DIR/$name.txt" >&2
  done
  cols=""
  for k in rt_per_s MB_per_s p50_us p99_us server_cpu_us_per_rt; do
    cols+=" $(while read -r l; do field "$k" "$l"; done <"$OUT_DIR/$name.txt" | median)"
  done
  read -r rps mbs p50 p99 cpu <<<"$cols"
  rows+=("$(printf '(%s) %-11s %5s %6s %11s %9s %9s %9s %14s   %s' "$name" "$label" "$conns" \
    "$size" "$rps" "$mbs" "$p50" "$p99" "$cpu" "$(loadavg)")")
done
stop_server
LOAD_AFTER=$(loadavg)

# ---- syscalls per echoed message: scenario (b) with a fixed number of round trips ----
N=$STRACE_ROUND_TRIPS
strace_rows=()
if command -v strace >/dev/null; then
  log "strace -c -f: server for scenario (b), $N round trips"
  start_server "$OUT_DIR/server-strace.log" strace -c -f -o "$OUT_DIR/strace.txt"
  CLIENT_TIMEOUT=330 client "$OUT_DIR/strace-client.txt" --connections 64 --size 32 \
    --round-trips "$N" --seconds 300 ||
    die "client failed under strace: $(cat "$OUT_DIR/strace-client.txt")"
  stop_server
  [ -s "$OUT_DIR/strace.txt" ] || die "strace wrote no summary"
  # strace -c rows: % time, seconds, usecs/call, calls, [errors,] syscall
  calls_of() {
    awk -v want=" $* " '$1 ~ /^[0-9.]+$/ && NF >= 5 && index(want, " " $NF " ") {
      c += $4; if (NF == 6) e += $5 } END { printf "%d %d", c, e }' "$OUT_DIR/strace.txt"
  }
  # One row each, so socket I/O (recvfrom/sendto) and the eventfd (read/write) stay apart.
  for group in recvfrom read sendto write "epoll_wait epoll_pwait epoll_pwait2" epoll_ctl \
    futex "accept4 setsockopt close"; do
    read -r c e <<<"$(calls_of "$group")"
    strace_rows+=("$(printf '%-36s %9d %8d %9.4f' "${group// /+}" "$c" "$e" \
      "$(awk -v c="$c" -v n="$N" 'BEGIN { print c / n }')")")
  done
  total=$(awk '$NF == "total" { print $4 }' "$OUT_DIR/strace.txt")
  strace_rows+=("$(printf '%-36s %9d %8s %9.4f' "all syscalls" "$total" "" \
    "$(awk -v c="$total" -v n="$N" 'BEGIN { print c / n }')")")
else
  strace_rows+=("strace not installed (apt-get install strace): syscall counts skipped")
fi

# Cross-check without ptrace's slow-down: count the same syscalls with perf tracepoints.
perf_rows=()
PERF_EVENTS="syscalls:sys_enter_recvfrom,syscalls:sys_enter_read,syscalls:sys_enter_sendto"
PERF_EVENTS+=",syscalls:sys_enter_write,syscalls:sys_enter_epoll_wait"
PERF_EVENTS+=",syscalls:sys_enter_epoll_pwait2,syscalls:sys_enter_epoll_ctl"
PERF_EVENTS+=",syscalls:sys_enter_futex,raw_syscalls:sys_enter"
if command -v perf >/dev/null && timeout 20 perf stat -e "$PERF_EVENTS" true >/dev/null 2>&1; then
  # scenario (b) as above, and (a) (one connection: one driver wake-up per message).
  for sc in "b 64 $N" "a 1 $((N / 5))"; do
    read -r name conns n <<<"$sc"
    log "perf stat -p: untraced server, scenario ($name), $n round trips"
    start_server "$OUT_DIR/server-perf-$name.log"
    bg "$OUT_DIR/perf-client-$name.txt" timeout 330 perf stat -x, -o "$OUT_DIR/perf-$name.txt" \
      -e "$PERF_EVENTS" -p "$SERVER_PID" -- taskset -c "$CLIENT_CPU" timeout 330 "$CLIENT_BIN" \
      --port "$PORT" --workers 1 --connections "$conns" --size 32 --round-trips "$n" \
      --seconds 300 ||
      die "client failed under perf: $(cat "$OUT_DIR/perf-client-$name.txt")"
    stop_server
    perf_rows+=("($name) $conns conns x 32 B, $n round trips:")
    while IFS=, read -r count _ event _; do
      [[ "$count" =~ ^[0-9]+$ ]] || continue
      perf_rows+=("$(printf '  %-34s %9d %8s %9.4f' "${event#*:}" "$count" "" \
        "$(awk -v c="$count" -v n="$n" 'BEGIN { print c / n }')")")
    done <"$OUT_DIR/perf-$name.txt"
  done
fi

# ---- report ----
echo
echo "# weft TCP echo: server \`echo --port=0 --workers=1\` on cpu $SERVER_CPU, client" \
  "\`echo_client --workers 1\` on cpu $CLIENT_CPU; ${SECS}s measured (+0.5s warm-up) x $ROUNDS rounds, medians"
echo "# $(nproc) CPUs; load average before: $LOAD_BEFORE, after: $LOAD_AFTER (other work on the machine skews the numbers)"
echo "# MB/s = payload bytes per second one way; server_cpu = (utime+stime) / round trips (CLK_TCK=$CLK_TCK)"
printf '%-15s %5s %6s %11s %9s %9s %9s %14s   %s\n' scenario conns bytes rt/s MB/s p50_us \
  p99_us server_cpu_us/rt "loadavg at end"
printf '%s\n' "${rows[@]}"
echo
echo "# syscalls per echoed message: server under strace -c -f, scenario (b) 64 conns x 32 B, $N round trips"
echo "# (counts include setup: 64 accept4/setsockopt, 64+64 epoll_ctl ADD/DEL, closes, process start;"
echo "#  read/write are the reactor's wake-up eventfd; strace slows the server, so turns batch more)"
printf '%-36s %9s %8s %9s\n' syscall calls errors per_msg
printf '%s\n' "${strace_rows[@]}"
if [ ${#perf_rows[@]} -gt 0 ]; then
  echo
  echo "# untraced server, counted with perf stat -e syscalls:sys_enter_* -p PID (no ptrace slow-down;"
  echo "# setup included: per connection one EOF read, at most one EAGAIN (first) read, epoll_ctl ADD+DEL)"
  printf '%-36s %9s %8s %9s\n' syscall calls "" per_msg
  printf '%s\n' "${perf_rows[@]}"
fi
echo "# raw outputs: $OUT_DIR"
