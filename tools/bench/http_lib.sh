# Helpers shared by the HTTP benchmark scripts (sourced, bash).

# answering PORT SECONDS: waits until GET / on 127.0.0.1:PORT answers, at most SECONDS;
# fails if it never does.
answering() {
  local port=$1 tries=$(($2 * 5))
  for _ in $(seq "$tries"); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" && return 0
    sleep 0.2
  done
  return 1
}

# stop PID: SIGTERM, then reaps it.
stop() {
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
