#!/usr/bin/env bash
# Interleaved A/B of two terrarium binaries on the hello example (pooled, 4
# instances): wrk -t2 -c64 -d10s after a 3 s warm-up, OLD then NEW, in rounds.
#   benches/ab-hello.sh OLD_BINARY NEW_BINARY [ROUNDS]
#   APP=benches/apps/flask_hello ISOLATION=request CONNECTIONS=1 benches/ab-hello.sh ...
# APP (an app folder), ISOLATION ("pooled" or "request") and CONNECTIONS
# (wrk's) change what is compared.
# Build the old one from its commit in a separate worktree with its own
# CARGO_TARGET_DIR. Needs wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
old=${1:?usage: benches/ab-hello.sh OLD_BINARY NEW_BINARY [ROUNDS]}
new=${2:?usage: benches/ab-hello.sh OLD_BINARY NEW_BINARY [ROUNDS]}
rounds=${3:-3}
app=$(realpath "${APP:-examples/hello/apps/hello}")
isolation=${ISOLATION:-pooled}
connections=${CONNECTIONS:-64}
threads=$((connections < 2 ? connections : 2))
command -v wrk >/dev/null || { echo "needs wrk: apt-get install wrk" >&2; exit 1; }
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/site"
cat > "$work/site/terrarium.toml" <<TOML
[server]
access_log = "off"

[[mount]]
path = "/"
app = "$app"
instances = 4
isolation = "$isolation"
warm_up = ["/"]
TOML
run() {  # BINARY CACHE_DIR LABEL
  TERRARIUM_CACHE_DIR="$2" TERRARIUM_LOG=warn "$1" serve "$work/site" --listen 127.0.0.1:0 > "$work/out" 2>&1 &
  pid=$!
  until grep -q listening "$work/out" 2>/dev/null; do kill -0 $pid 2>/dev/null || { cat "$work/out"; exit 1; }; sleep 0.1; done
  url=$(sed -n 's#terrarium: listening on ##p' "$work/out")
  wrk -t"$threads" -c"$connections" -d3s "$url/" > /dev/null
  rps=$(wrk -t"$threads" -c"$connections" -d10s "$url/" | sed -n 's/Requests\/sec: *//p')
  echo "$3 $rps"
  kill $pid; wait $pid 2>/dev/null || true
}
# Each binary builds the app into its own cache (their SDKs may differ).
for _ in $(seq "$rounds"); do
  run "$old" "$work/old-cache" old
  run "$new" "$work/new-cache" new
done
