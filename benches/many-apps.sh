#!/usr/bin/env bash
# Many hello apps on one host: start, memory, first requests, scaling to zero.
#
#   benches/many-apps.sh [COUNT...]     (default: 1000 10000)
#
# For each COUNT: a site of COUNT mounts of examples/hello (default
# settings, but `idle = "10s"` so the scale-down can be waited for), served
# from a warm build cache with the access log off. Prints, per COUNT:
# the time from `serve` to listening, RSS and PSS idle, the p50/p99 of the
# first request to each app (each has 0 instances before it), RSS and PSS
# after one request to every app, and RSS once `idle` has passed.
# The report also goes to target/bench-many-apps.md.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
counts=("${@:-1000 10000}")
# shellcheck disable=SC2206
counts=(${counts[*]})
report=$repo/target/bench-many-apps.md

say() { echo "many-apps: $*" >&2; }

say "building terrarium (release)"
cargo build --release -q -p terrarium
terrarium=$repo/target/release/terrarium
export TERRARIUM_CACHE_DIR=$repo/target/bench-peers/cache TERRARIUM_LOG=warn
work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill -TERM "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=benches/lib.sh
source benches/lib.sh
now_ms() { date +%s%3N; }

rows=()
for count in "${counts[@]}"; do
  site=$work/site-$count
  mkdir -p "$site"
  {
    echo '[server]'
    echo 'admin = "off"'
    echo 'access_log = "off"'
    for ((i = 0; i < count; i++)); do
      printf '\n[[mount]]\npath = "/a%s"\napp = "%s"\nidle = "10s"\n' "$i" "$repo/examples/hello/apps/hello"
    done
  } > "$site/terrarium.toml"
  "$terrarium" build "$site" > /dev/null 2>&1 # the cache is warm: a start, not a build, is measured
  port=$(free_port)
  say "$count apps: starting"
  started=$(now_ms)
  "$terrarium" serve "$site" --listen "127.0.0.1:$port" > "$work/serve.log" 2>&1 &
  server_pid=$!
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
    sleep 0.02
  done
  listening_ms=$(($(now_ms) - started))
  sleep 2
  idle_rss=$(rss "$server_pid")
  idle_pss=$(pss "$server_pid")
  say "$count apps: one request each"
  read -r first_p50 first_p99 < <(python3 benches/many_apps.py "$port" "$count")
  used_rss=$(rss "$server_pid")
  used_pss=$(pss "$server_pid")
  say "$count apps: waiting for idle (10 s) to pass"
  sleep 14
  after_rss=$(rss "$server_pid")
  after_pss=$(pss "$server_pid")
  kill -TERM "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=
  rows+=("| $count | $listening_ms | $idle_rss ($idle_pss) | $first_p50 / $first_p99 | $used_rss ($used_pss) | $after_rss ($after_pss) |")
done

{
  echo "| hello apps | start to listening, ms | idle RSS (PSS), MiB | first request p50 / p99, ms | after one request each, RSS (PSS) | after idle passed, RSS (PSS) |"
  echo "|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${rows[@]}"
} | tee "$report"
