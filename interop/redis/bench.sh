#!/usr/bin/env bash
# Cross-node broadcast through Redis, ours against Node's socket.io + @socket.io/redis-adapter,
# in one run: for each kind, two server processes (A and B) share a Redis, the load generator
# (interop/redis/bench.mjs) puts C clients on B and asks A for R broadcasts per second to
# them; then the table: deliveries per second, latency percentiles, and the servers' CPU time
# per 1000 deliveries (both processes, from /proc).
#
#   interop/redis/bench.sh [--clients 100] [--rate 500] [--duration 10] [--reps 1]
#                          [--redis redis://127.0.0.1:6379] [--servers "ours node"]
#
# Needs `npm ci --prefix interop` and a Redis server; builds our example in release mode
# (CARGO_TARGET_DIR is honoured). Only 127.0.0.1 is used; the servers this script starts are
# stopped by their PIDs.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

CLIENTS=100
RATE=500
DURATION=10
REPS=1
REDIS=redis://127.0.0.1:6379
SERVERS="ours node"
while [ $# -gt 0 ]; do
  case "$1" in
    --clients) CLIENTS=$2; shift ;;
    --rate) RATE=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --reps) REPS=$2; shift ;;
    --redis) REDIS=$2; shift ;;
    --servers) SERVERS=$2; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
cargo build --quiet --release -p socketio-redis --example cluster
OURS="$TARGET/release/examples/cluster"

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

# Starts a server, waits for its LISTENING line (bounded); sets PORT and PID.
start() {
  local log
  log=$(mktemp)
  "$@" >"$log" 2>&1 &
  PID=$!
  PIDS+=("$PID")
  for _ in $(seq 1 200); do
    if PORT=$(grep -m1 -o 'LISTENING [0-9]*' "$log" | cut -d' ' -f2) && [ -n "$PORT" ]; then
      rm -f "$log"
      return 0
    fi
    sleep 0.05
  done
  echo "server did not start: $*" >&2
  cat "$log" >&2
  exit 1
}

# CPU seconds (user + system) a process has used.
cpu() {
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f", ($14 + $15) / hz }' "/proc/$1/stat"
}

printf '| server | clients | rate/s | deliveries/s | loss | p50 ms | p90 ms | p99 ms | CPU ms / 1000 deliveries |\n'
printf '|---|---|---|---|---|---|---|---|---|\n'
for rep in $(seq 1 "$REPS"); do
  for kind in $SERVERS; do
    key="bench-$kind-$$-$rep"
    case "$kind" in
      ours)
        start "$OURS" --port 0 --redis "$REDIS/" --key "$key" --name a; A=$PORT; PA=$PID
        start "$OURS" --port 0 --redis "$REDIS/" --key "$key" --name b; B=$PORT; PB=$PID ;;
      node)
        start node interop/redis/bench-peer.mjs --port 0 --redis "$REDIS" --key "$key"; A=$PORT; PA=$PID
        start node interop/redis/bench-peer.mjs --port 0 --redis "$REDIS" --key "$key"; B=$PORT; PB=$PID ;;
      *) echo "unknown server $kind" >&2; exit 2 ;;
    esac
    before=$(awk -v a="$(cpu "$PA")" -v b="$(cpu "$PB")" 'BEGIN { printf "%.3f", a + b }')
    result=$(node interop/redis/bench.mjs --publish "http://127.0.0.1:$A" --subscribe "http://127.0.0.1:$B" \
      --clients "$CLIENTS" --rate "$RATE" --duration "$DURATION" | grep '^RESULT ' | cut -d' ' -f2-)
    after=$(awk -v a="$(cpu "$PA")" -v b="$(cpu "$PB")" 'BEGIN { printf "%.3f", a + b }')
    kill "$PA" "$PB" 2>/dev/null || true
    wait "$PA" "$PB" 2>/dev/null || true
    node -e '
      const r = JSON.parse(process.argv[1]);
      if (r.error) { console.log(`| ${process.argv[2]} | error: ${r.error} |`); process.exit(0); }
      const cpu = (Number(process.argv[3]) * 1000 / (r.received / 1000)).toFixed(2);
      console.log(`| ${process.argv[2]} | ${r.clients} | ${r.rate} | ${r.deliveriesPerSecond} | ${r.loss} | ${r.p50} | ${r.p90} | ${r.p99} | ${cpu} |`);
    ' "$result" "$kind" "$(awk -v a="$after" -v b="$before" 'BEGIN { printf "%.3f", a - b }')"
  done
done
