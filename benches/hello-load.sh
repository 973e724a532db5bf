#!/usr/bin/env bash
# Load test of the hello example in both isolation modes, with wrk.
#   benches/hello-load.sh [DURATION] [CONNECTIONS]
# MEMORY_RESET=decommit measures the reset used where swap is on
# (server.memory_reset; default "auto").
# Needs wrk (apt-get install wrk). Builds terrarium in release mode first.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10s}
connections=${2:-64}
memory_reset=${MEMORY_RESET:-auto}
command -v wrk >/dev/null || { echo "needs wrk: apt-get install wrk" >&2; exit 1; }
cargo build --release -q
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
export TERRARIUM_CACHE_DIR="$PWD/examples/hello/.terrarium/cache" TERRARIUM_LOG=warn

for isolation in pooled request; do
  site="$work/$isolation"
  mkdir -p "$site"
  cat > "$site/terrarium.toml" <<TOML
[server]
memory_reset = "$memory_reset"
access_log = "off"

[[mount]]
path = "/"
app = "$PWD/examples/hello/apps/hello"
isolation = "$isolation"
instances = 4
warm_up = ["/"]
TOML
  ./target/release/terrarium serve "$site" --listen 127.0.0.1:0 > "$work/out" &
  pid=$!
  until grep -q listening "$work/out" 2>/dev/null; do
    kill -0 $pid 2>/dev/null || { echo "hello-load: the server did not start" >&2; exit 1; }
    sleep 0.1
  done
  url=$(sed -n 's#terrarium: listening on ##p' "$work/out")
  wrk -t2 -c"$connections" -d2s "$url/" > /dev/null   # warm-up
  echo "== hello, isolation = $isolation, memory_reset = $memory_reset: wrk -t2 -c$connections -d$duration --latency $url/"
  wrk -t2 -c"$connections" -d"$duration" --latency "$url/" | grep -E "Requests/sec|Latency |  50%|  99%|Non-2xx|Socket errors"
  kill -TERM $pid; wait $pid || true
done
