#!/usr/bin/env bash
# Added latency of a session read+write per request, for each store, with wrk.
#   benches/session-load.sh [DURATION] [CONNECTIONS]
# Compares GET /a/me (reads the session, increments a counter: a write every
# request) with GET /plain/me (the same app, no sessions). Needs wrk and
# redis-server (apt-get install wrk redis-server).
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10s}
connections=${2:-16}
cargo build --release -q
work=$(mktemp -d)
redis_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no > /dev/null &
redis_pid=$!
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
export TERRARIUM_CACHE_DIR="$PWD/target/bench-cache" TERRARIUM_LOG=warn

stats() { # url [cookie]
  local header=()
  [ -n "${2:-}" ] && header=(-H "Cookie: $2")
  wrk -t2 -c"$connections" -d2s "${header[@]}" "$1" > /dev/null
  wrk -t2 -c"$connections" -d"$duration" --latency "${header[@]}" "$1" \
    | awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} END {printf "%10s req/s  p50 %8s  p99 %8s\n", rps, p50, p99}'
}

for store in memory file redis; do
  site="$work/$store"
  mkdir -p "$site"
  case $store in
    memory) store_conf='store = "memory"' ;;
    file) store_conf="store = \"file\"
path = \"$work/$store/sessions\"" ;;
    redis) store_conf="store = \"redis\"
url = \"redis://127.0.0.1:$redis_port/0\"" ;;
  esac
  cat > "$site/terrarium.toml" <<TOML
[server]
admin = "off"
[sessions]
$store_conf
secrets = ["benchmark-secret-0123456789"]
[[mount]]
path = "/a"
app = "$PWD/tests/apps/sessions"
sessions = true
instances = 4
[[mount]]
path = "/plain"
app = "$PWD/tests/apps/sessions"
instances = 4
TOML
  ./target/release/terrarium serve "$site" --listen 127.0.0.1:0 > "$work/out-$store" 2>"$work/err-$store" &
  pid=$!
  until grep -q listening "$work/out-$store" 2>/dev/null; do sleep 0.2; done
  url=$(sed -n 's#terrarium: listening on ##p' "$work/out-$store")
  cookie=$(curl -s -D - -o /dev/null -X POST -d user=bench "$url/a/login" | sed -n 's/^set-cookie: \([^;]*\).*/\1/ip')
  echo "== store = $store (wrk -t2 -c$connections -d$duration)"
  printf '  no session      '; stats "$url/plain/me"
  printf '  session r+w     '; stats "$url/a/me" "$cookie"
  kill -TERM $pid; wait $pid || true
done
kill $redis_pid
