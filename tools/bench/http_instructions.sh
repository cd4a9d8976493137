#!/usr/bin/env bash
# Instructions per HTTP/1.1 `GET /`, counted by callgrind: a figure that repeats to within a
# percent on a noisy machine, where CPU-time benchmarks swing by ±20%. Counts user-space
# instructions of the server only (the kernel's share is the same for every server here: one
# recv and one send per request).
#
# Usage: tools/bench/http_instructions.sh [NAME=CMD ...]
#   NAME=CMD  a server to measure; CMD contains {PORT}. Default: weft's http_echo in both modes
#             (built with --config=opt) and, when /tmp/peers/bin exists (../shared/peers/
#             build-all.sh), hyper-hello and limit.
#   env: SECS=5      measured seconds of load (wrk -t1 -c50), after 1 s of warm-up (-c10)
#        KEEP=DIR    keep the callgrind files there (default: a temp dir, removed)
#        HEADERS=browser  requests carry 8 more headers, as a browser's do (wrk alone sends
#                    only Host): the per-header path of the parser weighs in
#
# How: starts CMD under `valgrind --tool=callgrind`, warms up, zeroes the counters
# (callgrind_control -z), loads it for SECS, dumps (callgrind_control -d), and divides the
# dump's total by the requests wrk completed. Startup and shutdown are not counted. Under
# valgrind a server runs ~50x slower, so a run answers a few tens of thousands of requests.
# Profile one: callgrind_annotate KEEP/NAME.out (exclusive) or --inclusive=yes.
set -euo pipefail

cd "$(dirname "$0")/../.."
source tools/bench/http_lib.sh
SECS=${SECS:-5}
for tool in valgrind callgrind_control callgrind_annotate wrk curl; do
  command -v "$tool" >/dev/null || { echo "missing: $tool (apt-get install valgrind wrk curl)" >&2; exit 1; }
done

servers=("$@")
if [ ${#servers[@]} -eq 0 ]; then
  bazel build --config=opt --symlink_prefix=/ //examples/http_echo >&2
  bin=$(bazel info --config=opt --symlink_prefix=/ bazel-bin 2>/dev/null)/examples/http_echo/http_echo
  servers=("weft-tpc=$bin --workers=1 --mode=thread-per-core --port={PORT}"
           "weft=$bin --workers=2 --port={PORT}")
  peers=/tmp/peers/bin
  # As ../shared/peers/lib.sh starts it: HTTP/1.1 only, 2 worker threads.
  [ -x "$peers/hyper-hello" ] && servers+=("hyper=$peers/hyper-hello {PORT} h1 2")
  [ -x "$peers/limit" ] && servers+=("limit=$peers/limit {PORT}")
fi

load_args=()
if [ "${HEADERS:-}" = browser ]; then
  load_args=(
    -H 'User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0'
    -H 'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'
    -H 'Accept-Language: en-US,en;q=0.5'
    -H 'Accept-Encoding: gzip, deflate, br'
    -H 'Referer: http://127.0.0.1/index.html'
    -H 'Cookie: session=3f9a1c7e5b2d4a6f8e0c1b3d5f7a9c2e; theme=dark'
    -H 'Cache-Control: max-age=0'
    -H 'Upgrade-Insecure-Requests: 1'
  )
elif [ -n "${HEADERS:-}" ]; then
  echo "HEADERS: only 'browser' is known" >&2
  exit 2
fi

out_dir=${KEEP:-$(mktemp -d)}
mkdir -p "$out_dir"
[ -z "${KEEP:-}" ] && trap 'rm -rf "$out_dir"' EXIT

printf '%-12s %12s %10s %14s\n' server instructions requests per-request
for spec in "${servers[@]}"; do
  name=${spec%%=*}
  port=$((20000 + RANDOM % 20000))
  cmd=${spec#*=}
  cmd=${cmd//\{PORT\}/$port}
  rm -f "$out_dir/$name.raw".*
  # shellcheck disable=SC2086  # CMD is a command line
  valgrind --tool=callgrind --compress-strings=no --compress-pos=no \
    --callgrind-out-file="$out_dir/$name.raw.%p" $cmd >/dev/null 2>&1 &
  vpid=$!
  # Under valgrind a server takes seconds to start, more on a busy machine: wait up to 60 s.
  if ! answering "$port" 60; then
    echo "$name: not answering on port $port after 60 s; skipped" >&2
    stop "$vpid"
    continue
  fi
  wrk -t1 -c10 -d1s "${load_args[@]}" "http://127.0.0.1:$port/" >/dev/null
  callgrind_control -z "$vpid" >/dev/null 2>&1
  requests=$(wrk -t1 -c50 "-d${SECS}s" "${load_args[@]}" "http://127.0.0.1:$port/" | awk '/requests in/{print $1}')
  if [ -z "$requests" ] || [ "$requests" -eq 0 ]; then
    echo "$name: no request answered (is CMD right? it must listen on {PORT})" >&2
    stop "$vpid"
    continue
  fi
  callgrind_control -d "$vpid" >/dev/null 2>&1
  stop "$vpid"
  dump=$(ls "$out_dir/$name.raw".*.1 | head -1)
  mv "$dump" "$out_dir/$name.out"
  total=$(awk '/^summary:/{print $2}' "$out_dir/$name.out")
  printf '%-12s %12s %10s %14s\n' "$name" "$total" "$requests" "$((total / requests))"
done
[ -n "${KEEP:-}" ] && echo "callgrind files: $out_dir" >&2
exit 0
