#!/usr/bin/env bash
# Server CPU time per HTTP/1.1 `GET /` as a ratio to a baseline server, round by round: on a
# noisy VM a server's µs/req swings by ±30% between rounds, while the ratio within one round
# (servers run back to back under the same noise) swings much less. Prints each round's user
# and system µs/req and the ratio to the first server, then the median ratio per server.
#
# Usage: tools/bench/http_cpu_ratio.sh [-r ROUNDS] [-c "50 256"] [-d SECS] NAME=CMD ...
#   NAME=CMD  a server; CMD contains {PORT}. The first one is the baseline (1.000).
#   -r  rounds (default 5); -c  wrk connection counts (default "50 256"); -d  seconds (5)
# Example (peers from ../shared/peers/build-all.sh, weft from `bazel build --config=opt`):
#   tools/bench/http_cpu_ratio.sh -r 10 'hyper=/tmp/peers/bin/hyper-hello {PORT} h1 2' \
#     "weft=$PWD/bazel-bin/examples/http_echo/http_echo --port={PORT}" \
#     'limit=/tmp/peers/bin/limit {PORT}'
#
# How, as ../shared/peers/bench-http1.sh measures: the server runs pinned to CPU 1
# (`taskset -c 1`), `wrk -t1` pinned to CPU 0, 1 s of warm-up, then user and system time from
# /proc/PID/stat (whole process, every thread) over the measured run, divided by the requests
# wrk completed. Only the process it starts is measured (not children).
set -euo pipefail
source "$(dirname "$0")/http_lib.sh"

rounds=5 conns="50 256" secs=5
while getopts "r:c:d:" opt; do
  case $opt in
    r) rounds=$OPTARG ;;
    c) conns=$OPTARG ;;
    d) secs=$OPTARG ;;
    *) sed -n '2,13p' "$0" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] || { echo "give a baseline and at least one more NAME=CMD" >&2; exit 2; }
for tool in wrk curl taskset python3; do
  command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done

hz=$(getconf CLK_TCK)
results=$(mktemp)
trap 'rm -f "$results"' EXIT

for r in $(seq 1 "$rounds"); do
  for spec in "$@"; do
    name=${spec%%=*}
    port=$((20000 + RANDOM % 20000))
    cmd=${spec#*=}
    cmd=${cmd//\{PORT\}/$port}
    # shellcheck disable=SC2086  # CMD is a command line
    taskset -c 1 $cmd >/dev/null 2>&1 &
    pid=$!
    if ! answering "$port" 20; then
      echo "$name: not answering on port $port after 20 s; skipped" >&2
      stop "$pid"
      continue
    fi
    for c in $conns; do
      taskset -c 0 wrk -t1 "-c$c" -d1s "http://127.0.0.1:$port/" >/dev/null
      read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$pid/stat")
      n=$(taskset -c 0 wrk -t1 "-c$c" "-d${secs}s" "http://127.0.0.1:$port/" |
        awk '/requests in/{print $1}')
      read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$pid/stat")
      echo "$r $c $name $((u1 - u0)) $((s1 - s0)) ${n:-0}" >>"$results"
    done
    stop "$pid"
  done
done

python3 - "$results" "$hz" "$1" <<'EOF'
import collections, statistics, sys
path, hz, base = sys.argv[1], int(sys.argv[2]), sys.argv[3].split("=", 1)[0]
rows = collections.defaultdict(dict)  # (round, conns) -> name -> (user µs, sys µs)
order = []
for line in open(path):
    r, c, name, u, s, n = line.split()
    if int(n) == 0:
        continue
    rows[(int(r), int(c))][name] = (int(u) * 1e6 / hz / int(n), int(s) * 1e6 / hz / int(n))
    if name not in order:
        order.append(name)
ratios = collections.defaultdict(list)  # (conns, name) -> ratios
for (r, c), servers in sorted(rows.items()):
    if base not in servers:
        continue
    b = sum(servers[base])
    cells = []
    for name in order:
        if name in servers:
            u, s = servers[name]
            ratios[(c, name)].append((u + s) / b)
            cells.append(f"{name} {u:.2f}+{s:.2f} ({(u + s) / b:.3f})")
    print(f"round {r} c={c}: " + "  ".join(cells))
print(f"# user+sys µs/req (ratio to {base} in the same round); medians of the ratios:")
for c in sorted({c for c, _ in ratios}):
    print(f"c={c}: " + "  ".join(
        f"{name} {statistics.median(ratios[(c, name)]):.3f}" for name in order
        if ratios[(c, name)]))
EOF
